"""Coverage of the contract's behaviour: for each instruction a run sent, the outcomes it saw
(success, and each error by name and code) and the errors the model says the instruction can
answer but the run never provoked. A refusal path nobody walked cannot have shown its bug.

    coverage = build_coverage(status["totals"])   # get_engine_status totals, merged over shards
    coverage["exercised"], coverage["reachable"]  # "errors exercised: X of Y reachable"

Pure: built from the totals' `outcomes_by_operation` and `errors_by_name`.
"""
from __future__ import annotations

from functools import cache

from engine.frt.errors import CUSTOM_ERRORS, CUSTOM_TABLES
from engine.invariants import OPERATIONS, REACHABLE_ERRORS
from engine.stats import OK_OUTCOME


@cache
def _codes() -> dict[str, tuple[int, str]]:
    """Error name -> (custom code, program). Names are unique across the tables (the SPL,
    System and ATA ones carry a prefix, FRT's colliding ones "Custom")."""
    return {info.name: (code, program) for program, table in CUSTOM_TABLES.items() for code, info in table.items()}


def error_identity(name: str) -> dict:
    """{"name", "code", "program"}: code and program are None for builtin and transaction errors."""
    code, program = _codes().get(name, (None, None))
    return {"name": name, "code": code, "program": program}


def operation_coverage(operation: str, outcomes: dict[str, int]) -> dict:
    """One instruction: what it was answered, and the reachable errors it never was."""
    reachable = REACHABLE_ERRORS.get(operation, frozenset())
    errors = sorted(((name, count) for name, count in outcomes.items() if name != OK_OUTCOME and count),
                    key=lambda item: (-item[1], item[0]))
    seen = {name for name, _ in errors}
    return {"operation": operation, "sent": sum(outcomes.values()), "succeeded": outcomes.get(OK_OUTCOME, 0),
            "errors": [error_identity(name) | {"count": count, "reachable": name in reachable}
                       for name, count in errors],
            "reachable": len(reachable), "exercised": len(reachable & seen),
            "not_seen": [error_identity(name) for name in sorted(reachable - seen)]}


def build_coverage(totals: dict) -> dict:
    """The report's `coverage` section. Every instruction the model knows is listed, sent or not
    (one never sent exercised nothing), then any other the run counted."""
    outcomes = totals.get("outcomes_by_operation") or {}
    names = [*OPERATIONS, *sorted(set(outcomes) - set(OPERATIONS))]
    operations = [operation_coverage(name, outcomes.get(name, {})) for name in names]
    return {"operations": operations,
            "reachable": sum(op["reachable"] for op in operations),
            "exercised": sum(op["exercised"] for op in operations),
            "program_refusals": refusal_coverage(totals.get("errors_by_name") or {})}


def refusal_coverage(errors_by_name: dict) -> dict:
    """Which of the program's own refusals (the FRT error codes v0.17.1070 emits, CONTRACT.md
    §9.1) the run provoked, whatever the instruction."""
    emitted = [info.name for info in CUSTOM_ERRORS.values() if info.emitted]
    exercised = [name for name in emitted if errors_by_name.get(name)]
    return {"program_errors": len(emitted), "exercised": exercised,
            "not_exercised": [name for name in emitted if name not in exercised]}
