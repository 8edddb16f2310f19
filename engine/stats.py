"""Statistics: a mergeable latency histogram, an operations-per-minute meter and per-thread counters."""
from __future__ import annotations

import bisect
import itertools
import math
import operator
import time
from collections import Counter, deque
from dataclasses import dataclass, field, fields

# Log-scale buckets from 0.05 ms to ~64 s: 65 coarse buckets 25 % apart (what /metrics exports and
# all that stats files of earlier versions hold), each split into _SUB fine buckets ~1 % apart.
# A percentile is interpolated inside its fine bucket, so it is within one fine bucket (< 1 %) of
# the nearest-rank value (percentiles were once the coarse bucket's upper edge: up to 25 % off, and
# all alike); recording stays one log and one list increment, and merging stays exact.
_FIRST_MS = 0.05
_FACTOR = 1.25
_BUCKETS = 65  # coarse: [0, FIRST], 63 buckets 25 % wide, then everything from FIRST * F**63 (~64 s) up
_SUB = 23  # fine buckets per coarse one: 1.25 ** (1 / 23) = 1.0097 apart
_FINE = (_BUCKETS - 2) * _SUB + 2  # [0, FIRST], 1,449 buckets ~1 % wide, the top one
_TOP = _FINE - 1
_INDICES = range(_FINE)
_COARSE = [slice(0, 1), *(slice(start, start + _SUB) for start in range(1, _TOP, _SUB)), slice(_TOP, _FINE)]
_FINE_FACTOR = _FACTOR ** (1 / _SUB)
_LOG_FIRST = math.log(_FIRST_MS)
_PER_LOG = _SUB / math.log(_FACTOR)  # fine buckets per unit of ln(ms)


def _fine_bounds(index: int) -> tuple[float, float]:
    """(lower, upper) edge of fine bucket `index` (not the top one) in ms."""
    if index == 0:
        return 0.0, _FIRST_MS
    return _FIRST_MS * _FINE_FACTOR ** (index - 1), _FIRST_MS * _FINE_FACTOR ** index


