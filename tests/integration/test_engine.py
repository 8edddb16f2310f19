"""The engine on the embedded chain: thread cycles, the token economy, empty, errors, findings,
sessions and restart recovery."""
from __future__ import annotations

import json

import pytest

from engine.exceptions import DuplicateSwapDirection, InvalidParams, PoolNotFound, ThreadInErrorState, ThreadRunning
from engine.frt import model
from tests.integration.conftest import settle

X = 10**9  # one whole token A (9 decimals)
Y = 10**6  # one whole token B (6 decimals)


async def _pool(engine, **kwargs):
    spec = {"token_a_decimals": 9, "token_b_decimals": 6, "ratio_whole_number": 160, "ratio_direction": "a_to_b"}
    return (await engine.create_pool(**(spec | kwargs)))["pool_id"]


async def _balances(engine, thread_id):
    return (await engine.get_thread_status(thread_id))["balances"]


async def test_create_pool_orients_the_human_ratio_and_registers_it(open_engine):
    engine = await open_engine()
    created = await engine.create_pool(token_a_decimals=9, token_b_decimals=6, ratio_whole_number=160,
                                       ratio_direction="a_to_b")
    assert (created["ratio_a_numerator"], created["ratio_b_denominator"]) == (10**9, 160 * 10**6)
    assert created["ratio_display"] == "1 Token A = 160 Token B"
    assert bytes(engine.local.pools[created["pool_id"]].mint("A")) < bytes(engine.local.pools[created["pool_id"]].mint("B"))
    detail = await engine.get_pool(created["pool_id"])
    assert detail["liquidity"] == {"token_a": 0, "token_b": 0}
    assert detail["pause_flags"]["liquidity_paused"] is False
    reverse = await engine.create_pool(token_a_decimals=0, token_b_decimals=9, ratio_whole_number=5,
                                       ratio_direction="b_to_a")
    assert reverse["ratio_display"] == "1 Token B = 5 Token A"
    random_pool = await engine.create_pool()
    assert 0 <= random_pool["token_a_decimals"] <= 9
    assert len((await engine.list_pools())["pools"]) == 3


async def test_deposit_cycle_is_verified_and_counted(open_engine):
    engine = await open_engine()
    pool_id = await _pool(engine)
    thread_id = (await engine.create_deposit_thread(pool_id, "A", 1_000 * X))["thread_id"]
    assert thread_id == "deposit_1"
    step = await engine.run_cycle(thread_id)
    assert step["operation"] == "deposit" and step["ok"] and step["findings"] == 0
    assert 1 <= step["amount"] <= 50 * X  # at most 5 % of the balance
    status = await engine.get_thread_status(thread_id)
    assert status["balances"]["token_a"] == 1_000 * X - step["amount"]
    assert status["balances"]["lp_tokens"] == step["amount"]  # LP 1:1, nothing to share with
    assert status["statistics"]["successful_deposits"] == 1
    assert status["verification_totals"]["pool_fees_paid"] == 13_000_000
    assert status["deposit_specific"]["deposit_stats"]["total_tokens_deposited"] == step["amount"]


async def test_withdrawal_thread_waits_without_lp_and_withdraws_shared_lp(open_engine):
    engine = await open_engine()
    pool_id = await _pool(engine)
    depositor = (await engine.create_deposit_thread(pool_id, "B", 10_000 * Y))["thread_id"]
    withdrawer = (await engine.create_withdrawal_thread(pool_id, "B"))["thread_id"]
    waiting = await engine.run_cycle(withdrawer)
    assert waiting["operation"] is None and "LP-B" in waiting["waiting_reason"]

    await engine.start_thread(withdrawer)  # active: it now receives LP
    await settle()
    deposit = await engine.run_cycle(depositor)
    assert deposit["ok"]
    await engine.stop_thread(withdrawer)
    assert (await _balances(engine, withdrawer))["lp_tokens"] == deposit["amount"]
    assert (await _balances(engine, depositor))["lp_tokens"] == 0
    withdrawal = await engine.run_cycle(withdrawer)
    assert withdrawal["operation"] == "withdraw" and withdrawal["ok"]
    assert (await _balances(engine, withdrawer))["token_b"] == withdrawal["amount"]  # nobody active to share with
    status = await engine.get_thread_status(withdrawer)
    sources = status["withdrawal_specific"]["lp_token_sources"]["lp_sharing_sources"]
    assert sources == [{"source_thread_id": depositor, "tokens_received": deposit["amount"]}]


