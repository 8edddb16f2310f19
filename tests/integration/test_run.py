"""`frt-stress run`: scenario files, the headless run, its report, exit codes and the ledger audit."""
from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from console.cli import main
from engine.scenario import load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[2]

SMALL = """
[run]
duration_s = 1
seed = 7
[run.engine]
pacing_min_ms = 0
pacing_max_ms = 0

[[pools]]
name = "nine_six"
token_a_decimals = 9
token_b_decimals = 6
ratio_whole_number = 160
ratio_direction = "a_to_b"

  [[pools.deposit]]
  token_type = "A"
  initial_amount = 1_000_000_000_000
  auto_refill = true
  [[pools.deposit]]
  token_type = "B"
  initial_amount = 160_000_000_000
  [[pools.withdrawal]]
  token_type = "A"
  [[pools.withdrawal]]
  token_type = "B"
  [[pools.swap]]
  direction = "a_to_b"
  initial_amount = 100_000_000_000
  [[pools.swap]]
  direction = "b_to_a"
  initial_amount = 16_000_000_000

[[pools]]
name = "zero_zero"
token_a_decimals = 0
token_b_decimals = 0
ratio_whole_number = 3
ratio_direction = "b_to_a"
flags = 64

  [[pools.deposit]]
  token_type = "B"
  initial_amount = 1_000
  [[pools.withdrawal]]
  token_type = "B"
  [[pools.swap]]
  direction = "b_to_a"
  initial_amount = 1_000
"""

REPORT_SECTIONS = {"run", "chain", "engine", "operations", "errors", "coverage", "findings", "throughput",
                   "latency_ms", "fees", "pools", "threads", "audit", "thresholds", "verdict"}

# One pool, one swap thread and no liquidity: every swap is refused ("expected"), none succeeds.
NOTHING_SUCCEEDS = """
[run]
duration_s = 0.5
seed = 7
[run.engine]
pacing_min_ms = 0
pacing_max_ms = 0
{thresholds}
[[pools]]
name = "dry"
token_a_decimals = 6
token_b_decimals = 6
ratio_whole_number = 2
ratio_direction = "a_to_b"
  [[pools.swap]]
  direction = "a_to_b"
  initial_amount = 1_000_000_000
"""


pytestmark = pytest.mark.usefixtures("isolated_cli")