class LatencyHistogram:
    """Latencies (ms) in log-scale buckets ~1 % wide: percentiles within ~1 % of the exact ones,
    exactly mergeable across threads and shard processes."""

    __slots__ = ("fine", "total", "sum_ms", "max_ms")

    def __init__(self) -> None:
        self.fine = [0] * _FINE
        self.total = 0
        self.sum_ms = 0.0
        self.max_ms = 0.0

    def record(self, ms: float) -> None:
        if ms <= _FIRST_MS:
            index = 0
        else:
            index = int((math.log(ms) - _LOG_FIRST) * _PER_LOG) + 1
            if index > _TOP:
                index = _TOP
        self.fine[index] += 1
        self.total += 1
        self.sum_ms += ms
        if ms > self.max_ms:
            self.max_ms = ms

    @property
    def counts(self) -> list[int]:
        """The 65 coarse bucket counts (bucket i >= 1 holds [FIRST*F**(i-1), FIRST*F**i)): what
        /metrics exports and what older versions persisted."""
        return list(map(sum, map(self.fine.__getitem__, _COARSE)))

    def merge(self, other: "LatencyHistogram") -> None:
        self.fine = list(map(operator.add, self.fine, other.fine))
        self.total += other.total
        self.sum_ms += other.sum_ms
        self.max_ms = max(self.max_ms, other.max_ms)

    def percentiles(self, ps) -> list[float]:
        """The p-th percentiles (ms) of `ps`, one pass: the nearest-rank sample's fine bucket, and in
        it the value at the rank's share of the bucket's count (linear), capped by the max; the max
        in the top bucket (>= ~64 s, no upper edge); 0 when empty."""
        cumulative = list(itertools.accumulate(self.fine))
        if not self.total or not cumulative[-1]:
            return [0.0 for _ in ps]
        answers = []
        for p in ps:
            rank = min(max(p / 100 * self.total, 1e-9), cumulative[-1])  # p = 0: the first sample's bucket
            index = bisect.bisect_left(cumulative, rank)
            if index == _TOP:  # no upper edge: what the top bucket holds is up to the max, said as the max
                answers.append(self.max_ms)
                continue
            count = self.fine[index]
            share = (rank - (cumulative[index] - count)) / count
            lower, upper = _fine_bounds(index)
            upper = min(upper, self.max_ms)
            answers.append(max(0.0, min(lower + (upper - lower) * share, self.max_ms)))
        return answers

    def percentile(self, p: float) -> float:
        """The p-th percentile (ms), within one fine bucket (< 1 %) of the nearest-rank value; 0 when empty."""
        return self.percentiles((p,))[0]

    @property
    def mean_ms(self) -> float:
        return self.sum_ms / self.total if self.total else 0.0

    def summary(self) -> dict:
        p50, p95, p99 = self.percentiles((50, 95, 99))
        return {"count": self.total, "mean_ms": round(self.mean_ms, 3), "p50_ms": round(p50, 3),
                "p95_ms": round(p95, 3), "p99_ms": round(p99, 3), "max_ms": round(self.max_ms, 3)}

    def to_json(self) -> dict:
        """The fine counts from the first non-empty bucket to the last ("fine_from", "fine"; "sub"
        names the layout), and the coarse counts too, which versions before the fine buckets read."""
        fine = self.fine
        first = next(itertools.compress(_INDICES, fine), 0)
        last = _TOP - next(itertools.compress(_INDICES, reversed(fine)), _TOP)
        return {"counts": self.counts, "sub": _SUB, "fine_from": first, "fine": fine[first:last + 1],
                "total": self.total, "sum_ms": self.sum_ms, "max_ms": self.max_ms}

    def add_json(self, data: dict | None) -> None:
        """Add a to_json() of this version, or of an older one (coarse counts only: each coarse
        count is spread evenly over its fine buckets, so its percentiles stay within that 25 %
        bucket). A histogram of another layout adds nothing."""
        span = _fine_of_json(data) if data else None
        if span is None:
            return
        first, counts = span
        end = first + len(counts)
        self.fine[first:end] = map(operator.add, self.fine[first:end], counts)
        self.total += data["total"]
        self.sum_ms += data["sum_ms"]
        self.max_ms = max(self.max_ms, data["max_ms"])

    @classmethod
    def from_json(cls, data: dict | None) -> "LatencyHistogram":
        histogram = cls()
        histogram.add_json(data)
        return histogram


