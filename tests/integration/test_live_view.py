"""The live view a real engine answers has exactly the declared shapes (engine/api/rows.py), and
every engine-wide figure the coordinator and `frt-stress run` print comes from all shards."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

import jsonschema

from console.run_command import HeadlessRun
from engine.api.operations import OPERATIONS
from engine.api.rows import (EngineHeader, FeedEntry, PoolLiquidity, PoolLpSupply, PoolPauseFlags, PoolRow,
                             ShardFacts, ShardSnapshot, Snapshot, ThreadKindCounts, ThreadRow, ThreadsSummary,
                             WalletBalances)
from engine.open import open_engine
from engine.report import gather_report, render_summary
from engine.sharding.shard import shard_snapshot
from tests.integration.test_sharding import deposits_on_two_shards, sharded_settings

X = 10**9


def _keys(shape) -> list[str]:
    return list(shape.__annotations__)


async def test_a_real_snapshot_has_exactly_the_declared_keys(open_engine):
    engine = await open_engine()
    pool_id = (await engine.create_pool(token_a_decimals=9, token_b_decimals=6, ratio_whole_number=160,
                                        ratio_direction="a_to_b"))["pool_id"]
    unseen_pool = (await engine.create_pool())["pool_id"]
    swapper = (await engine.create_swap_thread(pool_id, "a_to_b", 10 * X))["thread_id"]
    unseen_thread = (await engine.create_deposit_thread(pool_id, "A", 10 * X))["thread_id"]
    await engine.run_cycle(swapper)  # fails (no B liquidity): a feed entry
    # not seen yet, as in an engine reopened while the chain does not answer: null figures
    engine.local.pools[unseen_pool].last_view = engine.local.threads[unseen_thread].wallet_view = None

    snapshot = await engine.get_snapshot(feed_limit=10)
    jsonschema.validate(snapshot, OPERATIONS["get_snapshot"].result)
    assert list(snapshot) == _keys(Snapshot)
    header = snapshot["engine"]
    assert list(header) == _keys(EngineHeader) and list(header["threads"]) == _keys(ThreadsSummary)
    assert all(list(row) == _keys(ThreadRow) for row in snapshot["threads"])
    observed = next(row for row in snapshot["threads"] if row["thread_id"] == swapper)
    assert list(observed["balances"]) == _keys(WalletBalances)
    assert any(row["balances"] is None for row in snapshot["threads"])
    assert all(list(row) == _keys(PoolRow) and list(row["thread_counts"]) == _keys(ThreadKindCounts)
               for row in snapshot["pools"])
    seen = next(row for row in snapshot["pools"] if row["pool_id"] == pool_id)
    assert (list(seen["liquidity"]), list(seen["lp_supply"]), list(seen["pause_flags"])) == (
        _keys(PoolLiquidity), _keys(PoolLpSupply), _keys(PoolPauseFlags))
    assert any(row["liquidity"] is None for row in snapshot["pools"])
    assert snapshot["feed"] and all(list(entry) == _keys(FeedEntry) for entry in snapshot["feed"])

    shard = await shard_snapshot(engine.local)  # what a shard hands the coordinator: facts, not a header
    assert list(shard) == _keys(ShardSnapshot) and list(shard["facts"]) == _keys(ShardFacts)
    assert shard["facts"]["program_id"] == header["program_id"]


async def test_engine_wide_figures_come_from_every_shard(tmp_path):
    engine = await open_engine(sharded_settings(tmp_path, 2))
    try:
        await deposits_on_two_shards(engine)
        per_shard = await engine._all("totals_json")
        assert all(part["network_fees"] > 0 for part in per_shard)  # both shards did work

        report = await gather_report(engine, scenario_name="merge", duration_s=2.0, seed=1, audit=None)
        assert report["operations"]["total"] == report["operations"]["by_outcome"]["ok"] == 6
        assert report["operations"]["by_type"] == {"deposit": {"ok": 6}}
        assert report["latency_ms"]["all"]["count"] == 6
        assert report["fees"]["network_lamports"] == sum(part["network_fees"] for part in per_shard)
        assert report["fees"]["pool_lamports"] == sum(part["pool_fees"] for part in per_shard)
        assert report["throughput"]["ops_per_second"] == 3.0
        assert report["engine"]["threads"]["total_threads"] == 2 and len(report["pools"]) == 2
        assert sum(pool["activity"]["successful_operations"] for pool in report["pools"]) == 6
        assert "6 operations in 2.0 s" in render_summary(report)

        for _ in range(300):  # the progress line reads the coordinator's header (pushed snapshots)
            header = (await engine.get_snapshot(feed_limit=0))["engine"]
            if header["operations"] == 6:
                break
            await asyncio.sleep(0.05)
        line = HeadlessRun._progress_line(SimpleNamespace(duration=10), header, 1.0, 6.0)
        assert "ops 6 (6.0/s)" in line and "failed 0" in line and "threads running 0 / error 0" in line
        assert header["latency_ms"]["count"] == 6 and header["threads"]["total_operations"] == 6
    finally:
        await engine.close()


async def test_a_stopped_thread_s_row_shows_its_balances_after_fund_and_empty(open_engine):
    """Rows used to change only when a cycle ran: after `f` (fund) or `e` (empty) a stopped
    thread kept showing its old balances (issue 14, bug 3)."""
    engine = await open_engine()
    pool_id = (await engine.create_pool(token_a_decimals=6, token_b_decimals=6, ratio_whole_number=2,
                                        ratio_direction="a_to_b"))["pool_id"]
    thread_id = (await engine.create_deposit_thread(pool_id, "A", 1_000))["thread_id"]
    await engine.run_cycle(thread_id)

    async def row() -> dict:
        rows = (await engine.get_snapshot(feed_limit=0))["threads"]
        return next(r for r in rows if r["thread_id"] == thread_id)["balances"]

    before = await row()
    await engine.fund_thread(thread_id, "token_a", 5_000)
    assert (await row())["token_a"] == before["token_a"] + 5_000
    await engine.empty_thread(thread_id)
    assert (await row())["token_a"] == 0
