"""Statistics: the mergeable latency histogram and the engine-wide totals the coordinator merges."""
from __future__ import annotations

import json
import random

import pytest

from engine.stats import _BUCKETS, _FACTOR, _FIRST_MS, EngineTotals, LatencyHistogram, RateMeter


def _edge(index: int) -> float:
    """Upper edge of bucket `index` (ms): what percentile() answers for a value in it."""
    return _FIRST_MS * _FACTOR ** index


def _histogram(values) -> LatencyHistogram:
    histogram = LatencyHistogram()
    for value in values:
        histogram.record(value)
    return histogram


# --------------------------------------------------------------------------- LatencyHistogram

def test_empty_histogram():
    histogram = LatencyHistogram()
    assert histogram.total == 0 and histogram.mean_ms == 0.0
    assert histogram.percentile(50) == histogram.percentile(99) == 0.0
    assert histogram.summary() == {"count": 0, "mean_ms": 0.0, "p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0,
                                   "max_ms": 0.0}
    assert LatencyHistogram.from_json(histogram.to_json()).to_json() == histogram.to_json()
    assert LatencyHistogram.from_json(None).total == 0


def test_record_counts_sum_mean_and_max():
    histogram = _histogram([1.0, 2.0, 3.0, 10.0])
    assert histogram.total == 4 == sum(histogram.counts)
    assert histogram.sum_ms == 16.0 and histogram.mean_ms == 4.0 and histogram.max_ms == 10.0
    assert len(histogram.counts) == _BUCKETS


@pytest.mark.parametrize("ms", [0.0, 0.01, _FIRST_MS])
def test_values_up_to_the_first_edge_land_in_bucket_0(ms):
    histogram = _histogram([ms])
    assert histogram.counts[0] == 1


def test_a_value_just_above_an_edge_goes_to_the_next_bucket():
    for index in (1, 5, 20, 40):
        below, above = _edge(index) * 0.999, _edge(index) * 1.001
        assert _histogram([below]).counts.index(1) == index
        assert _histogram([above]).counts.index(1) == index + 1


def test_percentiles_of_clustered_values_are_those_values_and_100_is_the_max():
    # 90 values in bucket 4, 9 in bucket 10, 1 in bucket 20 (tests/unit/test_percentiles.py holds the
    # accuracy tests: within 1 % of the value at the percentile's rank).
    values = [_edge(4) * 0.95] * 90 + [_edge(10) * 0.95] * 9 + [_edge(20) * 0.95]
    histogram = _histogram(values)
    for p, value in ((0, values[0]), (50, values[0]), (90, values[0]), (95, values[90]), (99, values[90])):
        assert histogram.percentile(p) == pytest.approx(value, rel=0.01), p
    assert histogram.percentile(100) == histogram.max_ms == pytest.approx(_edge(20) * 0.95)


def test_merge_equals_recording_everything_into_one():
    rng = random.Random(11)
    first = [rng.uniform(0.01, 500) for _ in range(300)]
    second = [rng.expovariate(0.1) for _ in range(200)]
    merged = _histogram(first)
    merged.merge(_histogram(second))
    together = _histogram(first + second)
    assert merged.counts == together.counts and merged.total == together.total == 500
    assert merged.max_ms == together.max_ms
    assert merged.sum_ms == pytest.approx(together.sum_ms)
    assert merged.summary() == together.summary()


def test_merging_an_empty_histogram_changes_nothing():
    histogram = _histogram([1.0, 2.0])
    before = histogram.to_json()
    histogram.merge(LatencyHistogram())
    assert histogram.to_json() == before
    empty = LatencyHistogram()
    empty.merge(_histogram([1.0, 2.0]))
    assert empty.to_json() == before


def test_json_round_trip():
    histogram = _histogram([0.02, 0.3, 7.5, 7.5, 120.0, 60_000.0])
    back = LatencyHistogram.from_json(json.loads(json.dumps(histogram.to_json())))  # as through the shard pipe
    assert back.to_json() == histogram.to_json() and back.summary() == histogram.summary()
    direct = LatencyHistogram.from_json(histogram.to_json())  # no text in between (an in-process shard)
    direct.record(1.0)
    assert histogram.total == 6 and sum(histogram.counts) == 6  # the copy does not share its counts


