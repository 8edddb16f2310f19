"""The oracle: predict an operation with the math model, then check what the chain did.

`predict` says what the contract must do (an output, or the exact error, in the contract's
check order); `expected_changes` turns that into the exact movement of every balance and pool
counter; `pool_invariants` checks shared/frt/CONTRACT.md §12 between two observations."""
from __future__ import annotations

from dataclasses import dataclass, field

from engine.frt import model
from engine.frt.constants import (
    FLAG_SIMPLE_RATIO,
    LAMPORTS_PER_SIGNATURE,
    POOL_STATE_SIZE,
    rent_exempt_minimum,
)
from engine.frt.errors import ProgramError
from engine.observe import View

OPERATIONS = ("deposit", "withdraw", "swap")
# Every error `predict` can answer for each operation, named as a run's totals name them (the
# classified name: an SPL Custom(1) inside a withdraw is "SplInsufficientFunds"). The report's
# coverage lists those a run never provoked; tests/unit/test_coverage.py drives `predict` over a
# grid of states and holds this declaration to what it returns, so the two cannot drift apart.
REACHABLE_ERRORS: dict[str, frozenset[str]] = {
    "deposit": frozenset({"SystemPaused", "InvalidArgument", "PoolLiquidityPaused", "InsufficientFunds",
                          "InsufficientFeeBalance", "ArithmeticOverflow", "InsufficientFundsForRent"}),
    "withdraw": frozenset({"InvalidArgument", "SystemPaused", "PoolLiquidityPaused", "InsufficientFeeBalance",
                           "SplInsufficientFunds", "ArithmeticOverflow", "InsufficientFundsForRent"}),
    "swap": frozenset({"InvalidArgument", "SystemPaused", "PoolSwapsPaused", "SwapAccessRestricted",
                       "InvalidAccountData", "AmountMismatch", "CustomArithmeticOverflow", "InsufficientFunds",
                       "InsufficientFeeBalance", "InsufficientFundsForRent"}),
}
_WALLET_RENT_MINIMUM = rent_exempt_minimum(0)
_POOL_RENT = rent_exempt_minimum(POOL_STATE_SIZE)


@dataclass(frozen=True)
class Prediction:
    operation: str
    amount: int
    token_type: str  # the side deposited / withdrawn, or the swap's input side
    output: int = 0  # LP minted, tokens returned, or swap output
    error: object | None = None  # canonical instruction error the contract must raise
    pool_fee: int = 0

    @property
    def succeeds(self) -> bool:
        return self.error is None

    def to_json(self) -> dict:
        return {"operation": self.operation, "amount": self.amount, "token_type": self.token_type,
                "output": self.output, "error": self.error, "pool_fee": self.pool_fee}


def predict(operation: str, token_type: str, amount: int, before: View, *, user_is_owner: bool,
            expected_amount_out: int | None = None) -> Prediction:
    """What the contract must do with this operation, given the state observed just before it."""
    pool, wallet = before.pool, before.wallet
    state = pool.state
    payer = wallet.sol - LAMPORTS_PER_SIGNATURE
    side_a = token_type == "A"
    try:
        if operation == "deposit":
            fee = state.contract_liquidity_fee
            output = model.check_deposit(
                amount=amount, system_paused=pool.system_paused, flags=state.flags,
                user_token_balance=wallet.token(token_type), payer_lamports=payer, liquidity_fee=fee,
                side_liquidity=state.total_token_a_liquidity if side_a else state.total_token_b_liquidity)
        elif operation == "withdraw":
            fee = state.contract_liquidity_fee
            output = model.check_withdraw(
                lp_amount=amount, system_paused=pool.system_paused, flags=state.flags,
                user_lp_balance=wallet.lp(token_type), vault_balance=pool.vault_a if side_a else pool.vault_b,
                side_liquidity=state.total_token_a_liquidity if side_a else state.total_token_b_liquidity,
                payer_lamports=payer, liquidity_fee=fee)
        else:
            fee = state.swap_contract_fee
            output = model.check_swap(
                amount_in=amount, expected_amount_out=expected_amount_out, ratio_a=state.ratio_a_numerator,
                ratio_b=state.ratio_b_denominator, a_to_b=side_a, flags=state.flags, user_is_owner=user_is_owner,
                system_paused=pool.system_paused, user_input_balance=wallet.token(token_type),
                output_liquidity=state.total_token_b_liquidity if side_a else state.total_token_a_liquidity,
                payer_lamports=payer, swap_fee=fee)
    except ProgramError as exc:
        return Prediction(operation, amount, token_type, error=exc.error)
    left = payer - fee
    if 0 < left < _WALLET_RENT_MINIMUM:
        return Prediction(operation, amount, token_type, error="InsufficientFundsForRent")
    return Prediction(operation, amount, token_type, output=output, pool_fee=fee)


