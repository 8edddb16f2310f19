"""The recorder: the one writer of thread statistics and engine totals, fed events."""
from __future__ import annotations

import pytest
from solders.pubkey import Pubkey

from engine.chain.base import TxResult
from engine.feed import EventFeed
from engine.findings import make_finding
from engine.frt.errors import ClassifiedError
from engine.invariants import Prediction
from engine.observe import View, WalletView
from engine.operations import Outcome
from engine.pools import PoolRecord, PoolRuntime
from engine.recorder import Recorder
from engine.store import FINDING_FILES_PER_GROUP, StateStore
from engine.threads import RUNNING, ThreadRecord
from engine.wallet import Wallet

POOL = PoolRuntime(PoolRecord("pool", str(Pubkey.new_unique()), 0, str(Pubkey.new_unique()), 0, 1, 1),
                   Pubkey.new_unique())
BEFORE = View(None, WalletView(sol=10**9, token_a=1000, token_b=2000, lp_a=300, lp_b=400))
AFTER = View(None, WalletView(sol=10**9 - 5000, token_a=900, token_b=2000, lp_a=400, lp_b=400))


@pytest.fixture
def recorder(tmp_path):
    return Recorder(StateStore(tmp_path), EventFeed())


def thread(kind: str, thread_id: str | None = None, **config) -> ThreadRecord:
    return ThreadRecord(thread_id=thread_id or f"{kind}_1", thread_type=kind, pool_id="pool",
                        wallet=Wallet.generate(), seed=1, status=RUNNING, **config)


def outcome(operation: str, amount: int = 100, output: int = 90, *, ok: bool = True, verdict: str = "ok",
            findings=(), pool_fee: int = 7) -> Outcome:
    error = None if ok else ClassifiedError(raw={"InstructionError": [0, {"Custom": 1}]}, instruction_index=0,
                                            program="frt", name="PoolPaused", code=1, category=verdict,
                                            message="pool paused")
    return Outcome(operation, "A", amount, Prediction(operation, amount, "A", output, pool_fee=pool_fee),
                   TxResult("sig", ok, error, fee=5000), BEFORE, AFTER, latency_ms=2.5,
                   output=output if ok else 0, verdict=verdict, findings=list(findings))


@pytest.mark.parametrize("kind, operation, fields", [
    ("deposit", "deposit", ("successful_deposits", "tokens_deposited", "lp_tokens_received")),
    ("withdrawal", "withdraw", ("successful_withdrawals", "lp_tokens_used", "tokens_withdrawn")),
    ("swap", "swap", ("successful_swaps", "swap_input_total", "swap_output_total")),
])
def test_a_success_is_booked_on_its_kinds_counters(recorder, kind, operation, fields):
    record = thread(kind, token_type="A", swap_direction="a_to_b")
    recorder.record_outcome(record, POOL, outcome(operation, 100, 90))
    recorder.record_outcome(record, POOL, outcome(operation, 50, 40))
    stats = record.stats
    count, spent, received = fields
    assert (getattr(stats, count), getattr(stats, spent), getattr(stats, received)) == (2, 150, 130)
    others = {"successful_deposits", "successful_withdrawals", "successful_swaps"} - {count}
    assert all(getattr(stats, name) == 0 for name in others)
    assert (stats.successful_operations, stats.total_volume_processed, stats.smallest_amount,
            stats.largest_amount) == (2, 150, 50, 100)
    assert (stats.network_fees_paid, stats.pool_fees_paid) == (10_000, 14)
    assert recorder.totals.operations == {operation: {"ok": 2}} and recorder.totals.pool_fees == 14
    assert recorder.dirty and record.last_operation_at == stats.last_success_at


def test_an_empty_operation_counts_the_attempt_but_not_the_traffic(recorder):
    record = thread("deposit", token_type="A")
    recorder.record_outcome(record, POOL, outcome("deposit"), empty=True)
    recorder.record_empty(record, True, 190)
    stats = record.stats
    assert (stats.successful_operations, stats.successful_deposits, stats.tokens_deposited) == (1, 0, 0)
    assert (stats.empty_operations, stats.empty_operations_failed, stats.tokens_burned) == (1, 0, 190)


def test_failures_are_counted_by_verdict_logged_and_fed(recorder):
    record = thread("withdrawal", token_type="A")
    recorder.record_outcome(record, POOL, outcome("withdraw", ok=False, verdict="expected"))
    recorder.record_outcome(record, POOL, outcome("withdraw", ok=False, verdict="unexpected"))
    stats = record.stats
    assert (stats.failed_operations, stats.expected_failures, stats.unexpected_failures,
            stats.consecutive_failures, stats.pool_fees_paid) == (2, 1, 1, 2, 0)
    assert stats.errors_by_name == {"PoolPaused": 2}
    assert recorder.totals.errors_by_category == {"expected": 1, "unexpected": 1}
    assert recorder.totals.outcomes_by_operation == {"withdraw": {"PoolPaused": 2}}
    errors = recorder.recent_errors(record.thread_id)
    assert [e["category"] for e in errors] == ["expected", "unexpected"]
    assert errors[0]["operation_details"]["available_balance"] == 300  # a withdrawal spends LP-A
    assert errors[1]["recovery_action"] == "thread stopped (error state)"
    assert [e["severity"] for e in recorder.feed.latest()] == ["unexpected", "expected"]


