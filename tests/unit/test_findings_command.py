"""`frt-stress findings`: a data directory's groups, merged over its shards, worst first."""
from __future__ import annotations

import json

from console.cli import main
from engine.findings import make_finding
from engine.store import StateStore


def _record(shard_dir, finding: dict, times: int, pool: str = "P", operation: str = "swap") -> None:
    store = StateStore(shard_dir)
    for index in range(times):
        store.record_finding(finding | {"pool_id": pool, "operation": operation,
                                        "detected_at": f"2026-01-01T00:00:0{index}Z"})
    store.flush_findings()


def test_groups_of_every_shard_are_merged_and_listed_worst_first(tmp_path, capsys):
    low = make_finding("invariant_violation", "fee_bookkeeping", "low", "drift")
    critical = make_finding("intent_violation", "only_admin_changes_settings", "critical", "bypass", as_coded=True)
    _record(tmp_path / "shards" / "0", low, 3)
    _record(tmp_path / "shards" / "1", low, 2)  # the same group on another shard: merged by id
    _record(tmp_path / "shards" / "1", critical, 1, operation="pause_pool")
    assert main(["findings", "--data-dir", str(tmp_path), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["count"] == 6
    assert [(g["rule"], g["count"]) for g in answer["groups"]] == [("only_admin_changes_settings", 1),
                                                                   ("fee_bookkeeping", 5)]
    assert answer["groups"][0]["example_path"].endswith(answer["groups"][0]["example_file"])
    assert main(["findings", "--data-dir", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "6 findings in 2 groups" in text and "critical" in text and "(as coded)" in text


def test_a_directory_without_engine_state_is_refused(tmp_path, capsys):
    assert main(["findings", "--data-dir", str(tmp_path)]) == 2
    assert "no shards/ directory" in capsys.readouterr().err
