"""The RPC backend under chain faults: the demo scenario on `frt-stress localnet` through a
fault-injecting proxy (connection resets, 429 with and without Retry-After, 503, slow answers,
answers lost after the request was forwarded; tests/support/fault_proxy.py).

    python benchmarks/rpc_faults.py [--seconds 30] [--rates 0,0.05,0.2] [--seed 42] [--pacing-ms MIN,MAX]

Per fault rate, a fresh localnet and engine run the scenario for --seconds; printed: operations
(and the ratio to the fault-free run of the same invocation; target >= 0.70 at 5 %), successful and
transient ones, the ledger audit, and the stop overrun (how long stopping the threads took after
the duration). A last run stops answering entirely (blackout) two seconds before the end: its stop
overrun is what a dead chain costs (bounded by chain.operation_deadline_s / stop_grace_s).
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from engine.config import Settings  # noqa: E402
from engine.open import open_engine  # noqa: E402
from engine.scenario import build, load_scenario  # noqa: E402
from tests.support.fault_proxy import FaultProxy, serve_localnet  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CHAIN = {"request_timeout_s": 5.0, "operation_deadline_s": 5.0, "stop_grace_s": 5.0}


async def one_run(scenario, rate: float, seconds: float, seed: int, pacing: tuple[int, int] | None,
                  blackout_before_end_s: float | None = None) -> dict:
    data_dir = tempfile.mkdtemp(prefix="rpc-faults-")
    base = {"data_dir": data_dir, "embedded": {"persist": False}, "log_level": "ERROR"}
    server = await serve_localnet(Settings.model_validate(base))
    proxy = await FaultProxy(server.url, rate=rate, seed=seed).start()
    engine_overrides = {**scenario.run.engine_overrides(), "seed": seed, "shards": 0, "target_pool_count": 0}
    if pacing is not None:
        engine_overrides.update(pacing_min_ms=pacing[0], pacing_max_ms=pacing[1])
    settings = Settings.model_validate({**base, "engine": engine_overrides,
                                        "chain": {"backend": "rpc", "rpc_url": proxy.url, **CHAIN}})
    engine = await open_engine(settings)
    try:
        await build(engine, scenario)
        await engine.start_all_threads()
        started = time.monotonic()
        if blackout_before_end_s is not None:
            await asyncio.sleep(max(0.0, seconds - blackout_before_end_s))
            proxy.blackout = True
            await asyncio.sleep(min(seconds, blackout_before_end_s))
        else:
            await asyncio.sleep(seconds)
        ended = time.monotonic()
        try:
            await engine.stop_all_threads()
        except Exception as exc:  # a dead chain: the sessions' final reads fail
            print(f"  (stop: {type(exc).__name__}: {exc})")
        overrun = time.monotonic() - ended
        summary = engine.totals.summary()
        audit = None
        if not proxy.blackout:
            audit = (await engine.ledger_audit())["passed"]
        return {"rate": rate, "seconds": ended - started, "operations": summary["total_operations"],
                "ok": summary["successful_operations"], "transient": summary["transient_failures"],
                "unexpected": summary["unexpected_failures"], "audit": audit, "overrun": overrun,
                "injected": sum(proxy.injected.values()) - proxy.injected["blackout"],
                "requests": sum(proxy.seen.values())}
    finally:
        proxy.blackout = False
        await engine.close()
        await proxy.stop()
        await server.stop()


def line(run: dict, baseline: float | None) -> str:
    ratio = f"{run['operations'] / baseline:5.2f}" if baseline else "  -  "
    audit = {True: "passed", False: "FAILED", None: "n/a"}[run["audit"]]
    return (f"{run['rate'] * 100:5.1f} %  ops {run['operations']:6,}  ratio {ratio}  ok {run['ok']:6,}  "
            f"transient {run['transient']:4,}  unexpected {run['unexpected']:3,}  faults {run['injected']:5,} "
            f"of {run['requests']:6,} requests  audit {audit}  stop overrun {run['overrun']:5.2f} s")


async def main(args) -> None:
    scenario = load_scenario(REPO / "scenarios" / "demo.toml")
    pacing = tuple(int(x) for x in args.pacing_ms.split(",")) if args.pacing_ms else None
    rates = [float(rate) for rate in args.rates.split(",")]
    print(f"demo scenario, {args.seconds:g} s per run, seed {args.seed}, pacing "
          f"{'the scenario/config default' if pacing is None else f'{pacing[0]}-{pacing[1]} ms'}")
    baseline = None
    for rate in rates:
        run = await one_run(scenario, rate, args.seconds, args.seed, pacing)
        if rate == 0:
            baseline = run["operations"]
        print(line(run, baseline), flush=True)
    run = await one_run(scenario, 0.0, args.seconds, args.seed, pacing, blackout_before_end_s=2.0)
    print(f"blackout for the last 2 s: ops {run['operations']:,}, transient {run['transient']:,}, "
          f"stop overrun {run['overrun']:.2f} s (stop_grace_s {CHAIN['stop_grace_s']:g}, "
          f"operation_deadline_s {CHAIN['operation_deadline_s']:g})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rates", default="0,0.05,0.2")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--pacing-ms", help="MIN,MAX pause between cycles (default: the config's 750-2000)")
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main(parser.parse_args()))