def test_percentiles_above_the_top_bucket_are_not_under_reported():
    # The top bucket has no upper edge: 100 s latencies once read p50 = p99 = 79.65 s (its lower edge).
    histogram = _histogram([100_000.0] * 10)
    assert histogram.percentile(50) == histogram.percentile(99) == 100_000.0
    assert _histogram([1.0] * 98 + [100_000.0] * 2).percentile(50) < 2.0


def test_from_json_of_another_bucket_layout_is_empty():
    assert LatencyHistogram.from_json({"counts": [1, 2], "total": 3, "sum_ms": 1.0, "max_ms": 1.0}).total == 0


# --------------------------------------------------------------------------- EngineTotals

# (operation, verdict, latency_ms, error_name, network_fee, pool_fee)
RECORDS = [
    ("deposit", "ok", 2.5, None, 5_000, 1_000),
    ("deposit", "ok", 3.0, None, 5_000, 1_000),
    ("deposit", "expected", 1.0, "InsufficientFunds", 5_000, 0),
    ("withdraw", "ok", 4.0, None, 5_000, 2_000),
    ("withdraw", "unexpected", 9.0, "InvalidAccountData", 5_000, 0),
    ("swap", "ok", 1.5, None, 5_000, 3_000),
    ("swap", "transient", 250.0, "BlockhashNotFound", 0, 0),
    ("swap", "expected", 0.8, "InsufficientFunds", 5_000, 0),
    ("swap", "unexpected", 0.3, None, 5_000, 0),  # an unexpected failure without an error name
]
FINDINGS = ["prediction_mismatch", "invariant_violation", "prediction_mismatch"]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _totals(records, findings=(), waits=0, clock: Clock | None = None) -> EngineTotals:
    totals = EngineTotals()
    if clock is not None:
        totals.rate = RateMeter(clock=clock)
    for record in records:
        totals.record(*record)
    for kind in findings:
        totals.record_finding(kind, "high" if kind == "prediction_mismatch" else "low")
    totals.waits += waits
    return totals


def test_record_by_operation_and_verdict():
    totals = _totals(RECORDS, FINDINGS, waits=4)
    assert totals.operations == {"deposit": {"ok": 2, "expected": 1}, "withdraw": {"ok": 1, "unexpected": 1},
                                 "swap": {"ok": 1, "transient": 1, "expected": 1, "unexpected": 1}}
    assert totals.total_operations == len(RECORDS) == 9
    assert (totals.count("ok"), totals.count("expected"), totals.count("unexpected"),
            totals.count("transient")) == (4, 2, 2, 1)
    # Errors: every non-ok verdict by category, by name only where a name was given.
    assert totals.errors_by_category == {"expected": 2, "unexpected": 2, "transient": 1}
    assert totals.errors_by_name == {"InsufficientFunds": 2, "InvalidAccountData": 1, "BlockhashNotFound": 1}
    assert totals.findings_by_kind == {"prediction_mismatch": 2, "invariant_violation": 1}
    assert totals.findings_by_severity == {"high": 2, "low": 1}
    assert totals.network_fees == 8 * 5_000 and totals.pool_fees == 7_000
    # One latency sample per operation, per operation type.
    assert {op: h.total for op, h in totals.latency.items()} == {"deposit": 3, "withdraw": 2, "swap": 4}
    assert totals.all_latency().total == totals.total_operations
    assert totals.all_latency().max_ms == 250.0


def test_outcomes_by_operation_count_each_operation_once():
    # success or the error's name, per operation: what the report's coverage is built from
    totals = _totals(RECORDS)
    assert totals.outcomes_by_operation == {
        "deposit": {"ok": 2, "InsufficientFunds": 1}, "withdraw": {"ok": 1, "InvalidAccountData": 1},
        "swap": {"ok": 1, "BlockhashNotFound": 1, "InsufficientFunds": 1, "unknown": 1}}
    for operation, outcomes in totals.outcomes_by_operation.items():
        assert sum(outcomes.values()) == sum(totals.operations[operation].values())
    assert totals.summary()["outcomes_by_operation"] == totals.outcomes_by_operation


