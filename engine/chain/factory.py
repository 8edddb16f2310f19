"""Open the cluster the settings name: the embedded ledger (default) or a Solana RPC URL."""
from __future__ import annotations

from engine.chain.base import Cluster
from engine.wallet import Wallet


async def open_cluster(settings, *, upgrade_authority: Wallet | None = None) -> Cluster:
    if settings.chain.backend == "embedded":
        from engine.chain.embedded import EmbeddedCluster

        return EmbeddedCluster.from_settings(
            settings, upgrade_authority=upgrade_authority.pubkey if upgrade_authority else None, checkpointed=True)
    from engine.chain.rpc import RpcCluster

    cluster = RpcCluster.from_settings(settings)
    await cluster.connect()
    return cluster


def describe(cluster: Cluster) -> str:
    """One line for operators (kept for callers that import it from here)."""
    return cluster.describe()
