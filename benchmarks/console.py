"""The operator console attached to a busy engine, against the same engine headless, in one run.

    python benchmarks/console.py [--pools 50] [--per-pool 20] [--seconds 10] [--rounds 2]
                                 [--presses 15] [--paced-seconds 20] [--refresh 2] [--shards N]

The engine runs 50 pools x 20 threads (benchmarks/engine.py builds them) on the embedded chain,
opened as `frt-stress console` opens it: in shard processes (cores minus reserved_cores) and the
coordinator on its own thread in this process; `--shards 0` puts the whole engine in this process.

(a) pacing 0: verified operations per second with no console, then with the console attached
    (the App on Textual's headless driver, refreshing at --refresh Hz, 160x50 cells), alternating
    for --rounds rounds. Target: with the console >= 85 % of headless.
(b) key to screen, console attached, pacing 0: press `x` on a running thread that is on screen
    and time (1) until the table cell shows the engine's answer "■ stopped" and (2) until the
    next frame the compositor produced after that (what a terminal would draw). Also `p` (pause
    the view: a pure view action) until the header shows PAUSED. Target: <= 200 ms.
(c) the design's pacing (750-2000 ms), a second engine: ops/s headless vs console, and `x` key
    to screen.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.engine import build  # noqa: E402
from console.app import ConsoleApp  # noqa: E402
from console.engine_thread import EngineThread  # noqa: E402
from console.gateway import LocalGateway  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.open import open_engine  # noqa: E402

SIZE = (160, 50)


async def ops_rate(engine, seconds: float) -> float:
    start_ops, start = engine.totals.total_operations, time.perf_counter()
    await asyncio.sleep(seconds)
    return (engine.totals.total_operations - start_ops) / (time.perf_counter() - start)


class Attached:
    """The console on the headless driver, with probes: frames drawn, time spent applying."""

    def __init__(self, engine, runner: EngineThread, refresh_hz: float) -> None:
        self.app = ConsoleApp(LocalGateway(engine, owns_engine=False, runner=runner), state_dir=None,
                              refresh_hz=refresh_hz, cursor_blink=False)
        self.frames: list[float] = []
        self.apply_s = 0.0
        self.snapshot_s = 0.0

    async def __aenter__(self):
        app = self.app
        self._context = app.run_test(size=SIZE)
        self.pilot = await self._context.__aenter__()
        await app.wait_connected()
        display = app._display

        def probe_display(screen, renderable):
            if renderable is not None:
                self.frames.append(time.perf_counter())
            return display(screen, renderable)

        app._display = probe_display
        apply = app.apply_snapshot

        def probe_apply(*args):
            started = time.perf_counter()
            apply(*args)
            self.apply_s += time.perf_counter() - started

        app.apply_snapshot = probe_apply
        gateway = app.gateway
        snapshot = gateway.snapshot

        async def probe_snapshot(**kwargs):
            started = time.perf_counter()
            try:
                return await snapshot(**kwargs)
            finally:
                self.snapshot_s += time.perf_counter() - started

        gateway.snapshot = probe_snapshot
        return self

    async def __aexit__(self, *exc):
        await self._context.__aexit__(*exc)

    def press(self, key: str) -> float:
        from textual import events

        event = events.Key(key, key)
        self.app._driver.send_message(event)
        return time.perf_counter()

    async def frame_after(self, moment: float, timeout: float = 5.0) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            later = [frame for frame in self.frames if frame >= moment]
            if later:
                return later[0]
            await asyncio.sleep(0.001)
        return float("nan")


async def key_to_screen_stop(attached: Attached, presses: int) -> tuple[list[float], ...]:
    """In ms: press -> first frame showing '◌ stopping…' (the key's own effect), press -> cell
    shows '■ stopped' (the engine's answer), press -> first frame after that."""
    app = attached.app
    table = app.main.threads_table
    to_pending, to_cell, to_frame = [], [], []
    for _ in range(presses):
        await asyncio.sleep(0.4)
        visible = table.keys_in_order[: max(1, table.size.height - 2)]
        status_column = table._column_keys.index("status")
        running = [key for key in visible if table._shown_cells.get(key)
                   and table._shown_cells[key][status_column][0].startswith("▶")]
        if not running:
            break
        thread_id = running[len(to_cell) % len(running)]
        table.select_key(thread_id)
        await asyncio.sleep(0.3)
        pressed = attached.press("x")
        deadline = pressed + 10
        pending_at = None
        while time.perf_counter() < deadline:
            shown = table._shown_cells.get(thread_id)
            text = shown[status_column][0] if shown is not None else ""
            if pending_at is None and text.startswith("◌"):
                pending_at = time.perf_counter()
            if text == "■ stopped":
                break
            await asyncio.sleep(0.001)
        if pending_at is not None:
            to_pending.append((await attached.frame_after(pending_at) - pressed) * 1000)
        cell_at = time.perf_counter()
        frame_at = await attached.frame_after(cell_at)
        to_cell.append((cell_at - pressed) * 1000)
        to_frame.append((frame_at - pressed) * 1000)
    return to_pending, to_cell, to_frame


async def key_to_screen_pause(attached: Attached, presses: int) -> list[float]:
    app = attached.app
    header = app.main.header
    results = []
    for _ in range(presses):
        await asyncio.sleep(0.3)
        want = not app.paused
        pressed = attached.press("p")
        while ("PAUSED" in str(header.render())) != want:
            await asyncio.sleep(0.001)
        frame_at = await attached.frame_after(time.perf_counter())
        results.append((frame_at - pressed) * 1000)
    if app.paused:
        attached.press("p")
        await asyncio.sleep(0.2)
    return results


def summary(values: list[float]) -> str:
    if not values:
        return "n/a"
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return f"median {statistics.median(values):.0f} ms, p95 {p95:.0f} ms, max {values[-1]:.0f} ms (n={len(values)})"


async def open_built(options, pacing_ms: tuple[int, int]):
    """The engine as `frt-stress console` opens it (open_engine: shard processes unless --shards 0),
    on its own thread and loop, with 1,000 threads built and running."""
    settings = Settings.model_validate({"data_dir": tempfile.mkdtemp(prefix="frt-console-bench-"),
                                        "embedded": {"persist": False},
                                        "engine": {"seed": 1, "sol_monitor_interval_s": 5, "shards": options.shards,
                                                   "pacing_min_ms": pacing_ms[0], "pacing_max_ms": pacing_ms[1]}})
    runner = EngineThread().start()
    engine = await runner.run(open_engine(settings))
    started = time.perf_counter()
    await runner.run(build(engine, options.pools, options.per_pool))
    await runner.run(engine.start_all_threads())
    print(f"setup ({describe_engine(engine)}, pacing {pacing_ms[0]}-{pacing_ms[1]} ms): {options.pools} pools, "
          f"{options.pools * options.per_pool} threads in {time.perf_counter() - started:.1f} s")
    await asyncio.sleep(2)
    return engine, runner


def describe_engine(engine) -> str:
    return "in-process engine" if engine.in_process else f"{len(engine.shards)} shard process(es)"


async def close(engine, runner: EngineThread) -> None:
    await runner.run(engine.close())
    runner.stop()


async def main(options) -> None:
    # (a) pacing 0: headless vs console, alternating
    engine, runner = await open_built(options, (0, 0))
    headless, attached_rates, costs = [], [], []
    for round_index in range(options.rounds):
        headless.append(await ops_rate(engine, options.seconds))
        async with Attached(engine, runner, options.refresh) as attached:
            await asyncio.sleep(1.5)  # the first refresh builds the 1,000 rows
            fetches, apply_s, snapshot_s = attached.app.refresher.fetches, attached.apply_s, attached.snapshot_s
            ui_cpu, wall = time.thread_time(), time.perf_counter()
            attached_rates.append(await ops_rate(engine, options.seconds))
            ui_share = (time.thread_time() - ui_cpu) / (time.perf_counter() - wall)
            refreshes = attached.app.refresher.fetches - fetches
            costs.append(((attached.apply_s - apply_s) / max(refreshes, 1) * 1000,
                          (attached.snapshot_s - snapshot_s) / max(refreshes, 1) * 1000, refreshes / options.seconds,
                          ui_share, (attached.app.refresher.cycle_cost or 0) * 1000))
        print(f"  round {round_index + 1}: headless {headless[-1]:,.0f} ops/s, console {attached_rates[-1]:,.0f} ops/s")
    h, c = statistics.mean(headless), statistics.mean(attached_rates)
    apply_ms = statistics.mean(cost[0] for cost in costs)
    snapshot_ms = statistics.mean(cost[1] for cost in costs)
    print(f"(a) pacing 0: headless {h:,.0f} ops/s, console attached {c:,.0f} ops/s: {100 * c / h:.1f} % "
          f"(target >= 85 %); per refresh: snapshot {snapshot_ms:.1f} ms + apply {apply_ms:.1f} ms at "
          f"{statistics.mean(cost[2] for cost in costs):.1f} refreshes/s; UI thread CPU "
          f"{100 * statistics.mean(cost[3] for cost in costs):.1f} % of a core, "
          f"{statistics.mean(cost[4] for cost in costs):.0f} ms of it per refresh cycle")

    # (b) key to screen at pacing 0
    async with Attached(engine, runner, options.refresh) as attached:
        await asyncio.sleep(1.5)
        to_pending, to_cell, to_frame = await key_to_screen_stop(attached, options.presses)
        pause = await key_to_screen_pause(attached, options.presses)
    print(f"(b) pacing 0, key `x` (stop) -> frame showing '◌ stopping…': {summary(to_pending)}")
    print(f"    key `x` -> cell shows the engine's '■ stopped': {summary(to_cell)}; its frame: {summary(to_frame)}  "
          f"(target <= 200 ms)")
    print(f"    key `p` (pause view) -> frame with PAUSED: {summary(pause)}")
    await close(engine, runner)

    # (c) the design's pacing
    if options.paced_seconds > 0:
        engine, runner = await open_built(options, (750, 2000))
        paced_headless = await ops_rate(engine, options.paced_seconds)
        async with Attached(engine, runner, options.refresh) as attached:
            await asyncio.sleep(1.5)
            paced_console = await ops_rate(engine, options.paced_seconds)
            paced_hz = attached.app.refresher.effective_hz
            paced_pending, paced_cell, paced_frame = await key_to_screen_stop(attached, options.presses)
        print(f"(c) design pacing: headless {paced_headless:,.0f} ops/s, console {paced_console:,.0f} ops/s "
              f"({100 * paced_console / paced_headless:.1f} %), view refreshing at {paced_hz:.1f} Hz")
        print(f"    key `x` -> frame showing '◌ stopping…': {summary(paced_pending)}; -> '■ stopped' "
              f"{summary(paced_cell)}; -> its frame {summary(paced_frame)}")
        await close(engine, runner)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", type=int, default=50)
    parser.add_argument("--per-pool", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--presses", type=int, default=15)
    parser.add_argument("--paced-seconds", type=float, default=20)
    parser.add_argument("--refresh", type=float, default=2.0)
    parser.add_argument("--shards", type=int, default=None,
                        help="shard processes (default: as configured, cores minus reserved_cores); 0 = in-process")
    parser.add_argument("--switch-interval", type=float, default=None, help="sys.setswitchinterval (s)")
    options = parser.parse_args()
    if options.switch_interval:
        sys.setswitchinterval(options.switch_interval)
    asyncio.run(main(options))