def test_summary_of_one_engine():
    summary = _totals(RECORDS, FINDINGS, waits=4).summary()
    assert summary["total_operations"] == 9 and summary["successful_operations"] == 4
    assert (summary["expected_failures"], summary["unexpected_failures"], summary["transient_failures"]) == (2, 2, 1)
    assert summary["waiting_cycles"] == 4 and summary["findings"] == 3
    assert summary["network_fees_paid"] == 40_000 and summary["pool_fees_paid"] == 7_000
    assert set(summary["latency_ms"]) == {"deposit", "withdraw", "swap", "all"}
    assert summary["latency_ms"]["all"]["count"] == 9 and summary["latency_ms"]["all"]["max_ms"] == 250.0
    assert summary["operations_per_minute"] > 0
    json.dumps(summary)  # JSON-ready


def _without_rate(summary: dict) -> dict:
    """The rate depends on the clock (each engine's RateMeter); everything else must match."""
    return {key: value for key, value in summary.items() if key != "operations_per_minute"}


def test_merge_json_of_two_engines_equals_one_engine_that_recorded_everything():
    clock = Clock()
    first_records, second_records = RECORDS[:4], RECORDS[4:]
    first = _totals(first_records, FINDINGS[:1], waits=1, clock=clock)
    second = _totals(second_records, FINDINGS[1:], waits=3, clock=clock)
    everything = _totals(RECORDS, FINDINGS, waits=4, clock=clock)
    clock.now += 30.0  # every operation happened in the last 30 s of the engines' life

    merged = EngineTotals()
    for part in (first, second):
        merged.merge_json(json.loads(json.dumps(part.to_json())))  # as it crosses the shard pipe

    assert merged.operations == everything.operations
    assert merged.outcomes_by_operation == everything.outcomes_by_operation
    assert merged.errors_by_category == everything.errors_by_category
    assert merged.errors_by_name == everything.errors_by_name
    assert merged.findings_by_kind == everything.findings_by_kind
    assert merged.findings_by_severity == everything.findings_by_severity
    assert (merged.waits, merged.network_fees, merged.pool_fees) == (4, everything.network_fees, everything.pool_fees)
    assert merged.total_operations == everything.total_operations == 9
    for op, histogram in everything.latency.items():
        assert merged.latency[op].to_json() == pytest.approx(histogram.to_json()), op
    # The latency sample count is the operation count, per operation and overall.
    assert {op: h.total for op, h in merged.latency.items()} == {op: sum(v.values())
                                                                 for op, v in merged.operations.items()}
    assert merged.all_latency().total == merged.total_operations
    assert _without_rate(merged.summary()) == _without_rate(everything.summary())
    # The rate too, when the engines' clocks agree: the shards' rates added up (4 + 5 ops in 30 s).
    assert first.operations_per_minute() == 8.0 and second.operations_per_minute() == 10.0
    assert merged.summary()["operations_per_minute"] == everything.summary()["operations_per_minute"] == 18.0


def test_merge_json_does_not_alias_the_source():
    source = _totals(RECORDS)
    data = source.to_json()
    merged = EngineTotals()
    merged.merge_json(data)
    merged.record("deposit", "ok", 1.0, None, 0, 0)
    merged.merge_json(_totals([("mint", "ok", 1.0, None, 0, 0)]).to_json())
    assert source.operations["deposit"] == {"ok": 2, "expected": 1} and "mint" not in source.operations
    assert data["operations"]["deposit"] == {"ok": 2, "expected": 1}


def test_merge_json_of_an_empty_engine_changes_nothing():
    totals = _totals(RECORDS, FINDINGS)
    before = _without_rate(totals.summary())
    totals.merge_json(EngineTotals().to_json())
    assert _without_rate(totals.summary()) == before


def test_late_landings_are_counted_kept_and_merged_over_shards():
    from engine.stats import EngineTotals

    shard = EngineTotals()
    shard.late_landings = 2
    merged = EngineTotals()
    merged.merge_json(shard.to_json())
    merged.merge_json(shard.to_json())
    assert merged.late_landings == 4 and merged.summary()["late_landings"] == 4
