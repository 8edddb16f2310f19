"""The Engine facade: one object owning config, chain, pools, threads, statistics and storage,
with an async method per operation. The JSON-RPC API and the console are thin clients of it."""
from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import random
import time
from collections import deque
from dataclasses import dataclass

import psutil
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.instructions import create_idempotent_associated_token_account

from engine import status as status_view
from engine.bootstrap import bootstrap, load_wallets
from engine.chain.base import ChainError, Cluster, TxResult
from engine.chain.factory import describe, open_cluster
from engine.economy import mint_instruction, sol_instruction, top_up_sol
from engine.exceptions import (
    DuplicateSwapDirection,
    InsufficientCoreFunds,
    InvalidRequest,
    OperationFailed,
    PoolNotFound,
    ThreadInErrorState,
    ThreadNotFound,
    ThreadRunning,
)
from engine.frt.client import FrtClient
from engine.observe import observe
from engine.operations import Outcome, run_verified
from engine.pools import DIRECTIONS, TOKEN_TYPES, PoolRecord, PoolRuntime, draw_pool_spec
from engine.feed import EventFeed
from engine.stats import EngineTotals, ThreadStats
from engine.store import StateStore, utc_now_iso
from engine.threads import ERROR, RUNNING, STOPPED, THREAD_TYPES, ThreadRecord
from engine.wallet import Wallet
from engine.workers import OPERATION_OF, TurnGate, Worker

log = logging.getLogger(__name__)
U64_MAX = 2**64 - 1
PASSPHRASE_ENV = "FRT_STRESS_PASSPHRASE"
ERRORS_KEPT = 10


@dataclass
class _Running:
    worker: Worker
    task: asyncio.Task


