"""The live view's declared shapes (engine/api/rows.py): the documented get_snapshot schema is
generated from them, and the coordinator renders the header from merged totals, merged rows
and the shards' facts."""
from __future__ import annotations

import copy
from types import SimpleNamespace

import jsonschema
import pytest

from engine.api.operations import OPERATIONS
from engine.api.rows import EngineHeader, FeedEntry, PoolRow, Severity, ShardFacts, Snapshot, ThreadRow, \
    ThreadStatusName
from engine.config import Settings
from engine.feed import SEVERITIES
from engine.sharding.coordinator import Coordinator
from engine.stats import EngineTotals
from engine.status import rows_threads_summary, threads_summary
from engine.threads import ThreadStatus

SCHEMA = OPERATIONS["get_snapshot"].result


def test_the_literals_follow_the_engine():
    assert set(ThreadStatusName.__args__) == {status.value for status in ThreadStatus}
    assert Severity.__args__ == SEVERITIES


def test_the_documented_schema_is_generated_from_the_declarations_and_self_contained():
    assert "$ref" not in repr(SCHEMA) and "$defs" not in SCHEMA  # it is copied into OpenRPC as is
    assert SCHEMA["required"] == list(Snapshot.__annotations__)
    properties = SCHEMA["properties"]
    assert properties["engine"]["required"] == list(EngineHeader.__annotations__)
    assert properties["threads"]["items"]["required"] == list(ThreadRow.__annotations__)
    assert properties["pools"]["items"]["required"] == list(PoolRow.__annotations__)
    assert properties["feed"]["items"]["required"] == list(FeedEntry.__annotations__)
    assert "lamports" in properties["engine"]["properties"]["core_lamports"]["description"]  # units documented


def _thread_row(thread_id: str, status: str, ok: int, failed: int) -> ThreadRow:
    return {"thread_id": thread_id, "type": thread_id.split("_")[0], "pool_id": "P", "side": "A", "status": status,
            "status_symbol": "▶", "balances": {"sol": 1, "token_a": 2, "token_b": 3, "lp_a": 4, "lp_b": 5},
            "ok": ok, "failed": failed, "ops_per_minute": 1.5, "findings": 0, "last_error": None, "error_reason": None,
            "waiting_reason": None}


def _pool_row(pool_id: str) -> PoolRow:
    return {"pool_id": pool_id, "token_a_mint": "A", "token_a_decimals": 9, "token_b_mint": "B",
            "token_b_decimals": 6, "ratio_a_numerator": 1, "ratio_b_denominator": 160, "ratio_display": "1 = 160",
            "flags": 0, "created_at": "2026-01-01T00:00:00Z",
            "thread_counts": {"deposit": 1, "withdrawal": 0, "swap": 0, "attack": 0}, "liquidity": None,
            "lp_supply": None, "pause_flags": None}


def _totals(*operations: tuple[str, str, float]) -> dict:
    totals = EngineTotals()
    for operation, verdict, latency_ms in operations:
        totals.record(operation, verdict, latency_ms, None if verdict == "ok" else "InsufficientFunds", 5000, 10)
    totals.waits = len(operations)
    return totals.to_json()


class FakeLink:
    pid = 4242

    def __init__(self, snapshot) -> None:
        self.pushed = snapshot

    async def snapshot(self):
        return self.pushed


def _coordinator(tmp_path, backend: str = "embedded") -> Coordinator:
    chain = {"backend": backend} | ({"rpc_url": "http://127.0.0.1:8899"} if backend == "rpc" else {})
    coordinator = Coordinator(Settings.model_validate({"data_dir": str(tmp_path), "chain": chain}), 2)
    facts: list[ShardFacts] = [{"url": None, "program_id": "FRT111", "core_lamports": 7 * 10**9},
                               {"url": None, "program_id": "FRT111", "core_lamports": 3 * 10**9}]
    parts = [
        {"taken_at": "t", "facts": facts[0], "threads": [_thread_row("deposit_1", "running", 2, 0),
                                                          _thread_row("swap_1", "error", 0, 1)],
         "pools": [_pool_row("P1")], "feed": [], "feed_version": 3,
         "totals": _totals(("deposit", "ok", 1.0), ("deposit", "ok", 2.0), ("swap", "unexpected", 4.0))},
        {"taken_at": "t", "facts": facts[1], "threads": [_thread_row("deposit_2", "stopped", 1, 1)],
         "pools": [_pool_row("P2")], "feed_version": 4,
         "feed": [{"key": "expected|swap: X|", "severity": "expected", "title": "swap: X", "message": "m",
                   "count": 1, "first_seen": "2026-01-01T00:00:00Z", "last_seen": "2026-01-01T00:00:01Z",
                   "threads": ["deposit_2"], "pool_id": None}],
         "totals": _totals(("deposit", "ok", 8.0), ("deposit", "expected", 16.0))},
    ]
    for shard, part in zip(coordinator.shards, parts):
        shard.link, shard.alive = FakeLink(part), True
    coordinator.pool_shard = {"P1": 0, "P2": 1}
    coordinator.thread_shard = {"deposit_1": 0, "swap_1": 0, "deposit_2": 1}
    return coordinator


