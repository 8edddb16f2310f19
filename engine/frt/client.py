"""High-level FRT and SPL operations over any Cluster: what the engine, the demo and the tests use."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from spl.token.instructions import (
    create_idempotent_associated_token_account,
    get_associated_token_address,
    initialize_mint2,
)
from spl.token.models import InitializeMint2Params

from engine.chain.base import Cluster, TxResult
from engine.chain.sender import TransactionSender
from engine.frt import instructions as ix
from engine.frt import spl
from engine.frt import model
from engine.frt.constants import CU_LIMITS, MINT_SIZE, TOKEN_PROGRAM_ID, rent_exempt_minimum
from engine.frt.pda import PoolAddresses, derive_pool, find_system_state, normalize_pair
from engine.frt.state import Mint, PoolState, TokenAccount
from engine.wallet import Wallet


@lru_cache(maxsize=65_536)
def token_address(owner: Pubkey, mint: Pubkey) -> Pubkey:
    """The owner's associated token account for `mint` (cached: derivation is a PDA search)."""
    return get_associated_token_address(owner, mint)


@dataclass(frozen=True)
class CreatedPool:
    result: TxResult
    addresses: PoolAddresses


class FrtClient:
    def __init__(self, cluster: Cluster, sender: TransactionSender | None = None) -> None:
        self.cluster = cluster
        self.program_id = cluster.program_id
        self.sender = sender or TransactionSender(cluster)

    # ---- SPL token plumbing ------------------------------------------------------------------

    async def create_mint(self, authority: Wallet, decimals: int, mint: Wallet | None = None) -> tuple[TxResult, Pubkey]:
        mint = mint or Wallet.generate()
        instructions = [
            create_account(CreateAccountParams(
                from_pubkey=authority.pubkey, to_pubkey=mint.pubkey, lamports=rent_exempt_minimum(MINT_SIZE),
                space=MINT_SIZE, owner=TOKEN_PROGRAM_ID)),
            initialize_mint2(InitializeMint2Params(
                program_id=TOKEN_PROGRAM_ID, mint=mint.pubkey, decimals=decimals,
                mint_authority=authority.pubkey, freeze_authority=None)),
        ]
        return await self.sender.send(instructions, authority, [mint]), mint.pubkey

    async def create_token_accounts(self, payer: Wallet, owner: Pubkey, mints: list[Pubkey]) -> TxResult:
        """Create (idempotently) the owner's associated token accounts for `mints`."""
        instructions = [create_idempotent_associated_token_account(payer.pubkey, owner, mint) for mint in mints]
        return await self.sender.send(instructions, payer)

    async def mint_to(self, authority: Wallet, mint: Pubkey, owner: Pubkey, amount: int) -> TxResult:
        instruction = spl.mint_to(mint, token_address(owner, mint), authority.pubkey, amount)
        return await self.sender.send([instruction], authority)

    async def transfer_tokens(self, sender: Wallet, mint: Pubkey, recipient: Pubkey, amount: int) -> TxResult:
        instruction = spl.transfer(token_address(sender.pubkey, mint), token_address(recipient, mint),
                                   sender.pubkey, amount)
        return await self.sender.send([instruction], sender)

    async def burn_tokens(self, owner: Wallet, mint: Pubkey, amount: int) -> TxResult:
        instruction = spl.burn(token_address(owner.pubkey, mint), mint, owner.pubkey, amount)
        return await self.sender.send([instruction], owner)

    async def token_balance(self, owner: Pubkey, mint: Pubkey) -> int:
        balance = await self.cluster.get_token_balance(token_address(owner, mint))
        return balance or 0

    async def mint_info(self, mint: Pubkey) -> Mint | None:
        account = await self.cluster.get_account(mint)
        return Mint.decode(bytes(account.data)) if account is not None else None

    async def token_account(self, address: Pubkey) -> TokenAccount | None:
        account = await self.cluster.get_account(address)
        return TokenAccount.decode(bytes(account.data)) if account is not None else None

    # ---- FRT ------------------------------------------------------------------------------------

    async def is_program_initialized(self) -> bool:
        return await self.cluster.get_account(find_system_state(self.program_id)[0]) is not None

    async def initialize_program(self, authority: Wallet, admin: Pubkey) -> TxResult:
        instructions = [ix.compute_unit_limit(CU_LIMITS["initialize_program"]),
                        ix.initialize_program(self.program_id, authority.pubkey, admin)]
        return await self.sender.send(instructions, authority)

    def pool_addresses(self, mint_x: Pubkey, mint_y: Pubkey, ratio_x: int, ratio_y: int) -> PoolAddresses:
        pair = normalize_pair(mint_x, mint_y, ratio_x, ratio_y)
        return derive_pool(self.program_id, pair.token_a_mint, pair.token_b_mint, pair.ratio_a, pair.ratio_b)

    async def create_pool(self, creator: Wallet, mint_x: Pubkey, mint_y: Pubkey, ratio_x: int, ratio_y: int,
                          flags: int = 0) -> CreatedPool:
        """`ratio_x` base units of X are worth `ratio_y` of Y; re-oriented to the sorted pair."""
        pool = self.pool_addresses(mint_x, mint_y, ratio_x, ratio_y)
        instructions = [ix.compute_unit_limit(CU_LIMITS["initialize_pool"]),
                        ix.initialize_pool(self.program_id, creator.pubkey, pool.token_a_mint, pool.token_b_mint,
                                           pool.ratio_a, pool.ratio_b, flags)]
        return CreatedPool(await self.sender.send(instructions, creator), pool)

    async def pool_state(self, pool: Pubkey) -> PoolState | None:
        account = await self.cluster.get_account(pool)
        if account is None or account.owner != self.program_id:
            return None
        return PoolState.decode(bytes(account.data))

    async def ensure_lp_accounts(self, payer: Wallet, owner: Pubkey, pool: PoolAddresses) -> TxResult:
        return await self.create_token_accounts(
            payer, owner, [pool.token_a_mint, pool.token_b_mint, pool.lp_token_a_mint, pool.lp_token_b_mint])

    async def deposit(self, user: Wallet, pool: PoolAddresses, mint: Pubkey, amount: int) -> TxResult:
        lp_mint = pool.lp_mint_for(mint)
        instructions = [ix.compute_unit_limit(CU_LIMITS["deposit"]),
                        ix.deposit(self.program_id, user.pubkey, pool, mint, amount,
                                   token_address(user.pubkey, mint), token_address(user.pubkey, lp_mint))]
        return await self.sender.send(instructions, user)

    async def withdraw(self, user: Wallet, pool: PoolAddresses, mint: Pubkey, lp_amount: int) -> TxResult:
        lp_mint = pool.lp_mint_for(mint)
        instructions = [ix.compute_unit_limit(CU_LIMITS["withdraw"]),
                        ix.withdraw(self.program_id, user.pubkey, pool, mint, lp_amount,
                                    token_address(user.pubkey, lp_mint), token_address(user.pubkey, mint))]
        return await self.sender.send(instructions, user)

    def expected_swap_output(self, pool: PoolAddresses, input_mint: Pubkey, amount_in: int, exact: bool) -> int:
        return model.swap_output(amount_in, pool.ratio_a, pool.ratio_b, input_mint == pool.token_a_mint, exact)

    async def swap(self, user: Wallet, pool: PoolAddresses, input_mint: Pubkey, amount_in: int,
                   expected_amount_out: int) -> TxResult:
        output_mint = pool.other_mint(input_mint)
        instructions = [ix.compute_unit_limit(CU_LIMITS["swap"]),
                        ix.swap(self.program_id, user.pubkey, pool, input_mint, amount_in, expected_amount_out,
                                token_address(user.pubkey, input_mint), token_address(user.pubkey, output_mint))]
        return await self.sender.send(instructions, user)
