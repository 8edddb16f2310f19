"""The report of a headless run: a JSON-serialisable document and its text summary.

    report = await gather_report(engine, scenario_name="demo", duration_s=60.2, seed=42, audit=audit,
                                 fail_on="medium", thresholds=thresholds)
    print(render_summary(report))
    sys.exit(report["verdict"]["exit_code"])

Exit codes: 0 passed; 1 failed (findings of severity fail_on or worse, unexpected failures,
threads in error, a failed or missing ledger audit, no successful operation unless allowed);
2 the run could not be done (console/run_command.py); 3 a threshold (engine/gates.py) was
breached and nothing else failed the run.
"""
from __future__ import annotations

import re

from engine.coverage import build_coverage
from engine.coverage import refusal_coverage  # noqa: F401  (its former home; still imported from here)
from engine import gates
from engine.findings import SEVERITIES, at_least, severity_rank
from engine.store import utc_now_iso

EXIT_OK, EXIT_FAILED, EXIT_CANNOT_RUN, EXIT_THRESHOLD = 0, 1, 2, 3
VERDICTS = ("ok", "expected", "unexpected", "transient")
_NUMBER = re.compile(r"^-?[\d,]+(\.\d+)?$")
DEFAULT_FAIL_ON = "medium"
GROUPS_SHOWN = 20  # groups listed in the printed summary (the report JSON has them all)
REPORT_GROUPS = 1000  # groups (and newest finding files) the report asks for
_PER_THREAD = ("successful_operations", "expected_failures", "unexpected_failures", "waiting_cycles", "findings")


# --------------------------------------------------------------------------- building

async def gather_report(engine, *, scenario_name: str, duration_s: float, seed: int | None,
                        audit: dict | None, **run) -> dict:
    """Collect what the report needs through the engine facade (works sharded or not)."""
    return build_report(status=await engine.get_engine_status(), pools=(await engine.list_pools())["pools"],
                        findings=await engine.get_findings(REPORT_GROUPS), threads=await engine.thread_summaries(),
                        scenario_name=scenario_name, duration_s=duration_s, seed=seed, audit=audit, **run)


def build_report(*, status: dict, pools: list[dict], findings: dict, threads: list[dict], scenario_name: str,
                 duration_s: float, seed: int | None, audit: dict | None, planned_duration_s: float | None = None,
                 interrupted: bool = False, created: dict | None = None, data_dir: str | None = None,
                 fail_on: str = DEFAULT_FAIL_ON, thresholds: gates.Thresholds | None = None) -> dict:
    """Everything about the run, from facade answers (pure). `duration_s` is the measured running
    time; `created` is what scenario.build returned (used to name pools); findings in groups of
    severity `fail_on` or worse fail the run; `thresholds` are judged against the rest of the
    report. The groups reported are those seen since the engine started (a reused data directory
    keeps older ones in findings/groups.json)."""
    if fail_on not in SEVERITIES:
        raise ValueError(f"unknown severity {fail_on!r}")
    totals = status["totals"]
    operations = totals["total_operations"]
    names = {pool_id: name for name, ids in (created or {}).get("pools", {}).items() for pool_id in ids}
    outcome_keys = {"ok": "successful_operations", "expected": "expected_failures",
                    "unexpected": "unexpected_failures", "transient": "transient_failures"}
    report = {
        "run": {"scenario": scenario_name, "seed": seed, "planned_duration_s": planned_duration_s,
                "duration_s": round(duration_s, 3), "interrupted": interrupted, "finished_at": utc_now_iso(),
                "data_dir": data_dir},
        "chain": {**status["cluster"], "program_id": status["program_id"], "core_wallet": status["core_wallet"]},
        "engine": {key: status[key] for key in ("started_at", "uptime_seconds", "threads", "memory_rss_bytes",
                                                "problems")} | {"shards": status.get("shards")},
        "operations": {"total": operations, "by_type": totals["operations"],
                       "by_outcome": {verdict: totals[key] for verdict, key in outcome_keys.items()},
                       "waiting_cycles": totals["waiting_cycles"],
                       "late_landings": totals.get("late_landings", 0)},
        "errors": {"by_category": totals["errors_by_category"], "by_name": totals["errors_by_name"]},
        "coverage": build_coverage(totals),
        "findings": {"count": totals["findings"], "by_kind": totals["findings_by_kind"],
                     "by_severity": totals.get("findings_by_severity", {}), "fail_on": fail_on,
                     "groups": _groups_of_run(findings.get("groups", []), status.get("started_at")),
                     "stored": findings.get("stored", findings["count"]), "items": findings["findings"][:50]},
        "throughput": {"operations": operations, "duration_s": round(duration_s, 3),
                       "ops_per_second": round(operations / duration_s, 2) if duration_s > 0 else 0.0,
                       "successful_ops_per_second":
                           round(totals["successful_operations"] / duration_s, 2) if duration_s > 0 else 0.0},
        "latency_ms": totals["latency_ms"],
        "fees": {"network_lamports": totals["network_fees_paid"], "pool_lamports": totals["pool_fees_paid"],
                 "total_lamports": totals["network_fees_paid"] + totals["pool_fees_paid"]},
        "pools": [_pool_summary(pool, threads, names) for pool in pools],
        "threads": threads,
        "audit": audit,
    }
    report["thresholds"] = gates.section(thresholds, report)
    report["verdict"] = verdict(report)
    return report


