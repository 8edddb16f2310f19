"""The engine on the embedded chain: 50 pools x 20 threads, at the design's pacing and at pacing 0.

    python benchmarks/engine.py [--pools 50] [--per-pool 20] [--paced-seconds 60] [--fast-seconds 10]

(a) design pacing (750-2000 ms between cycles): achieved cycles per second against the ideal
    pace (threads / mean pause), the engine process's CPU (cores) and peak RSS. Target: >= 95 %
    of ideal with under one core.
(b) pacing 0: verified operations per second against a raw LiteSVM loop of signed SPL transfers
    measured in the same run (the ratio is the figure; target >= 0.4).
(c) pacing 0, what recording pool histories costs: ops/s with the history switched off, on, off, on
    (alternating, so drift on a shared machine falls on both); the figure is on / off.

Per pool: 9 deposit + 9 withdrawal threads (alternating tokens A/B) and 2 swap threads — the
engine allows one swap thread per direction per pool, so a pool cannot hold 10 swap threads.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.chain import raw_litesvm_setup, raw_round  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.open import open_engine  # noqa: E402


async def build(engine, pools: int, per_pool: int) -> None:
    swaps = min(2, per_pool)
    others = per_pool - swaps
    for index in range(pools):
        pool_id = (await engine.create_pool(token_a_decimals=(0, 6, 9)[index % 3], token_b_decimals=(9, 6, 0)[index % 3],
                                            ratio_whole_number=(1, 3, 160)[index % 3],
                                            ratio_direction=("a_to_b", "b_to_a")[index % 2]))["pool_id"]
        for slot in range(others):
            side = "AB"[slot % 2]
            if slot % 4 < 2:
                await engine.create_deposit_thread(pool_id, side, 10**15, auto_refill=True)
            else:
                await engine.create_withdrawal_thread(pool_id, side)
        directions = ("a_to_b", "b_to_a")[:swaps]
        for direction in directions:
            await engine.create_swap_thread(pool_id, direction, 10**14)


def cycles(engine) -> int:
    return engine.totals.total_operations + engine.totals.waits


async def measure(engine, seconds: float) -> tuple[float, float]:
    """(cycles per second, CPU cores used) over `seconds` of running threads."""
    start_cycles, start_cpu, start = cycles(engine), time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    wall = time.perf_counter() - start
    return (cycles(engine) - start_cycles) / wall, (time.process_time() - start_cpu) / wall


async def main(pools: int, per_pool: int, paced_seconds: float, fast_seconds: float) -> None:
    data_dir = tempfile.mkdtemp(prefix="frt-bench-")
    settings = Settings.model_validate({"data_dir": data_dir, "embedded": {"persist": False},
                                        "engine": {"seed": 1, "sol_monitor_interval_s": 5, "shards": 0}})
    engine = await open_engine(settings)  # the coordinator, its one shard in this process
    shard = engine.local
    started = time.perf_counter()
    await build(engine, pools, per_pool)
    threads = len(shard.threads)
    print(f"setup: {pools} pools, {threads} threads in {time.perf_counter() - started:.1f} s")

    await engine.start_all_threads()
    await asyncio.sleep(3)  # let every thread pass its first cycle
    rate, cores = await measure(engine, paced_seconds)
    mean_pause = (settings.engine.pacing_min_ms + settings.engine.pacing_max_ms) / 2000
    ideal = threads / mean_pause
    print(f"(a) design pacing: {rate:.0f} cycles/s of an ideal {ideal:.0f} ({100 * rate / ideal:.1f} %), "
          f"CPU {cores:.2f} cores, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB, "
          f"findings {engine.totals.summary()['findings']}, unexpected {engine.totals.count('unexpected')}")
    await engine.stop_all_threads()

    shard.settings.engine.pacing_min_ms = shard.settings.engine.pacing_max_ms = 0
    raw = raw_round(raw_litesvm_setup(), 3000, 0)
    await engine.start_all_threads()
    await asyncio.sleep(1)
    ops_before, txs_before, start = engine.totals.total_operations, shard.client.sender.sent, time.perf_counter()
    await asyncio.sleep(fast_seconds)
    elapsed = time.perf_counter() - start
    ops = (engine.totals.total_operations - ops_before) / elapsed
    txs = (shard.client.sender.sent - txs_before) / elapsed
    await engine.stop_all_threads()
    history = await history_cost(engine, shard, fast_seconds)
    raw_after = raw_round(raw_litesvm_setup(), 3000, 10**6)
    raw = (raw + raw_after) / 2
    print(f"(b) pacing 0: {ops:.0f} verified ops/s vs raw LiteSVM {raw:.0f} tx/s: ratio {ops / raw:.2f} "
          f"(target >= 0.4); all transactions (ops + sharing + refills) {txs:.0f} tx/s, ratio {txs / raw:.2f}; "
          f"findings {engine.totals.summary()['findings']}")
    print(f"(c) history: {history['on']:.0f} ops/s recording vs {history['off']:.0f} without: ratio "
          f"{history['on'] / history['off']:.3f}; {history['bytes'] / max(history['steps'], 1):.0f} bytes per "
          f"recorded transaction ({history['steps']:,} in {history['bytes'] / 2**20:.1f} MiB)")
    await engine.close()


async def history_cost(engine, shard, seconds: float) -> dict:
    """Ops/s at pacing 0 with the history recorder off and on, alternating (seconds/2 each, twice)."""
    from pathlib import Path

    observer, rates = shard.client.sender.observer, {"on": [], "off": []}
    for state in ("off", "on", "off", "on"):
        shard.client.sender.observer = observer if state == "on" else None
        await engine.start_all_threads()
        await asyncio.sleep(0.5)
        before, start = engine.totals.total_operations, time.perf_counter()
        await asyncio.sleep(seconds / 2)
        rates[state].append((engine.totals.total_operations - before) / (time.perf_counter() - start))
        await engine.stop_all_threads()
    shard.client.sender.observer = observer
    files = list(Path(shard.store.data_dir, "history").glob("*.jsonl"))
    steps = sum(sum(1 for line in path.open() if line.startswith('{"n"')) for path in files)
    return {"on": sum(rates["on"]) / 2, "off": sum(rates["off"]) / 2, "steps": steps,
            "bytes": sum(path.stat().st_size for path in files)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", type=int, default=50)
    parser.add_argument("--per-pool", type=int, default=20)
    parser.add_argument("--paced-seconds", type=float, default=60)
    parser.add_argument("--fast-seconds", type=float, default=10)
    options = parser.parse_args()
    asyncio.run(main(options.pools, options.per_pool, options.paced_seconds, options.fast_seconds))
