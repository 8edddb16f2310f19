"""A ready-made embedded chain (program initialised, two mints, one pool) for tests and benchmarks."""
from __future__ import annotations

from dataclasses import dataclass

from engine.chain.embedded import EmbeddedCluster
from engine.chain.ledger import EmbeddedLedger
from engine.frt import model
from engine.frt.client import FrtClient, token_address
from engine.frt.constants import LOCALNET_PROGRAM_ID
from engine.frt.pda import PoolAddresses
from engine.wallet import Wallet
from solders.system_program import TransferParams, transfer


@dataclass
class World:
    """A fresh embedded chain with an initialised program, two mints (9 and 6 decimals) and a
    1 X = 160 Y pool, plus helpers to make funded users."""

    cluster: EmbeddedCluster
    client: FrtClient
    core: Wallet
    mint_x: object
    mint_y: object
    pool: PoolAddresses

    @property
    def ledger(self) -> EmbeddedLedger:
        return self.cluster.ledger

    async def user(self, lamports: int = 2_000_000_000, x: int = 0, y: int = 0) -> Wallet:
        wallet = Wallet.generate()
        await self.client.sender.send(
            [transfer(TransferParams(from_pubkey=self.core.pubkey, to_pubkey=wallet.pubkey, lamports=lamports))],
            self.core)
        await self.client.ensure_lp_accounts(self.core, wallet.pubkey, self.pool)
        if x:
            await self.client.mint_to(self.core, self.mint_x, wallet.pubkey, x)
        if y:
            await self.client.mint_to(self.core, self.mint_y, wallet.pubkey, y)
        return wallet

    async def balance(self, wallet: Wallet, mint) -> int:
        return await self.client.token_balance(wallet.pubkey, mint)

    async def pool_state(self):
        return await self.client.pool_state(self.pool.pool_state)

    def lp(self, mint):
        return self.pool.lp_mint_for(mint)

    def ata(self, wallet: Wallet, mint):
        return token_address(wallet.pubkey, mint)


async def make_world(flags: int = 0, ledger: EmbeddedLedger | None = None, ratio=(160, 9, 6)) -> World:
    cluster = EmbeddedCluster(ledger or EmbeddedLedger(LOCALNET_PROGRAM_ID))
    client = FrtClient(cluster)
    core = Wallet.generate()
    await cluster.airdrop(core.pubkey, 10_000 * 10**9)
    assert (await client.initialize_program(core, core.pubkey)).ok
    whole, dec_x, dec_y = ratio
    _, mint_x = await client.create_mint(core, dec_x)
    _, mint_y = await client.create_mint(core, dec_y)
    ratio_x, ratio_y = model.ratio_from_human(whole, dec_x, dec_y, "a_to_b")
    created = await client.create_pool(core, mint_x, mint_y, ratio_x, ratio_y, flags)
    assert created.result.ok, created.result.error
    return World(cluster, client, core, mint_x, mint_y, created.addresses)
