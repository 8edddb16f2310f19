"""Ordinary threads' verified throughput with the adversaries (the operator and attack threads)
running vs without, in the same run.

    python benchmarks/operator.py [--pools 10] [--per-pool 6] [--attackers 0] [--seconds 10]
                                  [--interval 0.5] [--rounds 2] [--pacing-ms 0 0]

One engine (one shard in this process), ordinary threads at pacing 0 unless --pacing-ms is given
(attack threads run at the same pacing). The rounds alternate adversaries off / on (off, on, off,
on, ...) so that drift (growing ledger, wallets) does not favour one side; each round reports the
ORDINARY threads' verified operations per second (ok + expected refusals — every one predicted
and checked; attack threads' own operations are not counted), how many were refusals, operator
actions, and findings. A system pause
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


async def verified(engine) -> tuple[int, int]:
    """(operations, refusals) of the ordinary threads so far (attack threads excluded)."""
    rows = [row for row in (await engine.get_snapshot(feed_limit=0))["threads"] if row["type"] != "attack"]
    return sum(row["ok"] + row["failed"] for row in rows), sum(row["failed"] for row in rows)


async def main(pools: int, per_pool: int, seconds: float, interval: float, rounds: int, attackers: int,
               pacing_ms: tuple[int, int]) -> None:
    data_dir = tempfile.mkdtemp(prefix="frt-bench-operator-")
    settings = Settings.model_validate({"data_dir": data_dir, "embedded": {"persist": False},
                                        "engine": {"seed": 1, "sol_monitor_interval_s": 5, "shards": 0,
                                                   "pacing_min_ms": pacing_ms[0], "pacing_max_ms": pacing_ms[1]}})
    engine = await open_engine(settings)
    started = time.perf_counter()
    await build(engine, pools, per_pool)
    attack_threads = [(await engine.create_attack_thread(pool["pool_id"]))["thread_id"]
                      for pool in (await engine.list_pools())["pools"] for _ in range(attackers)]
    print(f"setup: {pools} pools, {len(engine.local.threads)} threads ({len(attack_threads)} attack threads) in "
          f"{time.perf_counter() - started:.1f} s")
    await engine.start_all_threads()
    for thread_id in attack_threads:
        await engine.stop_thread(thread_id)
    await asyncio.sleep(1)
    figures: dict[bool, list[float]] = {False: [], True: []}
    for index in range(2 * rounds):
        on = index % 2 == 1
        await engine.set_operator(enabled=on, interval_s=interval)
        for thread_id in attack_threads:
            await (engine.start_thread(thread_id) if on else engine.stop_thread(thread_id))
        ops0, refused0 = await verified(engine)
        actions0, findings0 = (await engine.get_operator())["actions"], engine.totals.summary()["findings"]
        start = time.perf_counter()
        await asyncio.sleep(seconds)
        elapsed = time.perf_counter() - start
        ops1, refused1 = await verified(engine)
        actions = (await engine.get_operator())["actions"] - actions0
        rate = (ops1 - ops0) / elapsed
        figures[on].append(rate)
        print(f"adversaries {'on ' if on else 'off'}: {rate:7.0f} ordinary verified ops/s ({refused1 - refused0} expected "
              f"refusals), operator actions {actions}, new findings "
              f"{engine.totals.summary()['findings'] - findings0}, unexpected {engine.totals.count('unexpected')}")
    await engine.set_operator(enabled=False)
    await engine.stop_all_threads()
    off, on = sum(figures[False]) / len(figures[False]), sum(figures[True]) / len(figures[True])
    print(f"mean: off {off:.0f} ops/s, on {on:.0f} ops/s (operator interval {interval} s, "
          f"{len(attack_threads)} attack threads): ratio {on / off:.2f} (target >= 0.90)")
    print(f"operator: {await engine.get_operator()}")
    await engine.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", type=int, default=10)
    parser.add_argument("--per-pool", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--attackers", type=int, default=0, help="attack threads per pool")
    parser.add_argument("--pacing-ms", type=int, nargs=2, default=(0, 0), metavar=("MIN", "MAX"))
    options = parser.parse_args()
    asyncio.run(main(options.pools, options.per_pool, options.seconds, options.interval, options.rounds,
                     options.attackers, tuple(options.pacing_ms)))
