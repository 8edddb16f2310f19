"""Emptying a thread: burn its whole input balance first, attempt its operation with that
amount (verified like any other), burn whatever the attempt returned, and report. Shares are
never given out of it."""
from __future__ import annotations

from engine import status as status_view
from engine.exceptions import ThreadInErrorState
from engine.observe import observe
from engine.operations import require_ok, run_verified
from engine.threads import ERROR


async def empty_thread(engine, thread_id: str) -> dict:
    """Works on a running or a stopped thread; refused in the error state."""
    thread = engine.registry.thread(thread_id)
    if thread.status == ERROR:
        raise ThreadInErrorState(f"Cannot empty thread {thread_id}: thread is in error state")
    pool = engine.pools[thread.pool_id]
    kind, treasury, wallet = thread.kind, engine.treasury, thread.wallet
    fees = 0
    async with pool.lock:
        before = await observe(engine.cluster, pool.addresses, wallet.pubkey)
        available = kind.input_balance(thread, before.wallet)
        report = status_view.empty_report_base(thread, available)
        if available == 0:
            report["empty_operation"]["error_message"] = "nothing to empty: balance is 0"
        else:
            burned = await treasury.burn(wallet, kind.spend_mint(pool, thread), available)
            fees += burned.fee
            require_ok(burned, "burning the input balance")
            outcome = await run_verified(engine.client, pool, wallet, kind.operation, thread.input_token, available,
                                         check=engine.settings.engine.check_invariants)
            fees += outcome.result.fee
            engine.record_outcome(thread, pool, outcome, empty=True)
            received = outcome.output if outcome.ok else 0
            if received > 0:
                burned_out = await treasury.burn(wallet, kind.receive_mint(pool, thread), received)
                fees += burned_out.fee
                require_ok(burned_out, "burning the received tokens")
            status_view.fill_empty_report(report, thread, available, outcome, received, fees)
            engine.recorder.record_empty(thread, outcome.ok, available + received)
        after = await observe(engine.cluster, pool.addresses, wallet.pubkey, with_pool=False)
    thread.wallet_view = after.wallet  # its row shows the emptied balances, running or not
    report["post_empty_balances"] = status_view.post_empty_balances(thread, after.wallet)
    engine.save_engine_state()  # what was burned
    engine.recorder.dirty = True
    return report
