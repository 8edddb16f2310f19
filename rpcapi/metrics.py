"""`GET /metrics`: the engine's state in the Prometheus text format.

The engine's figures are read at scrape time by a custom collector (nothing is counted twice);
the API's own counters (requests by method and outcome, rejected requests) are ordinary
prometheus-client metrics. Everything lives in a per-server `CollectorRegistry`, so several
servers (tests) can coexist in one process.
"""
from __future__ import annotations

import time

import psutil
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from engine.stats import _FACTOR, _FIRST_MS, LatencyHistogram
from engine.threads import CREATED, ERROR, RUNNING, STOPPED

__all__ = ["ApiMetrics", "CONTENT_TYPE_LATEST"]

# Export every 4th bucket edge of the engine's 25 %-apart log histogram (x2.44 apart): 0.05 ms .. ~80 s.
_EDGES_MS = [_FIRST_MS * _FACTOR ** index for index in range(0, 65, 4)]


def _histogram_buckets(histogram: LatencyHistogram) -> list[tuple[str, float]]:
    """Cumulative (le, count) pairs in seconds from the engine's bucket counts."""
    buckets = []
    for edge_ms in _EDGES_MS:
        # bucket i holds values in (FIRST*F^(i-1), FIRST*F^i]; its upper edge is FIRST*F^i.
        count = sum(count for index, count in enumerate(histogram.counts)
                    if _FIRST_MS * _FACTOR ** index <= edge_ms * (1 + 1e-9))
        buckets.append((repr(edge_ms / 1000), count))
    buckets.append(("+Inf", histogram.total))
    return buckets


class EngineCollector(Collector):
    def __init__(self, engine) -> None:
        self.engine = engine

    def collect(self):
        engine = self.engine
        totals = engine.totals

        operations = CounterMetricFamily("frt_operations", "Pool operations by type and outcome "
                                         "(ok, expected, unexpected, transient).", labels=["operation", "outcome"])
        for operation, by_outcome in sorted(totals.operations.items()):
            for outcome, count in sorted(by_outcome.items()):
                operations.add_metric([operation, outcome], count)
        yield operations

        errors = CounterMetricFamily("frt_errors", "Failed operations by category.", labels=["category"])
        for category, count in sorted(totals.errors_by_category.items()):
            errors.add_metric([category], count)
        yield errors

        by_name = CounterMetricFamily("frt_errors_by_name", "Failed operations by error name.", labels=["name"])
        for name, count in sorted(totals.errors_by_name.items()):
            by_name.add_metric([name], count)
        yield by_name

        findings = CounterMetricFamily("frt_findings", "Findings by kind.", labels=["kind"])
        for kind, count in sorted(totals.findings_by_kind.items()):
            findings.add_metric([kind], count)
        yield findings

        waits = CounterMetricFamily("frt_waiting_cycles", "Thread cycles that waited (nothing to do).")
        waits.add_metric([], totals.waits)
        yield waits

        fees = CounterMetricFamily("frt_fees", "Fees paid: network fees (lamports) and pool fees.", labels=["kind"])
        fees.add_metric(["network_lamports"], totals.network_fees)
        fees.add_metric(["pool"], totals.pool_fees)
        yield fees

        latency = HistogramMetricFamily("frt_operation_latency_seconds", "Latency of pool operations.",
                                        labels=["operation"])
        for operation, histogram in sorted(totals.latency.items()):
            latency.add_metric([operation], _histogram_buckets(histogram), histogram.sum_ms / 1000)
        yield latency

        rate = GaugeMetricFamily("frt_operations_per_second", "Operations per second over the last minute.")
        rate.add_metric([], totals.operations_per_minute() / 60)
        yield rate

        threads = GaugeMetricFamily("frt_threads", "Threads by state.", labels=["state"])
        overview = engine.overview()
        counts = {state: 0 for state in (CREATED, RUNNING, STOPPED, ERROR)} | overview["threads_by_status"]
        for state, count in counts.items():
            threads.add_metric([state], count)
        yield threads

        pools = GaugeMetricFamily("frt_pools", "Pools in the registry.")
        pools.add_metric([], overview["pools"])
        yield pools

        cpu = GaugeMetricFamily("frt_cpu_percent", "CPU use per core since the previous scrape (percent).",
                                labels=["core"])
        for core, percent in enumerate(psutil.cpu_percent(percpu=True)):
            cpu.add_metric([str(core)], percent)
        yield cpu

        process = GaugeMetricFamily("frt_process_cpu_seconds", "CPU seconds used by the engine process.")
        process.add_metric([], time.process_time())
        yield process

        uptime = GaugeMetricFamily("frt_uptime_seconds", "Seconds since the engine started.")
        uptime.add_metric([], time.monotonic() - engine.started_monotonic)
        yield uptime


class ApiMetrics:
    """The registry behind /metrics plus the API's own counters."""

    def __init__(self, engine) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(EngineCollector(engine))
        self.requests = Counter("frt_rpc_requests", "JSON-RPC calls by method and outcome (ok or the error code).",
                                ["method", "outcome"], registry=self.registry)
        self.duration = Histogram("frt_rpc_request_duration_seconds", "Time to answer a JSON-RPC call.",
                                  ["method"], registry=self.registry,
                                  buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.rejected = Counter("frt_http_rejected", "HTTP requests rejected before any call ran, by reason.",
                                ["reason"], registry=self.registry)

    def observe_call(self, method: str, outcome: str, seconds: float) -> None:
        self.requests.labels(method, outcome).inc()
        self.duration.labels(method).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
