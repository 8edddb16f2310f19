"""The Engine facade: one object per shard with an async method per operation, in front of the
parts that do the work — the registry (pools, threads, files), the recorder (statistics), the
treasury (the core wallet's money) and the workers. The JSON-RPC API and the console are thin
clients of it."""
from __future__ import annotations

import asyncio
import logging
import os
import time

import psutil
from solders.pubkey import Pubkey

from engine import status as status_view
from engine.bootstrap import bootstrap, load_wallets
from engine.chain.base import ChainError, Cluster
from engine.chain.factory import open_cluster
from engine.exceptions import (
    InsufficientCoreFunds,
    InvalidRequest,
    PoolNotFound,
    ThreadInErrorState,
    ThreadRunning,
)
from engine.feed import EventFeed
from engine.frt.client import FrtClient
from engine.kinds import kind_of
from engine.observe import observe, wallet_views
from engine.operations import Outcome, require_ok, run_verified
from engine.pools import DIRECTIONS, TOKEN_TYPES, PoolRecord, PoolRuntime, draw_pool_spec
from engine.recorder import Recorder, error_evidence
from engine.registry import Registry
from engine.store import StateStore, utc_now_iso
from engine.threads import ERROR, RUNNING, STOPPED, ThreadRecord, set_status
from engine.treasury import Treasury
from engine.wallet import Wallet
from engine.runner import Runner
from engine.workers import TurnGate

log = logging.getLogger(__name__)
U64_MAX = 2**64 - 1
PASSPHRASE_ENV = "FRT_STRESS_PASSPHRASE"