def _pool_summary(pool: dict, threads: list[dict], names: dict) -> dict:
    own = [t for t in threads if t["pool_id"] == pool["pool_id"]]
    activity = {key: sum(t[key] for t in own) for key in _PER_THREAD}
    return {"name": names.get(pool["pool_id"]), **pool, "activity": activity}


def _groups_of_run(groups: list[dict], started_at: str | None) -> list[dict]:
    """The groups seen since `started_at`, worst severity first, then the most frequent."""
    seen = [group for group in groups if not started_at or group["last_seen"] >= started_at]
    return sorted(seen, key=lambda g: (severity_rank(g["severity"]), -g["count"], g["first_seen"]))


def failing_groups(report: dict) -> list[dict]:
    """The finding groups whose severity fails the run (`findings.fail_on` or worse)."""
    findings = report["findings"]
    return [group for group in findings["groups"] if at_least(group["severity"], findings["fail_on"])]


def verdict(report: dict) -> dict:
    """Passed or not, the exit code and why: anything below fails the run (exit 1); thresholds
    breached with nothing else wrong exit 3, so that CI can tell "slow" from "broken"."""
    reasons = []
    if failing := failing_groups(report):
        count = sum(group["count"] for group in failing)
        reasons.append(f"{_plural(count, 'finding')} in {_plural(len(failing), 'group')} of severity "
                       f"{report['findings']['fail_on']} or worse")
    if count := report["operations"]["by_outcome"]["unexpected"]:
        reasons.append(_plural(count, "unexpected failure"))
    allowed = (report.get("thresholds") or {}).get("allow_no_success", False)
    if not report["operations"]["by_outcome"]["ok"] and not allowed:  # it tested nothing: not a pass
        reasons.append("no operation succeeded")
    if count := sum(1 for thread in report["threads"] if thread["status"] == "error"):
        reasons.append(_plural(count, "thread") + " in error state")
    audit = report["audit"]
    if audit is None:
        reasons.append("ledger audit not run")
    elif not audit["passed"]:
        reasons.append("ledger audit failed")
    exit_code = EXIT_FAILED if reasons else EXIT_OK
    if breached := gates.breached(report):
        reasons.append(f"{_plural(len(breached), 'threshold')} breached: {', '.join(v['key'] for v in breached)}")
        exit_code = exit_code or EXIT_THRESHOLD
    return {"passed": not reasons, "exit_code": exit_code, "reasons": reasons}


# --------------------------------------------------------------------------- rendering

def render_summary(report: dict) -> str:
    """A readable, aligned text block (no I/O)."""
    sections = [_header(report), _pools(report), _operations(report), _errors(report),
                _coverage(report), _findings(report), _throughput(report), _latency(report),
                _fees(report), _audit(report), _thresholds(report), _verdict_line(report)]
    return "\n\n".join(section for section in sections if section) + "\n"


def _header(report: dict) -> str:
    run, chain, threads = report["run"], report["chain"], report["engine"]["threads"]
    planned = f" (planned {run['planned_duration_s']:g} s)" if run.get("planned_duration_s") else ""
    lines = [_rule(f"frt-stress run: {run['scenario']}"),
             _pair("seed", run["seed"]),
             _pair("duration", f"{run['duration_s']:.1f} s{planned}{', interrupted' if run['interrupted'] else ''}"),
             _pair("chain", chain.get("description") or chain.get("mode")),
             _pair("pools / threads", f"{len(report['pools'])} / {threads['total_threads']} "
                                      f"(running {threads['running_threads']}, stopped {threads['stopped_threads']}, "
                                      f"error {threads['error_threads']})")]
    if run.get("data_dir"):
        lines.append(_pair("data dir", run["data_dir"]))
    return "\n".join(lines)


