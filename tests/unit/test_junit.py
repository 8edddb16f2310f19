"""--junit: the run's verdict as JUnit XML that a JUnit parser accepts, failing where the run does."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from engine.gates import Thresholds, combine, parse_assignments
from engine.junit import write_junit
from tests.unit.test_gates import group, report


def _suite(path) -> ET.Element:
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "frt-stress"
    return suite


def _cases(suite: ET.Element) -> dict[tuple[str, str], ET.Element]:
    return {(case.get("classname"), case.get("name")): case for case in suite.findall("testcase")}


def test_a_run_with_a_breach_and_a_failing_finding(tmp_path):
    thresholds = combine(Thresholds(), parse_assignments(["min_ops_per_s=100", "max_p99_ms.swap=20"]))
    run = report(groups=[group("high", 3), group("info")], by_severity={"high": 3, "info": 1}, thresholds=thresholds)
    path = tmp_path / "out" / "junit.xml"
    write_junit(path, run)

    suite = _suite(path)
    cases = _cases(suite)
    assert set(cases) == {("thresholds", "min_ops_per_s"), ("thresholds", "max_p99_ms.swap"),
                          ("findings", "outcome_as_predicted g-high"), ("findings", "outcome_as_predicted g-info"),
                          ("run", "ledger audit"), ("run", "some operation succeeded"), ("run", "no unexpected failure"),
                          ("run", "no thread in error state")}
    failed = {key for key, case in cases.items() if case.find("failure") is not None}
    assert failed == {("thresholds", "min_ops_per_s"), ("findings", "outcome_as_predicted g-high")}
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("8", "2", "0", "0")
    message = cases[("thresholds", "min_ops_per_s")].find("failure").get("message")
    assert message == "breached: 100 operations in 2.0 s: 50 < 100"
    assert "3 × high prediction_mismatch" in cases[("findings", "outcome_as_predicted g-high")].find("failure").get(
        "message")
    assert (suite.get("time"), suite.get("timestamp")) == ("2.000", "2026-01-01T00:00:00")
    properties = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert properties == {"scenario": "s", "seed": "1", "exit_code": "1"}


def test_a_run_that_passes_has_no_failures(tmp_path):
    path = tmp_path / "junit.xml"
    write_junit(path, report(thresholds=combine(Thresholds(), parse_assignments(["min_success_rate=0.5"]))))
    suite = _suite(path)
    assert (suite.get("tests"), suite.get("failures")) == ("5", "0")
    assert not suite.findall(".//failure")


def test_no_success_fails_its_case_unless_allowed_then_it_is_skipped(tmp_path):
    write_junit(tmp_path / "none.xml", report(ok=0))
    case = _cases(_suite(tmp_path / "none.xml"))[("run", "some operation succeeded")]
    assert case.find("failure").get("message") == "no operation succeeded (100 sent)"

    write_junit(tmp_path / "allowed.xml", report(ok=0, thresholds=Thresholds(allow_no_success=True)))
    suite = _suite(tmp_path / "allowed.xml")
    assert _cases(suite)[("run", "some operation succeeded")].find("skipped") is not None
    assert (suite.get("failures"), suite.get("skipped")) == ("0", "1")


def test_a_failed_audit_and_unexpected_failures_fail_their_cases(tmp_path):
    run = report(unexpected=2)
    run["audit"] = {"passed": False, "mints": [{"passed": False, "detail": "unaccounted 1"}], "pools": []}
    write_junit(tmp_path / "junit.xml", run)
    cases = _cases(_suite(tmp_path / "junit.xml"))
    assert cases[("run", "ledger audit")].find("failure").text == "unaccounted 1"
    assert cases[("run", "no unexpected failure")].find("failure").get("message") == "2 unexpected failures"
