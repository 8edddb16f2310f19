"""Thresholds a headless run must meet to pass a CI gate, and their verdicts against its report.

    thresholds = combine(scenario.run.thresholds, parse_assignments(["max_p99_ms.swap=50"]))
    verdicts = evaluate(thresholds, report)   # [{"key", "limit", "actual", "passed", "detail"}]

They come from the scenario's ``[run.thresholds]`` table and from ``--threshold KEY=VALUE`` (the
command line wins, key by key). Keys:

* ``min_success_rate`` (0..1): successful operations / operations.
* ``min_ops_per_s``: operations (all outcomes) per second of running time.
* ``max_p99_ms.<all|deposit|withdraw|swap>``: 99th percentile latency, send to confirmation; in
  TOML a table ``max_p99_ms = {all = 250, swap = 100}``, or a number for ``all`` alone
  (``max_p99_ms=250`` on the command line is ``max_p99_ms.all=250`` too). An operation the run
  never measured breaches its limit: a gate must not pass on nothing.
* ``max_findings.<critical|high|medium|low|info>``: finding occurrences of that severity.
* ``allow_no_success = true``: a run in which no operation succeeded may pass (by default it fails).
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from engine.findings import SEVERITIES
from engine.invariants import OPERATIONS


class ThresholdError(ValueError):
    """A --threshold that is not KEY=VALUE, or names an unknown key, or has a bad value."""


_STRICT = ConfigDict(extra="forbid")
P99Limits = create_model("P99Limits", __config__=_STRICT,
                         **{name: (float | None, Field(None, gt=0)) for name in ("all", *OPERATIONS)})
FindingLimits = create_model("FindingLimits", __config__=_STRICT,
                             **{severity: (int | None, Field(None, ge=0)) for severity in SEVERITIES})


class Thresholds(BaseModel):
    model_config = _STRICT
    min_success_rate: float | None = Field(None, ge=0, le=1)
    min_ops_per_s: float | None = Field(None, ge=0)
    max_p99_ms: P99Limits = Field(default_factory=P99Limits)
    max_findings: FindingLimits = Field(default_factory=FindingLimits)
    allow_no_success: bool = False

    @field_validator("max_p99_ms", mode="before")
    @classmethod
    def _a_number_is_the_overall_limit(cls, value: Any) -> Any:
        return value if isinstance(value, (dict, BaseModel)) else {"all": value}

    def limits(self) -> list[tuple[str, float]]:
        """(key, limit) of every threshold set, in a fixed order."""
        limits = [(key, getattr(self, key)) for key in ("min_success_rate", "min_ops_per_s")]
        limits += [(f"max_p99_ms.{name}", getattr(self.max_p99_ms, name)) for name in P99Limits.model_fields]
        limits += [(f"max_findings.{name}", getattr(self.max_findings, name)) for name in FindingLimits.model_fields]
        return [(key, limit) for key, limit in limits if limit is not None]


# --------------------------------------------------------------------------- the command line

def parse_assignments(items: list[str]) -> dict:
    """["max_p99_ms.swap=50", "allow_no_success=true"] -> {"max_p99_ms": {"swap": "50"}, ...}
    (values are validated, and converted, by `combine`)."""
    tree: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        parts = key.strip().split(".")
        if parts == ["max_p99_ms"]:  # the overall limit, leaving the scenario's per-operation ones
            parts = ["max_p99_ms", "all"]
        if not sep or not value.strip() or not all(parts) or len(parts) > 2:
            raise ThresholdError(f"--threshold {item!r}: expected KEY=VALUE, e.g. min_success_rate=0.9 or "
                                 "max_p99_ms.swap=50")
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ThresholdError(f"--threshold {item!r}: {part} is set both as a value and as a table")
        node[parts[-1]] = value.strip()
    return tree


def combine(scenario: Thresholds, overrides: dict) -> Thresholds:
    """The scenario's thresholds with the command line's on top, key by key."""
    merged = _deep_merge(scenario.model_dump(exclude_unset=True), overrides)
    try:
        return Thresholds.model_validate(merged)
    except ValidationError as exc:
        raise ThresholdError("invalid --threshold:\n  " + "\n  ".join(describe_errors(exc))) from None


def describe_errors(exc: ValidationError) -> list[str]:
    lines = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            lines.append(f"{key}: unknown key (known: {', '.join(known_keys())})")
        else:
            lines.append(f"{key}: {error['msg']} (got {error.get('input')!r})")
    return lines


def known_keys() -> list[str]:
    return ["min_success_rate", "min_ops_per_s", *(f"max_p99_ms.{name}" for name in P99Limits.model_fields),
            *(f"max_findings.{name}" for name in FindingLimits.model_fields), "allow_no_success"]


def _deep_merge(base: dict, top: dict) -> dict:
    merged = dict(base)
    for key, value in top.items():
        below = merged.get(key)
        if isinstance(value, dict) and isinstance(below, dict):
            merged[key] = _deep_merge(below, value)
        else:
            merged[key] = value
    return merged


# --------------------------------------------------------------------------- verdicts

def evaluate(thresholds: Thresholds, report: dict) -> list[dict]:
    """One verdict per threshold set: {"key", "limit", "actual", "passed", "detail"}."""
    return [_verdict(key, limit, report) for key, limit in thresholds.limits()]


def section(thresholds: Thresholds | None, report: dict) -> dict:
    """The report's `thresholds` section."""
    thresholds = thresholds or Thresholds()
    return {"limits": dict(thresholds.limits()), "allow_no_success": thresholds.allow_no_success,
            "verdicts": evaluate(thresholds, report)}


