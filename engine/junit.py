"""A run's verdict as JUnit XML, for CI systems that show test results.

    write_junit(Path("junit.xml"), report)   # report: engine/report.py build_report

One testsuite "frt-stress" with a test case per threshold (classname "thresholds"), per finding
group (classname "findings", name "<rule> <group id>", failing at the run's --fail-on severity
or worse), for the ledger audit, for "some operation succeeded" (skipped when the thresholds
allow a run without success), and for the other reasons a run fails (unexpected failures,
threads in error), so that the file fails exactly when the run does.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from engine.atomic import atomic_write_text
from engine.findings import at_least

SUITE = "frt-stress"


def _case(classname: str, name: str, *, failure: str | None = None, skipped: str | None = None,
          detail: str = "") -> ET.Element:
    case = ET.Element("testcase", classname=classname, name=name, time="0")
    if failure is not None:
        ET.SubElement(case, "failure", message=failure, type="failure").text = detail or failure
    elif skipped is not None:
        ET.SubElement(case, "skipped", message=skipped)
    elif detail:
        ET.SubElement(case, "system-out").text = detail
    return case


def junit_cases(report: dict) -> list[ET.Element]:
    cases = [_case("thresholds", v["key"], failure=None if v["passed"] else f"breached: {v['detail']}",
                   detail=v["detail"]) for v in report["thresholds"]["verdicts"]]
    findings = report["findings"]
    for group in findings["groups"]:
        failing = at_least(group["severity"], findings["fail_on"])
        summary = (f"{group['count']} × {group['severity']} {group['kind']} on pool {group['pool_id'] or '-'}, "
                   f"operation {group['operation'] or '-'}: {group.get('detail', '')}")
        cases.append(_case("findings", f"{group['rule']} {group['id']}", failure=summary if failing else None,
                           detail=summary))
    audit = report["audit"]
    if audit is None:
        cases.append(_case("run", "ledger audit", failure="ledger audit not run"))
    else:
        broken = [entry["detail"] for entry in [*audit["mints"], *audit["pools"]] if not entry["passed"]]
        cases.append(_case("run", "ledger audit", failure=None if audit["passed"] else "ledger audit failed",
                           detail="\n".join(broken)))
    operations = report["operations"]
    ok, total = operations["by_outcome"]["ok"], operations["total"]
    if ok:
        cases.append(_case("run", "some operation succeeded", detail=f"{ok:,} of {total:,} operations succeeded"))
    elif report["thresholds"]["allow_no_success"]:
        cases.append(_case("run", "some operation succeeded", skipped="no operation succeeded (allowed)"))
    else:
        cases.append(_case("run", "some operation succeeded", failure=f"no operation succeeded ({total:,} sent)"))
    unexpected = operations["by_outcome"]["unexpected"]
    cases.append(_case("run", "no unexpected failure",
                       failure=f"{unexpected:,} unexpected failures" if unexpected else None))
    in_error = [thread["thread_id"] for thread in report["threads"] if thread["status"] == "error"]
    cases.append(_case("run", "no thread in error state",
                       failure=f"{len(in_error)} threads in error state" if in_error else None,
                       detail=", ".join(in_error)))
    return cases


def junit_xml(report: dict) -> str:
    cases = junit_cases(report)
    suite = ET.Element("testsuite", name=SUITE, tests=str(len(cases)),
                       failures=str(sum(case.find("failure") is not None for case in cases)), errors="0",
                       skipped=str(sum(case.find("skipped") is not None for case in cases)),
                       time=f"{report['run']['duration_s']:.3f}",
                       timestamp=report["run"]["finished_at"][:19])  # the schema's form: no zone, no fraction
    properties = ET.SubElement(suite, "properties")
    for name, value in (("scenario", report["run"]["scenario"]), ("seed", report["run"]["seed"]),
                        ("exit_code", report["verdict"]["exit_code"])):
        ET.SubElement(properties, "property", name=name, value=str(value))
    suite.extend(cases)
    root = ET.Element("testsuites", name=SUITE)
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(path: Path, report: dict) -> None:
    atomic_write_text(path, junit_xml(report))