def _pools(report: dict) -> str:
    rows = [[pool.get("name") or "-", pool["pool_id"][:8] + "…", pool["ratio_display"],
             f"{pool['token_a_decimals']}/{pool['token_b_decimals']}", str(pool["flags"]),
             _n(pool["activity"]["successful_operations"]), _n(pool["activity"]["expected_failures"]),
             _n(pool["activity"]["unexpected_failures"]), _n(pool["activity"]["findings"])]
            for pool in report["pools"]]
    return "Pools\n" + _table(["name", "pool", "ratio", "dec", "flags", "ok", "expected", "unexpected", "findings"],
                              rows)


def _operations(report: dict) -> str:
    ops = report["operations"]
    rows = []
    for operation, by_verdict in sorted(ops["by_type"].items()):
        rows.append([operation, *(_n(by_verdict.get(v, 0)) for v in VERDICTS), _n(sum(by_verdict.values()))])
    rows.append(["total", *(_n(ops["by_outcome"][v]) for v in VERDICTS), _n(ops["total"])])
    text = "Operations by type and outcome\n" + _table(["operation", *VERDICTS, "total"], rows)
    text += f"\n  waiting cycles (nothing to spend): {_n(ops['waiting_cycles'])}"
    if ops.get("late_landings"):
        text += (f"\n  landed late: {_n(ops['late_landings'])} transactions of operations counted transient "
                 "(Unconfirmed) ran afterwards; their operations stay counted as transient")
    return text


def _errors(report: dict) -> str:
    errors = report["errors"]
    if not errors["by_category"]:
        return "Errors: none"
    categories = _table(["category", "count"], [[k, _n(v)] for k, v in _top(errors["by_category"])])
    names = _table(["error", "count"], [[k, _n(v)] for k, v in _top(errors["by_name"], 8)])
    return f"Errors by category\n{categories}\nTop errors\n{names}"


def _coverage(report: dict) -> str:
    """The headline, one line per instruction, then what each was answered and never was."""
    coverage = report["coverage"]
    rows = [[op["operation"], _n(op["sent"]), _n(op["succeeded"]), _n(sum(e["count"] for e in op["errors"])),
             f"{op['exercised']} of {op['reachable']}"] for op in coverage["operations"]]
    lines = [f"Coverage of the contract's behaviour: errors exercised: {coverage['exercised']} of "
             f"{coverage['reachable']} reachable (per instruction, per the model)",
             _table(["instruction", "sent", "ok", "failed", "errors exercised"], rows)]
    for op in coverage["operations"]:
        if op["errors"]:
            seen = ", ".join(f"{_error_label(e)} ×{_n(e['count'])}" + ("" if e["reachable"] else " (not predicted)")
                             for e in op["errors"])
            lines.append(f"  {op['operation']} answered: {seen}")
        if op["not_seen"]:
            lines.append(f"  {op['operation']} never provoked: {', '.join(map(_error_label, op['not_seen']))}")
    refusals = coverage["program_refusals"]
    line = (f"  FRT refusals exercised: {len(refusals['exercised'])} of {refusals['program_errors']} error codes "
            "the program emits")
    lines.append(line + (f"; never provoked: {', '.join(refusals['not_exercised'])}"
                         if refusals["not_exercised"] else ""))
    return "\n".join(lines)


def _error_label(error: dict) -> str:
    """"PoolLiquidityPaused (1035)", "SplInsufficientFunds (spl-token 1)", "InvalidArgument"."""
    if error["code"] is None:
        return error["name"]
    program = "" if error["program"] == "frt" else f"{error['program']} "
    return f"{error['name']} ({program}{error['code']})"


