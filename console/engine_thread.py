"""The engine's own thread and event loop inside the console process.

The Engine's workers keep their loop busy (at pacing 0, a thousand tasks always ready), and an
asyncio loop has no priorities: on a shared loop every key press would wait behind them. So the
console runs the Engine — and its JSON-RPC listener — on a dedicated thread with its own loop,
and the Textual UI on the main thread; LocalGateway hands each call to the engine loop
(`run_coroutine_threadsafe`) and awaits the answer without blocking the UI. Only the engine
thread touches engine state. By default the engine's workers run in shard processes and this
thread holds only their coordinator (and the listener); with engine.shards = 0 it holds the
whole engine, and then shares this process's interpreter lock with the UI.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any, Coroutine

log = logging.getLogger(__name__)


class EngineThread:
    def __init__(self, name: str = "frt-engine") -> None:
        self.name = name
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    def start(self) -> "EngineThread":
        self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)
        self._thread.start()
        self._ready.wait()
        return self

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self.loop = loop
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            try:
                pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
                for task in pending:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    async def run(self, coroutine: Coroutine) -> Any:
        """Run `coroutine` on the engine loop; await its result from any other loop."""
        assert self.loop is not None, "EngineThread.start() first"
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self.loop))

    def stop(self, timeout: float = 30.0) -> None:
        loop, thread = self.loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if thread.is_alive():
            log.error("the engine thread did not stop within %s s", timeout)
