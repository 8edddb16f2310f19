"""A shard: a full Engine over its own data directory (and, on the embedded chain, its own
ledger), answering the coordinator's requests. As a process it reads them on stdin and answers
and pushes snapshots on stdout; in the coordinator's process (engine.shards = 0) the same
`ShardServer` answers them directly (engine/sharding/links.py).

    python -m engine.sharding.shard      (the coordinator starts it; settings arrive on stdin)
"""
from __future__ import annotations

import asyncio
import logging
import os
import queue
import sys
import threading

from engine.config import Settings
from engine.datadir_lock import DataDirLock
from engine.engine import Engine
from engine.api.operations import OPERATIONS
from engine.api.rows import ShardSnapshot
from engine.exceptions import EngineError
from engine.gc_tuning import tune_gc
from engine.sharding.protocol import decode, encode, error_to_json

log = logging.getLogger(__name__)
SNAPSHOT_INTERVAL_S = 0.25
# What a shard answers besides the operations of engine/api/operations.py: the coordinator's
# own needs (live views, audits, persistence, health).
SHARD_COMMANDS = {"snapshot", "checkpoint", "totals_json", "ledger_audit", "thread_summaries", "top_up_wallets",
                  "chain_health", "get_engine_status", "core_wallet_status"}


class PipeWriter:
    """Writes to the coordinator from its own thread. A large snapshot through a 64 KB pipe needs
    many writes; done by the event loop, each would wait for a loop turn, and with a thousand
    busy workers one turn takes most of a second. Blocking writes in a thread release the GIL."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="shard-writer", daemon=True)
        self.thread.start()

    def write(self, data: bytes) -> None:
        self.queue.put(data)

    @property
    def backlog(self) -> int:
        return self.queue.qsize()

    def _run(self) -> None:
        while (data := self.queue.get()) is not None:
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view):]

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join(timeout=30)


class ShardServer:
    """Answers the coordinator's requests with this shard's Engine: one request in, one answer
    out, whatever carries them (a pipe, or a direct call in the coordinator's process)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.closing = asyncio.Event()

    async def answer(self, request: dict) -> dict:
        method, params = request.get("method"), request.get("params") or {}
        try:
            if method == "shutdown":
                self.closing.set()
                result = {"ok": True}
            else:
                result = await self._call(method, params)
            return {"id": request.get("id"), "result": result}
        except Exception as exc:  # every failure goes back to the coordinator, typed
            if isinstance(exc, EngineError):
                log.debug("shard call %s refused: %s", method, exc)
            else:
                log.exception("shard call %s failed", method)
            return {"id": request.get("id"), "error": error_to_json(exc)}

    async def _call(self, method: str, params: dict):
        engine = self.engine
        if method not in OPERATIONS and method not in SHARD_COMMANDS:
            raise ValueError(f"unknown shard method {method!r}")
        if method == "totals_json":
            return engine.totals.to_json()
        if method == "checkpoint":
            engine.checkpoint()
            return {"ok": True}
        result = getattr(engine, method)(**params)
        return await result if asyncio.iscoroutine(result) else result


async def open_shard(settings: Settings) -> tuple[Engine, DataDirLock]:
    """The shard's Engine over its own directory, which it locks: a shard process that an
    aborted coordinator left behind, still closing, must not share it with its successor."""
    lock = DataDirLock.acquire(settings.data_dir)
    try:
        return await Engine.open(settings), lock
    except BaseException:
        lock.release()
        raise


async def shard_snapshot(engine: Engine) -> ShardSnapshot:
    """What the coordinator merges into its live view: the engine's rows, its facts (the
    coordinator renders the header from them) and its mergeable totals."""
    data = await engine.snapshot(feed_limit=100)
    data["totals"] = engine.totals.to_json()
    return data


def ready_info(engine: Engine) -> dict:
    return {"pools": list(engine.pools), "threads": list(engine.threads), "problems": engine.problems,
            "notes": engine.notes, "supports_airdrop": engine.supports_airdrop, "mode": engine.cluster.mode}


async def push_snapshots(engine: Engine, writer: PipeWriter, closing: asyncio.Event) -> None:
    while not closing.is_set():
        try:
            if writer.backlog < 2:  # the coordinator keeps up; otherwise skip a round
                writer.write(encode({"event": "snapshot", "data": await shard_snapshot(engine)}))
        except Exception:  # a bad snapshot must not end the stream
            log.exception("snapshot push failed")
        await asyncio.sleep(SNAPSHOT_INTERVAL_S)


async def serve() -> int:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    writer = PipeWriter(os.dup(sys.stdout.fileno()))
    sys.stdout = sys.stderr  # a stray print must never corrupt the protocol stream
    setup = decode(await reader.readline())
    settings = Settings.model_validate(setup["settings"])
    logging.basicConfig(filename=str(settings.data_dir / "shard.log"), level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        engine, lock = await open_shard(settings)
    except Exception as exc:
        writer.write(encode({"event": "failed", "error": error_to_json(exc)}))
        writer.close()
        return 2
    server = ShardServer(engine)
    writer.write(encode({"event": "ready", "data": ready_info(engine)}))
    tune_gc()
    pusher = asyncio.create_task(push_snapshots(engine, writer, server.closing))

    async def handle(request: dict) -> None:
        writer.write(encode(await server.answer(request)))

    pending: set[asyncio.Task] = set()
    while not server.closing.is_set():
        line = await reader.readline()
        if not line:  # the coordinator went away
            break
        task = asyncio.create_task(handle(decode(line)))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending, return_exceptions=True)
    pusher.cancel()
    await engine.close()
    lock.release()
    writer.close()
    return 0


def main() -> int:
    return asyncio.run(serve())


if __name__ == "__main__":
    raise SystemExit(main())
