"""Findings a developer can act on: a bug put in the program on purpose (a swap of a multiple of 7
pays one unit too much, tests/support/buggy_program.py) is found by a run, listed by `findings`,
reproduced by `replay` (and not without the bug), shrunk to a few steps by `shrink`, and exported
as a pytest file that fails with the bug and passes without it."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from console.cli import main
from engine.history.replay import Replay, reproduce
from engine.history.steps import describe, load_history
from engine.history.target import locate
from tests.integration.conftest import engine_settings
from tests.support import buggy_program
from engine.sharding.coordinator import Coordinator

REPO = Path(__file__).resolve().parents[2]


def _run_with_the_bug(data_dir: Path, monkeypatch, cycles: int = 30) -> dict:
    return asyncio.run(_bugged_run(data_dir, monkeypatch, cycles))


async def _bugged_run(data_dir: Path, monkeypatch, cycles: int) -> dict:
    buggy_program.inject(monkeypatch)
    engine = await Coordinator.open(engine_settings(data_dir))
    group = await buggy_program.run_until_it_shows(engine, cycles)
    await engine.close()
    return group


@pytest.fixture
def no_config(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text("")
    monkeypatch.setenv("FRT_STRESS_CONFIG", str(config))


def test_findings_lists_the_bug_with_the_commands_that_reproduce_it(tmp_path, monkeypatch, capsys, no_config):
    data = tmp_path / "data"
    group = _run_with_the_bug(data, monkeypatch)
    assert group["operation"] == "swap" and group["count"] >= 1
    assert main(["findings", "--data-dir", str(data), "--json"]) == 0
    listed = {g["id"]: g for g in json.loads(capsys.readouterr().out)["groups"]}
    assert listed[group["id"]]["commands"] == {
        verb: f"frt-stress {verb} {group['id']} --data-dir {data}" for verb in ("replay", "shrink", "export")}


def test_replay_reproduces_the_finding_with_the_bug_and_not_without(tmp_path, monkeypatch, capsys, no_config):
    data = tmp_path / "data"
    group = _run_with_the_bug(data, monkeypatch)
    assert main(["replay", group["id"], "--data-dir", str(data)]) == 1
    out = capsys.readouterr().out
    assert "reproduced at step" in out and "balances moved differently" in out

    monkeypatch.undo()  # the program fixed
    assert main(["replay", group["id"][:8], "--data-dir", str(data)]) == 0
    assert "not reproduced" in capsys.readouterr().out


async def test_the_whole_history_replays_as_it_ran(tmp_path, monkeypatch):
    """Every step of the pool (funding, LP shared between threads, deposits, withdrawals, swaps)
    answers on the fresh ledger as it did in the run: the history is complete."""
    data = tmp_path / "data"
    await _bugged_run(data, monkeypatch, 30)
    (path,) = (data / "shards" / "0" / "history").glob("*.jsonl")
    history = load_history(path)
    described = {step["ix"][-1][0] for step in history.steps}
    assert len(history.steps) > 60 and len(described) > 5
    replay = await Replay.start(history)
    diverged = [step["n"] for step in history.steps if (await replay.run(step, check=False)).diverged]
    assert diverged == []


async def test_a_history_goes_on_after_a_restart_and_ignores_a_torn_last_line(tmp_path, monkeypatch):
    data = tmp_path / "data"
    group = await _bugged_run(data, monkeypatch, 10)
    (path,) = (data / "shards" / "0" / "history").glob("*.jsonl")
    before = len(load_history(path).steps)
    engine = await Coordinator.open(engine_settings(data))
    thread_id = "swap_1"
    for _ in range(5):
        await engine.run_cycle(thread_id)
    await engine.close()
    history = load_history(path)
    assert [step["n"] for step in history.steps] == list(range(1, len(history.steps) + 1))
    assert len(history.steps) >= before + 5
    with path.open("a") as file:
        file.write('{"n": 999, "sig": "torn')  # a crash mid-write
    assert len(load_history(path).steps) == len(history.steps)
    engine = await Coordinator.open(engine_settings(data))  # the next engine goes on after the good lines
    await engine.run_cycle(thread_id)
    await engine.close()
    assert [step["n"] for step in load_history(path).steps] == list(range(1, len(history.steps) + 2))
    target = locate(data, group["id"])
    assert (await reproduce(target.history, target.steps, target.kind, target.rule)).reproduced


def test_shrink_brings_the_finding_down_to_a_few_steps_that_still_reproduce_it(tmp_path, monkeypatch, capsys,
                                                                                      no_config):
    data = tmp_path / "data"
    group = _run_with_the_bug(data, monkeypatch)
    recorded = len(locate(data, group["id"]).steps)
    output = tmp_path / "shrunk.json"
    assert main(["shrink", group["id"], "--data-dir", str(data), "-o", str(output)]) == 0
    assert "tries" in capsys.readouterr().out  # progress was shown
    document = json.loads(output.read_text())
    operations = document["operations"]
    assert len(operations) <= 5 < recorded and document["recorded_steps"] == recorded
    assert operations[-1]["what"].startswith("swap A ")
    swapped = int(operations[-1]["what"].split()[2].replace("_", ""))
    assert swapped % 7 == 0  # the bug's trigger survived the shrinking of amounts
    from engine.history.export import history_of_document

    history, steps = history_of_document(document)
    assert asyncio.run(reproduce(history, steps, group["kind"], group["rule"])).reproduced
    exported = tmp_path / "test_shrunk.py"
    assert main(["export", group["id"], "--data-dir", str(data), "--shrunk", str(output), "-o", str(exported)]) == 0
    assert exported.read_text().count("\nstep(") == len(operations)
    assert main(["export", group["id"], "--data-dir", str(data), "--shrunk", str(tmp_path / "none.json")]) == 2


def test_the_exported_test_fails_with_the_bug_and_passes_without_it(tmp_path, monkeypatch, capsys, no_config):
    data = tmp_path / "data"
    group = _run_with_the_bug(data, monkeypatch)
    target = locate(data, group["id"])
    assert main(["shrink", group["id"], "--data-dir", str(data)]) == 0  # kept next to the history: export uses it
    exported = tmp_path / "exported" / "test_reproducer.py"
    exported.parent.mkdir()
    assert main(["export", group["id"], "--data-dir", str(data), "-o", str(exported)]) == 0
    text = exported.read_text()
    assert "from engine.history.replay import reproduce_steps" in text and "tests." not in text
    shrunk = json.loads((target.history.path.parent / f"{group['id']}.shrunk.json").read_text())["operations"]
    assert text.count("\nstep(") == len(shrunk) < len(target.steps) and "'swap A " in text  # one line per step

    def pytest_in(directory: Path) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", exported.name],
                              cwd=directory, capture_output=True, text=True, timeout=120)

    fixed = pytest_in(exported.parent)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    (exported.parent / "conftest.py").write_text(
        f"import sys\nsys.path.insert(0, {str(REPO)!r})\n"
        "import engine.frt.emulator\nfrom tests.support.buggy_program import OverpayingEmulator\n"
        "engine.frt.emulator.FrtEmulator = OverpayingEmulator\n")
    buggy = pytest_in(exported.parent)
    assert buggy.returncode == 1, buggy.stdout + buggy.stderr
    assert "the finding recurs at step" in buggy.stdout


def test_a_finding_of_an_unknown_id_or_without_history_is_a_clear_error(tmp_path, capsys, no_config):
    data = tmp_path / "data"
    asyncio.run(_open_and_close(data))
    assert main(["replay", "ffffffffffff", "--data-dir", str(data)]) == 2
    assert "no finding ffffffffffff" in capsys.readouterr().err
    assert main(["export", "abc", "--data-dir", str(tmp_path / "nowhere")]) == 2
    assert "holds no engine state" in capsys.readouterr().err


async def _open_and_close(data: Path) -> None:
    await (await Coordinator.open(engine_settings(data))).close()


def test_a_seeded_run_gives_each_pool_the_same_sequence_of_operations(tmp_path, no_config, capsys):
    """Twice the same scenario and seed: each pool's history is the same, step for step, up to
    where the shorter run stopped (the duration is wall time, so how far a run gets varies)."""
    from tests.integration.test_run import SMALL

    scenario = tmp_path / "small.toml"
    scenario.write_text(SMALL)
    runs = []
    for name in ("first", "second"):
        assert main(["run", str(scenario), "--duration", "1", "--data-dir", str(tmp_path / name), "--quiet"]) == 0
        histories = {}
        for path in sorted((tmp_path / name / "shards").glob("*/history/*.jsonl")):
            history = load_history(path)
            histories[path.name] = [(step["payer"], describe(step, history), step["ok"]) for step in history.steps]
        runs.append(histories)
    first, second = runs
    assert first.keys() == second.keys() and len(first) == 2
    for pool, steps in first.items():
        common = min(len(steps), len(second[pool]))
        assert common > 20 and steps[:common] == second[pool][:common], pool


async def test_an_attack_s_finding_replays_from_its_recorded_transactions_and_shrinks_to_its_one_step(tmp_path):
    """Attacks send transactions no ordinary thread sends (an admin instruction signed by anyone,
    with its own program-data account): the history keeps them as they were, and the program's
    as-coded admin bypass (CONTRACT.md §13) recurs on a fresh ledger from the attack's step alone."""
    from engine.history.shrink import Shrinker

    data = tmp_path / "data"
    engine = await Coordinator.open(engine_settings(data))
    pool_id = (await engine.create_pool(token_a_decimals=6, token_b_decimals=6, ratio_whole_number=2,
                                        ratio_direction="a_to_b"))["pool_id"]
    depositor = (await engine.create_deposit_thread(pool_id, "A", 10**9))["thread_id"]
    attacker = (await engine.create_attack_thread(pool_id, 10**6, ["admin"]))["thread_id"]
    for _ in range(12):
        await engine.run_cycle(depositor)
        await engine.run_cycle(attacker)
    groups = [g for g in (await engine.get_findings())["groups"] if g["rule"] == "only_admin_changes_settings"]
    await engine.close()
    assert groups
    for group in groups[:3]:
        target = locate(data, group["id"])
        assert (await reproduce(target.history, target.steps, target.kind, target.rule)).reproduced, group
    shrunk = await Shrinker(target.history, target.kind, target.rule).shrink(target.steps)
    assert len(shrunk) == 1 and shrunk[0]["payer"] == attacker


