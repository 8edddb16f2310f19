"""The Engine facade: one object per shard with a method per operation (engine/api/operations.py
names them; the shard calls the method of the same name with the validated params), in front of
the parts that keep state — the registry (pools, threads, files), the recorder (statistics), the
treasury (the core wallet's money), the runner (worker tasks) — and the modules that do one job
each: creation, lifecycle, emptying, funding, reads, background. Params arrive validated by the
operation's model; the facade only delegates, saves and hands out its parts."""
from __future__ import annotations

import asyncio
import os
import time

from engine import audit, background, creation, emptying, funding, lifecycle, reads
from engine.bootstrap import bootstrap, load_wallets
from engine.chain.base import Cluster
from engine.chain.factory import open_cluster
from engine.history.log import HistoryLog
from engine.feed import EventFeed
from engine.frt.client import FrtClient
from engine.operations import Outcome
from engine.pools import PoolRuntime
from engine.recorder import Recorder, error_evidence
from engine.registry import Registry
from engine.runner import Runner
from engine.store import StateStore, utc_now_iso
from engine.threads import ERROR, ThreadRecord, set_status
from engine.treasury import Treasury
from engine.wallet import Wallet
from engine.workers import TurnGate

PASSPHRASE_ENV = "FRT_STRESS_PASSPHRASE"


