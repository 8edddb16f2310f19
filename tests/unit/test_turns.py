"""PoolTurns: a pool's threads take turns in the order of their seeded pauses, not of timing."""
from __future__ import annotations

import asyncio

import pytest

from engine.turns import PoolTurns


async def _take(turns: PoolTurns, order: list[str], thread_id: str, pauses: list[float]) -> None:
    for pause in pauses:
        await turns.wait(thread_id)
        order.append(thread_id)
        await asyncio.sleep(0)  # the operation
        turns.release(thread_id, pause)
    turns.leave(thread_id)


async def test_turns_go_by_due_time_then_by_who_declared_first():
    turns, order = PoolTurns(), []
    with turns.held():
        for thread_id in ("c", "a", "b"):
            turns.join(thread_id)
    await asyncio.gather(_take(turns, order, "a", [1.0, 1.0]), _take(turns, order, "b", [0.5, 5.0]),
                         _take(turns, order, "c", [0.0, 0.0]))
    # all due at 0, in the order they joined: c, a, b; then c (due 0 again), b (0.5), a (1.0)
    assert order == ["c", "a", "b", "c", "b", "a"]


async def test_the_thread_due_first_is_waited_for_even_when_it_asks_late():
    turns, order = PoolTurns(), []
    turns.join("slow")
    turns.join("fast")

    async def slow() -> None:
        for _ in range(20):  # it is busy elsewhere before asking
            await asyncio.sleep(0)
        await _take(turns, order, "slow", [10.0])

    await asyncio.gather(_take(turns, order, "fast", [1.0, 1.0]), slow())
    assert order == ["slow", "fast", "fast"]


async def test_a_thread_stopped_while_waiting_or_holding_its_turn_does_not_block_the_others():
    turns, order = PoolTurns(), []
    for thread_id in ("a", "b", "c"):
        turns.join(thread_id)
    await turns.wait("a")  # a holds the turn
    b_waiting = asyncio.ensure_future(turns.wait("b"))
    await asyncio.sleep(0)
    b_waiting.cancel()  # b stopped while it waited
    with pytest.raises(asyncio.CancelledError):
        await b_waiting
    c_taking = asyncio.ensure_future(_take(turns, order, "c", [0.0]))
    await asyncio.sleep(0)
    assert order == []  # a still holds it
    turns.leave("a")  # a stopped during its turn (the worker's `finally`)
    await asyncio.wait_for(c_taking, 1)
    assert order == ["c"]


async def test_nothing_is_granted_while_held():
    turns, order = PoolTurns(), []
    with turns.held():
        turns.join("a")
        task = asyncio.ensure_future(_take(turns, order, "a", [0.0]))
        for _ in range(5):
            await asyncio.sleep(0)
        assert order == []
    await asyncio.wait_for(task, 1)
    assert order == ["a"]
