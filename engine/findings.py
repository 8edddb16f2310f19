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
"""
from __future__ import annotations

SEVERITIES = ("critical", "high", "medium", "low", "info")


def make_finding(kind: str, rule: str, severity: str, detail: str, *, as_coded: bool = False,
                 **evidence) -> dict:
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}")
    return {"kind": kind, "rule": rule, "severity": severity, "detail": detail, "as_coded": as_coded,
            "evidence": evidence}