@pytest.fixture
def small(tmp_path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return path


def test_small_scenario_runs_clean_and_writes_reports(small, tmp_path, capsys):
    report_path = tmp_path / "out" / "report.json"
    assert main(["run", str(small), "--report", str(report_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    for heading in ("Operations by type and outcome", "Errors", "Findings", "Throughput:", "Latency",
                    "Fees paid", "Ledger audit: passed", "VERDICT: PASS (exit 0"):
        assert heading in out

    report = json.loads(report_path.read_text())
    # Nothing but documented design properties (info): LP whose side swaps drained (§13.6).
    assert {group["rule"] for group in report["findings"]["groups"]} <= {"lp_holders_can_redeem"}
    assert set(report["findings"]["by_severity"]) <= {"info"}
    assert REPORT_SECTIONS <= set(report)
    assert report["verdict"] == {"passed": True, "exit_code": 0, "reasons": []}
    assert report["run"]["seed"] == 7 and report["run"]["scenario"] == "small"
    assert report["operations"]["total"] > 0 and report["throughput"]["ops_per_second"] > 0
    assert set(report["operations"]["by_type"]) == {"deposit", "withdraw", "swap"}
    assert report["latency_ms"]["all"]["p99_ms"] >= report["latency_ms"]["all"]["p50_ms"] > 0
    assert report["fees"]["network_lamports"] > 0
    # Coverage: every operation of the run counted once, as a success or one named error.
    coverage = {op["operation"]: op for op in report["coverage"]["operations"]}
    for operation, by_verdict in report["operations"]["by_type"].items():
        entry = coverage[operation]
        assert entry["sent"] == sum(by_verdict.values()) == entry["succeeded"] + sum(e["count"] for e in entry["errors"])
        assert entry["succeeded"] == by_verdict.get("ok", 0)
    assert sum(op["sent"] for op in coverage.values()) == report["operations"]["total"]
    assert 0 < report["coverage"]["exercised"] <= report["coverage"]["reachable"]
    assert f"errors exercised: {report['coverage']['exercised']} of {report['coverage']['reachable']} reachable" in out
    assert [pool["name"] for pool in report["pools"]] == ["nine_six", "zero_zero"]
    assert len(report["threads"]) == 9 and all(t["status"] == "stopped" for t in report["threads"])

    audit = report["audit"]
    assert audit["passed"] and len(audit["mints"]) == 8 and len(audit["pools"]) == 2
    token_a = next(m for m in audit["mints"] if m["kind"] == "token_a" and m["pool_id"] == report["pools"][0]["pool_id"])
    assert token_a["minted"] >= 1_000_000_000_000 + 100_000_000_000
    assert token_a["minted"] == token_a["held"] + token_a["in_vault"] + token_a["burned"]

    # A fresh data directory per run, under <data_dir>/runs, with its own copy of the report.
    run_dir = Path(report["run"]["data_dir"])
    assert run_dir.parent == tmp_path / "data" / "runs" and run_dir.name.endswith("-small")
    assert (run_dir / "core-wallet.json").exists()
    saved = list((run_dir / "reports").glob("run-*.json"))
    assert len(saved) == 1 and json.loads(saved[0].read_text())["verdict"]["exit_code"] == 0


@pytest.mark.parametrize("text, expected", [
    ("pools = []", "pools: List should have at least 1 item"),
    ('[[pools]]\nname = "p"\ncolour = 1', 'pools[0] ("p").colour: unknown key'),
    ('[[pools]]\nname = "p"\n[[pools.deposit]]\ntoken_type = "C"', 'pools[0] ("p").deposit[0].token_type'),
    ('[[pools]]\nname = "p"\n[[pools.deposit]]\ntoken_type = "A"\ninitial_amount = -1',
     "deposit[0].initial_amount: Input should be greater than or equal to 0"),
    ('[[pools]]\nname = "p"\n[[pools.deposit]]\ntoken_type = "A"\ninitial_amount = 18446744073709551616',
     "initial_amount: Input should be less than or equal to 18446744073709551615"),
    ('[[pools]]\nname = "p"\ntoken_a_decimals = 19', 'pools[0] ("p").token_a_decimals'),
    ('[[pools]]\nname = "p"\n[[pools.swap]]\ndirection = "a_to_b"\n[[pools.swap]]\ndirection = "a_to_b"',
     "more than one swap entry for direction 'a_to_b'"),
    ('[[pools]]\nname = "p"\n[[pools.swap]]\ndirection = "a_to_b"\ncount = 2', "swap[0].count"),
    ('[[pools]]\nname = "p"\n[[pools]]\nname = "p"', "pool names must be unique; repeated: p"),
    ('[run.engine]\npacing = 3\n[[pools]]\nname = "p"', "run.engine.pacing: unknown key"),
    ('[run.thresholds]\nmin_succes_rate = 0.5\n[[pools]]\nname = "p"', "run.thresholds.min_succes_rate: unknown key"),
    ('[run.thresholds.max_p99_ms]\ntransfer = 5\n[[pools]]\nname = "p"',
     "run.thresholds.max_p99_ms.transfer: unknown key"),
    ("[[pools]\nname = 1", "invalid TOML"),
])
def test_bad_scenario_exits_2_with_file_and_key(tmp_path, capsys, text, expected):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and expected in err
    assert not (tmp_path / "data" / "runs").exists()  # nothing was set up


@pytest.mark.parametrize("threshold, expected", [
    ("min_success_rate", "expected KEY=VALUE"),
    ("max_findings.severe=0", "max_findings.severe: unknown key"),
    ("min_success_rate=most", "min_success_rate: Input should be a valid number"),
])
def test_bad_threshold_exits_2(small, tmp_path, capsys, threshold, expected):
    assert main(["run", str(small), "--threshold", threshold]) == 2
    assert expected in capsys.readouterr().err
    assert not (tmp_path / "data" / "runs").exists()  # nothing was set up


def test_a_breached_threshold_exits_3_and_the_junit_file_says_which(small, tmp_path, capsys):
    import xml.etree.ElementTree as ET

    report_path, junit_path = tmp_path / "report.json", tmp_path / "ci" / "junit.xml"
    assert main(["run", str(small), "--quiet", "--report", str(report_path), "--junit", str(junit_path),
                 "--threshold", "min_ops_per_s=1e9", "--threshold", "max_p99_ms=60000"]) == 3
    out = capsys.readouterr().out
    assert "  FAIL  min_ops_per_s: " in out and "  PASS  max_p99_ms.all: " in out
    assert "VERDICT: FAIL (exit 3: 1 threshold breached: min_ops_per_s)" in out
    report = json.loads(report_path.read_text())
    assert [(v["key"], v["passed"]) for v in report["thresholds"]["verdicts"]] == [("min_ops_per_s", False),
                                                                                   ("max_p99_ms.all", True)]
    assert report["verdict"]["exit_code"] == 3

    suite = ET.parse(junit_path).getroot().find("testsuite")
    cases = {(case.get("classname"), case.get("name")): case for case in suite.findall("testcase")}
    failed = [key for key, case in cases.items() if case.find("failure") is not None]
    assert failed == [("thresholds", "min_ops_per_s")]
    groups = report["findings"]["groups"]
    assert int(suite.get("tests")) == len(cases) == 2 + len(groups) + 4 and suite.get("failures") == "1"
    assert {("run", "ledger audit"), ("run", "some operation succeeded")} <= set(cases)
    assert all(("findings", f"{g['rule']} {g['id']}") in cases for g in groups)


def test_a_breached_threshold_with_a_failing_finding_exits_1(small, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FRT_STRESS_ENGINE__SHARDS", "0")  # in-process, where the patch applies
    _buggy_swap_output(monkeypatch, "contract")
    assert main(["run", str(small), "--quiet", "--threshold", "min_ops_per_s=1e9"]) == 1
    out = capsys.readouterr().out
    assert "VERDICT: FAIL (exit 1: " in out and "of severity medium or worse" in out
    assert "1 threshold breached: min_ops_per_s" in out


def test_a_run_in_which_nothing_succeeds_fails_unless_the_scenario_allows_it(tmp_path, capsys):
    path = tmp_path / "dry.toml"
    path.write_text(NOTHING_SUCCEEDS.format(thresholds=""))
    report_path = tmp_path / "report.json"
    assert main(["run", str(path), "--quiet", "--report", str(report_path)]) == 1
    assert "VERDICT: FAIL (exit 1: no operation succeeded)" in capsys.readouterr().out
    report = json.loads(report_path.read_text())
    assert report["operations"]["total"] > 0 and report["operations"]["by_outcome"]["ok"] == 0

    path.write_text(NOTHING_SUCCEEDS.format(thresholds="[run.thresholds]\nallow_no_success = true"))
    assert main(["run", str(path), "--quiet", "--report", str(report_path)]) == 0
    assert "allow_no_success: a run in which no operation succeeds may pass" in capsys.readouterr().out
    assert json.loads(report_path.read_text())["thresholds"]["allow_no_success"] is True


def test_missing_scenario_file_exits_2(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.toml")]) == 2
    assert "cannot read scenario file" in capsys.readouterr().err


def test_demo_scenario_is_valid():
    scenario = load_scenario(ROOT / "scenarios" / "demo.toml")
    decimals = {(p.token_a_decimals, p.token_b_decimals) for p in scenario.pools}
    assert {(9, 6), (0, 9), (0, 0)} <= decimals and any(p.flags == 64 for p in scenario.pools)
    for pool in scenario.pools:
        assert {e.token_type for e in pool.deposit} == {e.token_type for e in pool.withdrawal} == {"A", "B"}
        assert {e.direction for e in pool.swap} == {"a_to_b", "b_to_a"}
    assert any(e.auto_refill for p in scenario.pools for e in p.deposit)


def test_settings_precedence(small, tmp_path):
    from console.run_command import run_settings

    scenario = load_scenario(small)
    args = argparse.Namespace(config=None, seed=None, data_dir=None)
    settings, seed = run_settings(args, scenario, "20260101-000000")
    assert seed == 7 and settings.engine.seed == 7  # the scenario's seed
    assert (settings.engine.pacing_min_ms, settings.engine.pacing_max_ms) == (0, 0)  # [run.engine]
    assert settings.engine.target_pool_count == 0
    assert settings.data_dir == tmp_path / "data" / "runs" / "20260101-000000-small"

    args = argparse.Namespace(config=None, seed=99, data_dir=str(tmp_path / "mine"))
    settings, seed = run_settings(args, scenario, "20260101-000000")
    assert seed == 99 and settings.data_dir == tmp_path / "mine"


def _buggy_swap_output(monkeypatch, target: str) -> None:
    from engine.frt import model

    real = model.swap_output
    buggy = lambda *args, **kwargs: real(*args, **kwargs) + 1  # noqa: E731
    if target == "everywhere":
        monkeypatch.setattr("engine.frt.model.swap_output", buggy)
    else:  # only the emulated contract pays one unit too many; the oracle keeps the real model
        class ContractModel:
            def __getattr__(self, name):
                return getattr(model, name)

            swap_output = staticmethod(buggy)

        monkeypatch.setattr("engine.frt.emulator.model", ContractModel())


@pytest.mark.parametrize("target, kind", [("everywhere", "invariant_violation"),
                                          ("contract", "prediction_mismatch")])
def test_injected_finding_exits_1(small, tmp_path, capsys, monkeypatch, target, kind):
    monkeypatch.setenv("FRT_STRESS_ENGINE__SHARDS", "0")  # in-process, where the patch applies
    _buggy_swap_output(monkeypatch, target)
    report_path = tmp_path / "report.json"
    assert main(["run", str(small), "--report", str(report_path), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "VERDICT: FAIL (exit 1:" in out and "finding" in out
    report = json.loads(report_path.read_text())
    assert report["verdict"]["exit_code"] == 1 and report["findings"]["count"] > 0
    assert kind in report["findings"]["by_kind"]
    assert report["findings"]["items"] and len(report["findings"]["items"]) <= 50


async def test_ledger_audit_accounts_for_burned_tokens(tmp_path):
    from engine.config import load_config
    from engine.open import open_engine
    from engine.scenario import build

    settings = load_config(data_dir=str(tmp_path / "engine"), engine={"seed": 3, "shards": 0}).settings
    engine = await open_engine(settings)
    try:
        scenario = parse_scenario({"pools": [{
            "name": "p", "token_a_decimals": 6, "token_b_decimals": 2, "ratio_whole_number": 5,
            "ratio_direction": "a_to_b",
            "deposit": [{"token_type": "A", "initial_amount": 10**9}],
            "withdrawal": [{"token_type": "A"}],
            "swap": [{"direction": "a_to_b", "initial_amount": 10**8}, {"direction": "b_to_a"}]}]})
        created = await build(engine, scenario)
        deposit, withdrawal, swap, _ = created["threads"][created["pools"]["p"][0]]
        for _ in range(5):
            for thread_id in (deposit, swap):
                await engine.run_cycle(thread_id)
        await engine.fund_thread(withdrawal, "lp_tokens", 10**6)  # the core deposits, gives it LP
        for thread_id in (deposit, withdrawal, swap):
            await engine.empty_thread(thread_id)
        assert sum(engine.local.burned.values()) > 0

        audit = await engine.ledger_audit()
        assert audit["passed"], audit
        by_kind = {entry["kind"]: entry for entry in audit["mints"]}
        token_a, lp_a = by_kind["token_a"], by_kind["lp_a"]
        assert token_a["burned"] > 0 and lp_a["burned"] > 0
        assert token_a["minted"] == token_a["held"] + token_a["in_vault"] + token_a["burned"]
        assert token_a["supply"] == token_a["minted"] - token_a["burned"]
        assert lp_a["supply"] == lp_a["held"]
        assert all(pool["vault_a"] == pool["liquidity_a"] for pool in audit["pools"])

        # A unit the engine cannot account for fails the audit, naming the difference.
        engine.local.minted[token_a["mint"]] += 1
        broken = await engine.ledger_audit()
        assert not broken["passed"]
        failed = [entry for entry in broken["mints"] if not entry["passed"]]
        assert [entry["kind"] for entry in failed] == ["token_a"] and "unaccounted 1" in failed[0]["detail"]
    finally:
        await engine.close()


def _read_lines(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _wait_for_line(lines: queue.Queue, prefix: str, timeout_s: float, err_path: Path) -> list[str]:
    """The lines read until one starting with `prefix` (included); fails at the deadline or EOF."""
    seen, deadline = [], time.monotonic() + timeout_s
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            pytest.fail(f"no line starting {prefix!r} within {timeout_s} s; got {seen}; "
                        f"stderr: {err_path.read_text()}")
        if line is None:
            pytest.fail(f"the run ended before printing {prefix!r}; got {seen}; "
                        f"stderr: {err_path.read_text()}")
        seen.append(line)
        if line.startswith(prefix):
            return seen


def _start_run(small: Path, tmp_path: Path) -> tuple[subprocess.Popen, queue.Queue, Path]:
    """`frt-stress run` with one real shard process, in a process group of its own, as a
    terminal's foreground job is: (process, its stdout lines, its stderr file)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "FRT_STRESS_ENGINE__SHARDS": "1"}
    err_path = tmp_path / "stderr.txt"
    with open(err_path, "w") as err_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "console.cli", "run", str(small), "--duration", "60",
             "--data-dir", str(tmp_path / "run")],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err_file, text=True, start_new_session=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True).start()
    return process, lines, err_path


@pytest.mark.parametrize("sig, to_group", [(signal.SIGINT, True), (signal.SIGTERM, False)],
                         ids=["ctrl-c-to-the-process-group", "sigterm-to-the-run"])
def test_first_signal_stops_the_threads_and_prints_the_summary(small, tmp_path, sig, to_group):
    """Ctrl-C on a terminal signals the whole foreground process group: the run and, unless they
    are in a session of their own, its shard processes, which then die under the coordinator
    (ShardFailed, traceback, exit 2). A real shard process here (engine.shards = 1)."""
    process, lines, err_path = _start_run(small, tmp_path)
    try:
        out_lines = _wait_for_line(lines, "created ", 120, err_path)
        out_lines += _wait_for_line(lines, "running ", 30, err_path)  # every thread started
        signalled = time.monotonic()
        if to_group:
            os.killpg(process.pid, sig)
        else:
            process.send_signal(sig)
        process.wait(timeout=30)
        took = time.monotonic() - signalled
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    out = "".join(out_lines + _rest(lines))
    err = err_path.read_text()
    assert "Traceback" not in err and "ShardFailed" not in err, err
    assert f"{sig.name}: stopping the threads" in err
    # The interrupted run still ends with its summary, and exits by its verdict (0 here, not 2).
    assert process.returncode == 0, (out, err)
    assert took < 30
    assert "interrupted" in out and "Ledger audit: passed" in out and "VERDICT: PASS (exit 0" in out
    report = json.loads(next((tmp_path / "run" / "reports").glob("run-*.json")).read_text())
    assert report["run"]["interrupted"] and report["verdict"]["exit_code"] == 0
    assert report["operations"]["total"] > 0
    assert report["engine"]["shards"][0]["restarts"] == 0  # the shard was stopped, not killed
    assert all(thread["status"] == "stopped" for thread in report["threads"])


def test_second_signal_aborts_with_2_and_the_shard_exits_on_its_own(small, tmp_path):
    """Shards do not get the terminal's signals any more, so an aborted coordinator must not leave
    them running: a shard whose stdin closes stops its threads, saves and exits."""
    import psutil

    process, lines, err_path = _start_run(small, tmp_path)
    try:
        out_lines = _wait_for_line(lines, "running ", 120, err_path)
        shards = [child for child in psutil.Process(process.pid).children()
                  if "engine.sharding.shard" in " ".join(child.cmdline())]
        assert len(shards) == 1 and os.getpgid(shards[0].pid) != process.pid  # not in the terminal's group
        # Two different signals: two of one kind sent at once may reach the process as one.
        os.killpg(process.pid, signal.SIGINT)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    out, err = "".join(out_lines + _rest(lines)), err_path.read_text()
    assert process.returncode == 2, (out, err)
    assert "again: aborting" in err and "Traceback" not in err
    assert "VERDICT" not in out
    gone, alive = psutil.wait_procs(shards, timeout=30)
    assert not alive, f"shard {alive} still running after its coordinator was aborted"


def _rest(lines: queue.Queue) -> list[str]:
    rest = []
    while (line := lines.get(timeout=10)) is not None:
        rest.append(line)
    return rest
