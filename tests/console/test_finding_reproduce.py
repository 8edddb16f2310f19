"""The finding detail reproduces a finding: a bug put in the program on purpose
(tests/support/buggy_program.py) is found by the engine on the embedded chain; its detail shows
the commands that replay, shrink and export it, replays it (r) and shrinks it (s) on a worker
thread with live progress, and says why a finding cannot be replayed."""
from __future__ import annotations

import io
import json
import threading
from pathlib import Path

import pytest
from rich.console import Console
from textual.widgets import Static

from console import reproduce_runner
from console.gateway import LocalGateway
from console.reproduce_runner import ReproduceRun
from console.screens.finding_detail import FindingDetailScreen
from console.screens.help import help_table
from console.widgets.reproduce_panel import STEPS_SHOWN, panel
from engine.findings import make_finding
from engine.history.shrink import Progress
from tests.console.conftest import SIZE, make_console, open_test_engine, refreshed, until
from tests.support import buggy_program


@pytest.fixture
async def buggy_engine(tmp_path, monkeypatch):
    monkeypatch.delenv("FRT_STRESS_PASSPHRASE", raising=False)
    buggy_program.inject(monkeypatch)
    instance = await open_test_engine(tmp_path / "engine", boundary_amount_share=0)
    yield instance
    await instance.close()


async def open_finding(app, pilot, group_id: str) -> FindingDetailScreen:
    await refreshed(app, pilot)
    feed = app.main.feed
    feed.focus()
    feed.select_key(f"finding|{group_id}")
    await pilot.press("enter")
    screen = app.screen
    assert isinstance(screen, FindingDetailScreen)
    await until(lambda: screen.loads >= 1)
    await pilot.pause()
    return screen


