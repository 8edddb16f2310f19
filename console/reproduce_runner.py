"""Replay and shrink of a finding for the console: the work of `frt-stress replay | shrink`
(console/reproduce_commands.py), run on a thread of its own and reported into a ReproduceRun that
the screen reads.

A thread, not a task on the UI's loop: the embedded ledger's awaits never suspend, so a replay
would hold the loop (and every key press) for its whole length. The thread never calls into the
UI; it only sets the run's fields, which the screen polls. `ReproduceRun.stop()` ends it before the
next replayed step; shrink has then already written its best sequence so far (on_better).
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from engine.atomic import atomic_write_text
from engine.history.export import dumps, shrunk_document
from engine.history.replay import Verdict, reproduce
from engine.history.steps import HistoryError
from engine.history.shrink import Progress, Shrinker
from engine.history.target import Target, locate, shrunk_path

log = logging.getLogger(__name__)

VERBS = ("replay", "shrink")


class Stopped(Exception):
    """The run was asked to stop (a key, or its screen closed)."""


@dataclass
class ReproduceRun:
    """One replay or shrink of finding group `group_id`; written by its thread, read by the UI."""
    verb: str  # "replay" | "shrink"
    group_id: str
    data_dir: Path
    state: str = "starting"  # starting | running | done | stopped | failed
    recorded: int = 0  # steps of the pool's history up to the finding's
    step: int = 0  # replay: the step being replayed (1-based, of `recorded`)
    progress: Progress | None = None  # shrink
    verdict: Verdict | None = None  # replay, when done
    output: Path | None = None  # shrink: where the best sequence so far is written
    best: list[dict] = field(default_factory=list)  # shrink: its operations (shrunk_document)
    error: str | None = None
    started: float = field(default_factory=time.monotonic)
    elapsed_s: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def active(self) -> bool:
        return self.state in ("starting", "running")

    def stop(self) -> None:
        self._stop.set()

    def check(self) -> None:
        if self._stop.is_set():
            raise Stopped

    def execute(self) -> None:
        """The whole run, on the calling (worker) thread; never raises."""
        try:
            self.check()
            target = locate(self.data_dir, self.group_id)
            self.recorded = len(target.steps)
            self.state = "running"
            asyncio.run(self._replay(target) if self.verb == "replay" else self._shrink(target))
            self.state = "done"
        except Stopped:
            self.state = "stopped"
        except (HistoryError, ValueError) as exc:  # ValueError: shrink of a history that does not reproduce
            self.error, self.state = str(exc), "failed"
        except Exception as exc:  # noqa: BLE001 - shown on the screen, whole in the log
            log.exception("%s of finding %s failed", self.verb, self.group_id)
            self.error, self.state = f"{type(exc).__name__}: {exc}", "failed"
        finally:
            self.elapsed_s = time.monotonic() - self.started

    async def _replay(self, target: Target) -> None:
        def before_step(number: int) -> None:
            self.check()
            self.step = number

        self.verdict = await reproduce(target.history, target.steps, target.kind, target.rule, before_step=before_step)

    async def _shrink(self, target: Target) -> None:
        self.output = shrunk_path(target)

        def save(steps: list[dict]) -> None:
            document = shrunk_document(target.history, target.group, steps, recorded_steps=self.recorded)
            atomic_write_text(self.output, dumps(document))
            self.best = document["operations"]

        def show(progress: Progress) -> None:
            self.progress = progress

        shrinker = Shrinker(target.history, target.kind, target.rule, before_step=lambda number: self.check(),
                            on_progress=show, on_better=save)
        await shrinker.shrink(target.steps)