def _fine_of_json(data: dict) -> tuple[int, list[int]] | None:
    """(first fine index, fine counts from there) of a persisted histogram, or None when its
    layout is unknown."""
    fine, first = data.get("fine"), data.get("fine_from")
    if (data.get("sub") == _SUB and isinstance(fine, list) and isinstance(first, int)
            and 0 <= first and first + len(fine) <= _FINE):
        return first, fine
    counts = data.get("counts")  # before the fine buckets: the 65 coarse counts
    if not isinstance(counts, list) or len(counts) != _BUCKETS:
        return None
    fine = [counts[0]]
    for count in counts[1:-1]:  # spread evenly (Bresenham): the share of the coarse bucket each fine one gets
        fine.extend((step + 1) * count // _SUB - step * count // _SUB for step in range(_SUB))
    fine.append(counts[-1])
    return 0, fine


class RateMeter:
    """Events in the last `window_s` seconds, as a per-minute rate."""

    def __init__(self, window_s: float = 60.0, clock=time.monotonic) -> None:
        self.window_s = window_s
        self.clock = clock
        self.events: deque[float] = deque()
        self.started = clock()

    def mark(self) -> None:
        self.events.append(self.clock())

    def per_minute(self) -> float:
        now = self.clock()
        while self.events and self.events[0] < now - self.window_s:
            self.events.popleft()
        span = min(self.window_s, max(now - self.started, 1e-9))
        return len(self.events) * 60.0 / span


@dataclass
class ThreadStats:
    """One thread's statistics for the current session (reset by start_thread)."""

    session_started_at: str | None = None
    session_start_reason: str = ""
    successful_operations: int = 0
    failed_operations: int = 0
    expected_failures: int = 0
    unexpected_failures: int = 0
    waiting_cycles: int = 0
    successful_deposits: int = 0
    successful_withdrawals: int = 0
    successful_swaps: int = 0
    total_volume_processed: int = 0
    smallest_amount: int | None = None
    largest_amount: int = 0
    # deposits
    tokens_deposited: int = 0
    lp_tokens_received: int = 0
    lp_tokens_shared: int = 0
    # withdrawals
    lp_tokens_used: int = 0
    tokens_withdrawn: int = 0
    tokens_shared: int = 0
    lp_tokens_from_deposits: int = 0
    # swaps
    swap_input_total: int = 0
    swap_output_total: int = 0
    swap_value_lost: int = 0  # output the floor kept in the pool, in output base units (< 1 per swap)
    tokens_sent_to_opposite: int = 0
    tokens_received_from_opposite: int = 0
    # funding
    tokens_from_sharing: int = 0
    times_refilled: int = 0
    tokens_from_refills: int = 0
    tokens_funded_manually: int = 0
    sol_topups: int = 0
    sol_from_topups: int = 0
    # costs (lamports)
    pool_fees_paid: int = 0
    network_fees_paid: int = 0
    # sharing
    sharing_sources: dict[str, int] = field(default_factory=dict)
    sharing_recipients_count: int = 0
    last_sharing_amount: int = 0
    last_sharing_at: str | None = None
    # empty operations
    empty_operations: int = 0
    empty_operations_failed: int = 0
    tokens_burned: int = 0
    # health
    consecutive_failures: int = 0
    last_success_at: str | None = None
    last_operation_at: str | None = None
    last_operation_duration_ms: float = 0.0
    active_seconds: float = 0.0
    errors_by_name: dict[str, int] = field(default_factory=dict)
    findings: int = 0
    starting_balances: dict[str, int] = field(default_factory=dict)
    recent_fees: list[int] = field(default_factory=list)

    def record_amount(self, amount: int) -> None:
        self.total_volume_processed += amount
        self.largest_amount = max(self.largest_amount, amount)
        self.smallest_amount = amount if self.smallest_amount is None else min(self.smallest_amount, amount)

    def record_fee(self, network_fee: int, pool_fee: int) -> None:
        self.network_fees_paid += network_fee
        self.pool_fees_paid += pool_fee
        self.recent_fees = (self.recent_fees + [network_fee])[-10:]

    def record_error(self, name: str) -> None:
        self.errors_by_name[name] = self.errors_by_name.get(name, 0) + 1

    @property
    def total_attempts(self) -> int:
        return self.successful_operations + self.failed_operations

    @property
    def success_rate(self) -> float:
        return round(100.0 * self.successful_operations / self.total_attempts, 2) if self.total_attempts else 0.0

    @property
    def most_common_error(self) -> str | None:
        return Counter(self.errors_by_name).most_common(1)[0][0] if self.errors_by_name else None

    def to_json(self) -> dict:
        """A JSON-ready copy (shallow: fields are numbers, strings and flat dicts/lists; asdict's
        deep copy made a save of 1,000 threads stall the event loop for ~200 ms)."""
        data = dict(self.__dict__)
        for key, value in data.items():
            if isinstance(value, (dict, list)):
                data[key] = value.copy()
        return data

    @classmethod
    def from_json(cls, data: dict | None) -> "ThreadStats":
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in (data or {}).items() if key in known})


OK_OUTCOME = "ok"  # the success key of outcomes_by_operation; every other key is an error name
UNNAMED_ERROR = "unknown"  # a failure without an error name (as ThreadStats books it)


