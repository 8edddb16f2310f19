"""Load check of the JSON-RPC API: 50 concurrent clients calling get_all_threads while 1,000
threads run on the embedded chain.

    python benchmarks/api_load.py [--pools 50] [--per-pool 20] [--seconds 30] [--clients 50]
                                  [--cache-ms 250] [--think-ms 0]

Builds 50 pools x 20 threads like benchmarks/engine.py and runs them at the design's pacing
(750-2000 ms between cycles). Measures the engine's throughput (thread cycles per second) for
--seconds without API load, then for --seconds while --clients clients, in a separate process
(as remote clients would be), each call get_all_threads in a loop (waiting --think-ms, +-10 %,
between calls; clients start at random offsets within one think time). Prints p50/p99 call latency and the throughput drop. Target: p99 <= 100 ms, drop <= 10 %.

The per-client rate limit is off here (every client has the same address, 127.0.0.1).
--cache-ms is api.status_cache_ms: answers of status reads are shared for that long.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.engine import build, cycles  # noqa: E402
from engine.open import open_engine, tune_gc  # noqa: E402
from engine.config import ApiConfig, Settings  # noqa: E402
from rpcapi.server import ApiServer  # noqa: E402

WARMUP_S = 5.0  # the first calls of the clients fill the status cache: reported apart
BODY = b'{"jsonrpc":"2.0","method":"get_all_threads","params":{},"id":1}'


# --------------------------------------------------------------------------- the clients (child process)

async def _client(url: str, measure_from: float, until: float, think_s: float, latencies: list[float],
                  sizes: list[int], warmup: list[float], failures: list[str]) -> None:
    import aiohttp

    rng = random.Random()
    checked = False
    # Answers are not inflated nor parsed (but the first one of each client is checked): on this
    # 2-core machine the client process would otherwise take the CPU the engine needs.
    async with aiohttp.ClientSession(headers={"Content-Type": "application/json"}, auto_decompress=False) as session:
        await asyncio.sleep(rng.uniform(0, think_s))  # independent clients are not in step
        while time.perf_counter() < until:
            started = time.perf_counter()
            try:
                async with session.post(url, data=BODY) as response:
                    body = await response.read()
                    if response.status != 200:
                        failures.append(f"HTTP {response.status}: {body[:120]!r}")
                    elif not checked:
                        text = zlib.decompress(body) if response.headers.get("Content-Encoding") == "deflate" else body
                        answer = json.loads(text)
                        if answer.get("id") != 1 or "threads" not in answer.get("result", {}):
                            failures.append(f"unexpected answer: {text[:120]!r}")
                        checked = True
            except Exception as exc:  # noqa: BLE001 - count it and go on
                failures.append(repr(exc))
                await asyncio.sleep(0.1)
                continue
            elapsed = time.perf_counter() - started
            if started < measure_from:
                warmup.append(elapsed)
            else:
                latencies.append(elapsed)
                sizes.append(len(body))  # bytes on the wire (deflated)
            if think_s:
                await asyncio.sleep(think_s * rng.uniform(0.9, 1.1))


def run_clients(url: str, clients: int, seconds: float, think_s: float, start_at: float, queue) -> None:
    async def main():
        await asyncio.sleep(max(0.0, start_at - time.time()))
        measure_from = time.perf_counter() + WARMUP_S
        until = measure_from + seconds
        latencies: list[float] = []
        sizes: list[int] = []
        warmup: list[float] = []
        failures: list[str] = []
        await asyncio.gather(*(_client(url, measure_from, until, think_s, latencies, sizes, warmup, failures)
                               for _ in range(clients)))
        queue.put((latencies, sizes, warmup, failures, time.process_time()))

    asyncio.run(main())


# --------------------------------------------------------------------------- the engine (this process)

async def rate_over(engine, seconds: float) -> tuple[float, list[float]]:
    """(cycles per second over `seconds`, event-loop lags seen meanwhile: how late a 10 ms
    timer fired, i.e. how long the loop was busy with something else)."""
    start_cycles, start = cycles(engine), time.perf_counter()
    lags = []
    while time.perf_counter() - start < seconds:
        before = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append(time.perf_counter() - before - 0.01)
    return (cycles(engine) - start_cycles) / (time.perf_counter() - start), lags


def lag_text(lags: list[float]) -> str:
    return (f"event-loop lag p50 {1000 * percentile(lags, 50):.1f} ms, p99 {1000 * percentile(lags, 99):.1f} ms, "
            f"max {1000 * max(lags, default=0):.1f} ms")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))] if ordered else float("nan")


async def main(options) -> int:
    data_dir = tempfile.mkdtemp(prefix="frt-api-load-")
    overrides = {key: json.loads(value) for key, _, value in (item.partition("=") for item in options.engine)}
    settings = Settings.model_validate({"data_dir": data_dir, "embedded": {"persist": False},
                                        "engine": {"seed": 1, "sol_monitor_interval_s": 5, "shards": 0,
                                                   **overrides}})
    engine = await open_engine(settings)
    started = time.perf_counter()
    await build(engine, options.pools, options.per_pool)
    threads = len(engine.thread_shard)
    print(f"setup: {len(engine.pool_shard)} pools, {threads} threads in {time.perf_counter() - started:.1f} s")
    server = ApiServer(engine, ApiConfig(port=0, rate_limit_per_s=0, status_cache_ms=options.cache_ms,
                                         audit_log=False), data_dir)
    await server.start()
    try:
        single = []
        for _ in range(5):  # one uncached call, alone, for reference
            server._invalidate()
            t0 = time.perf_counter()
            answer = await server.handle(BODY)
            single.append(time.perf_counter() - t0)
        plain = answer.plain() if hasattr(answer, "plain") else answer
        wire = len(answer.deflated()) if hasattr(answer, "deflated") else len(plain)
        print(f"one get_all_threads answer: {len(plain) / 1e6:.2f} MB ({wire / 1e6:.2f} MB deflated), "
              f"{1000 * statistics.median(single):.1f} ms to compute alone (before the threads start)")

        await engine.start_all_threads()
        if not options.no_gc_tuning:
            tune_gc()  # as `frt-stress serve` does
        await asyncio.sleep(3)  # every thread past its first cycle
        mean_pause = (settings.engine.pacing_min_ms + settings.engine.pacing_max_ms) / 2000
        ideal = threads / mean_pause
        cpu_before = time.process_time()
        idle_rate, idle_lags = await rate_over(engine, options.seconds)
        idle_cpu = (time.process_time() - cpu_before) / options.seconds
        print(f"without API load: {idle_rate:.0f} cycles/s (ideal {ideal:.0f}), engine process CPU {idle_cpu:.2f} cores, "
              f"{lag_text(idle_lags)}")

        cold = []
        for _ in range(3):
            server._invalidate()
            t0 = time.perf_counter()
            await server.handle(BODY)
            cold.append(time.perf_counter() - t0)
            await asyncio.sleep(0.5)
        print(f"an uncached get_all_threads while the threads run: {1000 * statistics.median(cold):.0f} ms "
              f"(the first call after idle or after a state-changing call)")

        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        start_at = time.time() + 2.0  # the child needs a moment to import; then WARMUP_S of calls
        child = context.Process(target=run_clients, args=(server.url, options.clients, options.seconds,
                                                          options.think_ms / 1000, start_at, queue))
        child.start()
        await asyncio.sleep(max(0.0, start_at - time.time()) + WARMUP_S + 0.5)  # inside the measured window
        cpu_before = time.process_time()
        loaded_rate, loaded_lags = await rate_over(engine, options.seconds - 1.0)
        server_cpu = (time.process_time() - cpu_before) / (options.seconds - 1.0)
        latencies, sizes, warmup, failures, client_cpu = await asyncio.get_running_loop().run_in_executor(
            None, queue.get)
        child.join()

        calls = len(latencies)
        drop = 100 * (idle_rate - loaded_rate) / idle_rate if idle_rate else float("nan")
        p50, p99 = 1000 * percentile(latencies, 50), 1000 * percentile(latencies, 99)
        print(f"with {options.clients} clients calling get_all_threads (think {options.think_ms} ms, "
              f"status cache {options.cache_ms} ms): {calls} calls in {options.seconds:.0f} s "
              f"({calls / options.seconds:.0f}/s, {sum(sizes) / options.seconds / 1e6:.0f} MB/s on the wire), "
              f"{len(failures)} failed{': ' + failures[0] if failures else ''}; warm-up: {len(warmup)} calls, "
              f"slowest {1000 * max(warmup, default=0):.0f} ms")
        print(f"  latency p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {1000 * max(latencies, default=0):.1f} ms "
              f"(target p99 <= 100 ms: {'met' if p99 <= 100 else 'NOT met'})")
        print(f"  engine: {loaded_rate:.0f} cycles/s under load vs {idle_rate:.0f} without: drop {drop:.1f} % "
              f"(target <= 10 %: {'met' if drop <= 10 else 'NOT met'}); engine process CPU {server_cpu:.2f} cores, "
              f"client process CPU {client_cpu / (options.seconds + WARMUP_S):.2f} cores")
        print(f"  under load: {lag_text(loaded_lags)}")
        print(f"  findings {engine.totals.summary()['findings']}, unexpected {engine.totals.count('unexpected')}")
        await engine.stop_all_threads()
    finally:
        await server.stop()
        await engine.close()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", type=int, default=50)
    parser.add_argument("--per-pool", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30, help="length of each measurement")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--cache-ms", type=int, default=250, help="api.status_cache_ms (0 = off)")
    parser.add_argument("--think-ms", type=float, default=0, help="pause of a client between two calls")
    parser.add_argument("--no-gc-tuning", action="store_true", help="leave the garbage collector as it is")
    parser.add_argument("--engine", action="append", default=[], metavar="KEY=JSON",
                        help="override a key of [engine], e.g. stats_flush_interval_s=3600 (repeatable)")
    sys.exit(asyncio.run(main(parser.parse_args())))
