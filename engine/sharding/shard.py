"""A shard process: a full Engine over its own data directory (and, on the embedded chain, its
own ledger), serving the coordinator's commands on stdin and pushing snapshots on stdout.

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
from engine.engine import Engine
from engine.open import tune_gc
from engine.sharding.protocol import decode, encode, error_to_json

SNAPSHOT_INTERVAL_S = 0.25
# Methods the coordinator may call; everything else is refused.
ALLOWED = {
    "create_pool", "list_pools", "get_pool", "create_deposit_thread", "create_withdrawal_thread",
    "create_swap_thread", "start_thread", "stop_thread", "delete_thread", "run_cycle", "empty_thread",
    "start_all_threads", "stop_all_threads", "fund_thread", "mint_and_send_tokens", "get_thread_status",
    "get_all_threads", "get_thread_sessions", "get_findings", "core_wallet_status", "airdrop_sol",
    "get_engine_status", "snapshot", "top_up_wallets", "totals_json", "ledger_audit", "checkpoint",
    "thread_summaries", "chain_health",
}


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
    def __init__(self, engine: Engine, writer: PipeWriter) -> None:
        self.engine = engine
        self.writer = writer
        self.closing = asyncio.Event()

    def send(self, message: dict) -> None:
        self.writer.write(encode(message))

    async def handle(self, request: dict) -> None:
        method, params = request.get("method"), request.get("params") or {}
        try:
            if method == "shutdown":
                self.closing.set()
                result = {"ok": True}
            elif method not in ALLOWED:
                raise ValueError(f"unknown shard method {method!r}")
            else:
                result = await self._call(method, params)
            self.send({"id": request.get("id"), "result": result})
        except Exception as exc:  # every failure goes back to the coordinator, typed
            logging.getLogger(__name__).debug("shard call %s failed", method, exc_info=True)
            self.send({"id": request.get("id"), "error": error_to_json(exc)})

    async def _call(self, method: str, params: dict):
        engine = self.engine
        if method == "totals_json":
            return engine.totals.to_json()
        if method == "checkpoint":
            engine.checkpoint()
            return {"ok": True}
        result = getattr(engine, method)(**params)
        return await result if asyncio.iscoroutine(result) else result

    async def push_snapshots(self) -> None:
        while not self.closing.is_set():
            try:
                if self.writer.backlog < 2:  # the coordinator keeps up; otherwise skip a round
                    data = await self.engine.snapshot(feed_limit=100)
                    data["totals"] = self.engine.totals.to_json()
                    self.send({"event": "snapshot", "data": data})
            except Exception:  # a bad snapshot must not end the stream
                logging.getLogger(__name__).exception("snapshot push failed")
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
        engine = await Engine.open(settings)
    except Exception as exc:
        writer.write(encode({"event": "failed", "error": error_to_json(exc)}))
        writer.close()
        return 2
    server = ShardServer(engine, writer)
    server.send({"event": "ready", "data": {"pools": list(engine.pools), "threads": list(engine.threads),
                                            "problems": engine.problems, "notes": engine.notes,
                                            "supports_airdrop": engine.supports_airdrop,
                                            "mode": engine.cluster.mode}})
    tune_gc()
    pusher = asyncio.create_task(server.push_snapshots())
    pending: set[asyncio.Task] = set()
    while not server.closing.is_set():
        line = await reader.readline()
        if not line:  # the coordinator went away
            break
        task = asyncio.create_task(server.handle(decode(line)))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending, return_exceptions=True)
    pusher.cancel()
    await engine.close()
    writer.close()
    return 0


def main() -> int:
    return asyncio.run(serve())


if __name__ == "__main__":
    raise SystemExit(main())
