"""The console's finding detail finds the documents of the feed entry's group."""
from __future__ import annotations

from console.screens.finding_detail import matching_findings


def test_a_grouped_entry_matches_its_group_whatever_its_title():
    findings = [{"kind": "invariant_violation", "group_id": "abc", "pool_id": "P"},
                {"kind": "invariant_violation", "group_id": "def", "pool_id": "P"}]
    entry = {"key": "finding|abc", "title": "high · vault_backing", "severity": "finding", "pool_id": "P"}
    assert matching_findings(entry, findings) == [findings[0]]  # titles are "severity · rule" now


def test_an_entry_without_a_group_matches_by_kind():
    findings = [{"kind": "lp_mismatch", "pool_id": "P", "thread_id": "deposit_1"}]
    entry = {"key": "finding|lp_mismatch|P", "title": "lp_mismatch", "pool_id": "P", "threads": ["deposit_1"]}
    assert matching_findings(entry, findings) == findings
