"""The operator, boundary amounts, the creation check and the intent oracle on the embedded
chain: admin actions between hand-stepped cycles must leave every ordinary operation predicted
exactly (refusals of a paused pool are expected errors, new fees are charged as predicted)."""
from __future__ import annotations

import asyncio

from engine import creation, intent
from engine.frt import instructions as ix
from engine.frt.constants import CU_LIMITS
from engine.observe import observe
from engine.wallet import Wallet

X = 10**9  # one whole token A (9 decimals)
Y = 10**6  # one whole token B (6 decimals)
MODEL_KINDS = {"prediction_mismatch", "balance_mismatch", "invariant_violation"}


async def _pool(engine, **kwargs):
    spec = {"token_a_decimals": 9, "token_b_decimals": 6, "ratio_whole_number": 160, "ratio_direction": "a_to_b"}
    return (await engine.create_pool(**(spec | kwargs)))["pool_id"]


async def _threads(engine, pool_id, amount_a=1_000 * X, amount_b=160_000 * Y):
    threads = [(await engine.create_deposit_thread(pool_id, "A", amount_a))["thread_id"],
               (await engine.create_deposit_thread(pool_id, "B", amount_b))["thread_id"],
               (await engine.create_swap_thread(pool_id, "a_to_b", amount_a // 10))["thread_id"],
               (await engine.create_swap_thread(pool_id, "b_to_a", amount_b // 10))["thread_id"]]
    for token, amount in (("A", amount_a // 10), ("B", amount_b // 10)):
        withdrawer = (await engine.create_withdrawal_thread(pool_id, token))["thread_id"]
        await engine.fund_thread(withdrawer, "lp_tokens", amount)
        threads.append(withdrawer)
    return threads


async def _cycles(engine, threads, rounds=1):
    steps = []
    for _ in range(rounds):
        for thread_id in threads:
            steps.append(await engine.run_cycle(thread_id))
    return steps


async def _model_findings(engine):
    findings = (await engine.get_findings(limit=1000))["findings"]
    return [f for f in findings if f["kind"] in MODEL_KINDS]


async def _no_thread_in_error(engine):
    return [t["thread_id"] for t in (await engine.get_all_threads())["threads"] if t["status"] == "error"]


async def test_operator_pauses_and_fee_changes_are_predicted_by_ordinary_threads(open_engine):
    engine = await open_engine(boundary_amount_share=0)
    local = engine.local
    pool_id = await _pool(engine)
    threads = await _threads(engine, pool_id)
    deposit_a, _, swap_ab, swap_ba = threads[:4]
    await _cycles(engine, threads)

    paused = await local.operator_act("pause_pool", pool_id, flags=1)  # liquidity
    assert paused["ok"] and paused["findings"] == 0
    steps = {step["thread_id"]: step for step in await _cycles(engine, threads)}
    assert steps[deposit_a]["error"] == "PoolLiquidityPaused" and steps[deposit_a]["verdict"] == "expected"
    assert steps[swap_ab]["ok"]  # swaps are not paused

    await local.operator_act("pause_pool", pool_id, flags=2)
    await local.operator_act("unpause_pool", pool_id, flags=1)
    steps = {step["thread_id"]: step for step in await _cycles(engine, threads)}
    assert steps[deposit_a]["ok"] and steps[swap_ab]["verdict"] == "expected"
    await local.operator_act("unpause_pool", pool_id, flags=2)

    fees = await local.operator_act("update_pool_fees", pool_id, update_flags=3, liquidity_fee=2_500_000,
                                    swap_fee=40_000)
    assert fees["ok"] and fees["findings"] == 0
    before = (await engine.get_thread_status(deposit_a))["verification_totals"]["pool_fees_paid"]
    step = await engine.run_cycle(deposit_a)
    after = (await engine.get_thread_status(deposit_a))["verification_totals"]["pool_fees_paid"]
    assert step["ok"] and after - before == 2_500_000  # the new fee, charged and predicted

    owner = local.threads[swap_ab].wallet.pubkey  # owner-only swaps for the a_to_b swap thread
    owned = await local.operator_act("set_swap_owner_only", pool_id, enable=True, designated_owner=str(owner))
    assert owned["ok"] and owned["findings"] == 0
    steps = {step["thread_id"]: step for step in await _cycles(engine, [swap_ab, swap_ba])}
    assert steps[swap_ab]["ok"] and steps[swap_ba]["verdict"] == "expected"  # 1028 for the others
    await local.operator_act("set_swap_owner_only", pool_id, enable=False)

    assert (await local.operator_act("pause_system"))["ok"]
    refused = await local.operator_act("pause_pool", pool_id, flags=1)  # impossible while the system is paused
    assert not refused["ok"] and refused["findings"] == 0
    steps = await _cycles(engine, threads)
    assert all(s["operation"] is None or s["verdict"] == "expected" for s in steps)
    consolidated = await local.operator_act("consolidate_pool_fees")  # allowed while the system is paused
    assert consolidated["ok"]
    assert consolidated["finding_kinds"] == ["admin_mismatch"]  # §13.3: 13,920 lamports stay behind, as coded
    assert (await local.operator_act("unpause_system"))["ok"]
    withdrawal = await local.operator_act("withdraw_treasury_fees", amount=0)
    assert not withdrawal["ok"] and withdrawal["findings"] == 0  # the restart penalty, predicted
    await _cycles(engine, threads, rounds=2)

    assert await _model_findings(engine) == []
    assert await _no_thread_in_error(engine) == []
    groups = (await engine.get_findings(limit=1000))["findings"]
    mismatch = [f for f in groups if f["kind"] == "admin_mismatch"]
    assert mismatch and all(f["as_coded"] for f in mismatch)
    assert {f["severity"] for f in mismatch} == {"low"}  # fees left behind: bookkeeping, nobody takes them
    assert all(f["kind"] == "admin_mismatch" for f in groups)


async def test_random_operator_actions_keep_ordinary_predictions_exact(open_engine):
    engine = await open_engine(boundary_amount_share=0.05)
    local = engine.local
    pools = [await _pool(engine), await _pool(engine, token_a_decimals=6, token_b_decimals=6, ratio_whole_number=4,
                                                flags=64)]
    threads = [t for pool_id in pools for t in await _threads(engine, pool_id)]
    for _ in range(30):
        await local.operator_act()
        await _cycles(engine, threads)
    status = await engine.get_operator()
    assert status["actions"] == 30 and len(status["by_action"]) >= 4
    assert await _model_findings(engine) == []
    assert await _no_thread_in_error(engine) == []


async def test_boundary_amounts_are_all_predicted(open_engine):
    engine = await open_engine(boundary_amount_share=1.0)
    pools = [await _pool(engine),
             await _pool(engine, token_a_decimals=6, token_b_decimals=6, ratio_whole_number=4, flags=64),
             await _pool(engine, token_a_decimals=0, token_b_decimals=0, ratio_whole_number=3,
                         ratio_direction="b_to_a")]
    threads = []
    for pool_id in pools:
        threads += await _threads(engine, pool_id, amount_a=10**12, amount_b=10**12)
    steps = await _cycles(engine, threads, rounds=12)
    sent = [s for s in steps if s["operation"] is not None]
    assert len(sent) == len(steps)  # every boundary amount is sent, 0 included
    assert any(s["amount"] == 0 for s in sent) and any(s["amount"] == 2**64 - 1 for s in sent)
    assert any(s["ok"] for s in sent) and any(s["verdict"] == "expected" for s in sent)
    assert await _model_findings(engine) == []
    assert await _no_thread_in_error(engine) == []
    assert (await engine.get_findings())["count"] == 0  # nor does any intent rule fire


async def test_creation_check_is_silent_on_a_correct_pool_and_fires_on_a_different_one(open_engine, monkeypatch):
    engine = await open_engine()
    await _pool(engine)
    await _pool(engine, token_a_decimals=0, token_b_decimals=9, flags=96)
    assert (await engine.get_findings())["count"] == 0

    real = creation.read_created_pool

    async def lp_decimals_swapped(engine, pool):
        stored = await real(engine, pool)
        return stored | {"lp_a_decimals": stored["lp_b_decimals"], "lp_b_decimals": stored["lp_a_decimals"]}

    monkeypatch.setattr(creation, "read_created_pool", lp_decimals_swapped)
    pool_id = await _pool(engine)
    findings = (await engine.get_findings())["findings"]
    assert [f["kind"] for f in findings] == ["creation_mismatch"]
    assert findings[0]["pool_id"] == pool_id and findings[0]["rule"] == "created_pool_matches_request"


async def test_intent_oracle_on_real_operations(open_engine):
    engine = await open_engine(boundary_amount_share=0)
    local = engine.local
    pool_id = await _pool(engine)
    threads = await _threads(engine, pool_id)
    await _cycles(engine, threads, rounds=3)
    assert (await engine.get_findings())["count"] == 0  # ordinary operations: silent

    # §13.1 measured, not special-cased: a stranger passes its own wallet as "ProgramData".
    stranger = Wallet.generate()
    await local.cluster.airdrop(stranger.pubkey, 10**9)
    pool = local.pools[pool_id]
    before = await observe(local.cluster, pool.addresses, stranger.pubkey)
    result = await local.client.sender.send(
        [ix.compute_unit_limit(CU_LIMITS["admin"]),
         ix.pause_pool(local.client.program_id, stranger.pubkey, pool.addresses.pool_state, 3,
                       program_data=stranger.pubkey)], stranger)
    after = await observe(local.cluster, pool.addresses, stranger.pubkey)
    assert result.ok
    findings = intent.check(intent.Action(
        name="pause_pool", actor="test", signer=str(stranger.pubkey), signer_is_admin=False, ok=True,
        predicted_ok=True, pool_id=pool_id, params={"flags": 3}, before=before, after=after))
    assert [f["rule"] for f in findings] == ["only_admin_changes_settings"]
    assert findings[0]["severity"] == "critical" and findings[0]["as_coded"]


async def test_set_operator_turns_the_background_operator_on_and_off(open_engine):
    engine = await open_engine()
    pool_id = await _pool(engine)
    thread_id = (await engine.create_deposit_thread(pool_id, "A", 1_000 * X))["thread_id"]
    assert (await engine.get_operator())["enabled"] is False
    await engine.start_thread(thread_id)  # the operator acts only while some thread runs
    status = await engine.set_operator(enabled=True, interval_s=0.02)
    assert status["enabled"] and status["interval_s"] == 0.02
    for _ in range(200):
        await asyncio.sleep(0.02)
        if (await engine.get_operator())["actions"] >= 3:
            break
    assert (await engine.get_operator())["actions"] >= 3
    await engine.set_operator(enabled=False)
    await engine.stop_thread(thread_id)
    status = await engine.get_operator()
    assert status["enabled"] is False and status["shards"][0]["last"]["action"]