def plain(renderable) -> str:
    """A Rich renderable as plain text, its lines unwrapped."""
    console = Console(width=300, file=io.StringIO(), record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def panel_text(screen) -> str:
    return plain(screen.query_one("#reproduce", Static).content)


async def finished(app, pilot) -> None:
    await app.workers.wait_for_complete([worker for worker in app.workers if worker.group == "reproduce"])
    await pilot.pause()


async def test_replay_and_shrink_a_real_finding_from_its_detail(buggy_engine, tmp_path):
    group = await buggy_program.run_until_it_shows(buggy_engine)
    data_dir = buggy_engine.settings.data_dir
    app = make_console(LocalGateway(buggy_engine, owns_engine=False), tmp_path / "state")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_finding(app, pilot, group["id"])
        text = panel_text(screen)
        for verb in ("replay", "shrink", "export"):
            assert f"frt-stress {verb} {group['id']} --data-dir {data_dir}" in text
        assert screen.check_action("replay", ()) and not screen.check_action("stop_reproduce", ())

        await pilot.press("r")
        await finished(app, pilot)
        replay = screen.runs["replay"]
        assert replay.state == "done" and replay.verdict.reproduced
        text = panel_text(screen)
        assert f"reproduced at step {replay.verdict.outcomes[-1].step['n']:,}" in text
        assert "balances moved differently" in text and "0 steps answered differently than recorded" in text

        await pilot.press("s")
        await finished(app, pilot)
        shrink = screen.runs["shrink"]
        assert shrink.state == "done", shrink.error
        written = json.loads(shrink.output.read_text())
        assert shrink.output.name == f"{group['id']}.shrunk.json" and shrink.output.is_relative_to(data_dir)
        assert len(written["operations"]) == len(shrink.best) < written["recorded_steps"] == shrink.recorded
        text = panel_text(screen)
        assert f"{shrink.recorded:,} → {len(shrink.best):,} steps" in text
        assert f"written to:\n  {shrink.output}\n" in text
        lines = [line.rstrip() for line in text.splitlines()]
        for step in written["operations"]:  # one line each: number, payer, what it does
            assert any(line.split()[:2] == [str(step["n"]), step["payer"]] and line.endswith(f" {step['what']}")
                       for line in lines), step
        assert "reproduced at step" in text  # the replay's result stays


def hold_the_worker(monkeypatch, where, name: str, when) -> tuple[threading.Event, threading.Event]:
    """Wrap `where.name` so that the worker thread waits, when `when(*args)` holds the first time,
    until the test lets it go on: (reached, release)."""
    reached, release = threading.Event(), threading.Event()
    original = getattr(where, name)

    def held(*args, **kwargs):
        if not reached.is_set() and when(*args):
            reached.set()
            release.wait(30)
        return original(*args, **kwargs)

    monkeypatch.setattr(where, name, held)
    return reached, release


async def test_leaving_the_screen_stops_a_shrink_that_keeps_its_best_sequence(buggy_engine, tmp_path, monkeypatch):
    group = await buggy_program.run_until_it_shows(buggy_engine)
    # the worker waits after its first better sequence is written (the whole history, still reproducing)
    written, release = hold_the_worker(monkeypatch, reproduce_runner, "atomic_write_text", lambda path, text: True)
    app = make_console(LocalGateway(buggy_engine, owns_engine=False), tmp_path / "state")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_finding(app, pilot, group["id"])
        await pilot.press("s")
        shrink = screen.runs["shrink"]
        await until(written.is_set)
        assert screen.check_action("stop_reproduce", ()) and screen.check_action("replay", ()) is None
        await pilot.press("escape")
        assert app.screen is app.main
        release.set()
        await finished(app, pilot)
        assert shrink.state == "stopped" and shrink.progress.tries == 1
        assert len(json.loads(shrink.output.read_text())["operations"]) == shrink.recorded == len(shrink.best)


async def test_quitting_stops_a_running_shrink(buggy_engine, tmp_path, monkeypatch):
    group = await buggy_program.run_until_it_shows(buggy_engine)
    written, release = hold_the_worker(monkeypatch, reproduce_runner, "atomic_write_text", lambda path, text: True)
    app = make_console(LocalGateway(buggy_engine, owns_engine=False), tmp_path / "state")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_finding(app, pilot, group["id"])
        await pilot.press("s")
        shrink = screen.runs["shrink"]
        await until(written.is_set)
        await pilot.press("q")
    release.set()
    await until(lambda: not shrink.active)
    assert shrink.state == "stopped"


async def test_x_stops_a_replay(buggy_engine, tmp_path, monkeypatch):
    group = await buggy_program.run_until_it_shows(buggy_engine)
    # the worker waits before the 4th step
    reached, release = hold_the_worker(monkeypatch, reproduce_runner.ReproduceRun, "check", lambda run: run.step == 3)
    app = make_console(LocalGateway(buggy_engine, owns_engine=False), tmp_path / "state")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_finding(app, pilot, group["id"])
        await pilot.press("r")
        replay = screen.runs["replay"]
        await until(reached.is_set)
        await until(lambda: "replay: replaying step 3 of" in panel_text(screen))  # the progress ticker
        assert "x stop · replaying step 3 of" in str(screen.query_one("#detail-status", Static).content)
        await pilot.press("x")
        release.set()
        await finished(app, pilot)
        assert replay.state == "stopped" and replay.step == 3
        assert f"replay: stopped at step 3 of {replay.recorded:,}" in panel_text(screen)
        assert screen.check_action("replay", ())  # it can run again


class RemoteLooking:
    """The local gateway, seen as a remote engine's: the console has no data directory."""
    kind = "remote"

    def __init__(self, inner: LocalGateway) -> None:
        self.inner = inner

    def describe(self) -> dict:
        return self.inner.describe() | {"kind": "remote"}

    def __getattr__(self, name):
        if name == "engine":
            raise AttributeError(name)
        return getattr(self.inner, name)


async def test_attached_to_a_remote_engine_the_detail_shows_the_commands_only(buggy_engine, tmp_path):
    group = await buggy_program.run_until_it_shows(buggy_engine, cycles=12)
    app = make_console(RemoteLooking(LocalGateway(buggy_engine, owns_engine=False)), tmp_path / "state")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_finding(app, pilot, group["id"])
        text = panel_text(screen)
        assert f"frt-stress replay {group['id']}\n" in text and "--data-dir" not in text.split("replay and")[0]
        assert "replay and shrink run where the engine's data directory is" in text
        assert screen.check_action("replay", ()) is False and screen.check_action("shrink", ()) is False
        await pilot.press("r")
        assert screen.runs == {}


@pytest.mark.parametrize("rule, pool, why", [
    ("third_party_cannot_block_others", True, "third_party_cannot_block_others is judged by the attack that found it"),
    ("vault_backing", False, "the finding belongs to no pool"),
])
async def test_a_finding_that_cannot_be_replayed_says_why(engine, console, rule, pool, why):
    pool_id = (await engine.create_pool(token_a_decimals=6, token_b_decimals=6, ratio_whole_number=2,
                                        ratio_direction="a_to_b"))["pool_id"]
    engine.local.recorder.record_finding(make_finding("intent_violation", rule, "high", "made up for the test"),
                                         pool_id=pool_id if pool else None, operation="attack", summary="attack")
    group = (await engine.get_findings())["groups"][0]
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_finding(app, pilot, group["id"])
        text = panel_text(screen)
        assert f"not replayable: {why}" in text and "frt-stress replay" not in text
        assert screen.check_action("replay", ()) is False
        await pilot.press("r", "s")
        assert screen.runs == {}


def test_a_running_shrink_shows_its_phase_tries_and_best_steps_so_far():
    steps = [{"n": n, "payer": "swap_1", "what": "swap A 7 for 14"} for n in range(40)]
    run = ReproduceRun("shrink", "7c23730aaa1b", Path("/data"), state="running", recorded=149,
                       progress=Progress("amounts", 57, 40, 3.2), output=Path("/data/x.shrunk.json"), best=steps)
    text = plain(panel({"id": "7c23730aaa1b", "rule": "vault_backing", "pool_id": "P"}, Path("/data"),
                       {"shrink": run}))
    assert "shrink: halving amounts · tries 57 · best 40 of 149 steps" in text
    assert "best so far in:\n  /data/x.shrunk.json" in text and "swap A 7" not in text  # the steps when done
    run.state = "stopped"
    text = plain(panel({"id": "7c23730aaa1b", "rule": "vault_backing", "pool_id": "P"}, Path("/data"),
                       {"shrink": run}))
    assert "stopped after" in text and f"… and {40 - STEPS_SHOWN} more steps in the file" in text


def test_the_help_lists_the_finding_detail_keys():
    text = plain(help_table())
    for description in ("Replay", "Shrink", "Stop"):
        assert any(line.split()[1:2] == [description] and "Finding detail:" in line for line in text.splitlines())
