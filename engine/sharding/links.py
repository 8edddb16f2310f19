"""How the coordinator reaches a shard: one interface, two carriers.

* `ProcessLink` — the shard is a subprocess (`python -m engine.sharding.shard`); requests and
  answers are JSON lines on its stdin / stdout, and it pushes its snapshot a few times a second.
* `InProcessLink` — the shard's Engine lives in the coordinator's own process and event loop
  (engine.shards = 0); the same `ShardServer` answers the same request messages, without a pipe,
  and the snapshot is taken when asked (it costs no round trip here).

Either way the coordinator sees `open` (the shard's ready info), `request` (the answer message:
`{"id", "result"}` or `{"id", "error"}`), `snapshot`, `exited` and `close`, so routing, merging,
registry and errors are one code path for both.
"""
from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

from engine.sharding.protocol import ShardFailed, decode, encode, error_from_json

log = logging.getLogger(__name__)
SHUTDOWN_TIMEOUT_S = 60


class ProcessLink:
    def __init__(self, index: int, data_dir: Path) -> None:
        self.index = index
        self.data_dir = data_dir
        self.process: asyncio.subprocess.Process | None = None
        self.pending: dict[int, asyncio.Future] = {}
        self.pushed: dict | None = None
        self._next_id = 0
        self._ready: asyncio.Future | None = None
        self._reader: asyncio.Task | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    async def open(self, settings: dict) -> dict:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "engine.sharding.shard", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=open(self.data_dir / "shard.stderr", "ab"),
            limit=2**26, env={**os.environ, "PYTHONPATH": _repo_root()},
            # Its own session: a terminal's Ctrl-C or hangup goes to the coordinator, which stops
            # the shard in order (threads stopped, sessions written); a shard whose coordinator
            # dies sees its stdin close and exits on its own.
            start_new_session=True)
        self._ready = asyncio.get_running_loop().create_future()
        self.process.stdin.write(encode({"settings": settings}))
        await self.process.stdin.drain()
        self._reader = asyncio.create_task(self._read(), name=f"shard-{self.index}-reader")
        return await self._ready

    async def request(self, method: str, params: dict) -> dict:
        self._next_id += 1
        request_id = self._next_id
        future = asyncio.get_running_loop().create_future()
        self.pending[request_id] = future
        if self._reader is None or self._reader.done():  # its output is closed: no answer will come
            self.pending.pop(request_id, None)
            raise ShardFailed(f"shard {self.index} has exited")
        try:
            self.process.stdin.write(encode({"id": request_id, "method": method, "params": params}))
            await self.process.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            self.pending.pop(request_id, None)
            raise ShardFailed(f"shard {self.index} exited before the command reached it") from None
        return await future

    async def snapshot(self) -> dict | None:
        return self.pushed

    def latest_totals(self) -> dict | None:
        return (self.pushed or {}).get("totals")

    def thread_statuses(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in (self.pushed or {}).get("threads", []):
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        return counts

    async def _read(self) -> None:
        """Answers and pushed snapshots, until the shard's stdout closes."""
        stream = self.process.stdout
        while line := await stream.readline():
            message = decode(line)
            if "id" in message:
                future = self.pending.pop(message["id"], None)
                if future is not None and not future.done():
                    future.set_result(message)
            elif message.get("event") == "snapshot":
                self.pushed = message["data"]
            elif message.get("event") == "ready":
                self._ready.set_result(message["data"])
            elif message.get("event") == "failed" and not self._ready.done():
                self._ready.set_exception(error_from_json(message["error"]))
        for future in self.pending.values():
            if not future.done():
                future.set_exception(ShardFailed(f"shard {self.index} exited during the command"))
        self.pending.clear()
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(ShardFailed(f"shard {self.index} exited while starting; see "
                                                  f"{self.data_dir / 'shard.stderr'}"))

    async def exited(self) -> int:
        code = await self.process.wait()
        await asyncio.gather(self._reader, return_exceptions=True)
        return code

    def forget_running(self) -> None:
        """Show a dead shard's threads as stopped until its restarted process reports."""
        for row in (self.pushed or {}).get("threads", []):
            if row["status"] == "running":
                row["status"], row["status_symbol"] = "stopped", "■"

    async def close(self, alive: bool) -> None:
        """Ask the shard to stop its threads and save its state, then wait for it to exit."""
        if self.process is None:
            return
        if alive:
            try:
                await asyncio.wait_for(self.request("shutdown", {}), timeout=SHUTDOWN_TIMEOUT_S)
            except Exception:  # already gone
                pass
        if self.process.stdin and not self.process.stdin.is_closing():
            self.process.stdin.close()  # end of requests: the shard closes its engine and exits
        try:
            await asyncio.wait_for(self.process.wait(), timeout=SHUTDOWN_TIMEOUT_S)
        except asyncio.TimeoutError:
            self.process.kill()
            await self.process.wait()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)


class InProcessLink:
    def __init__(self, index: int, data_dir: Path) -> None:
        self.index = index
        self.data_dir = data_dir
        self.engine = None  # the shard's Engine (tests reach it as `coordinator.local`)
        self.server = None
        self._lock = None
        self._closed = asyncio.Event()

    pid = None

    async def open(self, settings: dict) -> dict:
        from engine.config import Settings
        from engine.sharding.shard import ShardServer, open_shard, ready_info

        self.engine, self._lock = await open_shard(Settings.model_validate(settings))
        self.server = ShardServer(self.engine)
        return ready_info(self.engine)

    async def request(self, method: str, params: dict) -> dict:
        return await self.server.answer({"id": 0, "method": method, "params": params})

    async def snapshot(self) -> dict | None:
        from engine.sharding.shard import shard_snapshot

        return await shard_snapshot(self.engine) if self.engine is not None else None

    def latest_totals(self) -> dict | None:
        return self.engine.totals.to_json() if self.engine is not None else None

    def thread_statuses(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for thread in (self.engine.threads.values() if self.engine is not None else ()):
            counts[thread.status] = counts.get(thread.status, 0) + 1
        return counts

    async def exited(self) -> int:
        await self._closed.wait()
        return 0

    def forget_running(self) -> None:
        pass

    async def close(self, alive: bool) -> None:
        if self.engine is not None:
            await self.engine.close()
        if self._lock is not None:
            self._lock.release()
        self._closed.set()


def _repo_root() -> str:
    root = str(Path(__file__).resolve().parents[2])
    existing = os.environ.get("PYTHONPATH")
    return f"{root}{os.pathsep}{existing}" if existing else root
