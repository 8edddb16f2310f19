"""Ordinary threads' verified throughput with the operator running vs without, in the same run.

    python benchmarks/operator.py [--pools 10] [--per-pool 6] [--seconds 10] [--interval 0.5] [--rounds 2]

One engine (one shard in this process), threads at pacing 0. The rounds alternate operator off /
on (off, on, off, on, ...) so that drift (growing ledger, wallets) does not favour one side;
each round reports verified operations per second (ok + expected refusals — every one predicted
and checked), how many of them were refusals, operator actions, and findings. A system pause
holds every pool's lock and then blocks every operation until it is undone, so the operator's
cost is its own transactions, the locks it takes, and the refusals it causes.
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
from engine.open import open_engine  # noqa: E402


def verified(engine) -> tuple[int, int]:
    totals = engine.totals
    return totals.count("ok") + totals.count("expected"), totals.count("expected")


async def main(pools: int, per_pool: int, seconds: float, interval: float, rounds: int) -> None:
    data_dir = tempfile.mkdtemp(prefix="frt-bench-operator-")
    settings = Settings.model_validate({"data_dir": data_dir, "embedded": {"persist": False},
                                        "engine": {"seed": 1, "sol_monitor_interval_s": 5, "shards": 0,
                                                   "pacing_min_ms": 0, "pacing_max_ms": 0}})
    engine = await open_engine(settings)
    started = time.perf_counter()
    await build(engine, pools, per_pool)
    print(f"setup: {pools} pools, {len(engine.local.threads)} threads in {time.perf_counter() - started:.1f} s")
    await engine.start_all_threads()
    await asyncio.sleep(1)
    figures: dict[bool, list[float]] = {False: [], True: []}
    for index in range(2 * rounds):
        on = index % 2 == 1
        await engine.set_operator(enabled=on, interval_s=interval)
        ops0, refused0 = verified(engine)
        actions0, findings0 = (await engine.get_operator())["actions"], engine.totals.summary()["findings"]
        start = time.perf_counter()
        await asyncio.sleep(seconds)
        elapsed = time.perf_counter() - start
        ops1, refused1 = verified(engine)
        actions = (await engine.get_operator())["actions"] - actions0
        rate = (ops1 - ops0) / elapsed
        figures[on].append(rate)
        print(f"operator {'on ' if on else 'off'}: {rate:7.0f} verified ops/s ({refused1 - refused0} expected "
              f"refusals), operator actions {actions}, new findings "
              f"{engine.totals.summary()['findings'] - findings0}, unexpected {engine.totals.count('unexpected')}")
    await engine.set_operator(enabled=False)
    await engine.stop_all_threads()
    off, on = sum(figures[False]) / len(figures[False]), sum(figures[True]) / len(figures[True])
    print(f"mean: off {off:.0f} ops/s, on {on:.0f} ops/s (interval {interval} s): ratio {on / off:.2f}")
    print(f"operator: {await engine.get_operator()}")
    await engine.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", type=int, default=10)
    parser.add_argument("--per-pool", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()
    asyncio.run(main(options.pools, options.per_pool, options.seconds, options.interval, options.rounds))