async def test_lp_is_split_equally_among_active_withdrawal_threads_only(open_engine):
    engine = await open_engine()
    pool_id = await _pool(engine)
    depositor = (await engine.create_deposit_thread(pool_id, "A", 1_000 * X))["thread_id"]
    active = [(await engine.create_withdrawal_thread(pool_id, "A"))["thread_id"] for _ in range(2)]
    stopped = (await engine.create_withdrawal_thread(pool_id, "A"))["thread_id"]
    other_side = (await engine.create_withdrawal_thread(pool_id, "B"))["thread_id"]
    for thread_id in active + [other_side]:
        await engine.start_thread(thread_id)
    await settle()

    deposit = await engine.run_cycle(depositor)

    each = deposit["amount"] // 2
    for thread_id in active:
        assert (await _balances(engine, thread_id))["lp_tokens"] == each
    assert (await _balances(engine, stopped))["lp_tokens"] == 0
    assert (await _balances(engine, other_side))["lp_tokens"] == 0
    assert (await _balances(engine, depositor))["lp_tokens"] == deposit["amount"] - 2 * each


async def test_deposit_thread_with_sharing_off_keeps_its_lp(open_engine):
    engine = await open_engine()
    pool_id = await _pool(engine)
    depositor = (await engine.create_deposit_thread(pool_id, "A", 100 * X, share_lp_tokens=False))["thread_id"]
    withdrawer = (await engine.create_withdrawal_thread(pool_id, "A"))["thread_id"]
    await engine.start_thread(withdrawer)
    await settle()
    deposit = await engine.run_cycle(depositor)
    assert (await _balances(engine, depositor))["lp_tokens"] == deposit["amount"]
    assert (await _balances(engine, withdrawer))["lp_tokens"] == 0


async def test_withdrawn_tokens_go_to_active_deposit_threads(open_engine):
    engine = await open_engine()
    pool_id = await _pool(engine)
    withdrawer = (await engine.create_withdrawal_thread(pool_id, "A"))["thread_id"]
    await engine.fund_thread(withdrawer, "lp_tokens", 10 * X)
    receiver = (await engine.create_deposit_thread(pool_id, "A", 0))["thread_id"]
    idle = (await engine.create_deposit_thread(pool_id, "A", 0))["thread_id"]
    await engine.start_thread(receiver)  # a deposit thread with nothing to deposit waits
    await settle()
    withdrawal = await engine.run_cycle(withdrawer)
    assert withdrawal["ok"]
    assert (await _balances(engine, receiver))["token_a"] == withdrawal["amount"]
    assert (await _balances(engine, idle))["token_a"] == 0
    assert (await _balances(engine, withdrawer))["token_a"] == 0


