"""The view's refresh loop: a timer at the chosen rate (default 2 Hz, at most 4 Hz) fetches one
engine snapshot at a time and hands it to the app, never while the view is paused or covered by
another screen; `request()` asks for one sooner (after an operation), still at most 4 per second.
Throughput is derived here from the snapshot's operation total over a moving window of
RATE_WINDOW_S seconds (the engine's total grows in steps, so the count of one refresh interval
jumps between 0 and twice the rate); the header and the throughput chart show that one value.
Mean latency is per refresh interval.

CPU budget: the refresher measures what a refresh cycle costs the UI thread (CPU time between
two fetches; the median of the last few cycles, the first full build left out) and spaces
refreshes so that the view stays within `cpu_budget` of a core: interval = cost / budget, never
shorter than 1 / the chosen rate, never longer than MAX_BACKOFF_S. When the whole engine runs in
the console process (engine.shards = 0) it shares one interpreter lock with the UI, so every
millisecond the view spends is taken from the engine: the budget is then IN_PROCESS_BUDGET. With
shard processes (the default) or a remote engine, the view only shares the machine's cores:
SHARED_CORES_BUDGET. With a light load the chosen rate holds; under a heavy one the view slows
down instead of the engine. Operations still show their effect at once (they patch their rows)."""
from __future__ import annotations

import asyncio
import inspect
import logging
import statistics
import time
from collections import deque
from dataclasses import dataclass

from console.gateway import GatewayError

log = logging.getLogger(__name__)

RATES_HZ = (0.5, 1.0, 2.0, 4.0)
MAX_HZ = RATES_HZ[-1]
FEED_LIMIT = 100
RESOURCES_EVERY_S = 1.0
IN_PROCESS_BUDGET = 0.08
SHARED_CORES_BUDGET = 0.25
MAX_BACKOFF_S = 4.0
COST_SAMPLES = 5
RATE_WINDOW_S = 5.0  # ops/s: operations over (at least) the last 5 seconds


@dataclass
class Rates:
    ops_per_second: float | None
    latency_ms: float | None
    p95_ms: float | None


