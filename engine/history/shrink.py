"""Shrink a finding's history to a minimal sequence that still reproduces it: delta debugging over
the steps before the finding's step (which always stays, last), then smaller amounts step by step.

Every candidate is replayed from nothing on a fresh ledger (engine/history/replay.py). Each time
a shorter or smaller sequence still reproduces, `on_better` gets it, so an interrupted shrink keeps
the best sequence so far.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from engine.frt import model
from engine.frt.constants import FLAG_EXACT_EXCHANGE_REQUIRED
from engine.frt.errors import ProgramError
from engine.history.replay import reproduce
from engine.history.steps import History, describe, step_amount, with_amount


@dataclass
class Progress:
    phase: str  # "steps" | "amounts" | "done"
    tries: int
    steps: int  # in the best sequence so far
    elapsed_s: float


class Shrinker:
    def __init__(self, history: History, kind: str, rule: str, *, emulator_factory: Callable | None = None,
                 on_progress: Callable[[Progress], None] | None = None,
                 on_better: Callable[[list[dict]], None] | None = None,
                 before_step: Callable[[int], None] | None = None) -> None:
        self.history, self.kind, self.rule = history, kind, rule
        self.emulator_factory = emulator_factory
        self.on_progress = on_progress or (lambda progress: None)
        self.on_better = on_better or (lambda steps: None)
        self.before_step = before_step  # called before each replayed step (an exception ends the shrink)
        self.tries = 0
        self.started = time.monotonic()
        self.best: list[dict] = []

    async def reproduces(self, steps: list[dict]) -> bool:
        self.tries += 1
        verdict = await reproduce(self.history, steps, self.kind, self.rule, emulator_factory=self.emulator_factory,
                                  before_step=self.before_step)
        return verdict.reproduced

    def _report(self, phase: str) -> None:
        self.on_progress(Progress(phase, self.tries, len(self.best), time.monotonic() - self.started))

    def _improved(self, steps: list[dict], phase: str) -> None:
        self.best = steps
        self.on_better(steps)
        self._report(phase)

    async def shrink(self, steps: list[dict]) -> list[dict]:
        """The shrunk sequence (the finding's step last). Raises ValueError when `steps` itself does
        not reproduce the finding."""
        if not await self.reproduces(steps):
            raise ValueError("the history does not reproduce the finding: nothing to shrink")
        self._improved(list(steps), "steps")
        target = steps[-1]
        prefix = await self._drop_steps(list(steps[:-1]), target)
        await self._shrink_amounts(prefix + [target])
        self._report("done")
        return self.best

    async def _drop_steps(self, prefix: list[dict], target: dict) -> list[dict]:
        """ddmin over the steps before the target: try removing chunks, halving their size
        whenever no chunk can go."""
        if prefix and await self.reproduces([target]):
            self._improved([target], "steps")
            return []
        chunks = 2
        while len(prefix) >= 1:
            size = -(-len(prefix) // chunks)
            for start in range(0, len(prefix), size):
                candidate = prefix[:start] + prefix[start + size:]
                if await self.reproduces(candidate + [target]):
                    prefix = candidate
                    self._improved(prefix + [target], "steps")
                    chunks = max(chunks - 1, 2)
                    break
            else:
                if size == 1:
                    break
                chunks = min(len(prefix), chunks * 2)
            self._report("steps")
        return prefix

    async def _shrink_amounts(self, steps: list[dict]) -> None:
        """For each step with an amount, halve it while the finding still recurs (a swap keeps
        asking for the exact output of its new amount)."""
        for index in range(len(steps) - 1, -1, -1):  # the finding's own step first
            amount = step_amount(steps[index], self.history)
            while amount and amount > 1:
                smaller = amount // 2
                candidate = steps[:index] + [self._with_amount(steps[index], smaller)] + steps[index + 1:]
                if not await self.reproduces(candidate):
                    break
                steps, amount = candidate, smaller
                self._improved(steps, "amounts")
            self._report("amounts")

    def _with_amount(self, step: dict, amount: int) -> dict:
        described = describe(step, self.history)
        if described["do"] != "swap":
            return with_amount(step, self.history, amount)
        header = self.history.header
        exact = bool(header["flags"] & FLAG_EXACT_EXCHANGE_REQUIRED)
        if described["min_out"] != _swap_output(described["amount"], header, described["token"], exact):
            return with_amount(step, self.history, amount)  # it asked for something else: keep asking that
        return with_amount(step, self.history, amount, min_out=_swap_output(amount, header, described["token"], exact))


def _swap_output(amount: int, header: dict, token: str, exact: bool) -> int:
    try:
        return model.swap_output(amount, header["ratio_a_numerator"], header["ratio_b_denominator"], token == "A", exact)
    except ProgramError:
        return 0
