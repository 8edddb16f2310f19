"""Open the cluster the settings name: the embedded ledger (default) or a Solana RPC URL."""
from __future__ import annotations

from engine.chain.base import Cluster
from engine.wallet import Wallet


async def open_cluster(settings, *, upgrade_authority: Wallet | None = None) -> Cluster:
    if settings.chain.backend == "embedded":
        from engine.chain.embedded import EmbeddedCluster

        return EmbeddedCluster.from_settings(
            settings, upgrade_authority=upgrade_authority.pubkey if upgrade_authority else None)
    from engine.chain.rpc import RpcCluster

    cluster = RpcCluster.from_settings(settings)
    await cluster.connect()
    return cluster


def describe(cluster: Cluster) -> str:
    """One line for operators: which chain and which FRT implementation is running."""
    if cluster.mode == "embedded-emulated":
        return "embedded LiteSVM ledger, FRT v0.17.1070 executed by the built-in emulator"
    if cluster.mode == "embedded-so":
        return "embedded LiteSVM ledger, FRT program loaded from its compiled .so"
    return f"Solana JSON-RPC at {getattr(cluster, 'url', '?')}"