async def test_a_new_finding_can_be_replayed_while_the_engine_still_runs(tmp_path, monkeypatch):
    """The history is written out when a finding opens a group: replay finds its step at once,
    not after the next periodic flush."""
    buggy_program.inject(monkeypatch)
    data = tmp_path / "data"
    engine = await Coordinator.open(engine_settings(data))
    pool_id = (await engine.create_pool(token_a_decimals=6, token_b_decimals=6, ratio_whole_number=2,
                                        ratio_direction="a_to_b"))["pool_id"]
    await engine.run_cycle((await engine.create_deposit_thread(pool_id, "B", 10**12))["thread_id"])
    swapper = (await engine.create_swap_thread(pool_id, "a_to_b", 10**12))["thread_id"]
    while not (await engine.get_findings())["count"]:
        await engine.run_cycle(swapper)
    group = (await engine.get_findings())["groups"][0]
    target = locate(data, group["id"])  # the engine is still open
    assert (await reproduce(target.history, target.steps, target.kind, target.rule)).reproduced
    await engine.close()


async def test_a_step_using_accounts_outside_the_history_is_said_to_be_so(tmp_path):
    """Another pool's creation changes the program-wide treasury, so it is in this pool's history;
    its mints are not, so replay cannot answer as the run did: the difference says why."""
    engine = await Coordinator.open(engine_settings(tmp_path / "data"))
    try:
        first = (await engine.create_pool(token_a_decimals=6, token_b_decimals=6))["pool_id"]
        await engine.create_pool(token_a_decimals=6, token_b_decimals=6)
        await engine.checkpoint()
    finally:
        await engine.close()
    history = load_history(tmp_path / "data" / "shards" / "0" / "history" / f"{first}.jsonl")
    replay = await Replay.start(history)
    outcomes = [await replay.run(step, check=False) for step in history.steps]
    outside = [outcome for outcome in outcomes if outcome.outside]
    assert outside and all(outcome.diverged for outcome in outside)
    assert not any(outcome.diverged for outcome in outcomes if not outcome.outside)
    assert "outside this pool's history" in outside[0].difference()
