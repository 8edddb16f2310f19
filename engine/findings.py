"""What a finding is: the one shape every detector produces (the model/invariant checks of a
verified operation, the intent oracle, creation and administration checks, attacks).

A finding is a plain dict (it is written to disk and sent over the API as it is):

    kind      what was detected: "prediction_mismatch", "balance_mismatch", "invariant_violation",
              "intent_violation", "creation_mismatch", "admin_mismatch", ...
    rule      the rule it breaks, one name per property ("only_admin_changes_settings", ...)
    severity  one of SEVERITIES: critical (someone takes control or value), high (wrong amounts),
              medium (denial of service), low (bookkeeping), info (documented design property)
    detail    one line a developer reads first
    as_coded  True when the code-derived model predicted it: the program does this as written
    evidence  anything else that shows it (amounts, accounts, instruction, ...)

Findings are grouped: one group per (kind, rule, pool_id, operation), named by `group_id`, a
short stable hash of that key. A seeded bug hit by a thousand operations is one group with a
count of a thousand, not a thousand reports (engine/store.py keeps the groups).
"""
from __future__ import annotations

import hashlib

SEVERITIES = ("critical", "high", "medium", "low", "info")  # worst first
GROUP_FIELDS = ("id", "kind", "rule", "severity", "as_coded", "pool_id", "operation", "count", "first_seen",
                "last_seen")


def make_finding(kind: str, rule: str, severity: str, detail: str, *, as_coded: bool = False,
                 **evidence) -> dict:
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}")
    return {"kind": kind, "rule": rule, "severity": severity, "detail": detail, "as_coded": as_coded,
            "evidence": evidence}


def normalised(finding: dict) -> dict:
    """`finding` with rule, severity and as_coded present: a finding made without make_finding
    (an older detector) is its kind's rule, high."""
    rule = finding.get("rule") or finding.get("kind") or "finding"
    severity = finding.get("severity") if finding.get("severity") in SEVERITIES else "high"
    return {**finding, "kind": finding.get("kind") or "finding", "rule": rule, "severity": severity,
            "as_coded": bool(finding.get("as_coded", False)), "detail": finding.get("detail", "")}


def group_id(kind: str, rule: str, pool_id: str | None, operation: str | None) -> str:
    """The group's name: 12 hex digits of sha256 over its key (the same in every shard and run)."""
    key = "\x1f".join((kind, rule, pool_id or "", operation or ""))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def severity_rank(severity: str) -> int:
    """0 for critical ... 4 for info (an unknown severity ranks as high)."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else 1


def at_least(severity: str, threshold: str) -> bool:
    """Whether `severity` is `threshold` or worse."""
    return severity_rank(severity) <= severity_rank(threshold)


def merge_groups(groups) -> list[dict]:
    """Groups from several shards (or runs) merged by id: counts summed, first_seen the earliest,
    last_seen the latest, the example of the earliest; newest last_seen first."""
    merged: dict[str, dict] = {}
    for group in groups:
        mine = merged.get(group["id"])
        if mine is None:
            merged[group["id"]] = dict(group)
            continue
        mine["count"] += group["count"]
        if group.get("stored") is not None:
            mine["stored"] = mine.get("stored", 0) + group["stored"]
        if group["first_seen"] < mine["first_seen"]:
            mine["first_seen"] = group["first_seen"]
            for key in ("example", "example_file", "example_path", "shard_dir", "detail"):
                if key in group:
                    mine[key] = group[key]
        mine["last_seen"] = max(mine["last_seen"], group["last_seen"])
    return sorted(merged.values(), key=lambda g: g["last_seen"], reverse=True)


def count_by(groups, key: str) -> dict[str, int]:
    """Findings counted by a group field ("kind", "severity")."""
    counts: dict[str, int] = {}
    for group in groups:
        counts[group[key]] = counts.get(group[key], 0) + group["count"]
    return counts
