"""The finding detail's "Reproduce" panel: the commands that reproduce a finding group (plain
lines, to copy into a shell), why it cannot be replayed, and the progress and result of the
console's own replay and shrink runs (console/reproduce_runner.py)."""
from __future__ import annotations

import time
from pathlib import Path

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from console.findings_command import replayable
from console.reproduce_commands import commands_for
from console.reproduce_runner import ReproduceRun
from engine.history.replay import REPLAYABLE_RULES

PHASES = {"steps": "dropping steps", "amounts": "halving amounts", "done": "done"}
DIVERGENCES_SHOWN = 5
STEPS_SHOWN = 30  # a shrink stopped early can hold most of the history


def why_not_replayable(group: dict | None, group_id: str | None = None) -> str | None:
    """None when the group can be replayed; else why not, in a sentence. `group_id`: the group the
    entry names, when the engine's answer did not include it."""
    if group is None:
        return (f"the engine's newest finding groups do not include {group_id}" if group_id
                else "this entry names no finding group")
    if group["rule"] not in REPLAYABLE_RULES:
        return (f"{group['rule']} is judged by the attack that found it; replay's oracle checks only the "
                f"intent and invariant rules")
    if not replayable(group):
        return "the finding belongs to no pool: there is no pool history to replay"
    return None


def panel(group: dict | None, data_dir: Path | None, runs: dict[str, ReproduceRun], group_id: str | None = None) \
        -> Group:
    """`data_dir`: the local engine's; None when the console is attached to a remote engine."""
    text = Text("Reproduce", style="bold")
    reason = why_not_replayable(group, group_id)
    if reason is not None:
        text.append(f"\nnot replayable: {reason}", style="dim")
        return Group(text)
    commands = commands_for(group, data_dir)
    if data_dir is not None:
        text.append("  (r replay · s shrink here; or in a shell:)", style="dim")
    for command in commands.values():
        text.append(f"\n{command}")
    if data_dir is None:
        text.append("\nreplay and shrink run where the engine's data directory is: on the engine's machine "
                    "(with --data-dir DIR when it is not the configured one)", style="dim")
    parts: list[RenderableType] = [text]
    if "replay" in runs:
        parts.append(replay_lines(runs["replay"]))
    if "shrink" in runs:
        parts += shrink_parts(runs["shrink"])
    return Group(*parts)


def failure(run: ReproduceRun) -> Text:
    return Text(f"✖ {run.error}", style="red")


def elapsed(run: ReproduceRun) -> float:
    return time.monotonic() - run.started if run.active else run.elapsed_s


def replay_lines(run: ReproduceRun) -> Text:
    text = Text("replay: ", style="bold")
    verdict = run.verdict
    if run.state == "failed":
        text.append_text(failure(run))
    elif run.state == "starting":
        text.append("reading the history …")
    elif run.state == "running" or (run.state == "stopped" and verdict is None):
        word = "replaying" if run.state == "running" else "stopped at"
        text.append(f"{word} step {run.step:,} of {run.recorded:,} ({elapsed(run):.1f} s)")
    elif verdict is not None and verdict.reproduced:
        detail = verdict.named(verdict.matching[0].get("detail", ""))
        text.append(f"reproduced at step {verdict.outcomes[-1].step['n']:,}", style="bold red")
        text.append(f" ({len(verdict.outcomes):,} steps, {run.elapsed_s:.2f} s): {detail}")
    elif verdict is not None:
        raised = ", ".join(f"{f['kind']}/{f['rule']}" for f in verdict.outcomes[-1].findings) if verdict.outcomes \
            else ""
        text.append("not reproduced", style="bold green")
        text.append(f" ({len(verdict.outcomes):,} steps, {run.elapsed_s:.2f} s): the last step raised "
                    f"{raised or 'no finding'}")
    if verdict is not None:
        divergences = verdict.divergences
        text.append(f"\n  {len(divergences)} step{'' if len(divergences) == 1 else 's'} answered differently "
                    f"than recorded", style="dim" if not divergences else "yellow")
        for outcome in divergences[:DIVERGENCES_SHOWN]:
            text.append(f"\n  {outcome.difference()}")
        if len(divergences) > DIVERGENCES_SHOWN:
            text.append(f"\n  … and {len(divergences) - DIVERGENCES_SHOWN} more (frt-stress replay lists them)")
    return text


def shrink_parts(run: ReproduceRun) -> list[RenderableType]:
    text = Text("shrink: ", style="bold")
    progress = run.progress
    best = len(run.best) or (progress.steps if progress else 0)
    if run.state == "failed":
        text.append_text(failure(run))
    elif run.state == "starting":
        text.append("reading the history …")
    elif run.state == "running" and progress is None:
        text.append(f"replaying the whole history ({run.recorded:,} steps) · {elapsed(run):.1f} s")
    elif run.state == "running":
        text.append(f"{PHASES.get(progress.phase, progress.phase)} · tries {progress.tries:,} · best {best:,} of "
                    f"{run.recorded:,} steps · {elapsed(run):.1f} s")
    elif run.state == "stopped":
        text.append(f"stopped after {run.elapsed_s:.1f} s; " + (f"best {best:,} of {run.recorded:,} steps" if run.best
                    else "nothing written yet"), style="yellow")
    else:
        tries = progress.tries if progress else 0
        text.append(f"{run.recorded:,} → {best:,} steps", style="bold")
        text.append(f" in {tries:,} replays ({run.elapsed_s:.1f} s)")
    if not run.best or run.output is None:
        return [text]
    text.append(f"\n  {'written to' if run.state == 'done' else 'best so far in'}:\n  {run.output}")
    if run.state == "running":
        return [text]
    steps = Table.grid(padding=(0, 2), pad_edge=False)
    steps.add_column(justify="right", no_wrap=True)
    steps.add_column(no_wrap=True)
    steps.add_column(ratio=1, overflow="fold")
    for step in run.best[:STEPS_SHOWN]:
        steps.add_row(f"  {step['n']:>6}", step["payer"], step["what"])
    if len(run.best) > STEPS_SHOWN:
        steps.add_row("", "", Text(f"… and {len(run.best) - STEPS_SHOWN:,} more steps in the file", style="dim"))
    parts: list[RenderableType] = [text, steps]
    if run.state == "done":
        parts.append(Text("  export (above) writes this sequence as a pytest file", style="dim"))
    return parts


def status_summary(runs: dict[str, ReproduceRun]) -> str:
    """A few words for the screen's status line while a run is active."""
    for verb, run in runs.items():
        if run.active:
            if verb == "replay":
                return f"replaying step {run.step:,} of {run.recorded:,}"
            return f"shrinking: best {len(run.best) or run.recorded:,} of {run.recorded:,} steps"
    return ""
