"""Gates: thresholds from the scenario and the command line, their verdicts, and the exit code
they give a run (3 when only a threshold failed it)."""
from __future__ import annotations

import pytest

from engine.gates import Thresholds, ThresholdError, combine, evaluate, parse_assignments, section
from engine.report import _thresholds, _verdict_line, verdict
from engine.scenario import ScenarioError, parse_scenario


def report(*, ok: int = 90, total: int = 100, ops_per_second: float = 50.0, p99: dict | None = None,
           by_severity: dict | None = None, groups: list | None = None, unexpected: int = 0,
           thresholds: Thresholds | None = None) -> dict:
    """The parts of a run report the gates and the verdict read."""
    latency = {op: {"count": 10, "p50_ms": 1.0, "p95_ms": 2.0, "p99_ms": ms, "max_ms": ms}
               for op, ms in (p99 or {"deposit": 4.0, "swap": 12.0, "all": 12.0}).items()}
    data = {"run": {"scenario": "s", "seed": 1, "duration_s": 2.0, "finished_at": "2026-01-01T00:00:00.000Z"},
            "operations": {"total": total, "by_outcome": {"ok": ok, "expected": total - ok - unexpected,
                                                          "unexpected": unexpected, "transient": 0}},
            "throughput": {"operations": total, "duration_s": 2.0, "ops_per_second": ops_per_second},
            "latency_ms": latency,
            "findings": {"count": 0, "by_severity": by_severity or {}, "groups": groups or [], "fail_on": "medium"},
            "threads": [], "audit": {"passed": True, "mints": [], "pools": []}}
    data["thresholds"] = section(thresholds, data)
    data["verdict"] = verdict(data)
    return data


def group(severity: str, count: int = 1) -> dict:
    return {"id": f"g-{severity}", "rule": "outcome_as_predicted", "kind": "prediction_mismatch",
            "severity": severity, "count": count, "pool_id": "pool", "operation": "swap", "detail": "off by one",
            "first_seen": "2026-01-01T00:00:00.000Z", "last_seen": "2026-01-01T00:00:00.000Z"}


# --------------------------------------------------------------------------- where they come from

def _scenario(thresholds: dict):
    return parse_scenario({"run": {"thresholds": thresholds}, "pools": [{"name": "p"}]}, source="gates.toml")


def test_the_scenario_s_thresholds_table():
    thresholds = _scenario({"min_success_rate": 0.5, "max_p99_ms": {"all": 250, "swap": 100},
                            "max_findings": {"high": 0}, "allow_no_success": True}).run.thresholds
    assert thresholds.limits() == [("min_success_rate", 0.5), ("max_p99_ms.all", 250.0), ("max_p99_ms.swap", 100.0),
                                   ("max_findings.high", 0)]
    assert thresholds.allow_no_success
    assert _scenario({"max_p99_ms": 30}).run.thresholds.limits() == [("max_p99_ms.all", 30.0)]  # a number: all
    assert _scenario({}).run.thresholds.limits() == [] and not _scenario({}).run.thresholds.allow_no_success


@pytest.mark.parametrize("thresholds, expected", [
    ({"min_sucess_rate": 0.5}, "run.thresholds.min_sucess_rate: unknown key"),
    ({"max_p99_ms": {"transfer": 5}}, "run.thresholds.max_p99_ms.transfer: unknown key"),
    ({"max_findings": {"severe": 0}}, "run.thresholds.max_findings.severe: unknown key"),
    ({"min_success_rate": 1.5}, "run.thresholds.min_success_rate: Input should be less than or equal to 1"),
    ({"max_findings": {"high": -1}}, "run.thresholds.max_findings.high: Input should be greater than or equal to 0"),
])
def test_a_bad_thresholds_table_names_the_file_and_the_key(thresholds, expected):
    with pytest.raises(ScenarioError) as error:
        _scenario(thresholds)
    assert "gates.toml" in str(error.value) and expected in str(error.value)


def test_the_command_line_overrides_the_scenario_key_by_key():
    scenario = _scenario({"min_success_rate": 0.5, "max_p99_ms": {"all": 250, "swap": 100}}).run.thresholds
    merged = combine(scenario, parse_assignments(["min_success_rate=0.9", "max_p99_ms=300", "max_findings.high=0",
                                                  "allow_no_success=true"]))
    assert merged.limits() == [("min_success_rate", 0.9), ("max_p99_ms.all", 300.0), ("max_p99_ms.swap", 100.0),
                               ("max_findings.high", 0)]
    assert merged.allow_no_success
    assert combine(scenario, {}) == scenario


