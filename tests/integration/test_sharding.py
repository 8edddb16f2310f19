"""Worker threads in shard processes: same results as in-process, routing, and a killed shard."""
from __future__ import annotations

import asyncio
import os
import signal

import pytest

from engine.config import Settings
from engine.exceptions import PoolNotFound, ThreadNotFound
from engine.open import open_engine
from tests.integration.conftest import ONE_CYCLE_PACING

X, Y = 10**9, 10**6


def sharded_settings(data_dir, shards: int) -> Settings:
    return Settings.model_validate({"data_dir": str(data_dir), "engine": {
        "seed": 11, "shards": shards, "thread_initial_lamports": 5_000_000_000, **ONE_CYCLE_PACING}})


async def _scenario(engine) -> dict:
    """Two pools with every thread type, driven one cycle at a time in a fixed order."""
    results: dict[str, list] = {}
    pools = [(await engine.create_pool(token_a_decimals=9, token_b_decimals=6, ratio_whole_number=160,
                                       ratio_direction="a_to_b"))["pool_id"] for _ in range(2)]
    for pool_id in pools:
        await engine.create_deposit_thread(pool_id, "A", 1_000 * X, share_lp_tokens=False)
        await engine.create_deposit_thread(pool_id, "B", 100_000 * Y, share_lp_tokens=False)
        await engine.create_swap_thread(pool_id, "a_to_b", 50 * X)
        await engine.create_swap_thread(pool_id, "b_to_a", 5_000 * Y)
    threads = [f"{kind}_{n}" for n in range(1, 5) for kind in ("deposit", "swap")]
    for _round in range(3):
        for thread_id in threads:
            step = await engine.run_cycle(thread_id)
            results.setdefault(thread_id, []).append((step["operation"], step.get("amount"), step.get("ok"),
                                                      step.get("output"), step.get("error")))
    for thread_id in threads:
        balances = (await engine.get_thread_status(thread_id))["balances"]
        results[thread_id].append({key: balances[key] for key in ("token_a", "token_b", "lp_token_a", "lp_token_b")})
    return results


async def test_the_same_scenario_gives_the_same_per_thread_results_with_0_1_and_2_shards(tmp_path):
    outcomes = {}
    for shards in (0, 1, 2):
        engine = await open_engine(sharded_settings(tmp_path / f"s{shards}", shards))
        try:
            outcomes[shards] = await _scenario(engine)
        finally:
            await engine.close()
    assert outcomes[0] == outcomes[1] == outcomes[2]
    assert any(step[2] for steps in outcomes[0].values() for step in steps[:-1])  # real operations ran


async def test_commands_reach_the_owning_shard(tmp_path):
    engine = await open_engine(sharded_settings(tmp_path, 2))
    try:
        first = (await engine.create_pool(token_a_decimals=6, token_b_decimals=6))["pool_id"]
        await engine.create_deposit_thread(first, "A", 10 * Y)
        second = (await engine.create_pool(token_a_decimals=6, token_b_decimals=6))["pool_id"]
        assert engine.pool_shard[first] != engine.pool_shard[second]  # new pools go to the least-loaded shard
        thread_id = (await engine.create_withdrawal_thread(second, "B"))["thread_id"]
        assert thread_id == "withdrawal_1" and engine.thread_shard[thread_id] == engine.pool_shard[second]
        assert (await engine.start_thread("deposit_1"))["status"] == "running"
        assert (await engine.stop_thread("deposit_1"))["status"] == "stopped"
        funded = await engine.fund_thread(thread_id, "lp_tokens", 5 * Y)
        assert funded["balances"]["lp_token_b"] == 5 * Y  # the owning shard's real answer
        emptied = await engine.empty_thread(thread_id)
        assert emptied["empty_operation"]["lp_tokens_used"] == 5 * Y
        assert len((await engine.list_pools())["pools"]) == 2
        assert (await engine.get_all_threads())["summary"]["total_threads"] == 2
        with pytest.raises(ThreadNotFound):
            await engine.start_thread("deposit_99")
        with pytest.raises(PoolNotFound):
            await engine.create_swap_thread("11111111111111111111111111111111", "a_to_b")
        assert (await engine.delete_thread("deposit_1"))["deleted"]
        assert "deposit_1" not in engine.thread_shard
    finally:
        await engine.close()


