"""The coordinator: the one `EngineApi` (engine/api/facade.py), in front of its shards.

A shard is a full Engine over its own data directory (`<data_dir>/shards/<n>`) and, on the
embedded chain, its own ledger. With engine.shards = 0 there is one shard, in this process;
otherwise there are that many shard processes (engine/sharding/links.py). Either way the
coordinator keeps the registry (which shard owns which pool and thread, global thread ids),
validates every operation with its params model and routes it as the operation table says
(engine/api/operations.py), merges the shards' totals and rows into one live view, and
restarts a shard process that dies (on its persisted state, with its threads stopped) without
touching the others. A pool and all of its threads live on one shard, so the economy's sharing
never crosses a process boundary.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from engine.api.facade import validate, with_operation_methods
from engine.api.operations import OPERATIONS, Operation, Route, sum_counts
from engine.api.rows import EngineHeader, ShardFacts, ShardSnapshot, Snapshot, ThreadRow
from engine.atomic import atomic_write_text
from engine.bootstrap import load_wallets
from engine.datadir_lock import DataDirLock
from engine.exceptions import InvalidParams, PoolNotFound, ThreadNotFound
from engine.feed import EventFeed, merge_feeds
from engine.sharding.links import InProcessLink, ProcessLink
from engine.sharding.protocol import ShardFailed, error_from_json
from engine.stats import EngineTotals
from engine.status import rows_threads_summary
from engine.store import utc_now_iso
from engine.threads import THREAD_TYPES

log = logging.getLogger(__name__)
REGISTRY_FILE = "shards.json"


def default_shard_count(reserved_cores: int = 1) -> int:
    return max(1, (os.cpu_count() or 1) - reserved_cores)


def shard_count(settings) -> int:
    """engine.shards as configured (0 = one shard in this process); unset = cores - reserved."""
    configured = settings.engine.shards
    return default_shard_count(settings.engine.reserved_cores) if configured is None else configured


@dataclass
class Shard:
    index: int
    data_dir: Path
    link: ProcessLink | InProcessLink
    alive: bool = False
    restarts: int = 0
    started_at: float = 0.0
    earlier_feed: list[dict] = field(default_factory=list)  # what its feed held before it was restarted
    earlier_feed_versions: int = 0  # its feed versions before then: the merged version only grows
    # Counts its earlier lives made that its last checkpoint did not keep (a restart resumes from
    # it): the header adds them, so that its figures never go back.
    uncheckpointed: dict[str, int] = field(default_factory=dict)
    died: tuple[dict, dict] | None = None  # (its last snapshot, its totals then) until it pushes anew

    @property
    def pid(self) -> int | None:
        return self.link.pid


@with_operation_methods
class Coordinator:
    def __init__(self, settings, count: int) -> None:
        """`count` as engine.shards: 0 = one shard in this process, N = N shard processes."""
        self.settings = settings
        self.in_process = count == 0
        link = InProcessLink if self.in_process else ProcessLink
        root = Path(settings.data_dir) / "shards"
        self.shards = [Shard(i, root / str(i), link(i, root / str(i))) for i in range(max(1, count))]
        self.pool_shard: dict[str, int] = {}
        self.thread_shard: dict[str, int] = {}
        self._next_ids = {kind: 1 for kind in THREAD_TYPES}
        self.feed = EventFeed()
        self.started_at = utc_now_iso()
        self.started_monotonic = time.monotonic()
        self.problems: list[str] = []
        self.notes: list[str] = []
        self._closing = False
        self._closed = False
        self._watchers: list[asyncio.Task] = []
        self._lock: DataDirLock | None = None
        self.core_address = ""
        self._supports_airdrop = False
        self._mode = "embedded-emulated"

    # ================================================================== lifecycle

    @classmethod
    async def open(cls, settings) -> "Coordinator":
        """Lock the data directory, start the shards on their persisted state, create the
        configured number of pools."""
        settings.ensure_data_dir()
        engine = cls(settings, shard_count(settings))
        engine._lock = DataDirLock.acquire(settings.data_dir)
        try:
            core, _, _ = load_wallets(settings)  # one core wallet file shared by every shard
            engine.core_address = str(core.pubkey)
            engine._load_registry()
            legacy = _legacy_state(Path(settings.data_dir))
            if legacy:
                engine.problems.append(legacy)
            await asyncio.gather(*(engine._spawn(shard, resume=settings.engine.resume_running_threads)
                                   for shard in engine.shards))
            for _ in range(max(0, settings.engine.target_pool_count - len(engine.pool_shard))):
                await engine.create_pool()
            engine._save_registry()
        except BaseException:
            await engine.close()
            raise
        return engine

    @property
    def local(self):
        """The Engine of the in-process shard (engine.shards = 0), for white-box tests and tools."""
        if not self.in_process:
            raise AttributeError("the shards run in their own processes")
        return self.shards[0].link.engine

    def _shard_settings(self, shard: Shard, resume: bool) -> dict:
        data = self.settings.model_dump(mode="json")
        data["data_dir"] = str(shard.data_dir)
        data["wallet"]["core_keypair"] = str(self.settings.core_keypair_path)
        data["engine"]["resume_running_threads"] = resume
        data["engine"]["target_pool_count"] = 0  # the coordinator decides where pools go
        data["engine"]["key_namespace"] = f"{data['engine']['key_namespace']}shard{shard.index}"
        # Snapshot the shard's ledger as often as its statistics, so a killed shard loses little.
        data["embedded"]["snapshot_interval_s"] = min(data["embedded"]["snapshot_interval_s"],
                                                      data["engine"]["stats_flush_interval_s"])
        return data

    async def _spawn(self, shard: Shard, *, resume: bool) -> None:
        shard.data_dir.mkdir(parents=True, exist_ok=True)
        shard.started_at = time.monotonic()
        ready = await shard.link.open(self._shard_settings(shard, resume))
        shard.alive = True
        if shard.restarts:
            self._forget_what_a_restart_lost(shard, ready)
        for thread_id in ready["threads"]:
            self.thread_shard.setdefault(thread_id, shard.index)
        for pool_id in ready["pools"]:
            self.pool_shard.setdefault(pool_id, shard.index)
        self.problems += [f"shard {shard.index}: {problem}" for problem in ready["problems"]]
        self.notes += [f"shard {shard.index}: {note}" for note in ready["notes"]]
        self._supports_airdrop, self._mode = ready["supports_airdrop"], ready["mode"]
        self._watchers.append(asyncio.create_task(self._watch(shard), name=f"shard-{shard.index}-watch"))

    def _remember_its_last_life(self, shard: Shard, last: ShardSnapshot | None) -> None:
        """Keep what a dead shard showed last: its feed (merged into the view from now on) and its
        totals, until the restarted shard pushes a snapshot of its own (see `_live_parts`)."""
        last = last or {}
        shard.earlier_feed = merge_feeds(shard.earlier_feed, last.get("feed", []), limit=self.feed.capacity)
        shard.earlier_feed_versions += last.get("feed_version", 0) + 1
        if last.get("totals"):
            shard.died = (last, last["totals"])

    def _forget_what_a_restart_lost(self, shard: Shard, ready: dict) -> None:
        """A shard restarted on its last checkpoint does not have the pools and threads created
        after it (their accounts are not on its ledger either): they leave the registry, and the
        feed names them."""
        lost_threads = [t for t, index in self.thread_shard.items() if index == shard.index and t not in ready["threads"]]
        lost_pools = [p for p, index in self.pool_shard.items() if index == shard.index and p not in ready["pools"]]
        if not lost_threads and not lost_pools:
            return
        for thread_id in lost_threads:
            del self.thread_shard[thread_id]
        for pool_id in lost_pools:
            del self.pool_shard[pool_id]
        self._save_registry()
        message = (f"shard {shard.index} was restarted on its last checkpoint, which predates these pools and "
                   f"threads: they are gone ({', '.join(lost_pools + lost_threads)})")
        log.error(message)
        self.problems.append(message)
        entry = self.feed.add("unexpected", f"shard {shard.index} lost what its checkpoint missed", message,
                              utc_now_iso())
        entry.threads = lost_threads[-20:]

    async def _watch(self, shard: Shard) -> None:
        """Detect a shard that dies; report it and restart it on its persisted state."""
        code = await shard.link.exited()
        shard.alive = False
        if self._closing:
            return
        shard.restarts += 1
        self._remember_its_last_life(shard, await shard.link.snapshot())
        threads = [thread_id for thread_id, index in self.thread_shard.items() if index == shard.index]
        message = (f"shard {shard.index} (pid {shard.pid}) exited with code {code}; restarting it on its last "
                   f"checkpoint, its {len(threads)} threads stopped")
        log.error(message)
        self.problems.append(message)
        entry = self.feed.add("unexpected", f"shard {shard.index} died", message, utc_now_iso())
        entry.threads = threads[-20:]
        shard.link.forget_running()
        try:
            await self._spawn(shard, resume=False)
        except Exception as exc:  # leave it dead and say so
            self.problems.append(f"shard {shard.index} could not be restarted: {exc}")
            log.exception("restarting shard %s failed", shard.index)

    async def close(self) -> None:
        """Every shard stops its threads (writing their sessions) and saves its state; then the
        registry is saved and the data directory unlocked. Threads that were running are
        remembered as running, so the next start resumes them."""
        if self._closed:
            return
        self._closed = self._closing = True
        await asyncio.gather(*(shard.link.close(shard.alive) for shard in self.shards))
        for shard in self.shards:
            shard.alive = False
        for watcher in self._watchers:
            watcher.cancel()
        await asyncio.gather(*self._watchers, return_exceptions=True)
        if self._lock is not None:
            self._save_registry()
            self._lock.release()

    # ================================================================== operations

    async def call(self, name: str, params: Any = None) -> dict:
        """Run the operation `name` (engine/api/operations.py) with `params` (a dict or its
        model): validated, then routed as the table says."""
        operation = OPERATIONS.get(name)
        if operation is None:
            raise InvalidParams(f"no operation named {name!r}")
        return await self._route(operation, validate(operation, params))

    async def _route(self, operation: Operation, params) -> dict:
        name, route, args = operation.name, operation.route, params.model_dump()
        if route is Route.COORDINATOR:
            return await getattr(self, f"_answer_{name}")(params)
        if route is Route.NEW_POOL:
            shard = self._least_loaded()
            created = await self._call(shard, name, **args)
            self.pool_shard[created["pool_id"]] = shard.index
            self._save_registry()
            return created
        if route is Route.POOL:
            return await self._call(self._shard_of_pool(params.pool_id), name, **args)
        if route is Route.NEW_THREAD:
            shard = self._shard_of_pool(params.pool_id)
            kind = operation.thread_kind
            thread_id = f"{kind}_{self._next_ids[kind]}"
            created = await self._call(shard, name, thread_id=thread_id, **args)
            self._next_ids[kind] += 1
            self.thread_shard[thread_id] = shard.index
            self._save_registry()
            return created
        if route in (Route.THREAD, Route.DROP_THREAD):
            result = await self._call(self._shard_of_thread(params.thread_id), name, **args)
            if route is Route.DROP_THREAD:
                self.thread_shard.pop(params.thread_id, None)
                self._save_registry()
            return result
        if route is Route.EACH:
            pool_id = getattr(params, "pool_id", None)
            if pool_id is not None:
                parts = [await self._call(self._shard_of_pool(pool_id), name, **args)]
            else:
                parts = await self._all(name, **args)
            return operation.merge(parts, params)
        if route is Route.FIRST:
            return await self._call(self.shards[0], name, **args)
        raise AssertionError(f"unrouted operation {name}")

    async def _call(self, shard: Shard, method: str, **params):
        if not shard.alive:
            raise ShardFailed(f"shard {shard.index} is not running (it is being restarted)")
        answer = await shard.link.request(method, params)
        if "error" in answer:
            raise error_from_json(answer["error"])
        return answer["result"]

    async def _all(self, method: str, **params) -> list:
        return await asyncio.gather(*(self._call(shard, method, **params) for shard in self.shards))

    def _shard_of_pool(self, pool_id: str) -> Shard:
        index = self.pool_shard.get(pool_id)
        if index is None:
            raise PoolNotFound(f"Pool {pool_id} not found in registry")
        return self.shards[index]

    def _shard_of_thread(self, thread_id: str) -> Shard:
        index = self.thread_shard.get(thread_id)
        if index is None:
            raise ThreadNotFound(f"Thread {thread_id} not found")
        return self.shards[index]

    def _least_loaded(self) -> Shard:
        threads = {shard.index: 0 for shard in self.shards}
        for index in self.thread_shard.values():
            threads[index] += 1
        pools = {shard.index: 0 for shard in self.shards}
        for index in self.pool_shard.values():
            pools[index] += 1
        return min(self.shards, key=lambda s: (threads[s.index], pools[s.index], s.index))

    # ================================================================== answered here

    async def _answer_get_snapshot(self, params) -> Snapshot:
        """The live view merged from the shards' snapshots (pushed by shard processes: no round
        trip): rows concatenated, totals merged, the header rendered once from the merged totals,
        the merged rows and the shards' facts."""
        feed_limit = params.feed_limit
        parts, live = await self._live_parts()
        threads = [row for part in parts for row in part["threads"]]
        pools = [row for part in parts for row in part["pools"]]
        feed = merge_feeds(*(part["feed"] for part in live), self.feed.latest(feed_limit),
                           *(shard.earlier_feed for shard in self.shards), limit=feed_limit)
        header = self._header([part["facts"] for part in parts], _merged_totals(part["totals"] for part in parts),
                              threads, len(pools))
        return {"taken_at": utc_now_iso(), "engine": header, "threads": threads, "pools": pools, "feed": feed,
                "feed_version": sum(part["feed_version"] for part in live) + self.feed.version
                + sum(shard.earlier_feed_versions for shard in self.shards)}

    async def _live_parts(self) -> tuple[list[ShardSnapshot], list[ShardSnapshot]]:
        """(every shard's last snapshot, those pushed by a live shard). A restarted shard shows
        its dead life's last snapshot (rows, totals) until it pushes one of its own; that
        snapshot's feed is already in the shard's earlier feed, so it is not counted twice. Once
        the shard pushes, what its checkpoint did not keep is added to the header's counts."""
        parts: list[ShardSnapshot] = []
        live: list[ShardSnapshot] = []
        for shard in self.shards:
            part = await shard.link.snapshot()
            if not part:
                continue
            parts.append(part)
            if shard.died is not None and part is shard.died[0]:
                continue
            live.append(part)
            if shard.died is not None:
                _add_counts(shard.uncheckpointed, _header_counts(shard.died[1]), _header_counts(part["totals"]))
                shard.died = None
        return parts, live

    def _header(self, facts: list[ShardFacts], totals: EngineTotals, threads: list[ThreadRow],
                pools: int) -> EngineHeader:
        """The engine header, rendered here only: figures from the shards' merged totals, thread
        counts from the merged rows (so they agree with the rows shown, a dead shard's threads
        included), chain facts from the shards' facts."""
        first = facts[0] if facts else {}
        counts = _header_counts(totals)
        for shard in self.shards:
            _add_counts(counts, shard.uncheckpointed)
        return {"mode": self._mode, "description": self.chain_description, "url": first.get("url"),
                "program_id": first.get("program_id"), "core_wallet": self.core_address,
                "core_lamports": self._core_lamports([f["core_lamports"] for f in facts]),
                "uptime_seconds": round(time.monotonic() - self.started_monotonic, 1),
                "operations": counts["operations"], "ok": counts["ok"], "failed": counts["operations"] - counts["ok"],
                "unexpected": counts["unexpected"], "findings": counts["findings"], "waits": counts["waits"],
                "operations_per_minute": round(totals.operations_per_minute(), 1),
                "latency_ms": totals.all_latency().summary(),
                "threads": rows_threads_summary(threads), "pools": pools, "shards": self.shard_status()}

    def _core_lamports(self, balances: list[int]) -> int:
        """The core wallet's SOL: on the embedded chain each shard's ledger holds its own balance
        of it (they add up); on a real cluster every shard reads the same account."""
        if not balances:
            return 0
        return sum(balances) if self.settings.chain.backend == "embedded" else balances[0]

    async def _answer_core_wallet_status(self, params) -> dict:
        parts = await self._all("core_wallet_status")
        return parts[0] | {"sol_balance": self._core_lamports([part["sol_balance"] for part in parts]),
                           "per_shard": [{"shard": i, "sol_balance": part["sol_balance"]}
                                         for i, part in enumerate(parts)]}

    async def _answer_get_engine_status(self, params) -> dict:
        parts = await self._all("get_engine_status")
        totals = await self.fresh_totals()
        first = parts[0]
        per_minute = totals.operations_per_minute()
        return first | {
            "cluster": first["cluster"] | {"description": self.chain_description},
            "uptime_seconds": round(time.monotonic() - self.started_monotonic, 1),
            "started_at": self.started_at,
            "pools": sum(part["pools"] for part in parts),
            "threads": sum_counts(part["threads"] for part in parts),
            "totals": totals.summary(),
            "throughput": {"operations_per_second": round(per_minute / 60, 2),
                           "operations_per_minute": round(per_minute, 2),
                           "total_operations": totals.total_operations, "waiting_cycles": totals.waits},
            "findings": sum(part["findings"] for part in parts),
            "cpu_percent_per_core": psutil.cpu_percent(percpu=True),
            "memory_rss_bytes": _rss_of_tree(),
            "problems": self.problems + [p for part in parts for p in part["problems"]],
            "shards": self.shard_status(),
        }

    def shard_status(self) -> list[dict]:
        return [{"shard": shard.index, "alive": shard.alive, "pid": shard.pid, "restarts": shard.restarts,
                 "pools": sum(1 for i in self.pool_shard.values() if i == shard.index),
                 "threads": sum(1 for i in self.thread_shard.values() if i == shard.index)}
                for shard in self.shards]

    # ================================================================== for the process around the engine

    async def fresh_totals(self) -> EngineTotals:
        """Totals asked of every shard now (the `totals` property is at most a snapshot old)."""
        return _merged_totals(await self._all("totals_json"))

    @property
    def totals(self) -> EngineTotals:
        """Engine-wide totals merged from the shards' latest snapshots (no round trip)."""
        return _merged_totals(shard.link.latest_totals() for shard in self.shards)

    async def ledger_audit(self) -> dict:
        parts = await self._all("ledger_audit")
        return {"passed": all(part["passed"] for part in parts),
                "mints": [m for part in parts for m in part["mints"]],
                "pools": [p for part in parts for p in part["pools"]]}

    async def thread_summaries(self) -> list[dict]:
        return [summary for part in await self._all("thread_summaries") for summary in part]

    async def top_up_wallets(self) -> int:
        return sum(await self._all("top_up_wallets"))

    async def checkpoint(self) -> None:
        await self._all("checkpoint")

    async def write_report(self, name: str, data: dict) -> str:
        path = Path(self.settings.data_dir) / "reports" / name
        atomic_write_text(path, json.dumps(data, indent=2) + "\n")
        return str(path)

    @property
    def supports_airdrop(self) -> bool:
        return self._supports_airdrop

    def overview(self) -> dict:
        """Counts for health checks and metrics, without any shard round trip."""
        by_status = sum_counts(shard.link.thread_statuses() for shard in self.shards)
        return {"mode": self._mode, "pools": len(self.pool_shard), "threads": len(self.thread_shard),
                "threads_by_status": by_status, "shards": self.shard_status()}

    async def chain_health(self, timeout_s: float = 5.0) -> dict:
        try:
            return await asyncio.wait_for(self._call(self.shards[0], "chain_health", timeout_s=timeout_s),
                                          timeout_s + 1)
        except Exception as exc:
            return {"mode": self._mode, "ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}

    @property
    def chain_description(self) -> str:
        count = len(self.shards)
        where = "in this process" if self.in_process else "one shard process" if count == 1 else \
            f"{count} shard processes"
        if self.settings.chain.backend == "rpc":
            return f"Solana JSON-RPC at {self.settings.chain.rpc_url} ({where})"
        so = self.settings.program.program_so
        program = f"the compiled program {so}" if so else "the built-in FRT v0.17.1070 emulator"
        ledgers = "one embedded LiteSVM ledger" if count == 1 else f"embedded LiteSVM ledgers, one per shard ({count})"
        return f"{ledgers} ({where}), FRT executed by {program}"

    # ================================================================== registry

    def _load_registry(self) -> None:
        path = Path(self.settings.data_dir) / REGISTRY_FILE
        if not path.exists():
            return
        try:
            data = json.loads(path.read_text())
        except ValueError as exc:
            self.problems.append(f"{path} is corrupt ({exc}); rebuilt from the shards")
            return
        if data.get("shards") != len(self.shards):
            self.problems.append(f"{path} was written for {data.get('shards')} shards; pools stay where they are")
        self._next_ids.update(data.get("next_ids", {}))

    def _save_registry(self) -> None:
        atomic_write_text(Path(self.settings.data_dir) / REGISTRY_FILE, json.dumps({
            "shards": len(self.shards), "next_ids": self._next_ids, "pools": self.pool_shard,
            "threads": self.thread_shard}, indent=2), backup=True)


def _header_counts(totals: EngineTotals | dict) -> dict[str, int]:
    if isinstance(totals, dict):
        totals = _merged_totals([totals])
    return {"operations": totals.total_operations, "ok": totals.count("ok"),
            "unexpected": totals.count("unexpected"), "findings": sum(totals.findings_by_kind.values()),
            "waits": totals.waits}


def _add_counts(into: dict[str, int], more: dict[str, int], less: dict[str, int] | None = None) -> None:
    """into += more (- less), per count, never adding a negative amount."""
    for key, value in more.items():
        into[key] = into.get(key, 0) + max(0, value - (less or {}).get(key, 0))


def _merged_totals(parts) -> EngineTotals:
    merged = EngineTotals()
    for part in parts:
        if part:
            merged.merge_json(part)
    return merged


def _legacy_state(data_dir: Path) -> str | None:
    """Before every engine had shards, engine.shards = 0 kept its state at the top of the data
    directory; it is not loaded any more: say so rather than let the threads look lost."""
    if (data_dir / "threads.json").exists():
        return (f"{data_dir} holds threads written by an earlier version's in-process engine (threads.json at its "
                f"top level), which is not loaded: engines keep their state under {data_dir / 'shards'}")
    return None


def _rss_of_tree() -> int:
    process = psutil.Process()
    return process.memory_info().rss + sum(child.memory_info().rss for child in process.children(recursive=True))
