"""`frt-stress run SCENARIO.toml`: a headless run of a scenario file, with a summary and an exit code.

Exit codes: 0 = no finding of severity --fail-on (default medium) or worse, no unexpected errors,
no thread in error state, the ledger audit passed, some operation succeeded (or the thresholds
allow_no_success) and every threshold was met; 1 = any of the first five went wrong (whatever the
thresholds); 2 = the run could not be done (bad scenario, bad --threshold, config error, chain
unavailable, failure during setup, a signal during setup) or was aborted by a second signal;
3 = a threshold ([run.thresholds] and --threshold KEY=VALUE, engine/gates.py) was breached and
nothing else failed the run.
A run ended early by a first SIGINT / SIGTERM (Ctrl-C) is a run like any other: its threads are
stopped, the audit runs, the summary (marked "interrupted") is printed and the exit code is its
verdict's, 0, 1 or 3. --junit PATH also writes the verdict as JUnit XML (engine/junit.py).
Progress lines (none with --quiet) give the operations per second since the threads started, the
summary's definition of throughput, then the rate since the previous line, labelled "last N s";
the last line, "done:", is printed from the report, so its rate is the summary's figure.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import signal
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from engine.atomic import atomic_write_text
from engine.config import ConfigError, load_config
from engine.findings import SEVERITIES
from engine.gates import ThresholdError, combine, known_keys, parse_assignments
from engine.junit import write_junit
from engine.report import DEFAULT_FAIL_ON, EXIT_CANNOT_RUN, gather_report, render_summary
from engine.scenario import Scenario, ScenarioError, load_scenario

TTY_INTERVAL_S = 1.0
PLAIN_INTERVAL_S = 5.0


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_CANNOT_RUN


def cmd_run(args: argparse.Namespace) -> int:
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as exc:
        return _fail(str(exc))
    try:
        thresholds = combine(scenario.run.thresholds, parse_assignments(getattr(args, "threshold", None) or []))
    except ThresholdError as exc:
        return _fail(str(exc))
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    try:
        settings, seed = run_settings(args, scenario, stamp)
    except ConfigError as exc:
        return _fail(str(exc))
    duration = args.duration if args.duration is not None else scenario.run.duration_s
    if duration <= 0:
        return _fail("--duration must be positive")
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(HeadlessRun(settings, scenario, seed, duration, stamp, args, thresholds).main())
    except KeyboardInterrupt:
        return _fail("interrupted during setup")


def run_settings(args: argparse.Namespace, scenario: Scenario, stamp: str):
    """(settings, seed): the config file, then the scenario's [run.engine], the seed
    (CLI > scenario > config > random) and the data directory (fresh per run unless --data-dir)."""
    base = load_config(args.config).settings
    engine = {"target_pool_count": 0, **scenario.run.engine_overrides()}
    seed = next((s for s in (args.seed, scenario.run.seed, engine.get("seed"), base.engine.seed) if s is not None),
                None)
    engine["seed"] = seed if seed is not None else random.randrange(2**32)
    data_dir = Path(args.data_dir).expanduser() if args.data_dir else _fresh_dir(
        base.data_dir / "runs", f"{stamp}-{scenario.name}")
    settings = load_config(args.config, data_dir=str(data_dir), engine=engine).settings
    return settings, engine["seed"]


def _fresh_dir(parent: Path, name: str) -> Path:
    candidate, n = parent / name, 1
    while candidate.exists():
        n += 1
        candidate = parent / f"{name}-{n}"
    return candidate


class HeadlessRun:
    """One headless run. Signals (SIGINT, SIGTERM) are handled from the start to the end of the
    engine's close: the first one during setup abandons the setup (exit 2), during the run it
    stops the threads and the run ends as usual, with its summary and its verdict's exit code;
    a second one aborts at once (exit 2, no summary). Shard processes run in sessions of their
    own, so a terminal's Ctrl-C reaches only this process, which stops them in order."""

    def __init__(self, settings, scenario: Scenario, seed: int, duration: float, stamp: str,
                 args: argparse.Namespace, thresholds=None) -> None:
        self.settings, self.scenario, self.seed, self.duration, self.stamp = settings, scenario, seed, duration, stamp
        self.args, self.thresholds = args, thresholds
        self.stop = asyncio.Event()
        self.signals = 0
        self.interrupted = False  # a signal ended the running phase before the duration did
        self.setup_step: asyncio.Future | None = None  # opening the engine or building the scenario

    async def main(self) -> int:
        from engine.open import open_engine

        print(f"scenario: {self.args.scenario} ({len(self.scenario.pools)} pool entries), seed {self.seed}, "
              f"duration {self.duration:g} s")
        print(f"data directory: {self.settings.data_dir}")
        self._install_signals()
        try:
            try:
                engine = await self._setup_step(open_engine(self.settings))
            except asyncio.CancelledError:
                return _fail("interrupted while opening the engine")
            except Exception as exc:  # chain unavailable, unreadable data dir, bootstrap failure, ...
                return _fail(f"could not open the engine: {type(exc).__name__}: {exc}")
            try:
                print(f"chain: {engine.chain_description}")
                for line in [*engine.notes, *engine.problems]:
                    print(line)
                return await self._run(engine)
            finally:
                await engine.close()  # still under the signal handlers: a second signal aborts with 2
        finally:
            self._uninstall_signals()

    async def _setup_step(self, coroutine):
        """Run one setup step so that the first signal can cancel it (and only it)."""
        self.setup_step = asyncio.ensure_future(coroutine)
        try:
            return await self.setup_step
        finally:
            self.setup_step = None

    async def _run(self, engine) -> int:
        from engine.exceptions import EngineError
        from engine.scenario import build

        try:
            if self.signals:  # it came as the engine finished opening, too late to cancel that
                raise asyncio.CancelledError
            created = await self._setup_step(build(engine, self.scenario))
            if self.signals:  # likewise, as the build finished
                raise asyncio.CancelledError
        except asyncio.CancelledError:
            return _fail("interrupted during setup")
        except Exception as exc:
            return _fail(f"could not set up the scenario: {type(exc).__name__}: {getattr(exc, 'message', exc)}")
        threads = sum(len(ids) for ids in created["threads"].values())
        print(f"created {sum(len(ids) for ids in created['pools'].values())} pools and {threads} threads")
        started = time.monotonic()
        try:
            running = await engine.start_all_threads()
            print(f"running {running['count']} threads; SIGINT or SIGTERM stops them and prints the summary",
                  flush=True)
            await self._progress(engine, started)
            elapsed = time.monotonic() - started
            await engine.stop_all_threads()
            audit = await self._audit(engine)
        except Exception as exc:
            if not isinstance(exc, EngineError):  # a bug: keep the evidence
                traceback.print_exc()
            return _fail(f"the run failed: {type(exc).__name__}: {getattr(exc, 'message', exc)}")
        report = await gather_report(engine, scenario_name=self.scenario.name, duration_s=elapsed, seed=self.seed,
                                     audit=audit, planned_duration_s=self.duration, interrupted=self.interrupted,
                                     created=created, data_dir=str(self.settings.data_dir),
                                     fail_on=getattr(self.args, "fail_on", None) or DEFAULT_FAIL_ON,
                                     thresholds=self.thresholds)
        if not self.args.quiet:
            print(self._final_line(report), flush=True)
        print(render_summary(report), end="")
        saved = await engine.write_report(f"run-{self.stamp}.json", report)
        print(f"report: {saved}")
        if self.args.report:
            atomic_write_text(Path(self.args.report).expanduser(), json.dumps(report, indent=2) + "\n")
            print(f"report: {self.args.report}")
        if getattr(self.args, "junit", None):
            write_junit(Path(self.args.junit).expanduser(), report)
            print(f"junit: {self.args.junit}")
        return report["verdict"]["exit_code"]

    async def _audit(self, engine) -> dict | None:
        """The ledger audit, or None (the run fails: audit not run) when the chain does not answer
        within chain.stop_grace_s: the run ends on time whatever the chain does."""
        from engine.chain.base import ChainError
        from engine.exceptions import ChainUnavailable

        grace = self.settings.chain.stop_grace_s
        try:
            return await asyncio.wait_for(engine.ledger_audit(), grace)
        except (asyncio.TimeoutError, ChainUnavailable, ChainError) as exc:
            reason = f"no answer within {grace:g} s" if isinstance(exc, asyncio.TimeoutError) else str(exc)
            print(f"ledger audit not run: the chain did not answer ({reason})", file=sys.stderr, flush=True)
            return None

    # ---- progress -----------------------------------------------------------------------------

    async def _progress(self, engine, started: float) -> None:
        tty = sys.stdout.isatty()
        interval = TTY_INTERVAL_S if tty else PLAIN_INTERVAL_S
        last_ops, last_at, next_line = 0, started, started + interval
        while not self.stop.is_set():
            now = time.monotonic()
            remaining = started + self.duration - now
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(self.stop.wait(), min(TTY_INTERVAL_S, remaining))
            except asyncio.TimeoutError:
                pass
            now = time.monotonic()
            if self.args.quiet or now < next_line:
                continue
            header = (await engine.get_snapshot(feed_limit=0))["engine"]
            ops = header["operations"]
            line = self._progress_line(header, now - started, ops / max(now - started, 1e-9),
                                       recent=((ops - last_ops) / max(now - last_at, 1e-9), now - last_at))
            last_ops, last_at, next_line = ops, now, now + interval - 0.05
            print(f"\r{line}\x1b[K" if tty else line, end="" if tty else "\n", flush=True)
        if tty and not self.args.quiet:
            print()
        self.interrupted = self.stop.is_set()  # a signal ended it before the duration did

    def _progress_line(self, header: dict, elapsed: float, rate: float,
                       recent: tuple[float, float] | None = None) -> str:
        """`rate`: operations / seconds since the threads started, the summary's definition of
        throughput; `recent`: (rate, seconds) since the previous line, labelled as such."""
        threads = header["threads"]
        since = f"  last {round(recent[1], 1):g} s {recent[0]:,.1f}/s" if recent is not None else ""
        return (f"[{elapsed:5.0f}/{self.duration:g} s] ops {header['operations']:,} ({rate:,.1f}/s){since}  "
                f"failed {header['failed']:,}  unexpected {header['unexpected']:,}  "
                f"findings {header['findings']:,}  threads running {threads['running_threads']}"
                f" / error {threads['error_threads']}")

    def _final_line(self, report: dict) -> str:
        """The last progress line, from the report's own figures: its rate is the summary's
        throughput (operations / measured running time, same rounding)."""
        throughput, outcomes = report["throughput"], report["operations"]["by_outcome"]
        threads = report["engine"]["threads"]
        return (f"[{throughput['duration_s']:5.1f}/{self.duration:g} s] done: ops {throughput['operations']:,} "
                f"({throughput['ops_per_second']:,.2f}/s)  failed {throughput['operations'] - outcomes['ok']:,}  "
                f"unexpected {outcomes['unexpected']:,}  findings {report['findings']['count']:,}  "
                f"threads running {threads['running_threads']} / error {threads['error_threads']}")

    # ---- signals ------------------------------------------------------------------------------

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self._on_signal, sig)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no Unix signals
                pass

    def _uninstall_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.remove_signal_handler(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass

    def _on_signal(self, sig: int) -> None:
        self.signals += 1
        name = signal.Signals(sig).name
        if self.signals > 1:
            print(f"\n{name} again: aborting", file=sys.stderr)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(EXIT_CANNOT_RUN)
        if self.setup_step is not None:
            print(f"\n{name}: abandoning the setup (again to abort at once)", file=sys.stderr, flush=True)
            self.setup_step.cancel()
            return
        print(f"\n{name}: stopping the threads (again to abort at once)", file=sys.stderr, flush=True)
        self.stop.set()


def register_run(subparsers) -> None:
    run = subparsers.add_parser(
        "run", help="run a scenario file headless and print a summary (exit 0/1/2/3)",
        description="Run a scenario file headless, print a summary and exit with its verdict: 0 passed; "
                    "1 failed (findings of --fail-on severity or worse, unexpected failures, threads in error, "
                    "a failed ledger audit, no successful operation unless allow_no_success); 2 could not run "
                    "(bad scenario or --threshold, chain unavailable, setup failed); 3 a threshold was breached "
                    "and nothing else failed.")
    run.add_argument("scenario", metavar="SCENARIO.toml", help="the scenario file (see scenarios/demo.toml)")
    run.add_argument("--duration", type=float, metavar="S", help="seconds to run (default: the scenario's, or 60)")
    run.add_argument("--seed", type=int, metavar="N", help="seed of the engine's random choices")
    run.add_argument("--report", metavar="PATH", help="also write the JSON report here")
    run.add_argument("--data-dir", metavar="DIR",
                     help="data directory of this run (default: a fresh <data_dir>/runs/<time>-<scenario>)")
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    run.add_argument("--fail-on", choices=SEVERITIES, default=DEFAULT_FAIL_ON, metavar="SEVERITY",
                     help="exit 1 when any finding group has this severity or worse: "
                          f"{' > '.join(SEVERITIES)} (default: {DEFAULT_FAIL_ON}); unexpected errors, threads "
                          "in error state and a failed ledger audit fail the run whatever it is")
    run.add_argument("--threshold", action="append", metavar="KEY=VALUE",
                     help="a gate the run must meet, over the scenario's [run.thresholds] (repeatable); exit 3 "
                          f"when breached and nothing else failed. Keys: {', '.join(known_keys())}; "
                          "max_p99_ms=N is max_p99_ms.all=N")
    run.add_argument("--junit", metavar="PATH",
                     help="also write JUnit XML: a test case per threshold, per finding group, for the ledger "
                          "audit and for 'some operation succeeded'")
    run.set_defaults(func=cmd_run)