async def test_swap_output_goes_to_the_running_opposite_swap_thread(open_engine):
    engine = await open_engine()
    pool_id = await _pool(engine)
    liquidity = (await engine.create_deposit_thread(pool_id, "B", 100_000 * Y, share_lp_tokens=False))["thread_id"]
    for _ in range(3):
        await engine.run_cycle(liquidity)
    seller = (await engine.create_swap_thread(pool_id, "a_to_b", 100 * X))["thread_id"]
    buyer = (await engine.create_swap_thread(pool_id, "b_to_a", 0))["thread_id"]
    with pytest.raises(DuplicateSwapDirection):
        await engine.create_swap_thread(pool_id, "a_to_b", 1)

    first = await engine.run_cycle(seller)  # buyer is not running: output stays with the seller
    assert first["ok"] and first["output"] == model.swap_output(first["amount"], 10**9, 160 * 10**6, True, False)
    assert (await _balances(engine, seller))["token_b"] == first["output"]
    await engine.start_thread(buyer)
    await settle()
    second = await engine.run_cycle(seller)
    assert (await _balances(engine, buyer))["token_b"] == second["output"]
    status = await engine.get_thread_status(seller)
    assert status["swap_specific"]["token_flow"]["tokens_sent_to_opposite_thread"] == second["output"]
    assert status["swap_specific"]["token_flow"]["opposite_thread_id"] == buyer


async def test_auto_refill_mints_the_initial_amount_again_only_when_enabled(open_engine):
    engine = await open_engine(deposit_max_fraction=1.0)  # deposits of up to the whole balance drain fast
    pool_id = await _pool(engine)
    refilled = (await engine.create_deposit_thread(pool_id, "A", 100, auto_refill=True))["thread_id"]
    plain = (await engine.create_deposit_thread(pool_id, "A", 100, auto_refill=False))["thread_id"]

    async def drain(thread_id):  # cycle until the balance is under the 5 % refill threshold
        for _ in range(200):
            if (await _balances(engine, thread_id))["token_a"] < 5:
                return
            await engine.run_cycle(thread_id)
        raise AssertionError("balance never drained")

    await drain(refilled)
    below = (await _balances(engine, refilled))["token_a"]
    step = await engine.run_cycle(refilled)  # refills 100 (the full initial amount), then deposits
    funding = (await engine.get_thread_status(refilled))["deposit_specific"]["funding_info"]
    assert (funding["times_refilled"], funding["tokens_from_refills"]) == (1, 100)
    assert (await _balances(engine, refilled))["token_a"] == below + 100 - step["amount"]

    await drain(plain)
    for _ in range(200):  # without refill it spends the rest, then waits for shared tokens
        step = await engine.run_cycle(plain)
        if step["operation"] is None:
            break
    assert step["waiting_reason"] == "waiting for token A"
    assert (await engine.get_thread_status(plain))["deposit_specific"]["funding_info"]["times_refilled"] == 0


async def test_empty_burns_first_even_when_the_operation_then_fails(open_engine):
    engine = await open_engine()
    pool_id = await _pool(engine)
    depositor = (await engine.create_deposit_thread(pool_id, "A", 50 * X))["thread_id"]
    withdrawer = (await engine.create_withdrawal_thread(pool_id, "A"))["thread_id"]
    swapper = (await engine.create_swap_thread(pool_id, "a_to_b", 7 * X))["thread_id"]
    await engine.fund_thread(withdrawer, "lp_tokens", 3 * X)

    for thread_id, burned_key in ((depositor, "tokens_used"), (withdrawer, "lp_tokens_used"),
                                  (swapper, "tokens_swapped_in")):
        report = await engine.empty_thread(thread_id)
        empty = report["empty_operation"]
        assert empty[burned_key] > 0 and empty["tokens_burned"] + empty["lp_tokens_burned"] > 0
        assert empty["operation_successful"] is False  # the balance was burned before the attempt
        assert "expected" in empty["error_message"]
        balances = report["post_empty_balances"]
        assert balances["token_a_balance"] == 0
    assert (await engine.get_thread_status(withdrawer))["balances"]["lp_tokens"] == 0
    assert engine.totals.count("unexpected") == 0
    nothing = await engine.empty_thread(depositor)
    assert nothing["empty_operation"]["error_message"].startswith("nothing to empty")


