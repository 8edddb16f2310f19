"""ShardedEngine: the Engine's public methods over N shard processes.

The coordinator keeps the registry (which shard owns which pool and thread, global thread ids),
routes every command to the owning shard and returns that shard's real answer, merges the
shards' pushed snapshots into one cheap live view, and restarts a shard that dies (on its
persisted state, with its threads stopped) without touching the others. A pool and all of its
threads live on one shard, so the economy's sharing never crosses a process boundary.
"""
from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from engine.atomic import atomic_write_text
from engine.bootstrap import load_wallets
from engine.exceptions import PoolNotFound, ThreadNotFound
from engine.feed import EventFeed
from engine.sharding.protocol import ShardFailed, decode, encode, error_from_json
from engine.stats import EngineTotals
from engine.store import utc_now_iso

log = logging.getLogger(__name__)
REGISTRY_FILE = "shards.json"
THREAD_TYPES = ("deposit", "withdrawal", "swap")


def default_shard_count(reserved_cores: int = 1) -> int:
    return max(1, (os.cpu_count() or 1) - reserved_cores)


@dataclass
class Shard:
    index: int
    data_dir: Path
    process: asyncio.subprocess.Process | None = None
    pending: dict[int, asyncio.Future] = field(default_factory=dict)
    snapshot: dict | None = None
    alive: bool = False
    restarts: int = 0
    started_at: float = 0.0
    reader_task: asyncio.Task | None = None
    ready: asyncio.Future | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None


