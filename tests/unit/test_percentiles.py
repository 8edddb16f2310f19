"""Latency percentiles: within ~1 % of the exact values (not bucket edges), exact merging across
shards, and histograms persisted by earlier versions (65 coarse counts) still load."""
from __future__ import annotations

import json
import math
import random

import pytest

from engine.stats import _BUCKETS, _FACTOR, _FIRST_MS, EngineTotals, LatencyHistogram

PS = (1, 10, 25, 50, 75, 90, 95, 99, 99.9, 100)


def _histogram(values) -> LatencyHistogram:
    histogram = LatencyHistogram()
    for value in values:
        histogram.record(value)
    return histogram


def _exact(values, p: float) -> float:
    """The nearest-rank percentile of `values`."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _coarse_edges() -> set[float]:
    return {round(_FIRST_MS * _FACTOR ** index, 3) for index in range(_BUCKETS)}


def test_uniform_samples_give_the_middle_not_a_bucket_edge():
    rng = random.Random(3)
    values = [rng.uniform(0.5, 0.9) for _ in range(5_000)]
    summary = _histogram(values).summary()
    assert summary["p50_ms"] == pytest.approx(0.7, rel=0.01)  # the coarse bucket edge was 0.728
    assert summary["p95_ms"] == pytest.approx(0.88, rel=0.01)
    assert summary["p99_ms"] == pytest.approx(0.896, rel=0.01)
    for key in ("p50_ms", "p95_ms", "p99_ms"):
        assert summary[key] == pytest.approx(_exact(values, float(key[1:3])), rel=0.01), key
    assert not {summary["p50_ms"], summary["p95_ms"], summary["p99_ms"]} & _coarse_edges()


@pytest.mark.parametrize("name, draw", [
    ("lognormal", lambda rng: rng.lognormvariate(0.0, 1.0)),
    ("exponential", lambda rng: 0.3 + rng.expovariate(1.0)),
    ("bimodal", lambda rng: rng.gauss(0.6, 0.02) if rng.random() < 0.8 else rng.gauss(250.0, 20.0)),
    ("wide", lambda rng: 10 ** rng.uniform(-1, 4.5)),
])
@pytest.mark.parametrize("count", [7, 100, 20_000])
def test_percentiles_are_within_one_percent_of_the_exact_ones(name, draw, count):
    rng = random.Random(f"{name}-{count}")
    values = [draw(rng) for _ in range(count)]
    histogram = _histogram(values)
    for p in PS:
        assert histogram.percentile(p) == pytest.approx(_exact(values, p), rel=0.01), p
    assert histogram.percentile(100) == max(values)
    assert histogram.percentiles(PS) == [histogram.percentile(p) for p in PS]


def test_operations_with_different_latencies_get_different_percentiles():
    # Once both read p50 0.728 and p95 1.421: the same 25 %-wide bucket.
    rng = random.Random(9)
    swap = _histogram(rng.uniform(0.60, 0.66) for _ in range(500))
    withdraw = _histogram(rng.uniform(0.66, 0.72) for _ in range(500))
    assert swap.summary()["p50_ms"] == pytest.approx(0.63, rel=0.01)
    assert withdraw.summary()["p50_ms"] == pytest.approx(0.69, rel=0.01)


def test_a_single_sample_and_tiny_values():
    assert _histogram([0.7]).summary() | {"mean_ms": 0} == {"count": 1, "mean_ms": 0, "p50_ms": 0.7,
                                                            "p95_ms": 0.7, "p99_ms": 0.7, "max_ms": 0.7}
    tiny = _histogram([0.01, 0.02, 0.03])
    assert 0 <= tiny.percentile(50) <= _FIRST_MS and tiny.percentile(100) == 0.03


def test_merging_two_histograms_equals_the_histogram_of_the_union():
    rng = random.Random(11)
    first = [rng.uniform(0.5, 0.9) for _ in range(3_000)]
    second = [rng.lognormvariate(1.0, 0.5) for _ in range(2_000)]
    merged = _histogram(first)
    merged.merge(_histogram(second))
    together = _histogram(first + second)
    assert merged.to_json() == pytest.approx(together.to_json())
    assert merged.summary() == together.summary()
    for p in PS:
        assert merged.percentile(p) == pytest.approx(_exact(first + second, p), rel=0.01), p
    # The same through JSON text, as shards send their histograms to the coordinator.
    through_text = LatencyHistogram.from_json(json.loads(json.dumps(_histogram(first).to_json())))
    through_text.add_json(json.loads(json.dumps(_histogram(second).to_json())))
    assert through_text.summary() == together.summary()
    assert through_text.counts == together.counts and through_text.total == 5_000


def test_shard_totals_merged_by_the_coordinator_give_the_percentiles_of_all_operations():
    rng = random.Random(21)
    shards = [EngineTotals(), EngineTotals()]
    everything = {"swap": [], "deposit": []}
    for index in range(4_000):
        operation = ("swap", "deposit")[index % 2]
        ms = rng.uniform(0.5, 0.9) if operation == "swap" else rng.uniform(1.0, 3.0)
        shards[index % 3 == 0].record(operation, "ok", ms, None, 5_000, 0)
        everything[operation].append(ms)
    merged = EngineTotals()
    for shard in shards:
        merged.merge_json(json.loads(json.dumps(shard.to_json())))
    latency = merged.summary()["latency_ms"]
    for operation, values in everything.items():
        for key in ("p50_ms", "p95_ms", "p99_ms"):
            assert latency[operation][key] == pytest.approx(_exact(values, float(key[1:3])), rel=0.01)
    assert latency["swap"]["p50_ms"] == pytest.approx(0.7, rel=0.01)
    assert latency["deposit"]["p50_ms"] == pytest.approx(2.0, rel=0.01)
    assert latency["all"]["count"] == 4_000


# A histogram as versions before the fine buckets persisted it (engine state, shard pushes):
# LatencyHistogram.to_json() of [0.6, 0.65, 0.7, 0.72, 0.8, 1.1, 1.3, 2.5, 40.0, 0.03], whose
# summary then read p50 0.728, p95 = p99 = max 40.0.
OLD = {"counts": [1] + [0] * 11 + [4, 1, 1, 1, 0, 0, 1] + [0] * 11 + [1] + [0] * 34,
       "total": 10, "sum_ms": 48.400000000000006, "max_ms": 40.0}


def test_an_old_persisted_histogram_still_loads():
    assert len(OLD["counts"]) == _BUCKETS
    old = LatencyHistogram.from_json(OLD)
    assert (old.total, old.sum_ms, old.max_ms) == (10, OLD["sum_ms"], 40.0)
    assert old.counts == OLD["counts"]  # the coarse counts are kept as they were
    assert old.percentile(100) == 40.0
    # Its p50 stays in the 25 % bucket it was in (0.583 .. 0.728 ms), now inside it.
    assert _FIRST_MS * _FACTOR ** 11 < old.percentile(50) < _FIRST_MS * _FACTOR ** 12
    # It merges with new histograms, and the result round-trips in the new format.
    new = _histogram([0.7] * 10)
    new.add_json(OLD)
    assert new.total == 20 and new.max_ms == 40.0
    assert LatencyHistogram.from_json(json.loads(json.dumps(new.to_json()))).summary() == new.summary()


def test_old_engine_totals_still_load():
    totals = EngineTotals()
    totals.merge_json({"operations": {"swap": {"ok": 10}}, "latency": {"swap": OLD}, "waits": 0,
                       "network_fees": 0, "pool_fees": 0, "operations_per_minute": 0.0})
    totals.record("swap", "ok", 0.7, None, 0, 0)
    assert totals.latency["swap"].total == 11 and totals.summary()["latency_ms"]["swap"]["max_ms"] == 40.0


def test_the_new_format_keeps_the_coarse_counts_for_older_readers():
    histogram = _histogram([0.6, 0.65, 0.7, 0.72, 0.8, 1.1, 1.3, 2.5, 40.0, 0.03])
    data = json.loads(json.dumps(histogram.to_json()))
    assert data["counts"] == OLD["counts"] and data["total"] == OLD["total"] and data["max_ms"] == 40.0
    # A histogram of an unknown fine layout falls back on its coarse counts.
    assert LatencyHistogram.from_json(data | {"sub": 7}).counts == OLD["counts"]
    assert LatencyHistogram.from_json({"counts": [1, 2], "total": 3, "sum_ms": 1.0, "max_ms": 1.0}).total == 0