class _Delegated:
    """An attribute of one of the Engine's parts, read through the Engine."""

    def __init__(self, part: str, name: str | None = None) -> None:
        self.part, self.name = part, name

    def __set_name__(self, owner, name: str) -> None:
        self.name = self.name or name

    def __get__(self, engine, owner=None):
        return self if engine is None else getattr(getattr(engine, self.part), self.name)


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
        self.history = HistoryLog(
            store.data_dir / "history", cluster.program_id,
            program={"program_id": str(cluster.program_id), "mode": cluster.mode,
                     "program_so": str(settings.program.program_so) if settings.program.program_so else None},
            name_of=lambda key: "core" if key == core.pubkey else self.registry.wallet_names.get(key))
        self.client.sender.on_late_landing = self.recorder.record_late_landing
        if settings.engine.record_history:
            self.client.sender.observer = self.history.observe
            self.recorder.on_new_group = self.history.flush
        self.treasury = Treasury(settings, cluster, self.client, core, self.recorder)
        self.gate = TurnGate()
        self.started_monotonic = time.monotonic()
        self.started_at = utc_now_iso()
        self.problems: list[str] = self.registry.problems
        self.notes: list[str] = []
        self.runner = Runner(self)
        self.running_marker = store.data_dir / "engine.running"  # removed by a clean close
        self._background: list[asyncio.Task] = []
        self._closed = False

    # ---- the parts' state, under the names callers and tests use ----------------------------------

    pools: dict[str, PoolRuntime] = _Delegated("registry")
    threads: dict[str, ThreadRecord] = _Delegated("registry")
    _running: dict = _Delegated("runner", "running")  # thread id -> the running worker and its task
    totals = _Delegated("recorder")
    recent_errors = _Delegated("recorder")  # (thread_id) -> the thread's last errors, newest last
    minted: dict[str, int] = _Delegated("treasury")  # mint -> base units the core wallet minted
    burned: dict[str, int] = _Delegated("treasury")  # mint -> base units burned (empty operations)
    external_recipients: dict[str, list[str]] = _Delegated("treasury")  # mint -> owners outside the engine
    retired_wallets: dict[str, list[str]] = _Delegated("treasury")  # pool -> wallets of deleted threads
    count_minted = _Delegated("treasury")  # (mint, amount)

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
        crashed = engine.running_marker.exists()  # the last engine here did not close: it crashed
        engine.running_marker.write_text(f"{os.getpid()}\n")
        books = cluster.restored_books  # what was counted up to the chain state restored
        state = await engine.registry.restore(engine.client, books)
        engine.treasury.load(state)
        if state.get("totals"):  # the totals go on from where they were, not from zero (the rate does)
            engine.recorder.totals.merge_json({**state["totals"], "operations_per_minute": 0.0})
        engine.feed.restore_findings(store.finding_groups(engine.feed.capacity, examples=False))
        kept = books.get("history_steps", {}) if books and crashed else {}
        for pool_id, pool in engine.pools.items():  # histories go on where the chain state is
            engine.history.add_pool(pool_id, pool.addresses, keep_steps=kept.get(pool_id))
        if crashed:
            engine.notes.append("the last engine on this data directory did not close: recovered to its last "
                                f"checkpoint{' (ledger and books together)' if books else ''}")
        for _ in range(max(0, settings.engine.target_pool_count - len(engine.pools))):
            await engine.create_pool()
        await lifecycle.after_restart(engine, crashed=crashed)
        engine.problems.extend(store.problems)
        engine.save_threads()
        if start_background:
            engine.start_background_tasks()
        return engine

    async def close(self) -> None:
        """Stop every thread (writing its session), flush state, close the chain. Threads that
        were running are remembered as running, so the next start resumes them."""
        if self._closed:
            return
        self._closed = True
        await background.stop(self._background)
        await lifecycle.before_shutdown(self)
        self.save_threads()
        self.checkpoint()
        self.history.close()
        await self.cluster.close()
        self.running_marker.unlink(missing_ok=True)

    # ================================================================== pools

    async def create_pool(self, token_a_decimals: int | None = None, token_b_decimals: int | None = None,
                          ratio_whole_number: int | None = None, ratio_direction: str | None = None,
                          flags: int | None = None) -> dict:
        """Create two mints and a pool; anything not given is drawn at random."""
        return await creation.create_pool(self, token_a_decimals, token_b_decimals, ratio_whole_number,
                                          ratio_direction, flags)

    async def list_pools(self) -> dict:
        return await reads.list_pools(self)

    async def get_pool(self, pool_id: str) -> dict:
        return await reads.get_pool(self, pool_id)

    # ================================================================== threads: creation

    async def create_deposit_thread(self, pool_id: str, token_type: str, initial_amount: int = 0,
                                    auto_refill: bool = False, share_lp_tokens: bool = True,
                                    thread_id: str | None = None) -> dict:
        return await creation.create_thread(self, "deposit", pool_id, thread_id, token_type=token_type,
                                            initial_amount=initial_amount, auto_refill=auto_refill,
                                            share_lp_tokens=share_lp_tokens)

    async def create_withdrawal_thread(self, pool_id: str, token_type: str, thread_id: str | None = None) -> dict:
        return await creation.create_thread(self, "withdrawal", pool_id, thread_id, token_type=token_type)

    async def create_swap_thread(self, pool_id: str, direction: str, initial_amount: int = 0,
                                 thread_id: str | None = None) -> dict:
        return await creation.create_thread(self, "swap", pool_id, thread_id, swap_direction=direction,
                                            initial_amount=initial_amount)

    async def create_attack_thread(self, pool_id: str, initial_amount: int = 1_000_000,
                                   categories: list[str] | None = None, thread_id: str | None = None) -> dict:
        from engine.attacks.setup import create_attack_thread

        return await create_attack_thread(self, pool_id, thread_id, initial_amount, categories)

    # ================================================================== threads: lifecycle

    async def start_thread(self, thread_id: str, *, reason: str = "manual_start") -> dict:
        return await lifecycle.start_thread(self, thread_id, reason)

    async def stop_thread(self, thread_id: str) -> dict:
        return await lifecycle.stop_thread(self, thread_id)

    async def delete_thread(self, thread_id: str) -> dict:
        return await lifecycle.delete_thread(self, thread_id)

    async def run_cycle(self, thread_id: str) -> dict:
        """Run exactly one cycle of a thread that is not running; returns what happened."""
        return await lifecycle.run_cycle(self, thread_id)

    async def start_all_threads(self, pool_id: str | None = None) -> dict:
        return await lifecycle.start_all_threads(self, pool_id)

    async def stop_all_threads(self, pool_id: str | None = None) -> dict:
        return await lifecycle.stop_all_threads(self, pool_id)

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
        self.save_threads()

    async def finish_errored(self, thread: ThreadRecord) -> None:
        """The worker of a thread in the error state has ended: close its session."""
        self.runner.finished(thread)
        await self.runner.write_session(thread, "error_state")
        self.save_threads()
        self.save_statistics()

    # ================================================================== empty, funding, minting

    async def empty_thread(self, thread_id: str) -> dict:
        """Burn the whole input balance, attempt the operation with it, burn what it returned."""
        return await emptying.empty_thread(self, thread_id)

    async def fund_thread(self, thread_id: str, funding_type: str, amount: int) -> dict:
        return await funding.fund_thread(self, thread_id, funding_type, amount)

    async def mint_and_send_tokens(self, pool_id: str, token_type: str, recipient_address: str, amount: int) -> dict:
        return await funding.mint_and_send_tokens(self, pool_id, token_type, recipient_address, amount)

    async def airdrop_sol(self, lamports: int, address: str | None = None) -> dict:
        return await funding.airdrop_sol(self, lamports, address)

    # ================================================================== reading (engine/reads.py)

    async def get_thread_status(self, thread_id: str) -> dict:
        return await reads.get_thread_status(self, thread_id)

    async def get_all_threads(self, pool_id: str | None = None) -> dict:
        return await reads.get_all_threads(self, pool_id)

    async def get_thread_sessions(self, thread_id: str, limit: int | None = None) -> dict:
        return await reads.get_thread_sessions(self, thread_id, limit)

    async def get_findings(self, limit: int | None = 50) -> dict:
        return await reads.get_findings(self, limit)

    async def core_wallet_status(self) -> dict:
        return await reads.core_wallet_status(self)

    async def get_engine_status(self) -> dict:
        return await reads.get_engine_status(self)

    async def snapshot(self, *, feed_limit: int = 100) -> dict:
        return await reads.snapshot(self, feed_limit)

    async def chain_health(self, timeout_s: float = 5.0) -> dict:
        return await reads.chain_health(self, timeout_s)

    async def thread_summaries(self) -> list[dict]:
        return await reads.thread_summaries(self)

    async def ledger_audit(self) -> dict:
        return await audit.ledger_audit(self)

    @property
    def supports_airdrop(self) -> bool:
        return bool(self.cluster.supports_airdrop)

    # ================================================================== background work (engine/background.py)

    def start_background_tasks(self) -> None:
        self._background = background.start(self)

    @property
    def operator(self):
        """The admin who changes the rules mid-run (engine/operator.py), made on first use."""
        operator = self.__dict__.get("_operator")
        if operator is None:
            from engine.operator import Operator

            operator = self._operator = Operator(self)
        return operator

    async def set_operator(self, enabled: bool | None = None, interval_s: float | None = None) -> dict:
        return self.operator.configure(enabled, interval_s)

    async def get_operator(self) -> dict:
        return self.operator.status()

    async def operator_act(self, action: str | None = None, pool_id: str | None = None, **params) -> dict:
        """Perform one operator action now (a random one unless `action` names it)."""
        return await self.operator.act(action, pool_id, **params)

    async def top_up_wallets(self) -> int:
        """One SOL-monitor round: top up every thread wallet below the threshold. Returns how
        many wallets were topped up."""
        return await self.treasury.top_up_wallets(self.pools, list(self.threads.values()))

    # ================================================================== persistence

    def checkpoint(self) -> None:
        """Flush everything to disk now: the files, and the embedded ledger's snapshot together with
        the books that count what it holds (one atomic file: after a crash the engine comes back to
        a ledger and books that agree, losing at most what happened since this checkpoint)."""
        self.save_statistics()
        self.save_engine_state()
        self.cluster.checkpoint(self.books())

    def books(self) -> dict:
        return {"statistics": self.registry.statistics(), "engine_state": self.engine_state(),
                "history_steps": self.history.steps()}

    def engine_state(self) -> dict:
        return self.registry.engine_state({**self.treasury.records(), "totals": self.recorder.totals.to_json()})

    def save(self) -> None:
        self.save_threads()
        self.save_statistics()
        self.save_engine_state()

    def save_threads(self) -> None:
        self.registry.save_threads()

    def save_statistics(self) -> None:
        """statistics.json, the error files written since the last save and the histories' tails."""
        self.registry.save_statistics()
        self.history.flush()
        self.recorder.flush_errors(self.threads)
        self.recorder.dirty = False

    def save_engine_state(self) -> None:
        self.store.save_engine_state(self.engine_state())
