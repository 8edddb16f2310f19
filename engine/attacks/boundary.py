"""Category "boundary": deposit / withdraw / swap with the attacker's own wallet at the edges —
0, 1, exactly the balance, the balance + 1, u64::MAX, more than the other side's liquidity, an
input that is not a multiple of the exact-exchange step — run through
engine.operations.run_verified, which predicts each one with the model (engine/invariants.py);
and a swap asking for the wrong output (1047 AmountMismatch, §4.5)."""
from __future__ import annotations

import math

from engine.attacks.base import Attack, Built, Context, Expect, Scene
from engine.frt import instructions as ix
from engine.frt.client import token_address
from engine.frt.constants import CU_LIMITS
from engine.invariants import predict
from engine.kinds.swap import exact_step
from engine.operations import swap_expectation
from engine.workers import boundary_amount

OTHER = {"A": "B", "B": "A"}


class BoundaryAttack(Attack):
    """An ordinary operation with an edge amount; run_verified predicts, sends and checks it."""

    category = "boundary"

    def __init__(self, operation: str, token_type: str, edge: str) -> None:
        self.ordinary = (operation, token_type)
        self.action = operation
        self.edge = edge
        self.name = f"{operation}_{token_type}[{edge}]"

    def amount(self, ctx: Context, scene: Scene) -> int | None:
        operation, token = self.ordinary
        if self.edge == "off_step" and not (ctx.pool.record.exact and exact_step(ctx.pool, token) > 1):
            return None  # only an exact-exchange pool with a step has inputs off it
        balance = scene.view.wallet.lp(token) if operation == "withdraw" else scene.view.wallet.token(token)
        return boundary_amount(self.edge, operation, token, ctx.pool, scene.view, balance)

    def build(self, ctx, scene):
        return None  # executed by run_verified

    def predict(self, ctx, scene, built):
        raise NotImplementedError  # run_verified predicts


class WrongExpectedOutput(Attack):
    """A swap whose expected_amount_out is one more than the output: 1047 (§4.5, §7.3)."""

    category = "boundary"
    action = "swap"

    def __init__(self, token_type: str) -> None:
        self.token_type = token_type
        self.name = f"swap_{token_type}[wrong_expected_output]"

    def _amount(self, ctx, scene) -> int:
        pool = scene.pool
        r_in, r_out = (pool.ratio_a_numerator, pool.ratio_b_denominator) if self.token_type == "A" else \
            (pool.ratio_b_denominator, pool.ratio_a_numerator)
        step = exact_step(ctx.pool, self.token_type) if ctx.pool.record.exact else max(1, math.ceil(r_in / r_out))
        return step

    def build(self, ctx, scene):
        amount = self._amount(ctx, scene)
        right = swap_expectation(ctx.pool, self.token_type, amount)
        wrong = right + 1
        pool = ctx.pool.addresses
        mint = ctx.pool.mint(self.token_type)
        out_mint = ctx.pool.mint(OTHER[self.token_type])
        return Built([ix.compute_unit_limit(CU_LIMITS["swap"]),
                      ix.swap(ctx.program_id, ctx.wallet.pubkey, pool, mint, amount, wrong,
                              token_address(ctx.wallet.pubkey, mint), token_address(ctx.wallet.pubkey, out_mint))],
                     {"token_type": self.token_type, "amount": amount, "expected_amount_out": wrong,
                      "correct_output": right})

    def predict(self, ctx, scene, built):
        prediction = predict("swap", self.token_type, built.params["amount"], scene.view,
                             user_is_owner=scene.pool.owner == ctx.wallet.pubkey,
                             expected_amount_out=built.params["expected_amount_out"])
        return Expect(prediction.error, ordinary=prediction, why="§4.5: output != expected_amount_out -> 1047")


EDGES = {
    "deposit": ("zero", "one", "balance", "balance_plus_one", "u64_max"),
    "withdraw": ("zero", "one", "balance", "balance_plus_one", "u64_max", "beyond_liquidity"),
    "swap": ("zero", "one", "balance", "balance_plus_one", "u64_max", "beyond_liquidity", "off_step"),
}


def catalogue() -> list[Attack]:
    attacks: list[Attack] = [BoundaryAttack(operation, token, edge) for operation, edges in EDGES.items()
                             for token in ("A", "B") for edge in edges]
    return attacks + [WrongExpectedOutput("A"), WrongExpectedOutput("B")]