def _findings(report: dict) -> str:
    findings = report["findings"]
    groups = findings["groups"]
    if not findings["count"] and not groups:
        return "Findings: none"
    head = (f"Findings: {_n(findings['count'])} in {_plural(len(groups), 'group')} "
            f"(one per kind, rule, pool and operation; the run fails on {findings['fail_on']} or worse)")
    rows = [[("✖ " if at_least(g["severity"], findings["fail_on"]) else "  ") + g["severity"], g["rule"],
             _n(g["count"]), (g["pool_id"] or "-")[:8] + ("…" if g["pool_id"] else ""), g["operation"] or "-",
             g["kind"] + (" (as coded)" if g.get("as_coded") else ""), g["id"]]
            for g in groups[:GROUPS_SHOWN]]
    lines = [head, _table(["severity", "rule", "count", "pool", "operation", "kind", "group"], rows)]
    if len(groups) > GROUPS_SHOWN:
        lines.append(f"  … and {len(groups) - GROUPS_SHOWN} more groups (all in the report's findings.groups)")
    for g in groups[:3]:
        lines.append(f"  {g['id']}: {g.get('detail', '')}"[:160])
    lines.append("  each group's first finding, whole: findings.groups[].example in the report, or "
                 "<data dir>/findings/<example_file>")
    return "\n".join(lines)


def _throughput(report: dict) -> str:
    t = report["throughput"]
    return (f"Throughput: {t['ops_per_second']:,.2f} ops/s ({_n(t['operations'])} operations in "
            f"{t['duration_s']:.1f} s; {t['successful_ops_per_second']:,.2f} successful ops/s)")


def _latency(report: dict) -> str:
    latency = report["latency_ms"]
    order = sorted(op for op in latency if op != "all") + ["all"]
    rows = [[op, *(f"{latency[op][key]:.3f}" for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms")),
             _n(latency[op]["count"])] for op in order if op in latency]
    return "Latency per operation (ms, send to confirmation)\n" + _table(
        ["operation", "p50", "p95", "p99", "max", "count"], rows)


def _fees(report: dict) -> str:
    fees = report["fees"]
    return "Fees paid\n" + "\n".join(
        f"  {label:<8} {_n(fees[key]):>20} lamports  ({fees[key] / 1e9:,.6f} SOL)"
        for label, key in (("network", "network_lamports"), ("pool", "pool_lamports"), ("total", "total_lamports")))


def _audit(report: dict) -> str:
    audit = report["audit"]
    if audit is None:
        return "Ledger audit: not run"
    head = (f"Ledger audit: {'passed' if audit['passed'] else 'FAILED'} "
            f"({_plural(len(audit['mints']), 'mint')}, {_plural(len(audit['pools']), 'pool')}; "
            "minted = held + vaults + burned)")
    failed = [f"  {entry['kind']:<8} {entry['mint']}: {entry['detail']}" for entry in audit["mints"]
              if not entry["passed"]]
    failed += [f"  pool     {entry['pool_id']}: {entry['detail']}" for entry in audit["pools"] if not entry["passed"]]
    return "\n".join([head, *failed])


def _thresholds(report: dict) -> str:
    section = report.get("thresholds") or {}
    lines = [f"  {'PASS' if v['passed'] else 'FAIL'}  {v['key']}: {v['detail']}" for v in section.get("verdicts", [])]
    if section.get("allow_no_success"):
        lines.append("  allow_no_success: a run in which no operation succeeds may pass")
    return "\n".join(["Thresholds", *lines]) if lines else ""


def _verdict_line(report: dict) -> str:
    v = report["verdict"]
    if v["passed"]:
        fail_on = report["findings"]["fail_on"]
        met = (report.get("thresholds") or {}).get("verdicts")
        return (f"VERDICT: PASS (exit {v['exit_code']}: no findings of severity {fail_on} or worse, "
                f"no unexpected errors, ledger audit passed{', thresholds met' if met else ''})")
    return f"VERDICT: FAIL (exit {v['exit_code']}: {', '.join(v['reasons'])})"


# --------------------------------------------------------------------------- text helpers

def _n(value: int) -> str:
    return f"{value:,}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _top(counts: dict, limit: int | None = None) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]


def _rule(title: str, width: int = 72) -> str:
    return f"══ {title} " + "═" * max(3, width - len(title) - 4)


def _pair(label: str, value) -> str:
    return f"{label:<16} {value}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    """Two-space indent; numeric columns right-aligned, text columns left-aligned."""
    rows = [[str(cell) for cell in row] for row in rows]
    columns = range(len(header))
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in columns]
    numeric = [bool(rows) and all(_NUMBER.match(row[i]) for row in rows) for i in columns]

    def line(cells: list[str]) -> str:
        return "  " + "  ".join(f"{cell:>{widths[i]}}" if numeric[i] else f"{cell:<{widths[i]}}"
                                for i, cell in enumerate(cells)).rstrip()

    return "\n".join(line(cells) for cells in [list(map(str, header)), *rows])