async def test_domain_errors(open_engine):
    engine = await open_engine()
    with pytest.raises(PoolNotFound) as raised:
        await engine.create_deposit_thread("So11111111111111111111111111111111111111112", "A", 0)
    assert raised.value.code == -1002
    with pytest.raises(InvalidParams) as raised:  # one validation for every route: the API's models
        await engine.create_deposit_thread("NoSuchPool11111111111111111111111111111111", "A", 0)
    assert raised.value.code == -32602 and "pool_id" in raised.value.message
    with pytest.raises(InvalidParams, match="auto_refill needs initial_amount > 0"):  # once dropped silently
        await engine.create_deposit_thread("So11111111111111111111111111111111111111112", "A", 0, True)
    pool_id = await _pool(engine)
    thread_id = (await engine.create_deposit_thread(pool_id, "A", X))["thread_id"]
    await engine.start_thread(thread_id)
    with pytest.raises(ThreadRunning):
        await engine.delete_thread(thread_id)
    engine.local.enter_error_state(engine.local.threads[thread_id], {"error": "test", "at": "now"})
    await settle()
    with pytest.raises(ThreadInErrorState) as raised:
        await engine.empty_thread(thread_id)
    assert raised.value.code == -1003
    assert (await engine.delete_thread(thread_id))["deleted"]


async def test_expected_errors_continue_and_unexpected_ones_stop_the_thread(open_engine):
    engine = await open_engine()
    pool_id = await _pool(engine)
    swapper = (await engine.create_swap_thread(pool_id, "a_to_b", 10 * X))["thread_id"]
    no_liquidity = await engine.run_cycle(swapper)  # the pool holds no B yet
    assert (no_liquidity["ok"], no_liquidity["verdict"]) == (False, "expected")
    assert no_liquidity["error"] == "InsufficientFunds" and no_liquidity["findings"] == 0
    assert engine.local.threads[swapper].status == "created"

    # An unexpected failure: freeze-style breakage the contract reports as InvalidAccountData.
    pool = engine.local.pools[pool_id]
    ledger = engine.local.cluster.ledger
    from engine.frt.client import token_address

    output_account = token_address(engine.local.threads[swapper].wallet.pubkey, pool.mint("B"))
    account = ledger.get_account(output_account)
    from solders.account import Account

    data = bytearray(account.data)
    data[108] = 2  # frozen
    ledger.set_account(output_account, Account(account.lamports, bytes(data), account.owner, False, 0))
    liquidity = (await engine.create_deposit_thread(pool_id, "B", 1_000 * Y))["thread_id"]
    await engine.run_cycle(liquidity)
    await engine.start_thread(swapper)
    await settle()
    thread = engine.local.threads[swapper]
    assert thread.status == "error"
    assert thread.error_state["error"]["name"] == "InvalidAccountData"
    assert thread.error_state["transaction_signature"] and thread.error_state["logs"]
    assert "balances_before" in thread.error_state
    assert engine.local.recent_errors(swapper)[-1]["recovery_action"].startswith("thread stopped")
    errors = json.loads((engine.local.settings.data_dir / "errors" / f"{swapper}.json").read_text())["errors"]
    assert errors[-1]["recovery_action"].startswith("thread stopped")  # flushed when the session closed


async def test_a_model_mismatch_is_a_finding_with_its_trace(open_engine, monkeypatch):
    engine = await open_engine()
    pool_id = await _pool(engine)
    depositor = (await engine.create_deposit_thread(pool_id, "A", 100 * X))["thread_id"]
    real_check = model.check_deposit
    monkeypatch.setattr(model, "check_deposit", lambda **kw: real_check(**kw) + 1)  # a wrong oracle
    step = await engine.run_cycle(depositor)
    assert step["ok"] and step["findings"] == 1
    findings = await engine.get_findings()
    assert findings["count"] == 1 and findings["by_kind"] == {"balance_mismatch": 1}
    finding = findings["findings"][0]
    assert finding["thread_id"] == depositor and finding["transaction"]["signature"] == step["transaction_signature"]
    assert (finding["rule"], finding["severity"], finding["as_coded"]) == ("balances_move_as_predicted", "high", False)
    assert {m["quantity"] for m in finding["evidence"]["mismatches"]} == {"lp_a", "lp_supply_a"}
    assert "pool" in finding["before"] and "pool" in finding["after"]
    (group,) = findings["groups"]
    assert group["id"] == finding["group_id"] and group["count"] == 1 and group["example"]["detail"] == finding["detail"]