class Refresher:
    def __init__(self, app, hz: float = 2.0, *, clock=time.monotonic,
                 cpu_budget: float | None = IN_PROCESS_BUDGET) -> None:
        self.app = app
        self.hz = min(MAX_HZ, max(RATES_HZ[0], hz))
        self.interval = 1 / self.hz  # effective: longer than 1/hz while over the CPU budget
        self.cpu_budget = cpu_budget
        self.cpu_share = 0.0  # the UI thread's share of a core over the last refresh cycle
        self.cycle_cost: float | None = None  # UI CPU seconds per refresh cycle (median of recent ones)
        self._costs: deque[float] = deque(maxlen=COST_SAMPLES)
        self._cpu_mark = (0.0, 0.0)
        self.clock = clock  # display clock (throughput); pacing uses time.monotonic
        self._timer = None
        self._task: asyncio.Task | None = None
        self._again = False
        self._delayed = None
        self._last_start = -1e9
        self._previous: tuple[float, int, int, float] | None = None  # (clock, ops, latency count, mean)
        self._ops_samples: deque[tuple[float, int]] = deque()  # (clock, ops): the throughput window
        self.fetches = 0
        self._resources_cache: dict | None = None
        self._resources_at = -1e9
        self.skipped = 0

    # ---- rate -------------------------------------------------------------------------------------

    def start(self) -> None:
        self.stop()
        self._timer = self.app.set_interval(1 / self.hz, self.tick, name="refresh")

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self._delayed is not None:
            self._delayed.stop()
            self._delayed = None

    def faster(self) -> float:
        return self._set(next((rate for rate in RATES_HZ if rate > self.hz), MAX_HZ))

    def slower(self) -> float:
        return self._set(next((rate for rate in reversed(RATES_HZ) if rate < self.hz), RATES_HZ[0]))

    @property
    def effective_hz(self) -> float:
        return 1 / max(self.interval, 1 / self.hz)

    def _set(self, hz: float) -> float:
        self.hz = hz
        self.interval = 1 / hz
        if self._timer is not None:
            self.start()
        return hz

    # ---- fetching ---------------------------------------------------------------------------------

    def tick(self) -> None:
        if self.app.view_blocked():
            self.skipped += 1
            return
        if time.monotonic() - self._last_start < self.interval - 0.5 / self.hz:
            return  # backed off: over the CPU budget
        self.request()

    def _account(self) -> None:
        """At the start of each fetch: the UI thread's CPU since the previous one is what a refresh
        cycle costs (apply, render, what else the view did); the next interval is that cost over
        the budget (never shorter than 1 / hz)."""
        cpu, now = time.thread_time(), time.monotonic()
        previous_cpu, previous_at = self._cpu_mark
        self._cpu_mark = (cpu, now)
        if previous_at <= 0 or now - previous_at > 10 * MAX_BACKOFF_S:
            return
        cost = cpu - previous_cpu
        self.cpu_share = cost / max(now - previous_at, 1e-6)
        if self.fetches <= 1:
            return  # the first cycle builds every row once: not what a refresh costs
        self._costs.append(cost)
        self.cycle_cost = statistics.median(self._costs)
        if self.cpu_budget:
            self.interval = min(MAX_BACKOFF_S, max(1 / self.hz, self.cycle_cost / self.cpu_budget))

    def request(self) -> None:
        """Fetch a snapshot as soon as the 4 Hz cap allows (one at a time)."""
        if self.app.gateway is None:
            return
        if self._task is not None and not self._task.done():
            self._again = True
            return
        wait = self._last_start + 1 / MAX_HZ - time.monotonic()
        if wait > 0:
            if self._delayed is None:
                self._delayed = self.app.set_timer(wait, self._delayed_request, name="refresh-soon")
            return
        self._last_start = time.monotonic()
        self._account()
        self._task = asyncio.create_task(self._fetch(), name="console-refresh")
        self._task.add_done_callback(self._done)

    def _delayed_request(self) -> None:
        self._delayed = None
        if not self.app.view_blocked():
            self.request()

    def _done(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("refresh failed", exc_info=task.exception())
        if self._again:
            self._again = False
            if not self.app.view_blocked():
                self.request()

    async def _fetch(self) -> None:
        gateway = self.app.gateway
        try:
            snapshot = await gateway.snapshot(feed_limit=FEED_LIMIT)
            resources = await self._resources(gateway)
        except GatewayError as exc:
            self.app.show_problem(f"refresh failed: {exc}")
            return
        self.fetches += 1
        rates = self.rates(snapshot.get("engine") or {})
        if self.app.view_blocked():
            return
        self.app.apply_snapshot(snapshot, resources, rates)

    async def _resources(self, gateway) -> dict:
        """CPU and memory, sampled at most once a second (reading /proc is not free)."""
        now = time.monotonic()
        if self._resources_cache is not None and now - self._resources_at < RESOURCES_EVERY_S:
            return self._resources_cache
        sampler = self.app.cpu_sampler or gateway.resources
        try:
            answer = sampler()
            answer = await answer if inspect.isawaitable(answer) else answer
        except GatewayError:
            answer = {}
        self._resources_cache, self._resources_at = answer, now
        return answer

    def rates(self, engine: dict) -> Rates:
        now = self.clock()
        ops = engine.get("operations") or 0
        latency = engine.get("latency_ms") or {}
        count, mean = latency.get("count") or 0, latency.get("mean_ms") or 0.0
        previous, self._previous = self._previous, (now, ops, count, mean)
        p95 = latency.get("p95_ms") if count else None
        if previous is None or now - previous[0] <= 0:
            self._windowed_rate(now, ops)
            return Rates(None, mean if count else None, p95)
        ops_rate = self._windowed_rate(now, ops)
        new = count - previous[2]
        interval_mean = (count * mean - previous[2] * previous[3]) / new if new > 0 else None
        return Rates(ops_rate, interval_mean, p95)

    def _windowed_rate(self, now: float, ops: int) -> float | None:
        """Operations per second from the oldest sample that is still needed to span RATE_WINDOW_S
        (or all of them, early on) to now. A total that went down (a restart) starts afresh."""
        samples = self._ops_samples
        if samples and (ops < samples[-1][1] or now < samples[-1][0]):
            samples.clear()
        if not samples or now > samples[-1][0]:
            samples.append((now, ops))
        while len(samples) >= 2 and samples[1][0] <= now - RATE_WINDOW_S:
            samples.popleft()
        since, base = samples[0]
        return (ops - base) / (now - since) if now > since else None

    async def wait_idle(self) -> None:
        """Until no fetch is in flight (tests)."""
        while self._task is not None and not self._task.done():
            await asyncio.sleep(0.005)