def breached(report: dict) -> list[dict]:
    return [verdict for verdict in (report.get("thresholds") or {}).get("verdicts", []) if not verdict["passed"]]


def _verdict(key: str, limit: float, report: dict) -> dict:
    group, _, name = key.partition(".")
    if group == "min_success_rate":
        total, ok = report["operations"]["total"], report["operations"]["by_outcome"]["ok"]
        verdict = _minimum(key, limit, ok / total if total else 0.0, f"{ok:,} of {total:,} operations succeeded")
        return verdict | {"actual": round(verdict["actual"], 6)}  # judged unrounded: 0.89996 is not 0.9
    if group == "min_ops_per_s":
        throughput = report["throughput"]
        return _minimum(key, limit, throughput["ops_per_second"],
                        f"{throughput['operations']:,} operations in {throughput['duration_s']:.1f} s")
    if group == "max_p99_ms":
        latency = report["latency_ms"].get(name) or {}
        if not latency.get("count"):
            subject = "operation" if name == "all" else f"{name} operation"
            return _entry(key, limit, None, False, f"no {subject} was measured")
        return _maximum(key, limit, latency["p99_ms"], f"p99 of {latency['count']:,} {_ms_subject(name)}")
    if group == "max_findings":
        actual = (report["findings"].get("by_severity") or {}).get(name, 0)
        return _maximum(key, limit, actual, f"{actual:,} {name} finding{'' if actual == 1 else 's'}")
    raise ValueError(f"unknown threshold {key!r}")


def _ms_subject(name: str) -> str:
    return "operations" if name == "all" else f"{name} operations"


def _minimum(key: str, limit: float, actual: float, what: str) -> dict:
    passed = actual >= limit
    return _entry(key, limit, actual, passed, f"{what}: {_num(actual)} {'≥' if passed else '<'} {_num(limit)}")


def _maximum(key: str, limit: float, actual: float, what: str) -> dict:
    passed = actual <= limit
    return _entry(key, limit, actual, passed, f"{what}: {_num(actual)} {'≤' if passed else '>'} {_num(limit)}")


def _num(value: float) -> str:
    return f"{value:,.6f}".rstrip("0").rstrip(".")


def _entry(key: str, limit: float, actual: float | None, passed: bool, detail: str) -> dict:
    return {"key": key, "limit": limit, "actual": actual, "passed": passed, "detail": detail}