async def test_tampered_pool_state_breaks_an_invariant(open_engine, monkeypatch):
    """The pool's tracked liquidity raised during an operation: its vaults no longer back it, found once."""
    engine = await open_engine()
    pool_id = await _pool(engine)
    depositor = (await engine.create_deposit_thread(pool_id, "A", 100 * X))["thread_id"]
    await engine.run_cycle(depositor)
    pool = engine.local.pools[pool_id]
    ledger = engine.local.cluster.ledger
    from solders.account import Account

    from engine import operations
    from engine.frt.state import PoolState

    def tamper():
        account = ledger.get_account(pool.addresses.pool_state)
        state = PoolState.decode(bytes(account.data))
        tampered = PoolState.patch(bytes(account.data), total_token_a_liquidity=state.total_token_a_liquidity + 10**12)
        ledger.set_account(pool.addresses.pool_state, Account(account.lamports, tampered, account.owner, False, 0))

    real_send = operations.send

    async def send_then_tamper(*args, **kwargs):
        result = await real_send(*args, **kwargs)
        tamper()  # as if the program had done it
        return result

    monkeypatch.setattr(operations, "send", send_then_tamper)
    await engine.run_cycle(depositor)
    monkeypatch.setattr(operations, "send", real_send)
    assert engine.totals.findings_by_kind.get("invariant_violation") == 1
    (group,) = [g for g in (await engine.get_findings())["groups"] if g["kind"] == "invariant_violation"]
    assert (group["rule"], group["severity"], group["count"]) == ("vault_backing", "high", 1)


async def test_sessions_are_written_on_stop_and_statistics_reset_on_start(open_engine):
    engine = await open_engine()
    pool_id = await _pool(engine)
    thread_id = (await engine.create_deposit_thread(pool_id, "A", 100 * X))["thread_id"]
    await engine.start_thread(thread_id)
    await settle()
    stopped = await engine.stop_thread(thread_id)
    assert stopped["session_file"].startswith("session_")
    sessions = (await engine.get_thread_sessions(thread_id))["sessions"]
    assert len(sessions) == 1 and sessions[0]["verification_summary"]["successful_operations"] == 1
    assert sessions[0]["verification_summary"]["pool_verification_passed"] is True
    await engine.start_thread(thread_id)
    assert engine.local.threads[thread_id].stats.successful_operations == 0  # a fresh session
    await settle()
    await engine.stop_thread(thread_id)
    assert len((await engine.get_thread_sessions(thread_id, limit=1))["sessions"]) == 1
    assert len((await engine.get_thread_sessions(thread_id))["sessions"]) == 2


async def test_stop_does_not_wait_for_a_worker_queued_outside_an_operation(open_engine):
    """A worker queued for its pool's lock has sent nothing: stop ends it at once (nothing counted,
    the lock left as it was); an operation in flight is finished and verified before a stop."""
    import asyncio

    engine = await open_engine(pacing_min_ms=0, pacing_max_ms=0)
    pool_id = await _pool(engine)
    thread_id = (await engine.create_deposit_thread(pool_id, "A", 100 * X))["thread_id"]
    lock = engine.local.pools[pool_id].lock
    await lock.acquire()  # another holder keeps the pool busy
    await engine.start_thread(thread_id)
    await settle()
    assert not engine.local._running[thread_id].worker.in_operation
    stopped = await asyncio.wait_for(engine.stop_thread(thread_id), 2)
    assert stopped["status"] == "stopped" and engine.local.threads[thread_id].stats.total_attempts == 0
    assert lock.locked()
    lock.release()
    await engine.start_thread(thread_id)
    for _ in range(50):
        await asyncio.sleep(0)
    while not engine.local._running[thread_id].worker.in_operation:
        await asyncio.sleep(0)
    await engine.stop_thread(thread_id)  # asked mid-operation: it completes and is verified first
    stats = engine.local.threads[thread_id].stats
    assert stats.total_attempts >= 1 and stats.findings == 0 and not lock.locked()


