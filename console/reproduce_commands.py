"""`frt-stress replay | shrink | export FINDING_ID [--data-dir DIR]`: reproduce a finding from its
pool's recorded history on a fresh embedded ledger, shrink the history to a minimal sequence, and
write the reproducer as a standalone pytest file.

Exit codes: replay 1 = reproduced, 0 = not reproduced; shrink and export 0 = written;
2 = it cannot be done (no such finding, no history, a rule replay does not judge, bad arguments);
shrink interrupted (Ctrl-C) = 130, with the best sequence so far written.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from engine.atomic import atomic_write_text
from engine.config import load_config
from engine.history.export import dumps, history_of_document, render_test, shrunk_document
from engine.history.replay import reproduce
from engine.history.steps import HistoryError
from engine.history.shrink import Progress, Shrinker
from engine.history.target import Target, locate, shrunk_path

EXIT_NOT_REPRODUCED, EXIT_REPRODUCED, EXIT_CANNOT = 0, 1, 2


def _data_dir(args: argparse.Namespace) -> Path:
    return Path(args.data_dir).expanduser() if args.data_dir else load_config(args.config).settings.data_dir


def _target(args: argparse.Namespace) -> Target | None:
    try:
        return locate(_data_dir(args), args.finding_id)
    except HistoryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def commands_for(group: dict, data_dir: Path | None) -> dict:
    """The commands that reproduce a finding group, as a user types them (without --data-dir: for
    the machine whose configured data directory holds it)."""
    where = f" --data-dir {data_dir}" if data_dir is not None else ""
    return {verb: f"frt-stress {verb} {group['id']}{where}" for verb in ("replay", "shrink", "export")}


def _title(target: Target) -> str:
    return f"finding {target.group['id']} ({target.group['severity']} {target.kind}/{target.rule})"


# ------------------------------------------------------------------------------------ replay

def cmd_replay(args: argparse.Namespace) -> int:
    target = _target(args)
    if target is None:
        return EXIT_CANNOT
    steps = target.steps
    print(f"{_title(target)}: replaying {len(steps)} steps of pool {target.history.pool_id} on a fresh "
          f"embedded ledger ({target.history.header['program']['mode']})")
    started = time.monotonic()
    verdict = asyncio.run(reproduce(target.history, steps, target.kind, target.rule))
    elapsed = time.monotonic() - started
    for outcome in verdict.divergences:
        print(f"  {outcome.difference()}")
    if verdict.reproduced:
        detail = verdict.named(verdict.matching[0].get("detail", ""))
        print(f"reproduced at step {steps[-1]['n']} in {elapsed:.2f} s: {detail}")
        return EXIT_REPRODUCED
    print(f"not reproduced ({elapsed:.2f} s): the last step raised "
          + (", ".join(f"{f['kind']}/{f['rule']}" for f in verdict.outcomes[-1].findings) or "no finding"))
    return EXIT_NOT_REPRODUCED


# ------------------------------------------------------------------------------------ shrink

def cmd_shrink(args: argparse.Namespace) -> int:
    target = _target(args)
    if target is None:
        return EXIT_CANNOT
    output = Path(args.output).expanduser() if args.output else shrunk_path(target)
    recorded = len(target.steps)
    tty = sys.stdout.isatty()

    def save(steps: list[dict]) -> None:
        atomic_write_text(output, dumps(shrunk_document(target.history, target.group, steps, recorded_steps=recorded)))

    shown = {"at": 0.0, "what": None}

    def show(progress: Progress) -> None:
        what = (progress.phase, progress.steps)
        if not tty and what == shown["what"] and progress.elapsed_s - shown["at"] < 5:
            return  # a log gets a line per improvement or phase, and one every 5 s
        shown.update(at=progress.elapsed_s, what=what)
        line = (f"[{progress.elapsed_s:6.1f} s] {progress.phase:<7} tries {progress.tries:>4}  "
                f"best {progress.steps} of {recorded} steps")
        print(f"\r{line}\x1b[K" if tty else line, end="" if tty else "\n", flush=True)

    print(f"{_title(target)}: shrinking {recorded} steps (the best so far is kept in {output})")
    shrinker = Shrinker(target.history, target.kind, target.rule, on_progress=show, on_better=save)
    try:
        best = asyncio.run(shrinker.shrink(target.steps))
    except ValueError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return EXIT_CANNOT
    except KeyboardInterrupt:
        print(f"\ninterrupted: the best sequence so far ({len(shrinker.best)} steps) is in {output}")
        return 130
    print(f"\nshrunk {recorded} → {len(best)} steps in {shrinker.tries} replays: {output}")
    for step in shrunk_document(target.history, target.group, best, recorded_steps=recorded)["operations"]:
        print(f"  {step['n']:>6}  {step['payer']:<16} {step['what']}")
    print(f"as a pytest file: frt-stress export {target.group['id']} --data-dir {_data_dir(args)}"
          + (f" --shrunk {output}" if args.output else ""))
    return 0


# ------------------------------------------------------------------------------------ export

def cmd_export(args: argparse.Namespace) -> int:
    target = _target(args)
    if target is None:
        return EXIT_CANNOT
    history, steps, source = target.history, target.steps, "the recorded history"
    shrunk = Path(args.shrunk).expanduser() if args.shrunk else shrunk_path(target)
    if args.shrunk and not shrunk.exists():
        print(f"error: no shrunk sequence at {shrunk}", file=sys.stderr)
        return EXIT_CANNOT
    if shrunk.exists():
        history, steps = history_of_document(json.loads(shrunk.read_text(encoding="utf-8")))
        source = f"the shrunk sequence {shrunk}"
    output = Path(args.output).expanduser() if args.output else Path(f"test_finding_{target.group['id']}.py")
    text = render_test(history, target.group, steps, recorded_steps=len(target.steps),
                       generated_at=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                       file_hint=output.name)
    atomic_write_text(output, text)
    print(f"{_title(target)}: {len(steps)} steps from {source}")
    print(f"wrote {output}; run it with: pytest {output} -q  (it fails while the finding recurs)")
    return 0


def register_reproduce(subparsers) -> None:
    for verb, help_text, func in (
            ("replay", "re-run a finding's pool history on a fresh ledger (exit 1: reproduced, 0: not)", cmd_replay),
            ("shrink", "reduce a finding's history to a minimal sequence that still reproduces it", cmd_shrink),
            ("export", "write a finding's reproducer (shrunk when available) as a standalone pytest file",
             cmd_export)):
        parser = subparsers.add_parser(verb, help=help_text)
        parser.add_argument("finding_id", metavar="FINDING_ID", help="a finding group's id (frt-stress findings)")
        parser.add_argument("--data-dir", metavar="DIR", help="the data directory (default: the configured one)")
        if verb != "replay":
            parser.add_argument("-o", "--output", metavar="FILE", help=(
                "where to write the sequence (default: next to the pool's history)" if verb == "shrink"
                else "the test file (default: ./test_finding_<id>.py)"))
        if verb == "export":
            parser.add_argument("--shrunk", metavar="FILE", help="the sequence `shrink -o FILE` wrote (default: "
                                                                 "the one shrink keeps next to the pool's history)")
        parser.set_defaults(func=func)