def test_a_finding_is_written_counted_and_fed(recorder):
    record = thread("deposit", token_type="A")
    finding = make_finding("balance_mismatch", "balances_move_as_predicted", "high", "x")
    recorder.record_outcome(record, POOL, outcome("deposit", findings=[finding]))
    assert record.stats.findings == 1 and recorder.totals.findings_by_kind == {"balance_mismatch": 1}
    assert recorder.totals.findings_by_severity == {"high": 1}
    (written,) = recorder.store.list_findings()
    assert written["kind"] == "balance_mismatch" and written["thread_id"] == record.thread_id
    assert written["before"]["wallet"]["lp_a"] == 300
    (group,) = recorder.store.finding_groups()
    assert written["group_id"] == group["id"] and group["count"] == 1 and group["example"]["detail"] == "x"
    (entry,) = recorder.feed.latest()
    assert entry["severity"] == "finding" and entry["title"] == "high · balances_move_as_predicted"


def test_repeats_of_a_finding_are_one_group_and_one_feed_entry(recorder):
    record = thread("deposit", token_type="A")
    finding = make_finding("invariant_violation", "fee_bookkeeping", "low", "fees off")
    for _ in range(12):
        recorder.record_outcome(record, POOL, outcome("deposit", findings=[finding]))
    (group,) = recorder.store.finding_groups()
    assert (group["count"], group["stored"], group["severity"]) == (12, FINDING_FILES_PER_GROUP, "low")
    assert recorder.store.count_findings() == FINDING_FILES_PER_GROUP and recorder.store.findings_total() == 12
    assert record.stats.findings == 12 and recorder.totals.findings_by_severity == {"low": 12}
    (entry,) = recorder.feed.latest()
    assert entry["count"] == 12 and entry["title"] == "low · fee_bookkeeping"


def test_a_finding_without_rule_or_severity_is_its_kind_high(recorder):
    recorder.record_finding({"kind": "creation_mismatch", "detail": "y"}, pool_id=None, operation="create_pool",
                            summary="create_pool")
    (group,) = recorder.store.finding_groups()
    assert (group["kind"], group["rule"], group["severity"], group["pool_id"]) == (
        "creation_mismatch", "creation_mismatch", "high", None)


@pytest.mark.parametrize("kind, given, received", [
    ("deposit", "lp_tokens_shared", "lp_tokens_from_deposits"),
    ("withdrawal", "tokens_shared", "tokens_from_sharing"),
    ("swap", "tokens_sent_to_opposite", "tokens_received_from_opposite"),
])
def test_a_share_credits_the_kinds_counters_on_both_sides(recorder, kind, given, received):
    giver = thread(kind, token_type="A", swap_direction="a_to_b")
    first, second, third = (thread("deposit", f"deposit_{n}", token_type="A") for n in (7, 8, 9))
    failed = TxResult("sig2", False, None, fee=5000)
    sent = recorder.record_share(giver, [([first, second], TxResult("sig1", True, fee=5000)), ([third], failed)], 30)
    assert sent == 60
    assert getattr(giver.stats, given) == 60 and giver.stats.last_sharing_amount == 60
    assert giver.stats.network_fees_paid == 10_000
    assert [getattr(r.stats, received) for r in (first, second, third)] == [30, 30, 0]
    assert first.stats.sharing_sources == {giver.thread_id: 30}
    assert recorder.recent_errors(giver.thread_id)[-1]["operation_type"] == "share"


def test_waits_refills_top_ups_and_funding(recorder):
    record = thread("swap", swap_direction="b_to_a")
    recorder.record_wait(record, "waiting for token B")
    recorder.record_refill(record, 500)
    recorder.record_top_up([record], 1000)
    recorder.record_funding(record, "sol", 7)
    recorder.record_funding(record, "token_b", 9)
    stats = record.stats
    assert (stats.waiting_cycles, record.waiting_reason, recorder.totals.waits) == (1, "waiting for token B", 1)
    assert (stats.times_refilled, stats.tokens_from_refills) == (1, 500)
    assert (stats.sol_topups, stats.sol_from_topups, stats.tokens_funded_manually) == (1, 1007, 9)


def test_recent_errors_are_flushed_for_known_threads_only(recorder):
    kept, gone = thread("deposit", "deposit_1", token_type="A"), thread("deposit", "deposit_2", token_type="A")
    for record in (kept, gone):
        recorder.record_side_error(record, "refill", TxResult("sig", False, None))
    recorder.flush_errors({kept.thread_id: kept})
    assert recorder.store.load_errors(kept.thread_id)[0]["operation_type"] == "refill"
    assert recorder.store.load_errors(gone.thread_id) == []