class ShardedEngine:
    def __init__(self, settings, shard_count: int) -> None:
        self.settings = settings
        self.shards = [Shard(i, Path(settings.data_dir) / "shards" / str(i)) for i in range(shard_count)]
        self.pool_shard: dict[str, int] = {}
        self.thread_shard: dict[str, int] = {}
        self.thread_pool: dict[str, str] = {}
        self._next_ids = {kind: 1 for kind in THREAD_TYPES}
        self._next_request = 0
        self.feed = EventFeed()
        self.started_at = utc_now_iso()
        self.started_monotonic = time.monotonic()
        self.problems: list[str] = []
        self.notes: list[str] = []
        self._closing = False
        self._watchers: list[asyncio.Task] = []
        self.core_address = ""
        self._supports_airdrop = False
        self._mode = "embedded-emulated"

    # ================================================================== lifecycle

    @classmethod
    async def open(cls, settings, shard_count: int) -> "ShardedEngine":
        settings.ensure_data_dir()
        core, _, _ = load_wallets(settings)  # one core wallet file shared by every shard
        engine = cls(settings, shard_count)
        engine.core_address = str(core.pubkey)
        engine._load_registry()
        await asyncio.gather(*(engine._spawn(shard, resume=settings.engine.resume_running_threads)
                               for shard in engine.shards))
        for _ in range(max(0, settings.engine.target_pool_count - len(engine.pool_shard))):
            await engine.create_pool()
        engine._save_registry()
        return engine

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
        shard.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "engine.sharding.shard", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=open(shard.data_dir / "shard.stderr", "ab"),
            limit=2**26, env={**os.environ, "PYTHONPATH": _repo_root()})
        shard.ready = asyncio.get_running_loop().create_future()
        shard.pending, shard.started_at = {}, time.monotonic()
        shard.process.stdin.write(encode({"settings": self._shard_settings(shard, resume)}))
        await shard.process.stdin.drain()
        shard.reader_task = asyncio.create_task(self._read(shard), name=f"shard-{shard.index}-reader")
        ready = await shard.ready
        shard.alive = True
        for thread_id in ready["threads"]:
            self.thread_shard.setdefault(thread_id, shard.index)
        for pool_id in ready["pools"]:
            self.pool_shard.setdefault(pool_id, shard.index)
        self.problems += [f"shard {shard.index}: {problem}" for problem in ready["problems"]]
        self.notes += [f"shard {shard.index}: {note}" for note in ready["notes"]]
        self._supports_airdrop, self._mode = ready["supports_airdrop"], ready["mode"]
        self._watchers.append(asyncio.create_task(self._watch(shard), name=f"shard-{shard.index}-watch"))

    async def _read(self, shard: Shard) -> None:
        """Answers and pushed snapshots from one shard, until its stdout closes."""
        stream = shard.process.stdout
        while line := await stream.readline():
            message = decode(line)
            if "id" in message:
                future = shard.pending.pop(message["id"], None)
                if future is not None and not future.done():
                    future.set_result(message)
            elif message.get("event") == "snapshot":
                shard.snapshot = message["data"]
            elif message.get("event") == "ready":
                shard.ready.set_result(message["data"])
            elif message.get("event") == "failed" and not shard.ready.done():
                shard.ready.set_exception(error_from_json(message["error"]))
        for future in shard.pending.values():
            if not future.done():
                future.set_exception(ShardFailed(f"shard {shard.index} exited during the command"))
        shard.pending.clear()
        if shard.ready is not None and not shard.ready.done():
            shard.ready.set_exception(ShardFailed(f"shard {shard.index} exited while starting; see "
                                                  f"{shard.data_dir / 'shard.stderr'}"))

    async def _watch(self, shard: Shard) -> None:
        """Detect a shard that dies; report it and restart it on its persisted state."""
        code = await shard.process.wait()
        await asyncio.gather(shard.reader_task, return_exceptions=True)
        shard.alive = False
        if self._closing:
            return
        shard.restarts += 1
        message = f"shard {shard.index} (pid {shard.pid}) exited with code {code}; restarting it, its threads stopped"
        log.error(message)
        self.problems.append(message)
        self.feed.add("unexpected", f"shard {shard.index} died", message, utc_now_iso())
        if shard.snapshot:  # show its threads as stopped until the restarted shard reports
            for row in shard.snapshot["threads"]:
                if row["status"] == "running":
                    row["status"], row["status_symbol"] = "stopped", "■"
        try:
            await self._spawn(shard, resume=False)
        except Exception as exc:  # leave it dead and say so
            self.problems.append(f"shard {shard.index} could not be restarted: {exc}")
            log.exception("restarting shard %s failed", shard.index)

    async def close(self) -> None:
        """Ask every shard to stop its threads and save its state, then wait for it to exit."""
        self._closing = True
        await asyncio.gather(*(self._shut_down(shard) for shard in self.shards))
        for watcher in self._watchers:
            watcher.cancel()
        await asyncio.gather(*self._watchers, return_exceptions=True)
        self._save_registry()

    async def _shut_down(self, shard: Shard) -> None:
        if shard.process is None:
            return
        if shard.alive:
            try:
                await asyncio.wait_for(self._call(shard, "shutdown"), timeout=60)
            except Exception:  # already gone
                pass
        if shard.process.stdin and not shard.process.stdin.is_closing():
            shard.process.stdin.close()  # end of commands: the shard closes its engine and exits
        try:
            await asyncio.wait_for(shard.process.wait(), timeout=60)
        except asyncio.TimeoutError:
            shard.process.kill()
            await shard.process.wait()
        if shard.reader_task is not None:
            await asyncio.gather(shard.reader_task, return_exceptions=True)

    # ================================================================== calling shards

    async def _call(self, shard: Shard, method: str, **params):
        if not shard.alive:
            raise ShardFailed(f"shard {shard.index} is not running (it is being restarted)")
        self._next_request += 1
        request_id = self._next_request
        future = asyncio.get_running_loop().create_future()
        shard.pending[request_id] = future
        shard.process.stdin.write(encode({"id": request_id, "method": method, "params": params}))
        await shard.process.stdin.drain()
        answer = await future
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
        load = {shard.index: 0 for shard in self.shards}
        for index in self.thread_shard.values():
            load[index] += 1
        pools = {shard.index: 0 for shard in self.shards}
        for index in self.pool_shard.values():
            pools[index] += 1
        return min(self.shards, key=lambda s: (load[s.index], pools[s.index], s.index))

    # ================================================================== registry

    def _load_registry(self) -> None:
        import json

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
        import json

        atomic_write_text(Path(self.settings.data_dir) / REGISTRY_FILE, json.dumps({
            "shards": len(self.shards), "next_ids": self._next_ids, "pools": self.pool_shard,
            "threads": self.thread_shard}, indent=2), backup=True)

    # ================================================================== pools

    async def create_pool(self, token_a_decimals: int | None = None, token_b_decimals: int | None = None,
                          ratio_whole_number: int | None = None, ratio_direction: str | None = None,
                          flags: int | None = None) -> dict:
        shard = self._least_loaded()
        created = await self._call(shard, "create_pool", token_a_decimals=token_a_decimals,
                                   token_b_decimals=token_b_decimals, ratio_whole_number=ratio_whole_number,
                                   ratio_direction=ratio_direction, flags=flags)
        self.pool_shard[created["pool_id"]] = shard.index
        self._save_registry()
        return created

    async def list_pools(self) -> dict:
        return {"pools": [pool for part in await self._all("list_pools") for pool in part["pools"]]}

    async def get_pool(self, pool_id: str) -> dict:
        return await self._call(self._shard_of_pool(pool_id), "get_pool", pool_id=pool_id)

    # ================================================================== threads

    async def _create_thread(self, thread_type: str, method: str, pool_id: str, **params) -> dict:
        shard = self._shard_of_pool(pool_id)
        thread_id = f"{thread_type}_{self._next_ids[thread_type]}"
        created = await self._call(shard, method, pool_id=pool_id, thread_id=thread_id, **params)
        self._next_ids[thread_type] += 1
        self.thread_shard[thread_id] = shard.index
        self._save_registry()
        return created

    async def create_deposit_thread(self, pool_id: str, token_type: str, initial_amount: int = 0,
                                    auto_refill: bool = False, share_lp_tokens: bool = True) -> dict:
        return await self._create_thread("deposit", "create_deposit_thread", pool_id, token_type=token_type,
                                         initial_amount=initial_amount, auto_refill=auto_refill,
                                         share_lp_tokens=share_lp_tokens)

    async def create_withdrawal_thread(self, pool_id: str, token_type: str) -> dict:
        return await self._create_thread("withdrawal", "create_withdrawal_thread", pool_id, token_type=token_type)

    async def create_swap_thread(self, pool_id: str, direction: str, initial_amount: int = 0) -> dict:
        return await self._create_thread("swap", "create_swap_thread", pool_id, direction=direction,
                                         initial_amount=initial_amount)

    async def _on_thread(self, method: str, thread_id: str, **params):
        return await self._call(self._shard_of_thread(thread_id), method, thread_id=thread_id, **params)

    async def start_thread(self, thread_id: str) -> dict:
        return await self._on_thread("start_thread", thread_id)

    async def stop_thread(self, thread_id: str) -> dict:
        return await self._on_thread("stop_thread", thread_id)

    async def delete_thread(self, thread_id: str) -> dict:
        result = await self._on_thread("delete_thread", thread_id)
        self.thread_shard.pop(thread_id, None)
        self._save_registry()
        return result

    async def run_cycle(self, thread_id: str) -> dict:
        return await self._on_thread("run_cycle", thread_id)

    async def empty_thread(self, thread_id: str) -> dict:
        return await self._on_thread("empty_thread", thread_id)

    async def fund_thread(self, thread_id: str, funding_type: str, amount: int) -> dict:
        return await self._on_thread("fund_thread", thread_id, funding_type=funding_type, amount=amount)

    async def get_thread_status(self, thread_id: str) -> dict:
        return await self._on_thread("get_thread_status", thread_id)

    async def get_thread_sessions(self, thread_id: str, limit: int | None = None) -> dict:
        return await self._on_thread("get_thread_sessions", thread_id, limit=limit)

    async def _fan_out(self, method: str, pool_id: str | None) -> list:
        if pool_id is not None:
            return [await self._call(self._shard_of_pool(pool_id), method, pool_id=pool_id)]
        return await self._all(method)

    async def start_all_threads(self, pool_id: str | None = None) -> dict:
        parts = await self._fan_out("start_all_threads", pool_id)
        started = [thread_id for part in parts for thread_id in part["started"]]
        return {"started": started, "count": len(started)}

    async def stop_all_threads(self, pool_id: str | None = None) -> dict:
        parts = await self._fan_out("stop_all_threads", pool_id)
        stopped = [thread_id for part in parts for thread_id in part["stopped"]]
        return {"stopped": stopped, "count": len(stopped)}

    async def get_all_threads(self, pool_id: str | None = None) -> dict:
        parts = await self._fan_out("get_all_threads", pool_id)
        threads = [thread for part in parts for thread in part["threads"]]
        summary: dict = {}
        for part in parts:
            for key, value in part["summary"].items():
                summary[key] = summary.get(key, 0) + value
        return {"threads": threads, "summary": summary}

    async def mint_and_send_tokens(self, pool_id: str, token_type: str, recipient_address: str, amount: int) -> dict:
        return await self._call(self._shard_of_pool(pool_id), "mint_and_send_tokens", pool_id=pool_id,
                                token_type=token_type, recipient_address=recipient_address, amount=amount)

    # ================================================================== reading

    async def get_findings(self, limit: int | None = 50) -> dict:
        parts = await self._all("get_findings", limit=limit)
        findings = sorted((f for part in parts for f in part["findings"]),
                          key=lambda f: f.get("detected_at", ""), reverse=True)
        by_kind: dict = {}
        for part in parts:
            for kind, count in part["by_kind"].items():
                by_kind[kind] = by_kind.get(kind, 0) + count
        return {"count": sum(part["count"] for part in parts), "by_kind": by_kind,
                "findings": findings[:limit] if limit else findings}

    async def core_wallet_status(self) -> dict:
        """The core wallet is one keypair; on the embedded chain each shard's ledger holds its own
        balance for it, so the answer lists them."""
        parts = await self._all("core_wallet_status")
        return parts[0] | {"per_shard": [{"shard": i, "sol_balance": part["sol_balance"]}
                                         for i, part in enumerate(parts)]}

    async def airdrop_sol(self, lamports: int, address: str | None = None) -> dict:
        return await self._call(self.shards[0], "airdrop_sol", lamports=lamports, address=address)

    async def fresh_totals(self) -> EngineTotals:
        """Totals asked of every shard now (the `totals` property is at most a snapshot old)."""
        merged = EngineTotals()
        for part in await self._all("totals_json"):
            merged.merge_json(part)
        return merged

    async def get_engine_status(self) -> dict:
        parts = await self._all("get_engine_status")
        totals = await self.fresh_totals()
        first = parts[0]
        return first | {
            "uptime_seconds": round(time.monotonic() - self.started_monotonic, 1),
            "started_at": self.started_at,
            "pools": sum(part["pools"] for part in parts),
            "threads": _sum_dicts(part["threads"] for part in parts),
            "totals": totals.summary(),
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

    async def snapshot(self, *, feed_limit: int = 100) -> dict:
        """Merged from the snapshots the shards push: no round trip to any shard."""
        parts = [shard.snapshot for shard in self.shards if shard.snapshot]
        headers = [part["engine"] for part in parts]
        header = dict(headers[0]) if headers else {}
        for key in ("operations", "ok", "failed", "unexpected", "findings", "waits", "operations_per_minute"):
            header[key] = round(sum(h.get(key, 0) for h in headers), 1)
        header.update(threads=_sum_dicts(h["threads"] for h in headers), pools=sum(h["pools"] for h in headers),
                      uptime_seconds=round(time.monotonic() - self.started_monotonic, 1), shards=self.shard_status())
        feed = sorted([entry for part in parts for entry in part["feed"]] + self.feed.latest(feed_limit),
                      key=lambda entry: entry["last_seen"], reverse=True)[:feed_limit]
        return {"taken_at": utc_now_iso(), "engine": header,
                "threads": [row for part in parts for row in part["threads"]],
                "pools": [row for part in parts for row in part["pools"]], "feed": feed,
                "feed_version": sum(part["feed_version"] for part in parts) + self.feed.version}

    async def ledger_audit(self) -> dict:
        parts = await self._all("ledger_audit")
        return {"passed": all(part["passed"] for part in parts),
                "mints": [m for part in parts for m in part["mints"]],
                "pools": [p for part in parts for p in part["pools"]]}

    @property
    def supports_airdrop(self) -> bool:
        return self._supports_airdrop

    @property
    def totals(self) -> EngineTotals:
        """Engine-wide totals merged from the shards' latest pushed snapshots (no round trip)."""
        merged = EngineTotals()
        for shard in self.shards:
            if shard.snapshot and "totals" in shard.snapshot:
                merged.merge_json(shard.snapshot["totals"])
        return merged

    def overview(self) -> dict:
        by_status: dict[str, int] = {}
        for shard in self.shards:
            for row in (shard.snapshot or {}).get("threads", []):
                by_status[row["status"]] = by_status.get(row["status"], 0) + 1
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
        if self.settings.chain.backend == "rpc":
            return f"Solana JSON-RPC at {self.settings.chain.rpc_url} ({count} shard processes)"
        program = "its compiled .so" if self.settings.program.program_so else "the built-in FRT v0.17.1070 emulator"
        return f"embedded LiteSVM ledgers, one per shard ({count}), FRT executed by {program}"

    async def thread_summaries(self) -> list[dict]:
        return [summary for part in await self._all("thread_summaries") for summary in part]

    async def write_report(self, name: str, data: dict) -> str:
        import json

        path = Path(self.settings.data_dir) / "reports" / name
        atomic_write_text(path, json.dumps(data, indent=2) + "\n")
        return str(path)

    async def checkpoint(self) -> None:
        await self._all("checkpoint")


def _sum_dicts(dicts) -> dict:
    total: dict = {}
    for item in dicts:
        for key, value in item.items():
            total[key] = total.get(key, 0) + value
    return total


def _rss_of_tree() -> int:
    process = psutil.Process()
    return process.memory_info().rss + sum(child.memory_info().rss for child in process.children(recursive=True))


def _repo_root() -> str:
    root = str(Path(__file__).resolve().parents[2])
    existing = os.environ.get("PYTHONPATH")
    return f"{root}{os.pathsep}{existing}" if existing else root