async def test_a_killed_shard_is_detected_and_restarted_with_nothing_lost(tmp_path):
    engine = await open_engine(sharded_settings(tmp_path, 2))
    try:
        pool_id = (await engine.create_pool(token_a_decimals=9, token_b_decimals=6, ratio_whole_number=160,
                                            ratio_direction="a_to_b"))["pool_id"]
        depositor = (await engine.create_deposit_thread(pool_id, "A", 100 * X))["thread_id"]
        other_pool = (await engine.create_pool(token_a_decimals=0, token_b_decimals=0))["pool_id"]
        bystander = (await engine.create_withdrawal_thread(other_pool, "A"))["thread_id"]
        await engine.run_cycle(depositor)
        await engine.start_thread(depositor)
        await engine.checkpoint()
        before = await engine.get_thread_status(depositor)
        victim = engine.shards[engine.thread_shard[depositor]]
        survivor = engine.shards[engine.thread_shard[bystander]]
        survivor_pid = survivor.pid

        await _kill_and_wait_for_restart(engine, victim)
        assert survivor.pid == survivor_pid and survivor.restarts == 0  # the other shard was not touched
        status = await engine.get_engine_status()
        assert any("exited" in problem for problem in status["problems"])
        after = await engine.get_thread_status(depositor)
        assert after["status"] == "stopped"  # restarted shards do not resume threads
        assert after["wallet_address"] == before["wallet_address"]
        assert after["balances"] == before["balances"]
        assert (await engine.get_pool(pool_id))["liquidity"] == (await engine.get_pool(pool_id))["liquidity"]
        assert (await engine.run_cycle(depositor))["ok"]
    finally:
        await engine.close()