class EngineTotals:
    """Engine-wide counters: operations by type and verdict, errors, findings, latency."""

    def __init__(self) -> None:
        self.operations: dict[str, dict[str, int]] = {}
        # operation -> {"ok": successes, <error name>: failures}: each operation counted once,
        # so the counts of an operation add up to its total (the report's coverage section)
        self.outcomes_by_operation: dict[str, dict[str, int]] = {}
        self.errors_by_category: dict[str, int] = {}
        self.errors_by_name: dict[str, int] = {}
        self.findings_by_kind: dict[str, int] = {}
        self.findings_by_severity: dict[str, int] = {}
        self.latency: dict[str, LatencyHistogram] = {}
        self.waits = 0
        self.late_landings = 0  # transactions of operations counted "Unconfirmed" that landed afterwards
        self.network_fees = 0
        self.pool_fees = 0
        self.rate = RateMeter()
        self.extra_rate = 0.0  # merged shards' operations per minute

    def operations_per_minute(self) -> float:
        return self.rate.per_minute() + self.extra_rate

    def record(self, operation: str, verdict: str, latency_ms: float, error_name: str | None,
               network_fee: int, pool_fee: int) -> None:
        by_verdict = self.operations.setdefault(operation, {})
        by_verdict[verdict] = by_verdict.get(verdict, 0) + 1
        self.latency.setdefault(operation, LatencyHistogram()).record(latency_ms)
        outcome = OK_OUTCOME if verdict == "ok" else error_name or UNNAMED_ERROR
        outcomes = self.outcomes_by_operation.setdefault(operation, {})
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if verdict != "ok":
            self.errors_by_category[verdict] = self.errors_by_category.get(verdict, 0) + 1
            if error_name:
                self.errors_by_name[error_name] = self.errors_by_name.get(error_name, 0) + 1
        self.network_fees += network_fee
        self.pool_fees += pool_fee
        self.rate.mark()

    def to_json(self) -> dict:
        return {"operations": self.operations, "outcomes_by_operation": self.outcomes_by_operation,
                "errors_by_category": self.errors_by_category,
                "errors_by_name": self.errors_by_name, "findings_by_kind": self.findings_by_kind,
                "findings_by_severity": self.findings_by_severity,
                "latency": {op: h.to_json() for op, h in self.latency.items()}, "waits": self.waits,
                "late_landings": self.late_landings,
                "network_fees": self.network_fees, "pool_fees": self.pool_fees,
                "operations_per_minute": self.rate.per_minute()}

    def merge_json(self, data: dict) -> None:
        """Add another engine's totals (a shard's) into these."""
        for name in ("operations", "outcomes_by_operation"):
            for op, counts in data.get(name, {}).items():
                mine = getattr(self, name).setdefault(op, {})
                for key, count in counts.items():
                    mine[key] = mine.get(key, 0) + count
        for name in ("errors_by_category", "errors_by_name", "findings_by_kind", "findings_by_severity"):
            mine = getattr(self, name)
            for key, count in data.get(name, {}).items():
                mine[key] = mine.get(key, 0) + count
        for op, histogram in data["latency"].items():
            self.latency.setdefault(op, LatencyHistogram()).add_json(histogram)
        self.waits += data["waits"]
        self.late_landings += data.get("late_landings", 0)
        self.network_fees += data["network_fees"]
        self.pool_fees += data["pool_fees"]
        self.extra_rate += data["operations_per_minute"]

    def record_finding(self, kind: str, severity: str | None = None) -> None:
        self.findings_by_kind[kind] = self.findings_by_kind.get(kind, 0) + 1
        if severity is not None:
            self.findings_by_severity[severity] = self.findings_by_severity.get(severity, 0) + 1

    @property
    def total_operations(self) -> int:
        return sum(sum(v.values()) for v in self.operations.values())

    def count(self, verdict: str) -> int:
        return sum(v.get(verdict, 0) for v in self.operations.values())

    def all_latency(self) -> LatencyHistogram:
        merged = LatencyHistogram()
        for histogram in self.latency.values():
            merged.merge(histogram)
        return merged

    def summary(self) -> dict:
        return {
            "total_operations": self.total_operations,
            "successful_operations": self.count("ok"),
            "expected_failures": self.count("expected"),
            "unexpected_failures": self.count("unexpected"),
            "transient_failures": self.count("transient"),
            "waiting_cycles": self.waits,
            "late_landings": self.late_landings,
            "operations": self.operations,
            "outcomes_by_operation": self.outcomes_by_operation,
            "errors_by_category": self.errors_by_category,
            "errors_by_name": self.errors_by_name,
            "findings": sum(self.findings_by_kind.values()),
            "findings_by_kind": self.findings_by_kind,
            "findings_by_severity": self.findings_by_severity,
            "operations_per_minute": round(self.operations_per_minute(), 2),
            "latency_ms": {op: h.summary() for op, h in self.latency.items()} | {"all": self.all_latency().summary()},
            "network_fees_paid": self.network_fees,
            "pool_fees_paid": self.pool_fees,
        }
