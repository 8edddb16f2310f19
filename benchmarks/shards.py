"""Throughput as shards are added, on the embedded chain (50 pools x 20 threads by default).

    python benchmarks/shards.py [--pools 50] [--per-pool 20] [--seconds 10] [--paced-seconds 30]

First the bare in-process Engine, as every engine ran before the coordinator fronted them all
(the baseline); then the coordinator with shards = 0 (one shard in the main process), 1, 2 (and
more where the machine has the cores): verified operations per second at pacing 0, each as a
ratio to the baseline measured in the same run (target: shards = 0 and 1 no worse than it;
on 2 cores shards = 2 gives >= 1.6x shards = 1). Then, with the default shard count, 1,000 threads
at the design's pacing: achieved pace against the ideal and the main process's CPU (target:
>= 95 % of ideal with the main process under half a core), and how long a restart with the
persisted threads takes before operations begin (target < 3 s).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.engine import build  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.open import open_engine, shard_count  # noqa: E402


def settings_for(data_dir: str, shards: int | None, pacing_ms: tuple[int, int]) -> Settings:
    return Settings.model_validate({"data_dir": data_dir, "engine": {
        "seed": 1, "shards": shards, "pacing_min_ms": pacing_ms[0], "pacing_max_ms": pacing_ms[1]}})


async def cycles(engine) -> int:
    """Operations and waits so far (the coordinator's totals: merged from the shards' last pushed
    snapshots, a quarter of a second old at most)."""
    totals = engine.totals
    return totals.total_operations + totals.waits


async def throughput(shards: int | str, pools: int, per_pool: int, seconds: float) -> float:
    """Operations per second of the coordinator with `shards`, or of the bare Engine ("bare")."""
    settings = settings_for(tempfile.mkdtemp(prefix=f"frt-shards{shards}-"), 0 if shards == "bare" else shards, (0, 0))
    engine = await (BareEngine.open(settings) if shards == "bare" else open_engine(settings))
    try:
        await build(engine, pools, per_pool)
        await engine.start_all_threads()
        await asyncio.sleep(2)  # warm up (and let shards push a first snapshot)
        before, start = await cycles(engine), time.perf_counter()
        await asyncio.sleep(seconds)
        rate = (await cycles(engine) - before) / (time.perf_counter() - start)
        await engine.stop_all_threads()
        return rate
    finally:
        await engine.close()


async def paced(pools: int, per_pool: int, seconds: float) -> None:
    data_dir = tempfile.mkdtemp(prefix="frt-paced-")
    settings = settings_for(data_dir, None, (750, 2000))
    engine = await open_engine(settings)
    await build(engine, pools, per_pool)
    await engine.start_all_threads()
    await asyncio.sleep(3)
    before, cpu, start = await cycles(engine), time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    wall = time.perf_counter() - start
    rate, main_cores = (await cycles(engine) - before) / wall, (time.process_time() - cpu) / wall
    threads = pools * per_pool
    ideal = threads / 1.375
    print(f"design pacing, {shard_count(settings)} shard(s), {threads} threads: {rate:.0f} cycles/s of an ideal "
          f"{ideal:.0f} ({100 * rate / ideal:.1f} %); main process {main_cores:.2f} cores")
    await engine.close()  # threads were running: they resume on the next start

    started = time.perf_counter()
    engine = await open_engine(settings)
    opened = time.perf_counter() - started
    while await cycles(engine) == 0:
        await asyncio.sleep(0.05)
    first_ops = time.perf_counter() - started
    print(f"restart with {threads} persisted threads and {pools} pools: engine open in {opened:.2f} s, "
          f"first operations after {first_ops:.2f} s (target < 3 s)")
    await engine.close()


class BareEngine:
    """The in-process Engine with nothing in front of it (the baseline), as the coordinator sees it."""

    @staticmethod
    async def open(settings):
        from engine.engine import Engine
        from engine.gc_tuning import tune_gc

        engine = await Engine.open(settings)
        tune_gc()
        return engine


async def main(pools: int, per_pool: int, seconds: float, paced_seconds: float) -> None:
    counts = ["bare", 0, 1, 2] + ([os.cpu_count() - 1] if (os.cpu_count() or 1) > 3 else [])
    rates = {}
    for shards in counts:
        rates[shards] = rate = await throughput(shards, pools, per_pool, seconds)
        name = "bare in-process Engine" if shards == "bare" else f"shards={shards}"
        versus_one = f", {rate / rates[1]:.2f}x shards=1" if 1 in rates and shards not in ("bare", 0, 1) else ""
        print(f"{name}: {rate:.0f} verified ops/s ({rate / rates['bare']:.2f}x bare{versus_one})")
    await paced(pools, per_pool, paced_seconds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", type=int, default=50)
    parser.add_argument("--per-pool", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--paced-seconds", type=float, default=30)
    options = parser.parse_args()
    asyncio.run(main(options.pools, options.per_pool, options.seconds, options.paced_seconds))