class Engine:
    def __init__(self, settings, store: StateStore, cluster: Cluster, core: Wallet) -> None:
        self.settings = settings
        self.store = store
        self.cluster = cluster
        self.client = FrtClient(cluster)
        self.core = core
        self.feed = EventFeed()
        self.recorder = Recorder(store, self.feed)
        self.registry = Registry(settings, store, cluster.program_id)
        self.treasury = Treasury(settings, cluster, self.client, core, self.recorder)
        self.gate = TurnGate()
        self.started_monotonic = time.monotonic()
        self.started_at = utc_now_iso()
        self.problems: list[str] = self.registry.problems
        self.notes: list[str] = []
        self.runner = Runner(self)
        self._background: list[asyncio.Task] = []
        self._closed = False

    # ---- the parts, under the names callers and tests use ----------------------------------------

    @property
    def pools(self) -> dict[str, PoolRuntime]:
        return self.registry.pools

    @property
    def threads(self) -> dict[str, ThreadRecord]:
        return self.registry.threads

    @property
    def _running(self) -> dict:
        """thread id -> the running worker and its task."""
        return self.runner.running

    @property
    def totals(self):
        return self.recorder.totals

    @property
    def minted(self) -> dict[str, int]:
        return self.treasury.minted

    @property
    def burned(self) -> dict[str, int]:
        return self.treasury.burned

    @property
    def external_recipients(self) -> dict[str, list[str]]:
        """Owners outside the engine that received minted tokens (mint -> owner addresses)."""
        return self.treasury.external_recipients

    @property
    def retired_wallets(self) -> dict[str, list[str]]:
        return self.treasury.retired_wallets

    def count_minted(self, mint: Pubkey, amount: int) -> None:
        self.treasury.count_minted(mint, amount)

    async def ensure_core_lamports(self, needed: int) -> None:
        await self.treasury.ensure_core_lamports(needed)

    def recent_errors(self, thread_id: str) -> list[dict]:
        return self.recorder.recent_errors(thread_id)

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
        engine.treasury.load(await engine.registry.restore(engine.client))
        for _ in range(max(0, settings.engine.target_pool_count - len(engine.pools))):
            await engine.create_pool()
        was_running = [thread for thread in engine.threads.values() if thread.status == RUNNING]
        for thread in was_running:
            set_status(thread, STOPPED)
        if settings.engine.resume_running_threads:
            for thread in was_running:
                await engine.runner.start(thread, "resumed_after_restart")
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
        was_running = list(self._running)
        await asyncio.gather(*(self.runner.stop(self.threads[thread_id], "engine_shutdown")
                               for thread_id in was_running))
        for thread_id in was_running:
            set_status(self.threads[thread_id], RUNNING)
        self._save_threads()
        self._save_statistics()
        self._save_engine_state()
        await self.cluster.close()

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
        spec = draw_pool_spec(self.registry.rng, token_a_decimals, token_b_decimals, ratio_whole_number,
                              ratio_direction, flags)
        ratio_a, ratio_b = spec.ratios
        if ratio_a > U64_MAX or ratio_b > U64_MAX:
            raise InvalidRequest("the ratio does not fit in u64 base units with these decimals")
        # Mint addresses decide the contract's token order: generate them first and give the
        # requested token A decimals to the sorted-first mint, so "1 A = N B" holds as asked.
        await self.treasury.ensure_core_lamports(1_200_000_000)  # registration fee + rent of the pool accounts
        first, second = sorted((self.registry.new_wallet(), self.registry.new_wallet()), key=lambda w: bytes(w.pubkey))
        for wallet, decimals in ((first, spec.token_a_decimals), (second, spec.token_b_decimals)):
            result, _ = await self.client.create_mint(self.core, decimals, wallet)
            require_ok(result, "creating a mint")
        created = await self.client.create_pool(self.core, first.pubkey, second.pubkey, ratio_a, ratio_b,
                                                spec.flags)
        require_ok(created.result, "InitializePool")
        record = PoolRecord(pool_id=str(created.addresses.pool_state), token_a_mint=str(first.pubkey),
                            token_a_decimals=spec.token_a_decimals, token_b_mint=str(second.pubkey),
                            token_b_decimals=spec.token_b_decimals, ratio_a_numerator=ratio_a,
                            ratio_b_denominator=ratio_b, flags=spec.flags, created_at=utc_now_iso())
        self.registry.add_pool(record)
        self.registry.save_pools()
        self._save_engine_state()
        return {key: value for key, value in record.summary().items() if key != "created_at"}

    async def list_pools(self) -> dict:
        counts = self.registry.thread_counts_by_pool()
        return {"pools": [pool.record.summary() | {"thread_counts": counts[pool_id]}
                          for pool_id, pool in self.pools.items()]}

    async def get_pool(self, pool_id: str) -> dict:
        pool = self.registry.pool(pool_id)
        addresses = pool.addresses
        accounts = await self.cluster.get_multiple_accounts([addresses.pool_state])
        if accounts[0] is None:
            raise PoolNotFound(f"Pool {pool_id} has no account on the chain")
        view = await observe(self.cluster, addresses, self.core.pubkey)
        return status_view.pool_detail(pool, view.pool, self.registry.thread_counts_by_pool()[pool_id])

    # ================================================================== threads: creation

    async def create_deposit_thread(self, pool_id: str, token_type: str, initial_amount: int = 0,
                                    auto_refill: bool = False, share_lp_tokens: bool = True,
                                    thread_id: str | None = None) -> dict:
        pool = self.registry.pool(pool_id)
        self._check_token_type(token_type)
        self._check_amount(initial_amount, "initial_amount")
        return await self._create_thread("deposit", pool, token_type=token_type, initial_amount=initial_amount,
                                         auto_refill=bool(auto_refill) and initial_amount > 0,
                                         share_lp_tokens=share_lp_tokens, thread_id=thread_id)

    async def create_withdrawal_thread(self, pool_id: str, token_type: str, thread_id: str | None = None) -> dict:
        pool = self.registry.pool(pool_id)
        self._check_token_type(token_type)
        return await self._create_thread("withdrawal", pool, token_type=token_type, thread_id=thread_id)

    async def create_swap_thread(self, pool_id: str, direction: str, initial_amount: int = 0,
                                 thread_id: str | None = None) -> dict:
        pool = self.registry.pool(pool_id)
        if direction not in DIRECTIONS:
            raise InvalidRequest("direction must be 'a_to_b' or 'b_to_a'")
        self._check_amount(initial_amount, "initial_amount")
        return await self._create_thread("swap", pool, swap_direction=direction, initial_amount=initial_amount,
                                         thread_id=thread_id)

    async def _create_thread(self, thread_type: str, pool: PoolRuntime, thread_id: str | None = None,
                             **config) -> dict:
        kind_of(thread_type).check_new(pool.record.pool_id, config, self.threads.values())
        thread_id = self.registry.thread_id_for(thread_type, thread_id)
        wallet = self.registry.new_wallet()
        thread = ThreadRecord(thread_id=thread_id, thread_type=thread_type, pool_id=pool.record.pool_id,
                              wallet=wallet, seed=self.registry.thread_seed(thread_id), created_at=utc_now_iso(),
                              **config)
        await self.treasury.fund_new_thread(pool, thread)
        self.registry.add_thread(thread)
        self._save_threads()
        self._save_engine_state()
        self.recorder.dirty = True
        return {"thread_id": thread_id, "wallet_address": str(wallet.pubkey), "status": thread.status}

    # ================================================================== threads: lifecycle

    async def start_thread(self, thread_id: str, *, reason: str = "manual_start") -> dict:
        thread = self.registry.thread(thread_id)
        if thread.status == RUNNING:
            return {"thread_id": thread_id, "status": RUNNING, "message": "already running"}
        await self.runner.start(thread, reason)
        self._save_threads()
        return {"thread_id": thread_id, "status": RUNNING}

    async def stop_thread(self, thread_id: str) -> dict:
        thread = self.registry.thread(thread_id)
        if thread.status != RUNNING:
            return {"thread_id": thread_id, "status": thread.status, "message": f"not running ({thread.status})"}
        session_file = await self.runner.stop(thread, "manual_stop")
        self._save_threads()
        self.recorder.dirty = True  # its session file holds the final figures; statistics.json follows on the next flush
        return {"thread_id": thread_id, "status": STOPPED, "session_file": session_file}

    async def delete_thread(self, thread_id: str) -> dict:
        thread = self.registry.thread(thread_id)
        if thread.status == RUNNING:
            raise ThreadRunning(f"Cannot delete thread {thread_id}: it is running; stop it first")
        self.registry.remove_thread(thread_id)
        self.treasury.retire(thread)
        self._save_engine_state()
        self.runner.forget(thread_id)
        self.recorder.forget(thread_id)
        self._save_threads()
        self._save_statistics()
        return {"thread_id": thread_id, "deleted": True}

    async def run_cycle(self, thread_id: str) -> dict:
        """Run exactly one cycle of a thread that is not running (stepping, for tests and
        debugging); returns what happened."""
        thread = self.registry.thread(thread_id)
        if thread.status == RUNNING:
            raise ThreadRunning(f"Thread {thread_id} is running; stop it to step it by hand")
        if thread.status == ERROR:
            raise ThreadInErrorState(f"Cannot step thread {thread_id}: thread is in error state")
        outcome = await self.runner.step(thread)
        self.recorder.dirty = True
        if outcome is None:
            return {"thread_id": thread_id, "operation": None, "waiting_reason": thread.waiting_reason}
        return {"thread_id": thread_id, "operation": outcome.operation, "amount": outcome.amount,
                "ok": outcome.ok, "verdict": outcome.verdict, "error": outcome.error_name,
                "output": outcome.output, "findings": len(outcome.findings),
                "transaction_signature": outcome.result.signature}

    async def start_all_threads(self, pool_id: str | None = None) -> dict:
        started = [t for t in self.registry.threads_of(pool_id) if t.status != RUNNING]
        for thread in started:
            await self.runner.start(thread, "manual_start")
        self._save_threads()
        return {"started": [t.thread_id for t in started], "count": len(started)}

    async def stop_all_threads(self, pool_id: str | None = None) -> dict:
        stopping = [t.thread_id for t in self.registry.threads_of(pool_id) if t.status == RUNNING]
        await asyncio.gather(*(self.runner.stop(self.threads[thread_id], "manual_stop") for thread_id in stopping))
        self._save_threads()
        self._save_statistics()
        return {"stopped": stopping, "count": len(stopping)}

    # ================================================================== outcomes (called by workers)

    def record_outcome(self, thread: ThreadRecord, pool: PoolRuntime, outcome: Outcome, *, empty: bool = False) -> None:
        now = utc_now_iso()
        self.recorder.record_outcome(thread, pool, outcome, empty=empty, now=now)
        if outcome.verdict == "unexpected" and not empty:
            self.enter_error_state(thread, error_evidence(outcome, now))

    def enter_error_state(self, thread: ThreadRecord, evidence: dict) -> None:
        set_status(thread, ERROR, evidence=evidence)
        self.runner.halt(thread)
        self.recorder.record_error_state(thread, evidence)
        self._save_threads()

    async def finish_errored(self, thread: ThreadRecord) -> None:
        """The worker of a thread in the error state has ended: close its session."""
        self.runner.finished(thread)
        await self.runner.write_session(thread, "error_state")
        self._save_threads()
        self._save_statistics()

    # ================================================================== empty, funding, minting

    async def empty_thread(self, thread_id: str) -> dict:
        """Burn the whole input balance first, attempt the operation with that amount, burn
        whatever it returned; never shares. Works running or stopped; refused in error state."""
        thread = self.registry.thread(thread_id)
        if thread.status == ERROR:
            raise ThreadInErrorState(f"Cannot empty thread {thread_id}: thread is in error state")
        pool = self.pools[thread.pool_id]
        kind = thread.kind
        spend_mint, receive_mint = kind.spend_mint(pool, thread), kind.receive_mint(pool, thread)
        fees = 0
        async with pool.lock:
            before = await observe(self.cluster, pool.addresses, thread.wallet.pubkey)
            available = kind.input_balance(thread, before.wallet)
            report = status_view.empty_report_base(thread, available)
            if available == 0:
                report["empty_operation"]["error_message"] = "nothing to empty: balance is 0"
            else:
                burned = await self.treasury.burn(thread.wallet, spend_mint, available)
                fees += burned.fee
                require_ok(burned, "burning the input balance")
                outcome = await run_verified(self.client, pool, thread.wallet, kind.operation, thread.input_token,
                                             available, check=self.settings.engine.check_invariants)
                fees += outcome.result.fee
                self.record_outcome(thread, pool, outcome, empty=True)
                received = outcome.output if outcome.ok else 0
                if received > 0:
                    burned_out = await self.treasury.burn(thread.wallet, receive_mint, received)
                    fees += burned_out.fee
                    require_ok(burned_out, "burning the received tokens")
                status_view.fill_empty_report(report, thread, available, outcome, received, fees)
                self.recorder.record_empty(thread, outcome.ok, available + received)
            after = await observe(self.cluster, pool.addresses, thread.wallet.pubkey, with_pool=False)
        report["post_empty_balances"] = status_view.post_empty_balances(thread, after.wallet)
        self._save_engine_state()
        self.recorder.dirty = True
        return report

    async def fund_thread(self, thread_id: str, funding_type: str, amount: int) -> dict:
        thread = self.registry.thread(thread_id)
        self._check_amount(amount, "amount", positive=True)
        pool = self.pools[thread.pool_id]
        async with pool.lock:
            result = await self.treasury.fund(thread, pool, funding_type, amount)
            view = await observe(self.cluster, pool.addresses, thread.wallet.pubkey, with_pool=False)
        return {"thread_id": thread_id, "funding_type": funding_type, "amount": amount,
                "transaction_signature": result.signature, "network_fee_paid": result.fee,
                "balances": status_view.balances(thread, view.wallet)}

    async def mint_and_send_tokens(self, pool_id: str, token_type: str, recipient_address: str, amount: int) -> dict:
        pool = self.registry.pool(pool_id)
        self._check_token_type(token_type)
        self._check_amount(amount, "amount", positive=True)
        try:
            recipient = Pubkey.from_string(recipient_address)
        except ValueError:
            raise InvalidRequest("recipient_address is not a valid base58 public key") from None
        mint = pool.mint(token_type)
        external = not any(t.wallet.pubkey == recipient for t in self.threads.values())
        result, recorded = await self.treasury.mint_and_send(pool, mint, recipient, amount,
                                                             recipient_address if external else None)
        if recorded:
            self._save_engine_state()
        return {"transaction_signature": result.signature, "pool_id": pool_id, "token_mint": str(mint),
                "token_type": token_type, "recipient_address": recipient_address, "amount_minted": amount,
                "network_fee_paid": result.fee}

    # ================================================================== reading

    async def get_thread_status(self, thread_id: str) -> dict:
        thread = self.registry.thread(thread_id)
        pool = self.pools[thread.pool_id]
        view = await observe(self.cluster, pool.addresses, thread.wallet.pubkey, with_pool=False)
        return status_view.thread_status(self, thread, pool, view.wallet)

    async def get_all_threads(self, pool_id: str | None = None) -> dict:
        threads = self.registry.threads_of(pool_id)
        wallets = await wallet_views(self.cluster, [(t.thread_id, t.wallet.pubkey, self.pools[t.pool_id].addresses)
                                                         for t in threads])
        statuses = []
        for index, thread in enumerate(threads):
            statuses.append(status_view.thread_status(self, thread, self.pools[thread.pool_id],
                                                      wallets[thread.thread_id]))
            if index % 100 == 99:
                await asyncio.sleep(0)  # thousands of threads: let the workers and other callers in
        return {"threads": statuses, "summary": status_view.threads_summary(threads)}

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
                "airdrop_available": self.supports_airdrop}

    async def airdrop_sol(self, lamports: int, address: str | None = None) -> dict:
        self._check_amount(lamports, "lamports", positive=True)
        target = Pubkey.from_string(address) if address else self.core.pubkey
        result = await self.cluster.airdrop(target, lamports)
        require_ok(result, "airdrop")
        return {"address": str(target), "lamports": lamports, "transaction_signature": result.signature}

    @property
    def chain_description(self) -> str:
        return self.cluster.describe()

    @property
    def supports_airdrop(self) -> bool:
        return bool(self.cluster.supports_airdrop)

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
        counts = self.registry.thread_counts_by_pool()
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
            "cluster": {"mode": self.cluster.mode, "description": self.cluster.describe(),
                        "url": self.cluster.url},
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

    async def top_up_wallets(self) -> int:
        """One SOL-monitor round: top up every thread wallet below the threshold. Returns how
        many wallets were topped up."""
        return await self.treasury.top_up_wallets(self.pools, list(self.threads.values()))

    async def _stats_flusher(self) -> None:
        while True:
            await asyncio.sleep(self.settings.engine.stats_flush_interval_s)
            if self.recorder.dirty:
                self._save_statistics()

    # ================================================================== persistence

    def checkpoint(self) -> None:
        """Flush everything to disk now, including the embedded ledger's snapshot."""
        self._save_threads()
        self._save_statistics()
        self._save_engine_state()
        self.cluster.checkpoint()

    def _save_threads(self) -> None:
        self.registry.save_threads()

    def _save_statistics(self) -> None:
        """statistics.json and the error files written since the last save."""
        self.registry.save_statistics()
        self.recorder.flush_errors(self.threads)
        self.recorder.dirty = False

    def _save_engine_state(self) -> None:
        self.registry.save_engine_state(self.treasury.records())

    # ================================================================== input checks

    @staticmethod
    def _check_token_type(token_type: str) -> None:
        if token_type not in TOKEN_TYPES:
            raise InvalidRequest("token_type must be 'A' or 'B'")

    @staticmethod
    def _check_amount(amount: int, name: str, positive: bool = False) -> None:
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < (1 if positive else 0) or amount > U64_MAX:
            raise InvalidRequest(f"{name} must be an integer between {1 if positive else 0} and 2^64-1")