def expected_changes(prediction: Prediction, network_fee: int) -> dict[str, int]:
    """Exact change of every observed number; keys not listed must not move."""
    if not prediction.succeeds:
        return {"sol": -network_fee}
    side = prediction.token_type.lower()
    other = "b" if side == "a" else "a"
    amount, output, fee = prediction.amount, prediction.output, prediction.pool_fee
    changes = {"sol": -network_fee - fee, "pool_lamports": fee, "total_sol_fees_collected": fee}
    if prediction.operation == "swap":
        changes.update({f"token_{side}": -amount, f"token_{other}": output, f"vault_{side}": amount,
                        f"vault_{other}": -output, f"liquidity_{side}": amount, f"liquidity_{other}": -output,
                        "collected_swap_contract_fees": fee})
        return changes
    sign = 1 if prediction.operation == "deposit" else -1
    changes.update({f"token_{side}": -sign * amount, f"lp_{side}": sign * output, f"vault_{side}": sign * amount,
                    f"liquidity_{side}": sign * amount, f"lp_supply_{side}": sign * output,
                    "collected_liquidity_fees": fee})
    return changes


def compare_changes(before: View, after: View, expected: dict[str, int]) -> list[dict]:
    """Every observed number whose actual change differs from the expected one."""
    old, new = before.numbers(), after.numbers()
    return [{"quantity": key, "expected_change": expected.get(key, 0), "actual_change": new[key] - old[key],
             "before": old[key], "after": new[key]}
            for key in old if new[key] - old[key] != expected.get(key, 0)]


@dataclass
class InvariantReport:
    violations: list[dict] = field(default_factory=list)

    def fail(self, invariant: str, detail: str, **values) -> None:
        self.violations.append({"invariant": invariant, "detail": detail, **values})


def pool_invariants(before: View, after: View) -> list[dict]:
    """§12: vault backing, value conservation, fee bookkeeping, pool lamports, immutables."""
    report = InvariantReport()
    old, new = before.pool.state, after.pool.state
    pool = after.pool
    if pool.vault_a < new.total_token_a_liquidity or pool.vault_b < new.total_token_b_liquidity:
        report.fail("vault_backing", "a vault holds less than the pool's tracked liquidity",
                    vault_a=pool.vault_a, liquidity_a=new.total_token_a_liquidity,
                    vault_b=pool.vault_b, liquidity_b=new.total_token_b_liquidity)
    surplus_before = _surplus(before)
    surplus_after = _surplus(after)
    if surplus_after < 0 or surplus_after < surplus_before:
        report.fail("value_conservation", "tracked value fell below LP claims or the surplus shrank",
                    surplus_before=surplus_before, surplus_after=surplus_after)
    pending = new.total_sol_fees_collected - new.total_fees_consolidated
    if new.collected_liquidity_fees + new.collected_swap_contract_fees != pending:
        report.fail("fee_bookkeeping", "collected fees differ from collected minus consolidated",
                    collected=new.collected_liquidity_fees + new.collected_swap_contract_fees, pending=pending)
    if pool.lamports < _POOL_RENT + pending:
        report.fail("pool_lamports", "pool account holds less than rent plus pending fees",
                    lamports=pool.lamports, expected_at_least=_POOL_RENT + pending)
    for name in ("token_a_mint", "token_b_mint", "token_a_vault", "token_b_vault", "lp_token_a_mint",
                 "lp_token_b_mint", "ratio_a_numerator", "ratio_b_denominator", "pool_authority_bump_seed"):
        if getattr(old, name) != getattr(new, name):
            report.fail("immutables", f"{name} changed", before=str(getattr(old, name)), after=str(getattr(new, name)))
    if (old.flags & FLAG_SIMPLE_RATIO) != (new.flags & FLAG_SIMPLE_RATIO):
        report.fail("immutables", "the simple-ratio flag changed", before=old.flags, after=new.flags)
    return report.violations


def _surplus(view: View) -> int:
    state, pool = view.pool.state, view.pool
    return model.value_surplus(state.total_token_a_liquidity, state.total_token_b_liquidity,
                               pool.lp_supply_a, pool.lp_supply_b, state.ratio_a_numerator, state.ratio_b_denominator)
