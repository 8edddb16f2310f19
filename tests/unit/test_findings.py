"""The finding shape, its groups (ids, merging, persistence) and the run's --fail-on policy."""
from __future__ import annotations

import json

import pytest

from engine.api.operations import OPERATIONS
from engine.findings import at_least, group_id, make_finding, merge_groups
from engine.report import verdict
from engine.store import FINDING_FILES_PER_GROUP, StateStore


def test_make_finding_has_the_one_shape_and_refuses_unknown_severities():
    finding = make_finding("invariant_violation", "vault_backing", "high", "short", vault_a=1)
    assert finding == {"kind": "invariant_violation", "rule": "vault_backing", "severity": "high",
                       "detail": "short", "as_coded": False, "evidence": {"vault_a": 1}}
    with pytest.raises(ValueError):
        make_finding("x", "y", "severe", "z")


def test_group_ids_are_short_stable_and_differ_by_every_part_of_the_key():
    key = ("balance_mismatch", "balances_move_as_predicted", "pool", "deposit")
    assert group_id(*key) == group_id(*key) and len(group_id(*key)) == 12
    assert all(c in "0123456789abcdef" for c in group_id(*key))
    variants = {group_id(*key[:i], "other", *key[i + 1:]) for i in range(4)}
    assert len(variants) == 4 and group_id(*key) not in variants
    assert group_id("k", "r", None, None) == group_id("k", "r", "", "")


def test_severity_order():
    assert at_least("critical", "medium") and at_least("medium", "medium")
    assert not at_least("low", "medium") and not at_least("info", "low") and at_least("info", "info")


def _group(gid, count, first, last, **extra):
    return {"id": gid, "kind": "k", "rule": "r", "severity": "high", "as_coded": False, "pool_id": None,
            "operation": "op", "count": count, "first_seen": first, "last_seen": last, **extra}


def test_groups_merge_by_id_counts_summed_first_min_last_max():
    merged = merge_groups([_group("a", 2, "t2", "t5", detail="second"), _group("b", 1, "t3", "t3"),
                           _group("a", 3, "t1", "t4", detail="first")])
    assert [(g["id"], g["count"], g["first_seen"], g["last_seen"]) for g in merged] == [
        ("a", 5, "t1", "t5"), ("b", 1, "t3", "t3")]
    assert merged[0]["detail"] == "first"  # the earliest example


def test_the_coordinator_merges_shard_answers_of_get_findings():
    operation = OPERATIONS["get_findings"]
    parts = [{"count": 5, "stored": 5, "by_kind": {"k": 5}, "by_severity": {"high": 5},
              "groups": [_group("a", 5, "t1", "t2")], "findings": [{"detected_at": "t2"}]},
             {"count": 3, "stored": 2, "by_kind": {"k": 3}, "by_severity": {"high": 2, "low": 1},
              "groups": [_group("a", 2, "t0", "t1"), _group("c", 1, "t3", "t3")], "findings": [{"detected_at": "t3"}]}]
    answer = operation.merge(parts, operation.validate({"limit": 1}))
    assert (answer["count"], answer["stored"], answer["by_severity"]) == (8, 7, {"high": 7, "low": 1})
    assert [g["id"] for g in answer["groups"]] == ["c"]  # newest last_seen first, limited
    full = operation.merge(parts, operation.validate({}))
    assert [(g["id"], g["count"], g["first_seen"], g["last_seen"]) for g in full["groups"]] == [
        ("c", 1, "t3", "t3"), ("a", 7, "t0", "t2")]


def _document(n: int, **extra) -> dict:
    return make_finding("balance_mismatch", "balances_move_as_predicted", "high", f"d{n}") | {
        "detected_at": f"2026-01-01T00:00:{n:02d}.000Z", "pool_id": "p", "operation": "deposit", **extra}