async def test_restart_restores_pools_threads_wallets_and_statistics(open_engine, tmp_path):
    data_dir = tmp_path / "shared"
    engine = await open_engine(data_dir)
    pool_id = await _pool(engine)
    running = (await engine.create_deposit_thread(pool_id, "A", 100 * X))["thread_id"]
    idle = (await engine.create_swap_thread(pool_id, "b_to_a", 5 * Y))["thread_id"]
    await engine.run_cycle(idle)
    await engine.start_thread(running)
    await settle()
    before = await engine.get_thread_status(running)
    idle_stats = engine.local.threads[idle].stats.failed_operations
    await engine.close()

    reopened = await open_engine(data_dir)
    assert list(reopened.local.pools) == [pool_id]
    assert set(reopened.local.threads) == {running, idle}
    assert reopened.local.threads[running].status == "running"  # resumed
    assert reopened.local.threads[idle].status == "created"
    assert reopened.local.threads[idle].stats.failed_operations == idle_stats
    assert reopened.local.threads[running].wallet.pubkey == engine.local.threads[running].wallet.pubkey
    after = await reopened.get_thread_status(running)
    assert after["balances"]["token_a"] <= before["balances"]["token_a"]
    assert (await reopened.create_deposit_thread(pool_id, "B", 0))["thread_id"] == "deposit_2"


async def test_a_corrupt_state_file_is_reported_and_the_backup_used(open_engine, tmp_path):
    data_dir = tmp_path / "shared"
    engine = await open_engine(data_dir)
    pool_id = await _pool(engine)
    await engine.create_withdrawal_thread(pool_id, "A")
    await engine.create_withdrawal_thread(pool_id, "B")  # threads.json now has a .backup with one thread
    await engine.close()
    (data_dir / "shards" / "0" / "threads.json").write_text("{ not json")

    reopened = await open_engine(data_dir)
    assert any("threads.json" in problem for problem in reopened.problems)
    assert "withdrawal_1" in reopened.local.threads


async def test_encrypted_keys_never_appear_in_files_or_answers(open_engine, tmp_path, monkeypatch):
    monkeypatch.setenv("FRT_STRESS_PASSPHRASE", "correct horse battery staple")
    data_dir = tmp_path / "secret"
    engine = await open_engine(data_dir)
    pool_id = await _pool(engine)
    thread_id = (await engine.create_deposit_thread(pool_id, "A", X))["thread_id"]
    secret = engine.local.threads[thread_id].wallet.secret()
    saved = (data_dir / "shards" / "0" / "threads.json").read_text()
    assert "enc:v1:" in saved and json.dumps(list(secret)) not in saved
    answer = json.dumps(await engine.get_thread_status(thread_id))
    assert "wallet_keypair" not in answer and str(list(secret)) not in answer


async def test_the_ledger_audit_still_balances_after_a_thread_is_deleted(open_engine):

    engine = await open_engine()
    pool_id = await _pool(engine)
    depositor = (await engine.create_deposit_thread(pool_id, "A", 100 * X))["thread_id"]
    await engine.run_cycle(depositor)
    await engine.delete_thread(depositor)  # its wallet keeps tokens and LP
    audit = await engine.ledger_audit()
    assert audit["passed"], [entry for entry in audit["mints"] + audit["pools"] if not entry["passed"]]


