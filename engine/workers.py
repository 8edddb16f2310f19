"""The loop each worker thread runs: check balances, pick a random amount, execute a verified
operation, share, record, sleep. The host (the Engine) owns registries, storage and statistics."""
from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections import deque

from engine.economy import lp_recipients, opposite_swap_thread, refill, share_tokens, token_recipients, top_up_sol
from engine.observe import View, observe
from engine.operations import Outcome, run_verified
from engine.pools import PoolRuntime
from engine.store import utc_now_iso
from engine.threads import ThreadRecord

log = logging.getLogger(__name__)

OPERATION_OF = {"deposit": "deposit", "withdrawal": "withdraw", "swap": "swap"}


def pick_amount(rng: random.Random, balance: int, max_fraction: float) -> int:
    """1 base unit up to max_fraction of the balance (at least 1)."""
    return rng.randint(1, max(1, math.floor(balance * max_fraction)))


def exact_step(pool: PoolRuntime, input_token: str) -> int:
    """Smallest swap input with no remainder in an exact-exchange pool."""
    ra, rb = pool.record.ratio_a_numerator, pool.record.ratio_b_denominator
    r_in, r_out = (ra, rb) if input_token == "A" else (rb, ra)
    return r_in // math.gcd(r_in, r_out)


class TurnGate:
    """Keeps event-loop turns short while many workers are busy.

    asyncio runs every ready task once per turn; at pacing 0 a thousand workers each run a whole
    cycle per turn, so an API call, a snapshot or a key press waits most of a second. Here each
    turn has a time slice: a worker that arrives after the slice ended parks, and parked workers
    are released one batch per turn, the batch sized from the measured cost of a cycle, so
    everything else gets the loop every `slice_s` or so."""

    def __init__(self, slice_s: float = 0.02) -> None:
        self.slice_s = slice_s
        self.parked: deque[asyncio.Future] = deque()
        self.deadline = 0.0
        self.cycle_cost = 0.001  # seconds, moving average
        self._release_scheduled = False

    async def enter(self) -> None:
        loop = asyncio.get_running_loop()
        if not self.parked and loop.time() < self.deadline:
            return
        waiter = loop.create_future()
        self.parked.append(waiter)
        self._schedule_release(loop)
        await waiter

    def record_cycle(self, seconds: float) -> None:
        self.cycle_cost += 0.05 * (seconds - self.cycle_cost)

    def _schedule_release(self, loop) -> None:
        if not self._release_scheduled:
            self._release_scheduled = True
            loop.call_soon(self._release)

    def _release(self) -> None:
        """A new turn: open a slice and let the next batch of parked workers run in it."""
        loop = asyncio.get_running_loop()
        self._release_scheduled = False
        self.deadline = loop.time() + self.slice_s
        batch = max(1, int(self.slice_s / max(self.cycle_cost, 1e-5)))
        while self.parked and batch:
            waiter = self.parked.popleft()
            if not waiter.done():
                waiter.set_result(None)
                batch -= 1
        if self.parked:
            self._schedule_release(loop)