def test_the_store_counts_every_finding_keeps_the_first_few_and_survives_a_reopen(tmp_path):
    store = StateStore(tmp_path)
    written = [store.record_finding(_document(n))[1] for n in range(1, 9)]
    assert written[:FINDING_FILES_PER_GROUP] == [f"finding_{n:06d}_balance_mismatch.json" for n in range(1, 6)]
    assert written[FINDING_FILES_PER_GROUP:] == [None] * 3
    assert json.loads((tmp_path / "findings" / "groups.json").read_text())["groups"]  # saved with the new group
    store.flush_findings()  # repeats are saved within a second, with the statistics, or at close
    again = StateStore(tmp_path)
    (group,) = again.finding_groups()
    assert (group["count"], group["stored"], group["first_seen"], group["last_seen"]) == (
        8, 5, "2026-01-01T00:00:01.000Z", "2026-01-01T00:00:08.000Z")
    assert group["example"]["detail"] == "d1" and group["example"]["group_id"] == group["id"]
    assert again.findings_total() == 8 and again.count_findings() == 5
    saved = json.loads((tmp_path / "findings" / "groups.json").read_text())["groups"]
    assert saved[group["id"]]["count"] == 8 and "example" not in saved[group["id"]]  # the example is its file


def test_repeats_are_saved_with_the_statistics(tmp_path):
    store = StateStore(tmp_path)
    for n in range(1, 10):
        store.record_finding(_document(n))
    store.save_statistics({})
    (group,) = StateStore(tmp_path).finding_groups()
    assert group["count"] == 9


def test_groups_are_rebuilt_from_the_files_of_an_older_data_directory(tmp_path):
    store = StateStore(tmp_path)
    store.write_finding("balance_mismatch", {"kind": "balance_mismatch", "detail": "old", "pool_id": "p",
                                             "operation": "swap", "detected_at": "2026-01-01T00:00:00.000Z"})
    (group,) = StateStore(tmp_path).finding_groups()
    assert (group["rule"], group["severity"], group["count"], group["example"]["detail"]) == (
        "balance_mismatch", "high", 1, "old")


def _report(severities: list[str], fail_on: str = "medium", **problems) -> dict:
    groups = [_group(str(i), 1, "t", "t") | {"severity": s} for i, s in enumerate(severities)]
    return {"findings": {"count": len(groups), "groups": groups, "fail_on": fail_on},
            "operations": {"by_outcome": {"unexpected": problems.get("unexpected", 0), "ok": problems.get("ok", 1)}},
            "threads": [], "audit": {"passed": True}}


@pytest.mark.parametrize("severities, fail_on, passed", [
    ([], "medium", True), (["low", "info"], "medium", True), (["low"], "low", False), (["high"], "medium", False),
    (["medium"], "medium", False), (["high"], "critical", True), (["critical"], "critical", False),
    (["info"], "info", False)])
def test_fail_on_policy(severities, fail_on, passed):
    result = verdict(_report(severities, fail_on))
    assert result["passed"] is passed and result["exit_code"] == (0 if passed else 1)


def test_unexpected_errors_fail_whatever_the_policy():
    assert verdict(_report([], "critical", unexpected=1))["reasons"] == ["1 unexpected failure"]


def test_a_run_where_no_operation_succeeded_fails():
    # only "expected" refusals (every pool paused, nothing to spend, ...) tested nothing: not a pass
    result = verdict(_report([], "critical", ok=0))
    assert result == {"passed": False, "exit_code": 1, "reasons": ["no operation succeeded"]}


def test_refusal_coverage_names_the_program_refusals_a_run_never_provoked():
    from engine.report import refusal_coverage

    coverage = refusal_coverage({"SystemPaused": 3, "InvalidArgument": 9, "PoolSwapsPaused": 0})
    assert coverage["exercised"] == ["SystemPaused"]  # a builtin error or a zero count is not an FRT refusal seen
    assert "PoolSwapsPaused" in coverage["not_exercised"] and "SystemPaused" not in coverage["not_exercised"]
    assert coverage["program_errors"] == len(coverage["exercised"]) + len(coverage["not_exercised"])
    assert "InvalidTokenPair" not in coverage["not_exercised"]  # declared, never emitted by v0.17.1070