@pytest.mark.parametrize("items, expected", [
    (["min_success_rate"], "expected KEY=VALUE"),
    (["min_success_rate="], "expected KEY=VALUE"),
    (["=1"], "expected KEY=VALUE"),
    (["max_p99_ms.swap.x=1"], "expected KEY=VALUE"),
    (["min_succes_rate=0.5"], "min_succes_rate: unknown key (known: min_success_rate, min_ops_per_s"),
    (["max_p99_ms.transfer=5"], "max_p99_ms.transfer: unknown key"),
    (["min_success_rate=lots"], "min_success_rate: Input should be a valid number"),
    (["min_ops_per_s=-1"], "min_ops_per_s: Input should be greater than or equal to 0"),
])
def test_a_malformed_threshold_is_a_clear_error(items, expected):
    with pytest.raises(ThresholdError) as error:
        combine(Thresholds(), parse_assignments(items))
    assert expected in str(error.value)


# --------------------------------------------------------------------------- verdicts

def test_each_threshold_is_judged_against_the_report():
    thresholds = combine(Thresholds(), parse_assignments([
        "min_success_rate=0.95", "min_ops_per_s=10", "max_p99_ms.swap=10", "max_p99_ms.deposit=10",
        "max_findings.high=0", "max_findings.low=5"]))
    verdicts = {v["key"]: v for v in evaluate(thresholds, report(by_severity={"high": 2, "low": 5}))}
    assert list(verdicts) == ["min_success_rate", "min_ops_per_s", "max_p99_ms.deposit", "max_p99_ms.swap",
                              "max_findings.high", "max_findings.low"]
    assert {key: (v["actual"], v["passed"]) for key, v in verdicts.items()} == {
        "min_success_rate": (0.9, False), "min_ops_per_s": (50.0, True), "max_p99_ms.deposit": (4.0, True),
        "max_p99_ms.swap": (12.0, False), "max_findings.high": (2, False), "max_findings.low": (5, True)}
    assert verdicts["min_success_rate"]["detail"] == "90 of 100 operations succeeded: 0.9 < 0.95"
    assert verdicts["max_p99_ms.swap"] == {"key": "max_p99_ms.swap", "limit": 10.0, "actual": 12.0, "passed": False,
                                           "detail": "p99 of 10 swap operations: 12 > 10"}


def test_the_success_rate_is_judged_unrounded():
    (rate,) = evaluate(combine(Thresholds(), parse_assignments(["min_success_rate=0.9"])),
                       report(ok=89_996, total=100_000))
    assert (rate["actual"], rate["passed"]) == (0.89996, False)
    assert rate["detail"] == "89,996 of 100,000 operations succeeded: 0.89996 < 0.9"


def test_a_latency_limit_on_an_operation_never_measured_is_breached():
    (withdraw,) = evaluate(combine(Thresholds(), parse_assignments(["max_p99_ms.withdraw=5"])), report())
    assert (withdraw["actual"], withdraw["passed"], withdraw["detail"]) == (
        None, False, "no withdraw operation was measured")


def test_a_breached_threshold_alone_exits_3():
    breached = report(thresholds=combine(Thresholds(), parse_assignments(["min_ops_per_s=100"])))
    assert breached["verdict"] == {"passed": False, "exit_code": 3, "reasons": ["1 threshold breached: min_ops_per_s"]}
    met = report(thresholds=combine(Thresholds(), parse_assignments(["min_ops_per_s=10"])))
    assert met["verdict"] == {"passed": True, "exit_code": 0, "reasons": []}


def test_a_breached_threshold_with_a_failing_finding_exits_1_and_names_both():
    run = report(groups=[group("high")], by_severity={"high": 1},
                 thresholds=combine(Thresholds(), parse_assignments(["max_findings.high=0"])))
    assert run["verdict"]["exit_code"] == 1
    assert run["verdict"]["reasons"] == ["1 finding in 1 group of severity medium or worse",
                                         "1 threshold breached: max_findings.high"]


def test_no_success_fails_unless_the_thresholds_allow_it():
    assert report(ok=0)["verdict"] == {"passed": False, "exit_code": 1, "reasons": ["no operation succeeded"]}
    allowed = report(ok=0, thresholds=Thresholds(allow_no_success=True))
    assert allowed["verdict"] == {"passed": True, "exit_code": 0, "reasons": []}
    assert allowed["thresholds"]["allow_no_success"] is True


def test_the_summary_prints_each_threshold_and_the_breached_ones_in_the_verdict():
    run = report(thresholds=combine(Thresholds(), parse_assignments(["min_ops_per_s=10", "max_p99_ms=5"])))
    assert _thresholds(run).splitlines() == [
        "Thresholds",
        "  PASS  min_ops_per_s: 100 operations in 2.0 s: 50 ≥ 10",
        "  FAIL  max_p99_ms.all: p99 of 10 operations: 12 > 5"]
    assert _verdict_line(run) == "VERDICT: FAIL (exit 3: 1 threshold breached: max_p99_ms.all)"
    assert _thresholds(report()) == ""  # none set: no section