class Worker:
    def __init__(self, host, thread: ThreadRecord, pool: PoolRuntime) -> None:
        self.host = host
        self.thread = thread
        self.pool = pool
        self.config = host.settings.engine
        self.rng = thread.rng
        self.stopping = False
        # Holding its pool's lock: observing, sending, verifying, sharing. Outside (pausing, parked at
        # the turn gate, queued for the lock) nothing has been sent, so a stop may cancel it at once.
        self.in_operation = False
        self._wake = asyncio.Event()

    def request_stop(self) -> None:
        self.stopping = True
        self._wake.set()

    async def run(self) -> None:
        thread = self.thread
        try:
            while not self.stopping and thread.status == "running":
                await self.cycle()
                if not self.stopping and thread.status == "running":
                    await self._pause()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug or a broken chain connection: stop with evidence
            log.exception("thread %s crashed", thread.thread_id)
            self.host.enter_error_state(thread, {"error": f"{type(exc).__name__}: {exc}", "at": utc_now_iso()})
        if thread.status == "error":
            await self.host.finish_errored(thread)

    async def _pause(self) -> None:
        low, high = self.config.pacing_min_ms, max(self.config.pacing_max_ms, self.config.pacing_min_ms)
        delay = self.rng.uniform(low, high) / 1000.0 if high > 0 else 0.0
        if delay <= 0:
            await asyncio.sleep(0)
            return
        try:
            await asyncio.wait_for(self._wake.wait(), delay)
        except asyncio.TimeoutError:
            pass

    async def cycle(self) -> Outcome | None:
        thread, pool, host = self.thread, self.pool, self.host
        await host.gate.enter()
        started = time.perf_counter()
        try:
            return await self._cycle(thread, pool, host)
        finally:
            host.gate.record_cycle(time.perf_counter() - started)

    async def _cycle(self, thread: ThreadRecord, pool: PoolRuntime, host) -> Outcome | None:
        async with pool.lock:
            self.in_operation = True
            try:
                return await self._operate(thread, pool, host)
            finally:
                self.in_operation = False

    async def _operate(self, thread: ThreadRecord, pool: PoolRuntime, host) -> Outcome | None:
        before = await observe(host.cluster, pool.addresses, thread.wallet.pubkey)
        if before.pool is None:
            self.host.enter_error_state(thread, {"error": f"pool {pool.record.pool_id} no longer exists",
                                                 "at": utc_now_iso()})
            return None
        if before.wallet.sol < self.config.sol_threshold_lamports:
            await host.ensure_core_lamports(self.config.sol_topup_lamports)
            await top_up_sol(host.client, host.core, [thread], self.config.sol_topup_lamports)
            before = await observe(host.cluster, pool.addresses, thread.wallet.pubkey)
        balance = self._input_balance(before)
        if self._needs_refill(balance):
            if (await refill(host.client, host.core, thread, pool)).ok:
                host.count_minted(pool.mint(thread.input_token), thread.initial_amount)
                before = await observe(host.cluster, pool.addresses, thread.wallet.pubkey)
                balance = self._input_balance(before)
        thread.wallet_view, pool.last_view = before.wallet, before.pool
        amount = self._choose_amount(balance)
        if amount == 0:
            host.record_wait(thread, self._waiting_reason())
            return None
        operation = OPERATION_OF[thread.thread_type]
        outcome = await run_verified(host.client, pool, thread.wallet, operation, thread.input_token, amount,
                                     check=self.config.check_invariants, before=before)
        thread.wallet_view, pool.last_view = outcome.after.wallet, outcome.after.pool
        host.record_outcome(thread, pool, outcome)
        if outcome.ok and outcome.output > 0:
            await self._share(outcome.output)
        return outcome

    # ---- decisions -----------------------------------------------------------------------------

    def _input_balance(self, view: View) -> int:
        if self.thread.thread_type == "withdrawal":
            return view.wallet.lp(self.thread.token_type)
        return view.wallet.token(self.thread.input_token)

    def _needs_refill(self, balance: int) -> bool:
        thread = self.thread
        return (thread.auto_refill and thread.initial_amount > 0 and thread.thread_type != "withdrawal"
                and balance < thread.initial_amount * self.config.refill_threshold_fraction)

    def _choose_amount(self, balance: int) -> int:
        if balance <= 0:
            return 0
        fraction = {"deposit": self.config.deposit_max_fraction, "withdrawal": self.config.withdrawal_max_fraction,
                    "swap": self.config.swap_max_fraction}[self.thread.thread_type]
        amount = pick_amount(self.rng, balance, fraction)
        if self.thread.thread_type == "swap" and self.pool.record.exact:
            step = exact_step(self.pool, self.thread.input_token)
            amount = (amount // step) * step or (step if step <= balance else 0)
        return amount

    def _waiting_reason(self) -> str:
        thread = self.thread
        if thread.thread_type == "withdrawal":
            return f"waiting for LP-{thread.token_type} tokens"
        if thread.thread_type == "swap" and self.pool.record.exact:
            return f"waiting for token {thread.input_token} (at least one exact-exchange step)"
        return f"waiting for token {thread.input_token}"

    # ---- sharing ---------------------------------------------------------------------------------

    async def _share(self, received: int) -> None:
        thread, pool, host = self.thread, self.pool, self.host
        threads = host.threads.values()
        if thread.thread_type == "deposit":
            if not thread.share_lp_tokens:
                return
            recipients = lp_recipients(thread, threads)
            mint = pool.lp_mint(thread.token_type)

            def credit(stats, each):
                stats.lp_tokens_from_deposits += each
        elif thread.thread_type == "withdrawal":
            recipients = token_recipients(thread, threads)
            mint = pool.mint(thread.token_type)

            def credit(stats, each):
                stats.tokens_from_sharing += each
        else:
            opposite = opposite_swap_thread(thread, threads)
            recipients = [opposite] if opposite is not None and opposite.is_active else []
            mint = pool.mint(thread.output_token)

            def credit(stats, each):
                stats.tokens_received_from_opposite += each
        thread.stats.sharing_recipients_count = len(recipients)
        if not recipients:
            return
        sent, results = await share_tokens(host.client, thread, mint, recipients, received, credit)
        for result in results:
            if not result.ok:
                host.record_side_error(thread, "share", result)
        if sent:
            stats = thread.stats
            stats.last_sharing_amount, stats.last_sharing_at = sent, utc_now_iso()
            if thread.thread_type == "deposit":
                stats.lp_tokens_shared += sent
            elif thread.thread_type == "withdrawal":
                stats.tokens_shared += sent
            else:
                stats.tokens_sent_to_opposite += sent
