"""Bring a chain to where the engine can work: a funded core wallet and an initialised program."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from engine.chain.base import AirdropUnavailable, ChainError, Cluster
from engine.frt.client import FrtClient
from engine.wallet import Wallet, load_or_create_keypair, read_keypair_file

log = logging.getLogger(__name__)


@dataclass
class BootstrapReport:
    core_wallet: str
    core_wallet_created: bool
    core_lamports: int
    airdropped: int = 0
    program_initialized_now: bool = False
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """What an operator should read, one line each."""
        head = (f"core wallet {self.core_wallet}{' (new)' if self.core_wallet_created else ''}: "
                f"{self.core_lamports / 1e9:,.3f} SOL"
                f"{'; program initialised now' if self.program_initialized_now else ''}")
        return [head, *(f"note: {note}" for note in self.notes)]


def load_wallets(settings) -> tuple[Wallet, bool, Wallet]:
    """(core wallet, whether it was just created, upgrade authority)."""
    settings.ensure_data_dir()
    core, created = load_or_create_keypair(settings.core_keypair_path)
    configured = settings.program.upgrade_authority_keypair
    authority = read_keypair_file(configured) if configured else core
    return core, created, authority


async def bootstrap(cluster: Cluster, settings, core: Wallet, authority: Wallet, *,
                    core_created: bool = False) -> BootstrapReport:
    client = FrtClient(cluster)
    lamports = await cluster.get_balance(core.pubkey)
    report = BootstrapReport(str(core.pubkey), core_created, lamports)
    if lamports < settings.wallet.min_core_lamports:
        try:
            result = await cluster.airdrop(core.pubkey, settings.wallet.airdrop_lamports)
            if result.ok:
                report.airdropped = settings.wallet.airdrop_lamports
            else:
                report.notes.append(f"airdrop failed: {result.error.message if result.error else 'unknown'}")
        except (AirdropUnavailable, ChainError) as exc:
            report.notes.append(f"no airdrop available ({exc}); fund {core.pubkey} by hand")
        report.core_lamports = await cluster.get_balance(core.pubkey)
    if settings.program.initialize_program and not await client.is_program_initialized():
        if authority.pubkey != core.pubkey and await cluster.get_balance(authority.pubkey) == 0:
            await cluster.airdrop(authority.pubkey, 10_000_000_000)
        result = await client.initialize_program(authority, core.pubkey)
        if result.ok:
            report.program_initialized_now = True
        else:
            report.notes.append(f"InitializeProgram failed: {result.error.message if result.error else '?'}")
    return report
