"""Running threads: a worker task per started thread, a stepper per thread driven by hand, and
the session file each run leaves behind. The host (the Engine) lends its parts to the workers."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from engine import status as status_view
from engine.chain.base import ChainError
from engine.observe import observe
from engine.operations import Outcome
from engine.store import utc_now_iso
from engine.threads import ERROR, RUNNING, STOPPED, ThreadRecord, set_status
from engine.workers import Worker

log = logging.getLogger(__name__)
MIN_SESSION_READ_S = 1.0  # a stopped thread's closing balances are read for at least this long


def _worker_class(thread: ThreadRecord):
    """The kind's own worker class where it has one (attack threads), else the ordinary Worker."""
    return getattr(thread.kind, "worker", None) or Worker


@dataclass
class _Running:
    worker: Worker
    task: asyncio.Task


class Runner:
    def __init__(self, host) -> None:
        self.host = host
        self.running: dict[str, _Running] = {}
        self._steppers: dict[str, Worker] = {}

    async def start(self, thread: ThreadRecord, reason: str) -> None:
        """Start a thread's worker with a fresh session (the caller saves threads.json)."""
        host = self.host
        pool = host.pools[thread.pool_id]
        view = await observe(host.cluster, pool.addresses, thread.wallet.pubkey, with_pool=False)
        host.recorder.begin_session(thread, reason, view.wallet.numbers())
        set_status(thread, RUNNING)
        thread.started_at, thread.error_state, thread.waiting_reason = utc_now_iso(), None, None
        worker = _worker_class(thread)(host, thread, pool)
        pool.turns.join(thread.thread_id)
        self.running[thread.thread_id] = _Running(worker, asyncio.create_task(worker.run(), name=thread.thread_id))

    async def stop(self, thread: ThreadRecord, reason: str) -> str | None:
        """Stop the worker (an operation in flight finishes and is verified first, for up to
        chain.stop_grace_s: past it the operation is abandoned uncounted); returns the session
        file written, None for a thread in the error state (its session is closed)."""
        loop = asyncio.get_running_loop()
        grace = self.host.settings.chain.stop_grace_s
        deadline = loop.time() + grace
        running = self.running.pop(thread.thread_id, None)
        if running is not None:
            running.worker.request_stop()
            if not running.worker.in_operation:
                running.task.cancel()  # nothing in flight: it ends at its next step, with nothing left to count
            else:
                await self._await_operation(thread, running, grace)
        if thread.status == ERROR:
            return None
        if thread.status == RUNNING:
            set_status(thread, STOPPED)
        return await self.write_session(thread, reason, timeout_s=max(deadline - loop.time(), MIN_SESSION_READ_S))

    async def _await_operation(self, thread: ThreadRecord, running: _Running, grace: float) -> None:
        done, _ = await asyncio.wait({running.task}, timeout=grace)
        if not done:  # the chain does not answer: a stop must not wait for it
            log.warning("thread %s: its operation did not finish within %g s of the stop; abandoned",
                        thread.thread_id, grace)
            running.task.cancel()
            await asyncio.gather(running.task, return_exceptions=True)

    async def step(self, thread: ThreadRecord) -> Outcome | None:
        """One cycle of a thread that is not running."""
        stepper = self._steppers.get(thread.thread_id)
        if stepper is None:
            stepper = self._steppers[thread.thread_id] = _worker_class(thread)(self.host, thread,
                                                                                self.host.pools[thread.pool_id])
        return await stepper.cycle()

    def halt(self, thread: ThreadRecord) -> None:
        """A thread entered the error state: its loop ends and calls finished()."""
        running = self.running.get(thread.thread_id)
        if running is not None:
            running.worker.request_stop()

    def finished(self, thread: ThreadRecord) -> None:
        self.running.pop(thread.thread_id, None)

    def forget(self, thread_id: str) -> None:
        self._steppers.pop(thread_id, None)

    async def write_session(self, thread: ThreadRecord, stop_reason: str, *,
                            timeout_s: float | None = None) -> str | None:
        """The session file with the wallet's balances read now; within `timeout_s` (a stop), or
        else with the balances the thread saw last (a chain that does not answer)."""
        if not thread.stats.session_started_at:
            return None
        host = self.host
        pool = host.pools[thread.pool_id]
        reading = observe(host.cluster, pool.addresses, thread.wallet.pubkey, with_pool=False)
        try:
            wallet = (await asyncio.wait_for(reading, timeout_s)).wallet
        except (asyncio.TimeoutError, ChainError):
            if timeout_s is None or thread.wallet_view is None:
                raise
            log.warning("thread %s: its session is closed with the balances it saw last (the chain did not "
                        "answer within %g s)", thread.thread_id, timeout_s)
            wallet = thread.wallet_view
        session = status_view.session_document(thread, wallet, stop_reason)
        return host.store.write_session(thread.thread_id, session, datetime.now(timezone.utc))
