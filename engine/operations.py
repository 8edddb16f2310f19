"""One verified operation: observe, predict, send, observe again, judge, compare."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from engine.chain.base import TxResult
from engine.chain.sender import bounded
from engine.exceptions import OperationFailed
from engine.frt import model
from engine.frt.client import FrtClient
from engine.findings import make_finding
from engine.frt.errors import EXPECTED, TRANSIENT, UNEXPECTED, ClassifiedError, ProgramError
from engine.invariants import Prediction, compare_changes, expected_changes, pool_invariants, predict
from engine.observe import View, observe
from engine.pools import PoolRuntime
from engine.wallet import Wallet


@dataclass
class Outcome:
    operation: str
    token_type: str
    amount: int
    prediction: Prediction
    result: TxResult
    before: View
    after: View
    latency_ms: float
    output: int = 0  # what the user actually received (LP, tokens, swap output)
    verdict: str = "ok"  # ok | expected | unexpected | transient
    findings: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.result.ok

    @property
    def error_name(self) -> str | None:
        return self.result.error.name if self.result.error else None


def swap_expectation(pool: PoolRuntime, input_token: str, amount: int) -> int:
    """The exact output a correct client asks for (0 where the contract must refuse anyway)."""
    try:
        return model.swap_output(amount, pool.record.ratio_a_numerator, pool.record.ratio_b_denominator,
                                 input_token == "A", pool.record.exact)
    except ProgramError:
        return 0


async def send(client: FrtClient, pool: PoolRuntime, wallet: Wallet, operation: str, token_type: str, amount: int,
               expected_out: int) -> TxResult:
    addresses, mint = pool.addresses, pool.mint(token_type)
    if operation == "deposit":
        return await client.deposit(wallet, addresses, mint, amount)
    if operation == "withdraw":
        return await client.withdraw(wallet, addresses, mint, amount)
    return await client.swap(wallet, addresses, mint, amount, expected_out)


async def run_verified(client: FrtClient, pool: PoolRuntime, wallet: Wallet, operation: str, token_type: str,
                       amount: int, *, check: bool = True, before: View | None = None) -> Outcome:
    """Execute one deposit / withdraw / swap. The caller holds `pool.lock`."""
    cluster = client.cluster
    addresses = pool.addresses
    before = before or await observe(cluster, addresses, wallet.pubkey)
    expected_out = swap_expectation(pool, token_type, amount) if operation == "swap" else 0
    prediction = predict(operation, token_type, amount, before, user_is_owner=before.pool.state.owner == wallet.pubkey,
                         expected_amount_out=expected_out)
    started = time.perf_counter()
    # The caller holds the pool's lock: a slow chain makes this a transient "Unconfirmed" failure
    # after the backend's operation deadline rather than a long wait. Should that transaction land
    # later, the next operation's `before` is read afresh, so its verification stays exact.
    with bounded():
        result = await send(client, pool, wallet, operation, token_type, amount, expected_out)
    latency_ms = (time.perf_counter() - started) * 1000
    after = await observe(cluster, addresses, wallet.pubkey)
    outcome = Outcome(operation, token_type, amount, prediction, result, before, after, latency_ms,
                      output=_received(operation, token_type, before, after))
    if not result.ok:  # the one judgment of this failure: with the operation and the pool's facts
        outcome.verdict = _verdict(result.judge(operation=operation, exact_pool=pool.record.exact), prediction)
    if check and outcome.verdict != TRANSIENT:
        outcome.findings = _check(outcome)
    return outcome


def _received(operation: str, token_type: str, before: View, after: View) -> int:
    if operation == "deposit":
        return after.wallet.lp(token_type) - before.wallet.lp(token_type)
    if operation == "withdraw":
        return after.wallet.token(token_type) - before.wallet.token(token_type)
    other = "B" if token_type == "A" else "A"
    return after.wallet.token(other) - before.wallet.token(other)


def _verdict(error: ClassifiedError, prediction: Prediction) -> str:
    if error.category == TRANSIENT:
        return TRANSIENT
    if _same_error(prediction.error, error.raw):
        return EXPECTED  # the model said the contract must refuse exactly this way
    if error.name == "InvalidAccountData":
        return UNEXPECTED  # §9.2: only the short-balance case is expected, and the model predicts that one
    return error.category


def _same_error(predicted, raw) -> bool:
    """Whether the chain refused the way the model predicted (`raw`: the runtime's error)."""
    if predicted is None or raw is None:
        return False
    if predicted == "InsufficientFundsForRent":
        return isinstance(raw, dict) and "InsufficientFundsForRent" in raw
    return isinstance(raw, dict) and "InstructionError" in raw and raw["InstructionError"][1] == predicted


# What breaking each pool invariant (engine/invariants.py, CONTRACT.md §12) means: value leaving or
# appearing is high, a changed mint / vault / ratio hands someone control of the pool (critical),
# fee counters that disagree are bookkeeping (low).
INVARIANT_SEVERITY = {"vault_backing": "high", "value_conservation": "high", "pool_lamports": "high",
                      "fee_bookkeeping": "low", "immutables": "critical"}


def _check(outcome: Outcome) -> list[dict]:
    """Findings (engine/findings.py shape): a different outcome than predicted, balances that moved
    differently, and one per pool invariant this operation broke. An invariant already broken in
    the state before the operation is not this operation's finding (it was counted when it broke)."""
    findings = []
    prediction, result = outcome.prediction, outcome.result
    raw = result.failure.raw if result.failure is not None else None
    if prediction.succeeds != result.ok or (not result.ok and not _same_error(prediction.error, raw)):
        findings.append(make_finding(
            "prediction_mismatch", "outcome_as_predicted", "high",
            f"model predicted {'success' if prediction.succeeds else prediction.error}, "
            f"chain answered {'success' if result.ok else raw}",
            predicted_error=prediction.error, actual_error=raw))
    elif (mismatches := compare_changes(outcome.before, outcome.after, expected_changes(prediction, result.fee))):
        findings.append(make_finding(
            "balance_mismatch", "balances_move_as_predicted", "high",
            "balances moved differently than predicted: " + ", ".join(m["quantity"] for m in mismatches),
            mismatches=mismatches))
    violations = pool_invariants(outcome.before, outcome.after)
    if violations:
        broken_before = {v["invariant"] for v in pool_invariants(outcome.before, outcome.before)}
        by_name: dict[str, list[dict]] = {}
        for violation in violations:
            if violation["invariant"] not in broken_before:
                by_name.setdefault(violation["invariant"], []).append(violation)
        for name, found in by_name.items():  # one finding per invariant, however many of its checks failed
            evidence = {key: value for key, value in found[0].items() if key not in ("invariant", "detail")}
            if len(found) > 1:
                evidence = {"violations": found}
            findings.append(make_finding("invariant_violation", name, INVARIANT_SEVERITY.get(name, "high"),
                                         f"{name}: " + "; ".join(v["detail"] for v in found), **evidence))
    return findings


def require_ok(result: TxResult, what: str) -> None:
    """Raise OperationFailed (with the chain's evidence, judged) for a transaction the engine needed."""
    if not result.ok:
        error = result.error
        raise OperationFailed(f"{what} failed: {error.name if error else 'unknown error'}",
                              {"error": error.to_dict() if error else None, "signature": result.signature,
                               "logs": list(result.logs)[-20:]})
