"""Category "blocking": can a third party stop others from using the program?

Every FRT address is derivable in advance (CONTRACT.md §3), and InitializePool creates its
accounts with the System program's create_account, which refuses an address that already holds
lamports. So anyone who sends a few lamports to a future pool's address blocks that pool (that
pair at that ratio) for good (§13.2). The attack sends the lamports and, in the same transaction,
lets someone else — the core wallet, the engine's own creator of pools — try to create that pool:
the transaction is atomic, so nothing stays behind, and its outcome shows whether the creation
was blocked. The model predicts it (engine/frt/model.py `check_initialize_pool` with the
pre-funded account); the intent oracle's `third_party_cannot_block_others` reports it."""
from __future__ import annotations

from solders.system_program import TransferParams, transfer

from engine.attacks.base import Attack, Built, Expect
from engine.frt import instructions as ix
from engine.frt import model
from engine.frt.constants import CU_LIMITS, rent_exempt_minimum
from engine.frt.errors import ProgramError
from engine.frt.pda import derive_pool

FUTURE_RATIO_FACTOR = 7  # the future pool: this pool's tokens at 7x its ratio (a pair+ratio nobody created)


class PrefundFuturePool(Attack):
    category = "blocking"
    action = "initialize_pool"  # what is blocked: the victim's creation

    def __init__(self) -> None:
        self.name = "prefund_future_pool_state"

    def _future(self, ctx):
        record = ctx.pool.record
        return derive_pool(ctx.program_id, ctx.pool.mint("A"), ctx.pool.mint("B"),
                           record.ratio_a_numerator * FUTURE_RATIO_FACTOR, record.ratio_b_denominator)

    def extra_accounts(self, ctx):
        return [self._future(ctx).pool_state, ctx.host.core.pubkey]

    def build(self, ctx, scene):
        future = self._future(ctx)
        if scene.exists(future.pool_state):
            return None  # already created or already pre-funded: nothing to show
        lamports = rent_exempt_minimum(0)  # the least a new System account may hold
        creator = ctx.host.core
        return Built([ix.compute_unit_limit(CU_LIMITS["initialize_pool"]),
                      transfer(TransferParams(from_pubkey=ctx.wallet.pubkey, to_pubkey=future.pool_state,
                                              lamports=lamports)),
                      ix.initialize_pool(ctx.program_id, creator.pubkey, future.token_a_mint, future.token_b_mint,
                                         future.ratio_a, future.ratio_b)],
                     {"victim": str(creator.pubkey), "pool_state": str(future.pool_state), "lamports": lamports,
                      "preoccupied_by_others": ["pool_state"], "blocked_by": str(ctx.wallet.pubkey),
                      "ratio_a": future.ratio_a, "ratio_b": future.ratio_b},
                     signers=[creator], acting=creator)

    def predict(self, ctx, scene, built):
        record = ctx.pool.record
        creator = scene.accounts.get(ctx.host.core.pubkey)
        try:
            model.check_initialize_pool(
                ratio_a=record.ratio_a_numerator * FUTURE_RATIO_FACTOR, ratio_b=record.ratio_b_denominator,
                mint_a=record.token_a_mint, mint_b=record.token_b_mint, dec_a=record.token_a_decimals,
                dec_b=record.token_b_decimals, flags_arg=0,
                creator_lamports=creator.lamports if creator is not None else 0,
                system_paused=scene.system_paused, prefunded={"pool_state"})
        except ProgramError as error:
            return Expect(error.error, why=f"§4.2 / §13.2: {error.message}")
        return Expect(why="InitializePool would create the pool")  # not reached: pool_state is pre-funded


def catalogue() -> list[Attack]:
    return [PrefundFuturePool()]