async def test_the_header_is_rendered_from_every_shards_totals_rows_and_facts(tmp_path):
    snapshot = await _coordinator(tmp_path).get_snapshot(feed_limit=10)
    jsonschema.validate(snapshot, SCHEMA)
    header = snapshot["engine"]
    assert list(header) == list(EngineHeader.__annotations__)
    assert (header["operations"], header["ok"], header["failed"], header["unexpected"]) == (5, 3, 2, 1)
    assert header["waits"] == 5 and header["latency_ms"]["count"] == 5 and header["latency_ms"]["max_ms"] >= 16
    assert header["core_lamports"] == 10 * 10**9  # embedded: one ledger per shard, each its own balance
    assert header["threads"] == {"total_threads": 3, "running_threads": 1, "stopped_threads": 1,
                                 "created_threads": 0, "error_threads": 1, "total_operations": 5}
    assert header["pools"] == 2 and header["program_id"] == "FRT111" and header["url"] is None
    assert [shard["threads"] for shard in header["shards"]] == [2, 1]
    assert [row["thread_id"] for row in snapshot["threads"]] == ["deposit_1", "swap_1", "deposit_2"]
    assert [row["pool_id"] for row in snapshot["pools"]] == ["P1", "P2"]
    assert len(snapshot["feed"]) == 1 and snapshot["feed_version"] == 7


async def test_a_real_cluster_core_wallet_is_counted_once(tmp_path):
    header = (await _coordinator(tmp_path, backend="rpc").get_snapshot())["engine"]
    assert header["core_lamports"] == 7 * 10**9  # every shard reads the same account


async def test_a_dead_shards_threads_count_as_the_rows_show_them(tmp_path):
    coordinator = _coordinator(tmp_path)
    coordinator.shards[0].link.pushed["threads"][0] |= {"status": "stopped", "status_symbol": "■"}  # forget_running
    header = (await coordinator.get_snapshot())["engine"]
    assert header["threads"]["running_threads"] == 0 and header["threads"]["stopped_threads"] == 2


async def test_no_snapshot_yet_still_answers_the_documented_shape(tmp_path):
    coordinator = _coordinator(tmp_path)
    for shard in coordinator.shards:
        shard.link.pushed = None
    snapshot = await coordinator.get_snapshot()
    jsonschema.validate(snapshot, SCHEMA)
    assert snapshot["engine"]["operations"] == 0 and snapshot["engine"]["threads"]["total_threads"] == 0


def test_the_rows_summary_is_the_records_summary():
    records = [SimpleNamespace(status=ThreadStatus.RUNNING, stats=SimpleNamespace(total_attempts=4)),
               SimpleNamespace(status=ThreadStatus.CREATED, stats=SimpleNamespace(total_attempts=0)),
               SimpleNamespace(status=ThreadStatus.ERROR, stats=SimpleNamespace(total_attempts=3))]
    rows = [_thread_row("deposit_1", "running", 3, 1), _thread_row("deposit_2", "created", 0, 0),
            _thread_row("swap_1", "error", 1, 2)]
    assert rows_threads_summary(rows) == threads_summary(records)
    assert list(rows_threads_summary(rows)) == list(threads_summary(records))


@pytest.mark.parametrize("break_it", [
    lambda s: s["engine"].pop("latency_ms"),
    lambda s: s["engine"].update(operations="6"),
    lambda s: s["threads"][0].update(status="paused"),
    lambda s: s["threads"][0]["balances"].pop("lp_b"),
    lambda s: s["pools"][0].update(thread_counts={"deposit": 1}),
    lambda s: s["feed"][0].update(severity="warning"),
])
async def test_the_schema_refuses_what_the_declarations_do_not_allow(tmp_path, break_it):
    snapshot = copy.deepcopy(await _coordinator(tmp_path).get_snapshot())
    break_it(snapshot)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(snapshot, SCHEMA)


async def test_a_restarted_shard_counts_its_dead_lifes_feed_once_and_the_feed_version_only_grows(tmp_path):
    """Between a shard's death and the restarted shard's first push, the link still holds the
    dead life's last snapshot, whose feed the coordinator keeps as the shard's earlier feed: it
    was counted twice (an event seen once showed 2), and the feed version went back at the push."""
    coordinator = _coordinator(tmp_path)
    shard = coordinator.shards[1]
    before = await coordinator.get_snapshot()
    coordinator._remember_its_last_life(shard, await shard.link.snapshot())  # the shard died
    dead = await coordinator.get_snapshot()
    assert [entry["count"] for entry in dead["feed"]] == [1]
    assert dead["engine"]["operations"] == before["engine"]["operations"] == 5
    shard.link.pushed = dict(shard.link.pushed, feed=[], feed_version=0,  # the restarted shard pushes:
                             totals=_totals(), threads=[])  # its checkpoint kept nothing
    restarted = await coordinator.get_snapshot()
    assert [entry["count"] for entry in restarted["feed"]] == [1]
    assert restarted["engine"]["operations"] == 5
    assert before["feed_version"] < dead["feed_version"] <= restarted["feed_version"]