async def test_snapshot_serves_live_views_from_cached_observations(open_engine):
    engine = await open_engine()
    pool_id = await _pool(engine)
    swapper = (await engine.create_swap_thread(pool_id, "a_to_b", 10 * X))["thread_id"]
    await engine.run_cycle(swapper)  # fails: no B liquidity yet (expected)
    await engine.run_cycle(swapper)
    snapshot = await engine.get_snapshot()
    row = next(r for r in snapshot["threads"] if r["thread_id"] == swapper)
    assert row["balances"]["token_a"] == 10 * X and row["failed"] == 2 and row["status_symbol"] == "○"
    assert snapshot["pools"][0]["liquidity"] == {"token_a": 0, "token_b": 0}
    assert snapshot["engine"]["operations"] == 2 and snapshot["engine"]["mode"] == "embedded-emulated"
    (entry,) = snapshot["feed"]
    assert (entry["severity"], entry["title"], entry["count"]) == ("expected", "swap: InsufficientFunds", 2)
    json.dumps(snapshot)  # serialisable as is (the remote console gets it over JSON-RPC)


async def test_rows_show_the_chains_figures_before_any_thread_has_run(open_engine, tmp_path):
    """A new pool, a new thread and every pool and thread of a reopened engine show their
    figures at once (before: "–" until a thread of theirs ran a cycle)."""
    data_dir = tmp_path / "shared"
    engine = await open_engine(data_dir)
    pool_id = await _pool(engine)
    snapshot = await engine.get_snapshot()
    assert snapshot["pools"][0]["liquidity"] == {"token_a": 0, "token_b": 0}
    assert snapshot["pools"][0]["pause_flags"] is not None
    depositor = (await engine.create_deposit_thread(pool_id, "A", 100 * X))["thread_id"]
    (row,) = (await engine.get_snapshot())["threads"]
    assert row["status"] == "created" and row["balances"]["token_a"] == 100 * X and row["balances"]["sol"] > 0
    await engine.run_cycle(depositor)
    expected = {row["thread_id"]: row["balances"] for row in (await engine.get_snapshot())["threads"]}
    liquidity = (await engine.get_snapshot())["pools"][0]["liquidity"]
    await engine.close()

    reopened = await open_engine(data_dir)
    await next(task for task in reopened.local._background if task.get_name() == "first-views")
    snapshot = await reopened.get_snapshot()
    assert {row["thread_id"]: row["balances"] for row in snapshot["threads"]} == expected
    assert snapshot["pools"][0]["liquidity"] == liquidity and liquidity["token_a"] > 0


async def test_a_pool_and_a_thread_created_while_the_chain_fails_reads_are_kept_without_figures(
        open_engine, tmp_path, monkeypatch):
    """Their first look is a read after creation: a chain that fails it leaves their rows without
    figures; the creation stands and is saved (it had been raised as the creation's failure, the
    thread funded but not saved)."""
    from engine import first_views
    from engine.chain.base import ChainError

    data_dir = tmp_path / "shared"
    engine = await open_engine(data_dir)

    async def unreadable(*args, **kwargs):
        raise ChainError("getMultipleAccounts: giving up after 6 attempts")

    readable = first_views.observe
    monkeypatch.setattr(first_views, "observe", unreadable)
    pool_id = await _pool(engine)
    thread_id = (await engine.create_deposit_thread(pool_id, "A", 100 * X))["thread_id"]
    snapshot = await engine.get_snapshot()
    assert snapshot["pools"][0]["liquidity"] is None and snapshot["threads"][0]["balances"] is None
    await engine.close()
    monkeypatch.setattr(first_views, "observe", readable)

    reopened = await open_engine(data_dir)
    assert list(reopened.local.pools) == [pool_id] and list(reopened.local.threads) == [thread_id]
    assert (await reopened.get_thread_status(thread_id))["balances"]["token_a"] == 100 * X