class Engine:
    def __init__(self, settings, store: StateStore, cluster: Cluster, core: Wallet) -> None:
        self.settings = settings
        self.store = store
        self.cluster = cluster
        self.client = FrtClient(cluster)
        self.core = core
        self.pools: dict[str, PoolRuntime] = {}
        self.threads: dict[str, ThreadRecord] = {}
        self.totals = EngineTotals()
        self.feed = EventFeed()
        self.gate = TurnGate()
        self.started_monotonic = time.monotonic()
        self.started_at = utc_now_iso()
        self.problems: list[str] = []
        self.notes: list[str] = []
        self._running: dict[str, _Running] = {}
        self._steppers: dict[str, Worker] = {}
        self._sealed_keys: dict[str, str] = {}
        self._next_ids: dict[str, int] = {kind: 1 for kind in THREAD_TYPES}
        self._wallets_made = 0
        self._external_recipients: dict[str, list[str]] = {}  # mint -> owners outside the engine
        self.burned: dict[str, int] = {}  # mint -> base units the engine burned (empty operations)
        self.minted: dict[str, int] = {}  # mint -> base units the core wallet minted
        self.retired_wallets: dict[str, list[str]] = {}  # pool -> wallets of deleted threads (they keep their tokens)
        self._rng = random.Random(settings.engine.seed)
        self._background: list[asyncio.Task] = []
        self._stats_dirty = False
        self._recent_errors: dict[str, deque] = {}  # thread -> last 10 errors, flushed to errors/
        self._errors_dirty: set[str] = set()
        self._closed = False

    # ================================================================== lifecycle

    @classmethod
    async def open(cls, settings, *, cluster: Cluster | None = None, start_background: bool = True) -> "Engine":
        """Load the data directory, connect and bootstrap the chain, restore pools and threads."""
        settings.ensure_data_dir()
        store = StateStore(settings.data_dir, passphrase=os.environ.get(PASSPHRASE_ENV) or None)
        if store.encrypted:
            store.unlock()
        core, created, authority = load_wallets(settings)
        cluster = cluster or await open_cluster(settings, upgrade_authority=authority)
        engine = cls(settings, store, cluster, core)
        report = await bootstrap(cluster, settings, core, authority, core_created=created)
        engine.notes.extend(report.lines())
        await engine._restore()
        for _ in range(max(0, settings.engine.target_pool_count - len(engine.pools))):
            await engine.create_pool()
        if settings.engine.resume_running_threads:
            for thread in list(engine.threads.values()):
                if thread.status == RUNNING:
                    thread.status = STOPPED
                    await engine._start(thread, "resumed_after_restart")
        else:
            for thread in engine.threads.values():
                if thread.status == RUNNING:
                    thread.status = STOPPED
        engine.problems.extend(store.problems)
        engine._save_threads()
        if start_background:
            engine.start_background_tasks()
        return engine

    def start_background_tasks(self) -> None:
        self._background = [asyncio.create_task(self._sol_monitor(), name="sol-monitor"),
                            asyncio.create_task(self._stats_flusher(), name="stats-flusher")]

    async def close(self) -> None:
        """Stop every thread (writing its session), flush state, close the chain. Threads that
        were running are remembered as running, so the next start resumes them."""
        if self._closed:
            return
        self._closed = True
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        was_running = [thread_id for thread_id in list(self._running)]
        await asyncio.gather(*(self._stop_worker(thread_id, "engine_shutdown") for thread_id in was_running))
        for thread_id in was_running:
            self.threads[thread_id].status = RUNNING
        self._save_threads()
        self._save_statistics()
        self._save_engine_state()
        await self.cluster.close()

    async def _restore(self) -> None:
        for pool_id, data in self.store.load_pools().items():
            try:
                record = PoolRecord.from_json(data)
                runtime = PoolRuntime(record, self.cluster.program_id)
                if await self.client.pool_state(runtime.addresses.pool_state) is None:
                    raise ValueError("no pool account on this chain")
                self.pools[pool_id] = runtime
            except (ValueError, KeyError, TypeError) as exc:
                self.problems.append(f"pool {pool_id} dropped from the registry: {exc}")
        statistics = self.store.load_statistics()
        for thread_id, data in self.store.load_threads().items():
            if data.get("pool_id") not in self.pools:
                self.problems.append(f"thread {thread_id} dropped: its pool {data.get('pool_id')} is gone")
                continue
            wallet = Wallet.from_secret(self.store.open_secret(data["wallet_keypair"]))
            if data["wallet_keypair"].startswith("enc:") or not self.store.encrypted:
                self._sealed_keys[thread_id] = data["wallet_keypair"]
            self.threads[thread_id] = ThreadRecord.from_json(
                data, wallet, ThreadStats.from_json(statistics.get(thread_id)))
        state = self.store.load_engine_state()
        self._next_ids.update(state.get("next_ids", {}))
        self._external_recipients = state.get("external_recipients", {})
        self.burned = state.get("burned", {})
        self.minted = state.get("minted", {})
        self.retired_wallets = state.get("retired_wallets", {})
        self._wallets_made = state.get("wallets_made", 0)
        self._save_pools()

    # ================================================================== pools

    async def create_pool(self, token_a_decimals: int | None = None, token_b_decimals: int | None = None,
                          ratio_whole_number: int | None = None, ratio_direction: str | None = None,
                          flags: int | None = None) -> dict:
        """Create two mints and a pool; anything not given is drawn at random."""
        for name, value in (("token_a_decimals", token_a_decimals), ("token_b_decimals", token_b_decimals)):
            if value is not None and not 0 <= value <= 18:
                raise InvalidRequest(f"{name} must be between 0 and 18")
        if ratio_whole_number is not None and ratio_whole_number < 1:
            raise InvalidRequest("ratio_whole_number must be at least 1")
        if ratio_direction is not None and ratio_direction not in DIRECTIONS:
            raise InvalidRequest("ratio_direction must be 'a_to_b' or 'b_to_a'")
        spec = draw_pool_spec(self._rng, token_a_decimals, token_b_decimals, ratio_whole_number, ratio_direction,
                              flags)
        ratio_a, ratio_b = spec.ratios
        if ratio_a > U64_MAX or ratio_b > U64_MAX:
            raise InvalidRequest("the ratio does not fit in u64 base units with these decimals")
        # Mint addresses decide the contract's token order: generate them first and give the
        # requested token A decimals to the sorted-first mint, so "1 A = N B" holds as asked.
        await self.ensure_core_lamports(1_200_000_000)  # registration fee + rent of the pool accounts
        first, second = sorted((self._new_wallet(), self._new_wallet()), key=lambda w: bytes(w.pubkey))
        for wallet, decimals in ((first, spec.token_a_decimals), (second, spec.token_b_decimals)):
            result, _ = await self.client.create_mint(self.core, decimals, wallet)
            self._require_ok(result, "creating a mint")
        created = await self.client.create_pool(self.core, first.pubkey, second.pubkey, ratio_a, ratio_b,
                                                spec.flags)
        self._require_ok(created.result, "InitializePool")
        record = PoolRecord(pool_id=str(created.addresses.pool_state), token_a_mint=str(first.pubkey),
                            token_a_decimals=spec.token_a_decimals, token_b_mint=str(second.pubkey),
                            token_b_decimals=spec.token_b_decimals, ratio_a_numerator=ratio_a,
                            ratio_b_denominator=ratio_b, flags=spec.flags, created_at=utc_now_iso())
        self.pools[record.pool_id] = PoolRuntime(record, self.cluster.program_id)
        self._save_pools()
        self._save_engine_state()
        return {key: value for key, value in record.summary().items() if key != "created_at"}

    async def list_pools(self) -> dict:
        counts = self._thread_counts_by_pool()
        return {"pools": [pool.record.summary() | {"thread_counts": counts[pool_id]}
                          for pool_id, pool in self.pools.items()]}

    async def get_pool(self, pool_id: str) -> dict:
        pool = self._pool(pool_id)
        addresses = pool.addresses
        accounts = await self.cluster.get_multiple_accounts([addresses.pool_state])
        if accounts[0] is None:
            raise PoolNotFound(f"Pool {pool_id} has no account on the chain")
        view = await observe(self.cluster, addresses, self.core.pubkey)
        return status_view.pool_detail(pool, view.pool, self._thread_counts_by_pool()[pool_id])

    def _thread_counts_by_pool(self) -> dict[str, dict]:
        counts = {pool_id: {kind: 0 for kind in THREAD_TYPES} for pool_id in self.pools}
        for thread in self.threads.values():
            if thread.pool_id in counts:
                counts[thread.pool_id][thread.thread_type] += 1
        return counts

    # ================================================================== threads: creation

    async def create_deposit_thread(self, pool_id: str, token_type: str, initial_amount: int = 0,
                                    auto_refill: bool = False, share_lp_tokens: bool = True,
                                    thread_id: str | None = None) -> dict:
        pool = self._pool(pool_id)
        self._check_token_type(token_type)
        self._check_amount(initial_amount, "initial_amount")
        return await self._create_thread("deposit", pool, token_type=token_type, initial_amount=initial_amount,
                                         auto_refill=bool(auto_refill) and initial_amount > 0,
                                         share_lp_tokens=share_lp_tokens, thread_id=thread_id)

    async def create_withdrawal_thread(self, pool_id: str, token_type: str, thread_id: str | None = None) -> dict:
        pool = self._pool(pool_id)
        self._check_token_type(token_type)
        return await self._create_thread("withdrawal", pool, token_type=token_type, thread_id=thread_id)

    async def create_swap_thread(self, pool_id: str, direction: str, initial_amount: int = 0,
                                 thread_id: str | None = None) -> dict:
        pool = self._pool(pool_id)
        if direction not in DIRECTIONS:
            raise InvalidRequest("direction must be 'a_to_b' or 'b_to_a'")
        self._check_amount(initial_amount, "initial_amount")
        if any(t.thread_type == "swap" and t.pool_id == pool_id and t.swap_direction == direction
               for t in self.threads.values()):
            raise DuplicateSwapDirection(f"Swap thread for direction '{direction}' already exists for pool {pool_id}")
        return await self._create_thread("swap", pool, swap_direction=direction, initial_amount=initial_amount,
                                         thread_id=thread_id)

    async def _create_thread(self, thread_type: str, pool: PoolRuntime, thread_id: str | None = None,
                             **config) -> dict:
        """`thread_id` is given by a shard coordinator (ids are global); otherwise the next one."""
        if thread_id is None:
            thread_id = f"{thread_type}_{self._next_ids[thread_type]}"
        elif thread_id in self.threads or not thread_id.startswith(f"{thread_type}_"):
            raise InvalidRequest(f"thread id {thread_id} is taken or does not fit a {thread_type} thread")
        wallet = self._new_wallet()
        thread = ThreadRecord(thread_id=thread_id, thread_type=thread_type, pool_id=pool.record.pool_id,
                              wallet=wallet, seed=self._thread_seed(thread_id), created_at=utc_now_iso(), **config)
        addresses = pool.addresses
        instructions = [sol_instruction(self.core, wallet.pubkey, self.settings.engine.thread_initial_lamports)]
        instructions += [create_idempotent_associated_token_account(self.core.pubkey, wallet.pubkey, mint)
                         for mint in (addresses.token_a_mint, addresses.token_b_mint,
                                      addresses.lp_token_a_mint, addresses.lp_token_b_mint)]
        if thread.initial_amount > 0:
            instructions.append(mint_instruction(self.core, pool.mint(thread.input_token), wallet.pubkey,
                                                 thread.initial_amount))
        await self.ensure_core_lamports(self.settings.engine.thread_initial_lamports + 4 * 2_039_280)
        async with pool.lock:
            result = await self.client.sender.send(instructions, self.core)
        self._require_ok(result, f"funding the wallet of {thread_id}")
        if thread.initial_amount > 0:
            self.count_minted(pool.mint(thread.input_token), thread.initial_amount)
        self._next_ids[thread_type] = max(self._next_ids[thread_type], int(thread_id.rsplit("_", 1)[1]) + 1)
        self.threads[thread_id] = thread
        self._save_threads()
        self._save_engine_state()
        self._mark_stats_dirty()
        return {"thread_id": thread_id, "wallet_address": str(wallet.pubkey), "status": thread.status}

    def _new_wallet(self) -> Wallet:
        """A fresh keypair: derived from the engine's RNG when a seed is configured, so that a
        seeded run creates the same mints and wallets every time."""
        if self.settings.engine.seed is None:
            return Wallet.generate()
        self._wallets_made += 1  # persisted, so a restarted engine never derives a key twice
        config = self.settings.engine
        material = f"{config.seed}:{config.key_namespace}:wallet:{self._wallets_made}".encode()
        return Wallet.from_keypair(Keypair.from_seed(hashlib.sha256(material).digest()))

    def _thread_seed(self, thread_id: str) -> int:
        base = self.settings.engine.seed if self.settings.engine.seed is not None else self._rng.getrandbits(64)
        return int.from_bytes(hashlib.sha256(f"{base}:{thread_id}".encode()).digest()[:8], "little")

    # ================================================================== threads: lifecycle

    async def start_thread(self, thread_id: str, *, reason: str = "manual_start") -> dict:
        thread = self._thread(thread_id)
        if thread.status == RUNNING:
            return {"thread_id": thread_id, "status": RUNNING, "message": "already running"}
        await self._start(thread, reason)
        self._save_threads()
        return {"thread_id": thread_id, "status": RUNNING}

    async def _start(self, thread: ThreadRecord, reason: str) -> None:
        """Start a thread's worker with a fresh session (the caller saves threads.json)."""
        thread_id = thread.thread_id
        pool = self.pools[thread.pool_id]
        view = await observe(self.cluster, pool.addresses, thread.wallet.pubkey, with_pool=False)
        thread.stats = ThreadStats(session_started_at=utc_now_iso(), session_start_reason=reason,
                                   starting_balances=view.wallet.numbers())
        thread.status, thread.started_at, thread.error_state, thread.waiting_reason = RUNNING, utc_now_iso(), None, None
        worker = Worker(self, thread, pool)
        self._running[thread_id] = _Running(worker, asyncio.create_task(worker.run(), name=thread_id))
        self._mark_stats_dirty()

    async def stop_thread(self, thread_id: str) -> dict:
        thread = self._thread(thread_id)
        if thread.status != RUNNING:
            return {"thread_id": thread_id, "status": thread.status, "message": f"not running ({thread.status})"}
        session_file = await self._stop_worker(thread_id, "manual_stop")
        self._save_threads()
        self._mark_stats_dirty()  # its session file holds the final figures; statistics.json follows on the next flush
        return {"thread_id": thread_id, "status": STOPPED, "session_file": session_file}

    async def _stop_worker(self, thread_id: str, reason: str) -> str | None:
        running = self._running.pop(thread_id, None)
        thread = self.threads[thread_id]
        if running is not None:
            running.worker.request_stop()
            if not running.worker.in_operation:
                running.task.cancel()  # nothing in flight: it ends at its next step, with nothing left to count
            else:
                await asyncio.gather(running.task, return_exceptions=True)  # finished and verified first
        if thread.status == ERROR:
            return None  # its session was closed when it entered the error state
        if thread.status == RUNNING:
            thread.status = STOPPED
        return await self._write_session(thread, reason)

    async def delete_thread(self, thread_id: str) -> dict:
        thread = self._thread(thread_id)
        if thread.status == RUNNING:
            raise ThreadRunning(f"Cannot delete thread {thread_id}: it is running; stop it first")
        del self.threads[thread_id]
        self.retired_wallets.setdefault(thread.pool_id, []).append(str(thread.wallet.pubkey))
        self._save_engine_state()
        self._steppers.pop(thread_id, None)
        self._recent_errors.pop(thread_id, None)
        self._sealed_keys.pop(thread_id, None)
        self._errors_dirty.discard(thread_id)
        self.store.delete_thread_files(thread_id)
        self._save_threads()
        self._save_statistics()
        return {"thread_id": thread_id, "deleted": True}

    async def run_cycle(self, thread_id: str) -> dict:
        """Run exactly one cycle of a thread that is not running (stepping, for tests and
        debugging); returns what happened."""
        thread = self._thread(thread_id)
        if thread.status == RUNNING:
            raise ThreadRunning(f"Thread {thread_id} is running; stop it to step it by hand")
        if thread.status == ERROR:
            raise ThreadInErrorState(f"Cannot step thread {thread_id}: thread is in error state")
        stepper = self._steppers.get(thread_id)
        if stepper is None:
            stepper = self._steppers[thread_id] = Worker(self, thread, self.pools[thread.pool_id])
        outcome = await stepper.cycle()
        self._mark_stats_dirty()
        if outcome is None:
            return {"thread_id": thread_id, "operation": None, "waiting_reason": thread.waiting_reason}
        return {"thread_id": thread_id, "operation": outcome.operation, "amount": outcome.amount,
                "ok": outcome.ok, "verdict": outcome.verdict, "error": outcome.error_name,
                "output": outcome.output, "findings": len(outcome.findings),
                "transaction_signature": outcome.result.signature}

    async def start_all_threads(self, pool_id: str | None = None) -> dict:
        started = [t for t in self._threads_of(pool_id) if t.status != RUNNING]
        for thread in started:
            await self._start(thread, "manual_start")
        self._save_threads()
        return {"started": [t.thread_id for t in started], "count": len(started)}

    async def stop_all_threads(self, pool_id: str | None = None) -> dict:
        stopping = [t.thread_id for t in self._threads_of(pool_id) if t.status == RUNNING]
        await asyncio.gather(*(self._stop_worker(thread_id, "manual_stop") for thread_id in stopping))
        self._save_threads()
        self._save_statistics()
        return {"stopped": stopping, "count": len(stopping)}

    def _threads_of(self, pool_id: str | None) -> list[ThreadRecord]:
        if pool_id is not None:
            self._pool(pool_id)
        return [t for t in self.threads.values() if pool_id is None or t.pool_id == pool_id]

    # ================================================================== outcomes (called by workers)

    def record_outcome(self, thread: ThreadRecord, pool: PoolRuntime, outcome: Outcome, *, empty: bool = False) -> None:
        stats = thread.stats
        now = utc_now_iso()
        thread.last_operation_at = stats.last_operation_at = now
        thread.waiting_reason = None
        stats.last_operation_duration_ms = round(outcome.latency_ms, 3)
        pool_fee = outcome.prediction.pool_fee if outcome.ok else 0
        stats.record_fee(outcome.result.fee, pool_fee)
        self.totals.record(outcome.operation, outcome.verdict, outcome.latency_ms, outcome.error_name,
                           outcome.result.fee, pool_fee)
        if outcome.ok:
            stats.successful_operations += 1
            stats.consecutive_failures = 0
            stats.last_success_at = now
            if not empty:
                stats.record_amount(outcome.amount)
                _book_success(stats, outcome)
        else:
            stats.failed_operations += 1
            stats.consecutive_failures += 1
            stats.record_error(outcome.error_name or "unknown")
            if outcome.verdict == "unexpected":
                stats.unexpected_failures += 1
            else:
                stats.expected_failures += 1
            self._record_error(thread.thread_id, _error_entry(outcome))
            error = outcome.result.error
            self.feed.add(outcome.verdict, f"{outcome.operation}: {outcome.error_name}",
                          error.message if error else "failed", now, thread_id=thread.thread_id,
                          pool_id=pool.record.pool_id)
        for finding in outcome.findings:
            self._record_finding(thread, pool, outcome, finding)
        if outcome.verdict == "unexpected" and not empty:
            self.enter_error_state(thread, {
                "error": outcome.result.error.to_dict() if outcome.result.error else None,
                "transaction_signature": outcome.result.signature, "logs": list(outcome.result.logs),
                "balances_before": outcome.before.wallet.to_json(), "balances_after": outcome.after.wallet.to_json(),
                "operation": outcome.operation, "amount": outcome.amount, "at": now})
        self._mark_stats_dirty()

    def record_wait(self, thread: ThreadRecord, reason: str) -> None:
        thread.stats.waiting_cycles += 1
        thread.waiting_reason = reason
        self.totals.waits += 1

    def record_side_error(self, thread: ThreadRecord, what: str, result: TxResult) -> None:
        """A supporting transaction (sharing, refill, top-up) failed; logged, the thread goes on."""
        thread.stats.record_error(result.error.name if result.error else "unknown")
        self._record_error(thread.thread_id, {
            "timestamp": utc_now_iso(), "operation_type": what, "error_message": result.error.message
            if result.error else "failed", "error": result.error.to_dict() if result.error else None,
            "transaction_signature": result.signature})

    def enter_error_state(self, thread: ThreadRecord, evidence: dict) -> None:
        thread.status = ERROR
        thread.error_state = evidence
        running = self._running.get(thread.thread_id)
        if running is not None:
            running.worker.request_stop()  # its loop ends and calls finish_errored
        self._record_error(thread.thread_id, {"timestamp": evidence.get("at", utc_now_iso()),
                                                   "operation_type": evidence.get("operation", "thread"),
                                                   "error_message": str(evidence.get("error")),
                                                   "recovery_action": "thread stopped (error state)"})
        self._save_threads()
        self.feed.add("unexpected", "thread stopped in error state", f"{thread.thread_id}: {evidence.get('error')}",
                      evidence.get("at", utc_now_iso()), thread_id=thread.thread_id, pool_id=thread.pool_id)
        log.warning("thread %s entered the error state: %s", thread.thread_id, evidence.get("error"))

    def recent_errors(self, thread_id: str) -> list[dict]:
        """The thread's last errors (at most 10), newest last."""
        errors = self._recent_errors.get(thread_id)
        if errors is None:
            errors = self._recent_errors[thread_id] = deque(self.store.load_errors(thread_id), maxlen=ERRORS_KEPT)
        return list(errors)

    def _record_error(self, thread_id: str, entry: dict) -> None:
        self.recent_errors(thread_id)
        self._recent_errors[thread_id].append(entry)
        self._errors_dirty.add(thread_id)

    async def finish_errored(self, thread: ThreadRecord) -> None:
        """The worker of a thread in the error state has ended: close its session."""
        self._running.pop(thread.thread_id, None)
        await self._write_session(thread, "error_state")
        self._save_threads()
        self._save_statistics()

    def _record_finding(self, thread: ThreadRecord, pool: PoolRuntime, outcome: Outcome, finding: dict) -> None:
        thread.stats.findings += 1
        self.totals.record_finding(finding["kind"])
        result = outcome.result
        self.store.write_finding(finding["kind"], {
            **finding, "detected_at": utc_now_iso(), "thread_id": thread.thread_id, "pool_id": pool.record.pool_id,
            "operation": outcome.operation, "token_type": outcome.token_type, "amount": outcome.amount,
            "prediction": outcome.prediction.to_json(), "actual_output": outcome.output,
            "transaction": {"signature": result.signature, "ok": result.ok, "fee": result.fee,
                            "compute_units": result.compute_units,
                            "error": result.error.to_dict() if result.error else None, "logs": list(result.logs)},
            "before": _view_json(outcome.before), "after": _view_json(outcome.after)})
        self.feed.add("finding", finding["kind"], f"{outcome.operation} {outcome.amount}: {finding['detail']}",
                      utc_now_iso(), thread_id=thread.thread_id, pool_id=pool.record.pool_id)
        log.error("FINDING %s on %s (%s %s): %s", finding["kind"], pool.record.pool_id, outcome.operation,
                  outcome.amount, finding["detail"])

    # ================================================================== empty, funding, minting

    async def empty_thread(self, thread_id: str) -> dict:
        """Burn the whole input balance first, attempt the operation with that amount, burn
        whatever it returned; never shares. Works running or stopped; refused in error state."""
        thread = self._thread(thread_id)
        if thread.status == ERROR:
            raise ThreadInErrorState(f"Cannot empty thread {thread_id}: thread is in error state")
        pool = self.pools[thread.pool_id]
        operation = OPERATION_OF[thread.thread_type]
        spend_mint = pool.lp_mint(thread.token_type) if thread.thread_type == "withdrawal" else pool.mint(
            thread.input_token)
        receive_mint = (pool.lp_mint(thread.token_type) if thread.thread_type == "deposit"
                        else pool.mint(thread.output_token))
        fees = 0
        async with pool.lock:
            before = await observe(self.cluster, pool.addresses, thread.wallet.pubkey)
            available = (before.wallet.lp(thread.token_type) if thread.thread_type == "withdrawal"
                         else before.wallet.token(thread.input_token))
            report = status_view.empty_report_base(thread, available)
            if available == 0:
                report["empty_operation"]["error_message"] = "nothing to empty: balance is 0"
            else:
                burned = await self._burn(thread.wallet, spend_mint, available)
                fees += burned.fee
                self._require_ok(burned, "burning the input balance")
                outcome = await run_verified(self.client, pool, thread.wallet, operation, thread.input_token,
                                             available, check=self.settings.engine.check_invariants)
                fees += outcome.result.fee
                self.record_outcome(thread, pool, outcome, empty=True)
                received = outcome.output if outcome.ok else 0
                if received > 0:
                    burned_out = await self._burn(thread.wallet, receive_mint, received)
                    fees += burned_out.fee
                    self._require_ok(burned_out, "burning the received tokens")
                status_view.fill_empty_report(report, thread, available, outcome, received, fees)
                thread.stats.empty_operations += 1
                thread.stats.empty_operations_failed += 0 if outcome.ok else 1
                thread.stats.tokens_burned += available + received
            after = await observe(self.cluster, pool.addresses, thread.wallet.pubkey, with_pool=False)
        report["post_empty_balances"] = status_view.post_empty_balances(thread, after.wallet)
        self._save_engine_state()
        self._mark_stats_dirty()
        return report

    async def _burn(self, owner: Wallet, mint: Pubkey, amount: int) -> TxResult:
        result = await self.client.burn_tokens(owner, mint, amount)
        if result.ok:
            self.burned[str(mint)] = self.burned.get(str(mint), 0) + amount
        return result

    async def fund_thread(self, thread_id: str, funding_type: str, amount: int) -> dict:
        thread = self._thread(thread_id)
        self._check_amount(amount, "amount", positive=True)
        pool = self.pools[thread.pool_id]
        async with pool.lock:
            if funding_type == "sol":
                result = await self.client.sender.send([sol_instruction(self.core, thread.wallet.pubkey, amount)],
                                                       self.core)
            elif funding_type in ("token_a", "token_b"):
                mint = pool.mint(funding_type[-1].upper())
                result = await self.client.sender.send([mint_instruction(self.core, mint, thread.wallet.pubkey,
                                                                         amount)], self.core)
            elif funding_type == "lp_tokens":
                result = await self._fund_lp(thread, pool, amount)
            else:
                raise InvalidRequest("funding_type must be one of sol, token_a, token_b, lp_tokens")
            self._require_ok(result, f"funding {thread_id}")
            if funding_type in ("token_a", "token_b"):
                self.count_minted(pool.mint(funding_type[-1].upper()), amount)
            if funding_type == "sol":
                thread.stats.sol_from_topups += amount
            else:
                thread.stats.tokens_funded_manually += amount
            view = await observe(self.cluster, pool.addresses, thread.wallet.pubkey, with_pool=False)
        self._mark_stats_dirty()
        return {"thread_id": thread_id, "funding_type": funding_type, "amount": amount,
                "transaction_signature": result.signature, "network_fee_paid": result.fee,
                "balances": status_view.balances(thread, view.wallet)}

    async def _fund_lp(self, thread: ThreadRecord, pool: PoolRuntime, amount: int) -> TxResult:
        """The core wallet deposits `amount` of the thread's side and transfers the LP it receives."""
        side = thread.token_type or thread.input_token
        addresses = pool.addresses
        setup = [create_idempotent_associated_token_account(self.core.pubkey, self.core.pubkey, mint)
                 for mint in (pool.mint(side), pool.lp_mint(side))]
        setup.append(mint_instruction(self.core, pool.mint(side), self.core.pubkey, amount))
        self._require_ok(await self.client.sender.send(setup, self.core), "preparing the core wallet")
        self.count_minted(pool.mint(side), amount)
        deposit = await self.client.deposit(self.core, addresses, pool.mint(side), amount)
        self._require_ok(deposit, "the core wallet's deposit")
        from engine.economy import token_transfers

        return await self.client.sender.send(token_transfers(self.core, pool.lp_mint(side), [thread], amount),
                                             self.core)

    async def mint_and_send_tokens(self, pool_id: str, token_type: str, recipient_address: str, amount: int) -> dict:
        pool = self._pool(pool_id)
        self._check_token_type(token_type)
        self._check_amount(amount, "amount", positive=True)
        try:
            recipient = Pubkey.from_string(recipient_address)
        except ValueError:
            raise InvalidRequest("recipient_address is not a valid base58 public key") from None
        mint = pool.mint(token_type)
        instructions = [create_idempotent_associated_token_account(self.core.pubkey, recipient, mint),
                        mint_instruction(self.core, mint, recipient, amount)]
        async with pool.lock:
            result = await self.client.sender.send(instructions, self.core)
        self._require_ok(result, "minting")
        self.count_minted(mint, amount)
        if not any(t.wallet.pubkey == recipient for t in self.threads.values()):
            holders = self._external_recipients.setdefault(str(mint), [])
            if recipient_address not in holders:
                holders.append(recipient_address)
                self._save_engine_state()
        return {"transaction_signature": result.signature, "pool_id": pool_id, "token_mint": str(mint),
                "token_type": token_type, "recipient_address": recipient_address, "amount_minted": amount,
                "network_fee_paid": result.fee}

    # ================================================================== reading

    async def get_thread_status(self, thread_id: str) -> dict:
        thread = self._thread(thread_id)
        pool = self.pools[thread.pool_id]
        view = await observe(self.cluster, pool.addresses, thread.wallet.pubkey, with_pool=False)
        return status_view.thread_status(self, thread, pool, view.wallet)

    async def get_all_threads(self, pool_id: str | None = None) -> dict:
        threads = self._threads_of(pool_id)
        wallets = await self._wallet_views(threads)
        statuses = []
        for index, thread in enumerate(threads):
            statuses.append(status_view.thread_status(self, thread, self.pools[thread.pool_id],
                                                      wallets[thread.thread_id]))
            if index % 100 == 99:
                await asyncio.sleep(0)  # thousands of threads: let the workers and other callers in
        return {"threads": statuses, "summary": status_view.threads_summary(threads)}

    async def _wallet_views(self, threads: list[ThreadRecord]) -> dict:
        from engine.observe import WalletView, wallet_accounts, _token_amount

        keys = []
        for thread in threads:
            keys += wallet_accounts(thread.wallet.pubkey, self.pools[thread.pool_id].addresses)
        accounts = await self.cluster.get_multiple_accounts(keys) if keys else []
        views = {}
        for index, thread in enumerate(threads):
            sol, a, b, lp_a, lp_b = accounts[index * 5:(index + 1) * 5]
            views[thread.thread_id] = WalletView(sol.lamports if sol else 0, _token_amount(a), _token_amount(b),
                                                 _token_amount(lp_a), _token_amount(lp_b))
        return views

    async def get_thread_sessions(self, thread_id: str, limit: int | None = None) -> dict:
        if thread_id not in self.threads and not self.store.list_sessions(thread_id, 1):
            raise ThreadNotFound(f"Thread {thread_id} not found")
        sessions = self.store.list_sessions(thread_id, limit)
        return {"thread_id": thread_id, "sessions": [status_view.session_summary(s) for s in sessions]}

    async def get_findings(self, limit: int | None = 50) -> dict:
        return {"count": self.store.count_findings(), "by_kind": dict(self.totals.findings_by_kind),
                "findings": self.store.list_findings(limit)}

    async def core_wallet_status(self) -> dict:
        lamports = await self.cluster.get_balance(self.core.pubkey)
        return {"address": str(self.core.pubkey), "sol_balance": lamports,
                "airdrop_available": bool(getattr(self.cluster, "supports_airdrop", False))}

    async def airdrop_sol(self, lamports: int, address: str | None = None) -> dict:
        self._check_amount(lamports, "lamports", positive=True)
        target = Pubkey.from_string(address) if address else self.core.pubkey
        result = await self.cluster.airdrop(target, lamports)
        self._require_ok(result, "airdrop")
        return {"address": str(target), "lamports": lamports, "transaction_signature": result.signature}

    @property
    def chain_description(self) -> str:
        return describe(self.cluster)

    @property
    def supports_airdrop(self) -> bool:
        return bool(getattr(self.cluster, "supports_airdrop", False))

    def overview(self) -> dict:
        """Counts for health checks and metrics, without any chain read."""
        by_status: dict[str, int] = {}
        for thread in self.threads.values():
            by_status[thread.status] = by_status.get(thread.status, 0) + 1
        return {"mode": self.cluster.mode, "pools": len(self.pools), "threads": len(self.threads),
                "threads_by_status": by_status}

    async def chain_health(self, timeout_s: float = 5.0) -> dict:
        """Whether the chain answers (a latest-blockhash round trip), and how fast."""
        started = time.perf_counter()
        try:
            await asyncio.wait_for(self.cluster.get_latest_blockhash(), timeout_s)
        except Exception as exc:  # any failure means the chain does not answer
            return {"mode": self.cluster.mode, "ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
        return {"mode": self.cluster.mode, "ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 3)}

    async def thread_summaries(self) -> list[dict]:
        return [status_view.thread_summary(thread) for thread in self.threads.values()]

    async def write_report(self, name: str, data: dict) -> str:
        return str(self.store.write_report(name, data))

    async def ledger_audit(self) -> dict:
        from engine.audit import ledger_audit

        return await ledger_audit(self)

    async def snapshot(self, *, feed_limit: int = 100) -> dict:
        """Everything a live view needs in one cheap call: no per-thread chain reads (balances
        are the ones each thread's last cycle observed)."""
        core_lamports = await self.cluster.get_balance(self.core.pubkey)
        counts = self._thread_counts_by_pool()
        return {
            "taken_at": utc_now_iso(),
            "engine": status_view.engine_header(self, core_lamports),
            "threads": [status_view.thread_row(t) for t in self.threads.values()],
            "pools": [status_view.pool_row(pool, counts[pool_id]) for pool_id, pool in self.pools.items()],
            "feed": self.feed.latest(feed_limit),
            "feed_version": self.feed.version,
        }

    async def get_engine_status(self) -> dict:
        return {
            "cluster": {"mode": self.cluster.mode, "description": describe(self.cluster),
                        "url": getattr(self.cluster, "url", None)},
            "program_id": str(self.cluster.program_id),
            "core_wallet": str(self.core.pubkey),
            "started_at": self.started_at,
            "uptime_seconds": round(time.monotonic() - self.started_monotonic, 1),
            "pools": len(self.pools),
            "threads": status_view.threads_summary(list(self.threads.values())),
            "totals": self.totals.summary(),
            "findings": self.store.count_findings(),
            "cpu_percent_per_core": psutil.cpu_percent(percpu=True),
            "memory_rss_bytes": psutil.Process().memory_info().rss,
            "problems": list(self.problems),
        }

    # ================================================================== background work

    async def _sol_monitor(self) -> None:
        interval = self.settings.engine.sol_monitor_interval_s
        while True:
            await asyncio.sleep(interval)
            try:
                await self.top_up_wallets()
            except (ChainError, InsufficientCoreFunds) as exc:
                log.warning("SOL monitor round failed: %s", exc)

    async def ensure_core_lamports(self, needed: int) -> None:
        """Make sure the core wallet can pay `needed` lamports and stay above its minimum:
        airdrop where the cluster has a faucet, otherwise refuse with a clear error."""
        balance = await self.cluster.get_balance(self.core.pubkey)
        floor = needed + self.settings.wallet.min_core_lamports // 10
        if balance >= floor:
            return
        if getattr(self.cluster, "supports_airdrop", False):
            result = await self.cluster.airdrop(self.core.pubkey, max(self.settings.wallet.airdrop_lamports,
                                                                      floor - balance))
            if result.ok:
                return
        raise InsufficientCoreFunds(
            f"the core wallet {self.core.pubkey} holds {balance / 1e9:.3f} SOL, needs {floor / 1e9:.3f} SOL; "
            f"fund it (fund_thread and thread creation draw on it)")

    async def top_up_wallets(self) -> int:
        """One SOL-monitor round: top up every thread wallet below the threshold; keep the core
        wallet funded where the cluster has a faucet. Returns how many wallets were topped up."""
        config = self.settings.engine
        topped = 0
        for pool_id, pool in self.pools.items():
            threads = [t for t in self.threads.values() if t.pool_id == pool_id]
            if not threads:
                continue
            async with pool.lock:
                accounts = await self.cluster.get_multiple_accounts([t.wallet.pubkey for t in threads])
                low = [t for t, account in zip(threads, accounts)
                       if (account.lamports if account else 0) < config.sol_threshold_lamports]
                if low:
                    await self.ensure_core_lamports(len(low) * config.sol_topup_lamports)
                    for result in await top_up_sol(self.client, self.core, low, config.sol_topup_lamports):
                        if not result.ok:
                            log.warning("SOL top-up failed: %s", result.error)
                    topped += len(low)
        return topped

    async def _stats_flusher(self) -> None:
        while True:
            await asyncio.sleep(self.settings.engine.stats_flush_interval_s)
            if self._stats_dirty:
                self._save_statistics()

    # ================================================================== persistence

    def checkpoint(self) -> None:
        """Flush everything to disk now, including the embedded ledger's snapshot."""
        self._save_threads()
        self._save_statistics()
        self._save_engine_state()
        ledger = getattr(self.cluster, "ledger", None)
        if ledger is not None:
            ledger.save_snapshot()

    def _save_pools(self) -> None:
        self.store.save_pools({pool_id: pool.record.to_json() for pool_id, pool in self.pools.items()})

    def _save_threads(self) -> None:
        self.store.save_threads({thread_id: thread.to_json(self._sealed(thread))
                                 for thread_id, thread in self.threads.items()})

    def _sealed(self, thread: ThreadRecord) -> str:
        """The thread's sealed keypair, sealed once (encryption costs tens of µs per key)."""
        sealed = self._sealed_keys.get(thread.thread_id)
        if sealed is None:
            sealed = self._sealed_keys[thread.thread_id] = self.store.seal_secret(thread.wallet.secret())
        return sealed

    def _save_statistics(self) -> None:
        """statistics.json and the error files written since the last save."""
        self.store.save_statistics({thread_id: thread.stats.to_json() for thread_id, thread in self.threads.items()})
        for thread_id in self._errors_dirty:
            if thread_id in self.threads:
                self.store.save_errors(thread_id, self._recent_errors[thread_id])
        self._errors_dirty.clear()
        self._stats_dirty = False

    def _save_engine_state(self) -> None:
        self.store.save_engine_state({"next_ids": self._next_ids, "external_recipients": self._external_recipients,
                                      "burned": self.burned, "minted": self.minted,
                                      "retired_wallets": self.retired_wallets, "wallets_made": self._wallets_made})

    def count_minted(self, mint: Pubkey, amount: int) -> None:
        self.minted[str(mint)] = self.minted.get(str(mint), 0) + amount

    @property
    def external_recipients(self) -> dict[str, list[str]]:
        """Owners outside the engine that received minted tokens (mint -> owner addresses)."""
        return self._external_recipients

    def _mark_stats_dirty(self) -> None:
        self._stats_dirty = True

    async def _write_session(self, thread: ThreadRecord, stop_reason: str) -> str | None:
        if not thread.stats.session_started_at:
            return None
        pool = self.pools[thread.pool_id]
        view = await observe(self.cluster, pool.addresses, thread.wallet.pubkey, with_pool=False)
        session = status_view.session_document(thread, view.wallet, stop_reason)
        return self.store.write_session(thread.thread_id, session, _now_datetime())

    # ================================================================== helpers

    def _pool(self, pool_id: str) -> PoolRuntime:
        pool = self.pools.get(pool_id)
        if pool is None:
            raise PoolNotFound(f"Pool {pool_id} not found in registry")
        return pool

    def _thread(self, thread_id: str) -> ThreadRecord:
        thread = self.threads.get(thread_id)
        if thread is None:
            raise ThreadNotFound(f"Thread {thread_id} not found")
        return thread

    @staticmethod
    def _check_token_type(token_type: str) -> None:
        if token_type not in TOKEN_TYPES:
            raise InvalidRequest("token_type must be 'A' or 'B'")

    @staticmethod
    def _check_amount(amount: int, name: str, positive: bool = False) -> None:
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < (1 if positive else 0) or amount > U64_MAX:
            raise InvalidRequest(f"{name} must be an integer between {1 if positive else 0} and 2^64-1")

    @staticmethod
    def _require_ok(result: TxResult, what: str) -> None:
        if not result.ok:
            error = result.error
            raise OperationFailed(f"{what} failed: {error.name if error else 'unknown error'}",
                                  {"error": error.to_dict() if error else None, "signature": result.signature,
                                   "logs": list(result.logs)[-20:]})



def _now_datetime():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)


def _book_success(stats: ThreadStats, outcome: Outcome) -> None:
    if outcome.operation == "deposit":
        stats.successful_deposits += 1
        stats.tokens_deposited += outcome.amount
        stats.lp_tokens_received += outcome.output
    elif outcome.operation == "withdraw":
        stats.successful_withdrawals += 1
        stats.lp_tokens_used += outcome.amount
        stats.tokens_withdrawn += outcome.output
    else:
        stats.successful_swaps += 1
        stats.swap_input_total += outcome.amount
        stats.swap_output_total += outcome.output


def _error_entry(outcome: Outcome) -> dict:
    error = outcome.result.error
    return {"timestamp": utc_now_iso(), "error_message": error.message if error else "failed",
            "error_name": outcome.error_name, "category": outcome.verdict, "operation_type": outcome.operation,
            "operation_details": {"attempted_amount": outcome.amount,
                                  "available_balance": _available(outcome), "operation_type": outcome.operation},
            "transaction_signature": outcome.result.signature,
            "recovery_action": "thread stopped (error state)" if outcome.verdict == "unexpected" else "continue"}


def _available(outcome: Outcome) -> int:
    wallet = outcome.before.wallet
    return wallet.lp(outcome.token_type) if outcome.operation == "withdraw" else wallet.token(outcome.token_type)


def _view_json(view) -> dict:
    pool = view.pool
    data = {"wallet": view.wallet.numbers()}
    if pool is not None:
        data["pool"] = pool.numbers() | {"flags": pool.state.flags, "system_paused": pool.system_paused}
    return data
