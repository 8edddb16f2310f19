"""TurnGate: workers pass freely inside a turn's time slice, park after it, and are let back in
batches sized from the measured cost of a cycle, one batch per event-loop turn."""
from __future__ import annotations

import asyncio

import pytest

from engine.workers import TurnGate


def _passes_without_parking(gate: TurnGate) -> bool:
    """Step `gate.enter()` once by hand: True when it returned without waiting for anything."""
    coroutine = gate.enter()
    try:
        coroutine.send(None)
    except StopIteration:
        return True
    coroutine.close()
    return False


class Recorder:
    """Counts the gate's release turns and which worker got through in which of them."""

    def __init__(self, gate: TurnGate) -> None:
        self.turns = 0
        self.through: list[tuple[int, int]] = []  # (worker, release turn)
        release = gate._release

        def counted() -> None:
            self.turns += 1
            release()

        gate._release = counted

    async def worker(self, gate: TurnGate, index: int) -> None:
        await gate.enter()
        self.through.append((index, self.turns))


async def _all(*aws, return_exceptions: bool = False):
    """gather, but a gate that stops releasing fails the test instead of hanging it."""
    return await asyncio.wait_for(asyncio.gather(*aws, return_exceptions=return_exceptions), timeout=5)


async def _settle(predicate, turns: int = 1_000) -> None:
    for _ in range(turns):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("the gate did not settle")


async def test_a_worker_inside_the_open_slice_passes_without_parking():
    gate = TurnGate(slice_s=60.0)
    loop = asyncio.get_running_loop()
    gate.deadline = loop.time() + 60.0  # a slice is open
    assert _passes_without_parking(gate)
    assert not gate.parked and not gate._release_scheduled


async def test_the_first_worker_parks_until_the_next_turn_which_opens_a_slice():
    gate = TurnGate(slice_s=60.0)
    loop = asyncio.get_running_loop()
    assert gate.deadline == 0.0  # no slice yet
    first = asyncio.ensure_future(gate.enter())
    await asyncio.sleep(0)
    assert len(gate.parked) == 1 and not first.done()
    await asyncio.wait_for(first, 5)
    assert gate.deadline > loop.time() + 59  # the release opened a slice of slice_s
    assert _passes_without_parking(gate)  # and the next worker in that slice does not park


async def test_after_the_deadline_workers_park():
    gate = TurnGate(slice_s=0.002)
    gate.deadline = asyncio.get_running_loop().time() + 0.002
    assert _passes_without_parking(gate)
    await asyncio.sleep(0.004)  # the slice is over
    parked = asyncio.ensure_future(gate.enter())
    await asyncio.sleep(0)
    assert not parked.done() and len(gate.parked) == 1 and gate._release_scheduled
    await asyncio.wait_for(parked, 5)  # released on the next turn
    assert not gate.parked


async def test_while_others_are_parked_a_newcomer_parks_too_even_inside_a_slice():
    gate = TurnGate(slice_s=60.0)
    gate.cycle_cost = 120.0  # batch of 1
    recorder = Recorder(gate)
    gate.deadline = 0.0
    early = [asyncio.ensure_future(recorder.worker(gate, i)) for i in range(10)]
    await asyncio.sleep(0)  # all ten parked
    assert len(gate.parked) == 10
    await _settle(lambda: recorder.through)  # the first release opened a slice and let worker 0 in
    assert gate.deadline > asyncio.get_running_loop().time() and gate.parked
    assert not _passes_without_parking(gate)  # a slice is open, but others wait: it queues behind them
    await _all(*early)
    await _settle(lambda: not gate.parked)


@pytest.mark.parametrize("cycle_cost, batch", [(0.0003, 3), (0.0005, 2), (0.002, 1), (0.0, 100)])
async def test_parked_workers_are_released_in_batches_sized_from_the_cycle_cost(cycle_cost, batch):
    gate = TurnGate(slice_s=0.001)
    gate.cycle_cost = cycle_cost  # slice 1 ms / cycle 0.3 ms -> 3 a turn; never under 1; cost floored at 10 µs
    recorder = Recorder(gate)
    count = 10
    await _all(*(recorder.worker(gate, i) for i in range(count)))
    assert [index for index, _ in recorder.through] == list(range(count))  # first parked, first out
    per_turn = [sum(1 for _, turn in recorder.through if turn == t) for t in range(1, recorder.turns + 1)]
    expected = [batch] * (count // batch) + ([count % batch] if count % batch else [])
    assert per_turn == expected
    assert not gate.parked and not gate._release_scheduled


async def test_every_parked_waiter_is_eventually_released():
    gate = TurnGate(slice_s=0.0001)
    gate.cycle_cost = 1.0  # one a turn: the slowest drain
    recorder = Recorder(gate)
    await _all(*(recorder.worker(gate, i) for i in range(200)))
    assert len(recorder.through) == 200 and recorder.turns == 200
    assert not gate.parked and not gate._release_scheduled


async def test_a_cancelled_waiter_is_skipped_and_does_not_use_up_the_batch():
    gate = TurnGate(slice_s=0.001)
    gate.cycle_cost = 0.0005  # 2 a turn
    recorder = Recorder(gate)
    tasks = [asyncio.ensure_future(recorder.worker(gate, i)) for i in range(5)]
    await asyncio.sleep(0)  # all parked, the first release not yet run
    assert len(gate.parked) == 5
    tasks[0].cancel()
    await _all(*tasks, return_exceptions=True)
    assert recorder.through == [(1, 1), (2, 1), (3, 2), (4, 2)]
    assert not gate.parked


async def test_workers_that_come_back_queue_behind_the_parked_ones():
    """A released worker that returns for its next cycle while others still wait goes to the back."""
    gate = TurnGate(slice_s=60.0)
    gate.cycle_cost = 30.0  # 2 a turn
    order: list[tuple[int, int]] = []

    async def cycles(index: int) -> None:
        for cycle in range(2):
            await gate.enter()
            order.append((index, cycle))

    await _all(*(cycles(i) for i in range(4)))
    first_cycles = [index for index, cycle in order if cycle == 0]
    assert first_cycles == [0, 1, 2, 3]
    assert order.index((3, 0)) < order.index((0, 1))  # nobody gets a second cycle before all had a first


def test_record_cycle_is_an_exponential_moving_average():
    gate = TurnGate()
    assert gate.cycle_cost == 0.001
    gate.record_cycle(0.011)
    assert gate.cycle_cost == pytest.approx(0.0015)  # 5 % of the way to the new sample
    gate.record_cycle(0.0015)
    assert gate.cycle_cost == pytest.approx(0.0015)  # a sample equal to the average leaves it
    for _ in range(200):
        gate.record_cycle(0.004)
    assert gate.cycle_cost == pytest.approx(0.004, rel=1e-3)  # converges on a steady cost
    for _ in range(200):
        gate.record_cycle(0.0)
    assert 0 <= gate.cycle_cost < 1e-6


async def test_the_batch_follows_the_measured_cycle_cost():
    gate = TurnGate(slice_s=0.01)
    for _ in range(300):
        gate.record_cycle(0.0025)  # 10 ms slice / ~2.5 ms cycles: 4 (3 if the average ends a hair above)
    recorder = Recorder(gate)
    await _all(*(recorder.worker(gate, i) for i in range(12)))
    first_batch = sum(1 for _, turn in recorder.through if turn == 1)
    assert first_batch == max(1, int(0.01 / gate.cycle_cost)) and first_batch in (3, 4)
