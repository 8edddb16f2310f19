"""Throughput and latency over the last minutes: two sparklines fed once per refresh."""
from __future__ import annotations

from collections import deque

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Sparkline, Static

WINDOW_SAMPLES = 1200  # 5 minutes at the fastest refresh rate (4 Hz)


class ThroughputChart(Vertical):
    DEFAULT_CSS = """
    ThroughputChart { height: 6; padding: 0 1; }
    ThroughputChart > Static { height: 1; }
    ThroughputChart > Sparkline { height: 1fr; min-height: 1; }
    ThroughputChart > #latency-spark > .sparkline--max-color { color: $warning; }
    ThroughputChart > #latency-spark > .sparkline--min-color { color: $warning 30%; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.ops: deque[float] = deque(maxlen=WINDOW_SAMPLES)
        self.latency: deque[float] = deque(maxlen=WINDOW_SAMPLES)

    def compose(self) -> ComposeResult:
        yield Static("ops/s –", id="ops-label")
        yield Sparkline([], id="ops-spark")
        yield Static("latency –", id="latency-label")
        yield Sparkline([], id="latency-spark")

    def push(self, ops_per_second: float | None, latency_ms: float | None, p95_ms: float | None) -> None:
        if ops_per_second is not None:
            self.ops.append(ops_per_second)
        if latency_ms is not None:
            self.latency.append(latency_ms)
        peak = max(self.ops, default=0.0)
        self.query_one("#ops-label", Static).update(
            f"ops/s {'–' if ops_per_second is None else f'{ops_per_second:,.1f}'}  (peak {peak:,.0f})", layout=False)
        latency = "–" if latency_ms is None else f"{latency_ms:,.1f} ms"
        self.query_one("#latency-label", Static).update(
            f"latency {latency} mean · p95 {'–' if p95_ms is None else f'{p95_ms:,.1f}'} ms", layout=False)
        self.query_one("#ops-spark", Sparkline).data = _drawable(self.ops)
        self.query_one("#latency-spark", Sparkline).data = _drawable(self.latency)


def _drawable(samples: deque[float]) -> list[float]:
    """A line needs two samples: Textual draws a lone one as a full-height bar (the chart's
    maximum), which reads as a spike; until the second, it is the empty line."""
    return list(samples) if len(samples) > 1 else []
