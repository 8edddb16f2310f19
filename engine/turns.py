"""The order in which a pool's running threads take their turns: fixed by the seed, not by timing.

Each thread declares when its next turn is due on the pool's logical clock (its previous turn's
time plus the pause it drew from its own seeded RNG). The pool grants turns in order of
(due time, declaration number, thread id) and waits for a thread that is due first even when it is
still sleeping or parked elsewhere. So the same scenario, seed and shard count give each pool the
same sequence of operations, whatever the machine's speed, the event loop's scheduling or the
chain's latency. What still varies is said in README ("Reproducible runs").

    turns.join("deposit_1")              # the worker starts: due now
    await turns.wait("deposit_1")        # its turn (the pool's lock is taken after this)
    turns.release("deposit_1", 1.25)     # done; due again 1.25 logical seconds later
    turns.leave("deposit_1")             # the worker ends
"""
from __future__ import annotations

import asyncio
import heapq
from contextlib import contextmanager


class PoolTurns:
    def __init__(self) -> None:
        self.clock = 0.0  # the due time of the latest turn granted
        self._due: dict[str, tuple[float, int, str]] = {}  # each thread's current declaration
        self._order: list[tuple[float, int, str]] = []  # a heap of declarations; superseded ones are skipped
        self._waiting: dict[str, asyncio.Future] = {}
        self._declared = 0
        self._holder: str | None = None
        self._holds = 0

    def join(self, thread_id: str) -> None:
        self._declare(thread_id, self.clock)

    def leave(self, thread_id: str) -> None:
        self._due.pop(thread_id, None)
        waiter = self._waiting.pop(thread_id, None)
        if waiter is not None and not waiter.done():
            waiter.cancel()
        if self._holder == thread_id:
            self._holder = None
        self._grant()

    async def wait(self, thread_id: str) -> None:
        waiter = self._waiting[thread_id] = asyncio.get_running_loop().create_future()
        self._grant()
        try:
            await waiter
        except asyncio.CancelledError:
            self.leave(thread_id)  # a stop while it waited: it will not take this turn
            raise

    def release(self, thread_id: str, pause_s: float) -> None:
        if self._holder == thread_id:
            self._holder = None
        if thread_id in self._due:
            self._declare(thread_id, self._due[thread_id][0] + pause_s)
        self._grant()

    @contextmanager
    def held(self):
        """No turn is granted inside: threads started together all join before any goes."""
        self._holds += 1
        try:
            yield
        finally:
            self._holds -= 1
            self._grant()

    def _declare(self, thread_id: str, due: float) -> None:
        self._declared += 1
        key = self._due[thread_id] = (due, self._declared, thread_id)
        heapq.heappush(self._order, key)

    def _grant(self) -> None:
        if self._holder is not None or self._holds:
            return
        order, due_of = self._order, self._due
        while order and due_of.get(order[0][2]) != order[0]:  # superseded, or its thread left
            heapq.heappop(order)
        if not order:
            return
        due, _, first = order[0]
        waiter = self._waiting.pop(first, None)
        if waiter is None or waiter.done():  # not asking yet (pausing, parked), or being cancelled (its
            return                           # leave() follows): wait for it
        self._holder, self.clock = first, due
        waiter.set_result(None)