async def _pushed(engine, predicate, timeout: float = 15.0) -> dict:
    """The coordinator's live view once the shards' pushed snapshots satisfy `predicate`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        snapshot = await engine.get_snapshot()
        if predicate(snapshot) or asyncio.get_running_loop().time() > deadline:
            return snapshot
        await asyncio.sleep(0.05)


async def deposits_on_two_shards(engine, cycles: int = 3) -> None:
    """A pool on each of two shards, with a deposit thread stepped `cycles` times on each."""
    pools = [(await engine.create_pool(token_a_decimals=6, token_b_decimals=6))["pool_id"] for _ in range(2)]
    assert {engine.pool_shard[pool_id] for pool_id in pools} == {0, 1}
    threads = [(await engine.create_deposit_thread(pool_id, "A", 10 * Y))["thread_id"] for pool_id in pools]
    for _ in range(cycles):
        for thread_id in threads:
            assert (await engine.run_cycle(thread_id))["ok"]


async def test_the_header_merges_every_shard_not_shard_0(tmp_path):
    engine = await open_engine(sharded_settings(tmp_path, 2))
    try:
        await deposits_on_two_shards(engine)
        header = (await _pushed(engine, lambda s: s["engine"]["operations"] == 6))["engine"]
        assert header["operations"] == header["ok"] == 6
        assert header["latency_ms"]["count"] == 6  # every shard's samples, not shard 0's three
        per_shard = (await engine.core_wallet_status())["per_shard"]
        assert header["core_lamports"] == sum(part["sol_balance"] for part in per_shard)  # one ledger each
        assert "2 shard processes" in header["description"] and len(header["shards"]) == 2
        assert header["threads"]["total_threads"] == 2 and header["pools"] == 2
        totals = (await engine.get_engine_status())["totals"]
        assert totals["latency_ms"]["all"]["count"] == totals["total_operations"] == 6
    finally:
        await engine.close()


async def test_one_engine_per_data_directory(tmp_path):
    from engine.datadir_lock import DataDirLock
    from engine.exceptions import DataDirLocked

    settings = sharded_settings(tmp_path, 0)
    engine = await open_engine(settings)
    try:
        with pytest.raises(DataDirLocked) as refused:
            await open_engine(sharded_settings(tmp_path, 1))  # another engine, another topology: refused
        assert str(os.getpid()) in refused.value.message and str(tmp_path) in refused.value.message
        assert not (tmp_path / "shards" / "1").exists()  # nothing was started
        with pytest.raises(DataDirLocked):  # each shard locks its own directory too
            DataDirLock.acquire(tmp_path / "shards" / "0")
    finally:
        await engine.close()
    reopened = await open_engine(settings)  # released on close
    await reopened.close()


async def _kill_and_wait_for_restart(engine, shard) -> None:
    os.kill(shard.pid, signal.SIGKILL)
    for _ in range(200):
        if shard.restarts == 1 and shard.alive:
            break
        await asyncio.sleep(0.05)
    assert shard.restarts == 1 and shard.alive


async def test_a_restarted_shard_keeps_the_engines_totals_and_feed(tmp_path):
    """Issue 14, bug 7: a shard restart erased the header's totals and the feed's earlier rows,
    and its own feed row named no thread."""
    engine = await open_engine(sharded_settings(tmp_path, 1))
    try:
        pool_id = (await engine.create_pool(token_a_decimals=6, token_b_decimals=6))["pool_id"]
        depositor = (await engine.create_deposit_thread(pool_id, "A", 10 * Y))["thread_id"]
        swapper = (await engine.create_swap_thread(pool_id, "b_to_a", 5 * Y))["thread_id"]
        await engine.checkpoint()
        for _ in range(3):  # after the checkpoint: the restarted shard's books will not have them
            assert (await engine.run_cycle(depositor))["ok"]
        assert not (await engine.run_cycle(swapper))["ok"]  # no B in the pool to swap into: an expected refusal
        before = await _pushed(engine, lambda s: s["engine"]["operations"] == 4 and s["feed"])
        assert before["engine"]["operations"] == 4 and before["feed"]
        earlier = {entry["key"]: entry for entry in before["feed"]}

        await _kill_and_wait_for_restart(engine, engine.shards[0])
        after = await _pushed(engine, lambda s: any("died" in entry["title"] for entry in s["feed"]))
        assert (after["engine"]["operations"], after["engine"]["ok"], after["engine"]["failed"]) == (4, 3, 1)
        kept = {entry["key"]: entry for entry in after["feed"]}
        for key, entry in earlier.items():
            assert kept[key]["count"] == entry["count"], key
        died = next(entry for entry in after["feed"] if "died" in entry["title"])
        assert set(died["threads"]) == {depositor, swapper}

        assert not (await engine.run_cycle(swapper))["ok"]  # the same refusal again adds to the old row
        again = await _pushed(engine, lambda s: s["engine"]["operations"] == 5)
        assert again["engine"]["operations"] == 5
        swap_rows = [entry for entry in again["feed"] if entry["severity"] == "expected"]
        assert len(swap_rows) == 1 and swap_rows[0]["count"] == 2
        assert again["feed_version"] > after["feed_version"] > before["feed_version"]
    finally:
        await engine.close()


async def test_threads_created_after_a_killed_shards_checkpoint_leave_the_registry_and_the_feed_names_them(
        tmp_path):
    engine = await open_engine(sharded_settings(tmp_path, 1))
    try:
        pool_id = (await engine.create_pool(token_a_decimals=6, token_b_decimals=6))["pool_id"]
        kept = (await engine.create_deposit_thread(pool_id, "A", 10 * Y))["thread_id"]
        await engine.checkpoint()
        lost = (await engine.create_swap_thread(pool_id, "b_to_a", 5 * Y))["thread_id"]

        await _kill_and_wait_for_restart(engine, engine.shards[0])
        assert lost not in engine.thread_shard and kept in engine.thread_shard
        with pytest.raises(ThreadNotFound):
            await engine.get_thread_status(lost)
        # until the restarted shard pushes, the view shows the dead one's last rows
        snapshot = await _pushed(engine, lambda s: [row["thread_id"] for row in s["threads"]] == [kept])
        entry = next(e for e in snapshot["feed"] if "checkpoint missed" in e["title"])
        assert entry["threads"] == [lost] and lost in entry["message"]
        assert [row["thread_id"] for row in snapshot["threads"]] == [kept]
    finally:
        await engine.close()
