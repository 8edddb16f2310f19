"""The loop each worker thread runs: check balances, pick a random amount, execute a verified
operation, share, record, sleep. What differs per thread kind is asked of the thread's kind;
the host (the Engine) hands out the recorder, the treasury and the registry."""
from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections import deque

from engine import intent
from engine.economy import share_tokens
from engine.kinds.swap import exact_step
from engine.observe import View, observe
from engine.operations import Outcome, run_verified
from engine.pools import PoolRuntime
from engine.store import utc_now_iso
from engine.threads import ERROR, RUNNING, ThreadRecord

log = logging.getLogger(__name__)
U64_MAX = 2**64 - 1
BOUNDARY_CASES = ("zero", "one", "balance", "balance_plus_one", "u64_max", "beyond_liquidity", "off_step")


def pick_amount(rng: random.Random, balance: int, max_fraction: float) -> int:
    """1 base unit up to max_fraction of the balance (at least 1)."""
    return rng.randint(1, max(1, math.floor(balance * max_fraction)))


def boundary_amount(case: str, operation: str, input_token: str, pool: PoolRuntime, view: View, balance: int,
                    rng: random.Random | None = None) -> int:
    """An amount at an edge the contract must handle (and the model must predict): 0, 1, exactly
    the balance, one more, u64::MAX, more than the pool can pay out, a non-multiple of the
    exact-exchange step (with `rng`, at a random multiple; without, just past the first step).
    Ordinary threads' boundary cycles and the boundary attacks both draw from here."""
    if case == "zero":
        return 0
    if case == "one":
        return 1
    if case == "balance":
        return balance
    if case == "balance_plus_one":
        return min(balance + 1, U64_MAX)
    if case == "u64_max":
        return U64_MAX
    state = view.pool.state if view.pool is not None else None
    if case == "beyond_liquidity":
        if state is None:
            return U64_MAX
        own, other = ((state.total_token_a_liquidity, state.total_token_b_liquidity) if input_token == "A"
                      else (state.total_token_b_liquidity, state.total_token_a_liquidity))
        if operation == "swap":  # the smallest input whose output exceeds the output side's liquidity
            ra, rb = state.ratio_a_numerator, state.ratio_b_denominator
            r_in, r_out = (ra, rb) if input_token == "A" else (rb, ra)
            amount = -(-(other + 1) * r_in // r_out)
            if pool.record.exact:  # a whole number of steps, so the step check does not refuse it first
                step = exact_step(pool, input_token)
                amount = -(-amount // step) * step
            return min(amount, U64_MAX)
        return min((own if operation == "withdraw" else other) + 1, U64_MAX)
    step = exact_step(pool, input_token)  # off_step
    base = step * (rng.randint(1, 3) if rng else 1)
    return min(base + (1 if step > 1 else (rng.randint(1, 7) if rng else 1)), U64_MAX)


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
        self.kind = thread.kind
        self.pool = pool
        self.config = host.settings.engine
        self.rng = thread.rng
        self._signer = str(thread.wallet.pubkey)  # base58, once (the intent oracle's Action names it)
        # Boundary cycles are drawn from their own seeded stream, so turning them on or off leaves
        # the thread's random amounts as they were.
        self.boundary_rng = random.Random(f"boundary:{thread.seed}:{thread.thread_id}")
        self.stopping = False
        # Holding its pool's lock: observing, sending, verifying, sharing. Outside (pausing, parked at
        # the turn gate, queued for the lock) nothing has been sent, so a stop may cancel it at once.
        self.in_operation = False
        self._wake = asyncio.Event()

    def request_stop(self) -> None:
        self.stopping = True
        self._wake.set()

    async def run(self) -> None:
        thread, turns = self.thread, self.pool.turns  # joined by Runner.start, before this task runs
        try:
            while not self.stopping and thread.status == RUNNING:
                await turns.wait(thread.thread_id)
                pause_s = 0.0
                try:
                    await self.cycle()
                    pause_s = self._draw_pause()
                finally:
                    turns.release(thread.thread_id, pause_s)
                if not self.stopping and thread.status == RUNNING:
                    await self._pause(pause_s)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug or a broken chain connection: stop with evidence
            log.exception("thread %s crashed", thread.thread_id)
            self.host.enter_error_state(thread, {"error": f"{type(exc).__name__}: {exc}", "at": utc_now_iso()})
        finally:
            turns.leave(thread.thread_id)
        if thread.status == ERROR:
            await self.host.finish_errored(thread)

    def _draw_pause(self) -> float:
        """Seconds until this thread's next turn, from its own seeded RNG."""
        low, high = self.config.pacing_min_ms, max(self.config.pacing_max_ms, self.config.pacing_min_ms)
        return self.rng.uniform(low, high) / 1000.0 if high > 0 else 0.0

    async def _pause(self, delay: float) -> None:
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
        kind = self.kind
        before = await observe(host.cluster, pool.addresses, thread.wallet.pubkey)
        if before.pool is None:
            self.host.enter_error_state(thread, {"error": f"pool {pool.record.pool_id} no longer exists",
                                                 "at": utc_now_iso()})
            return None
        if before.wallet.sol < self.config.sol_threshold_lamports:
            await host.treasury.top_up([thread])
            before = await observe(host.cluster, pool.addresses, thread.wallet.pubkey)
        balance = kind.input_balance(thread, before.wallet)
        if self._needs_refill(balance):
            if (await host.treasury.refill(thread, pool)).ok:
                before = await observe(host.cluster, pool.addresses, thread.wallet.pubkey)
                balance = kind.input_balance(thread, before.wallet)
        thread.wallet_view, pool.last_view = before.wallet, before.pool
        amount = self._choose_amount(balance, before)
        if amount is None:
            host.recorder.record_wait(thread, kind.waiting_reason(pool, thread))
            return None
        outcome = await run_verified(host.client, pool, thread.wallet, kind.operation, thread.input_token, amount,
                                     check=self.config.check_invariants, before=before)
        thread.wallet_view, pool.last_view = outcome.after.wallet, outcome.after.pool
        if self.config.check_invariants and outcome.verdict != "transient":
            outcome.findings.extend(intent.check(self._action(outcome)))
        host.record_outcome(thread, pool, outcome)
        if outcome.ok and outcome.output > 0:
            await self._share(outcome.output)
        return outcome

    # ---- decisions -----------------------------------------------------------------------------

    def _needs_refill(self, balance: int) -> bool:
        thread = self.thread
        return (thread.auto_refill and thread.initial_amount > 0 and self.kind.refills
                and balance < thread.initial_amount * self.config.refill_threshold_fraction)

    def _choose_amount(self, balance: int, view: View) -> int | None:
        """The amount to send (0 included: a boundary case), or None: wait for input."""
        share = self.config.boundary_amount_share
        if share > 0 and self.boundary_rng.random() < share:
            case = self.boundary_rng.choice(BOUNDARY_CASES)
            return boundary_amount(case, self.kind.operation, self.thread.input_token, self.pool, view, balance,
                                   self.boundary_rng)
        if balance <= 0:
            return None
        amount = pick_amount(self.rng, balance, self.kind.max_fraction(self.config))
        return self.kind.fit_amount(self.pool, self.thread, amount, balance) or None

    def _action(self, outcome: Outcome) -> intent.Action:
        """The intent oracle's description of this thread's operation (no chain reads)."""
        thread = self.thread
        return intent.Action(
            name=outcome.operation, actor=f"thread:{thread.thread_id}", signer=self._signer,
            signer_is_admin=False, ok=outcome.ok, predicted_ok=outcome.prediction.succeeds,
            pool_id=self.pool.record.pool_id,
            params={"token_type": outcome.token_type, "amount": outcome.amount},
            before=outcome.before, after=outcome.after, signature=outcome.result.signature)

    # ---- sharing ---------------------------------------------------------------------------------

    async def _share(self, received: int) -> None:
        thread, pool, host, kind = self.thread, self.pool, self.host, self.kind
        if not kind.shares(thread):
            return
        recipients = kind.share_recipients(thread, host.threads.values())
        host.recorder.record_share_recipients(thread, len(recipients))
        if not recipients:
            return
        each, batches = await share_tokens(host.client, thread, kind.receive_mint(pool, thread), recipients, received)
        host.recorder.record_share(thread, batches, each)
