"""`frt-stress findings [--data-dir DIR] [--json]`: the grouped findings of a data directory
(a `run`'s, or the one `serve` and the console use), read from its shards' files — no engine
is opened, so it works while the engine runs and after it has stopped."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from console import formatting as fmt
from console.reproduce_commands import commands_for
from engine.config import load_config
from engine.history.replay import REPLAYABLE_RULES
from engine.store import data_dir_finding_groups as finding_groups


def cmd_findings(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir).expanduser() if args.data_dir else load_config(args.config).settings.data_dir
    if not (data_dir / "shards").is_dir():
        print(f"error: {data_dir} holds no engine state (no shards/ directory)", file=sys.stderr)
        return 2
    groups = finding_groups(data_dir)
    for group in groups:
        group["commands"] = commands_for(group, data_dir) if replayable(group) else None
    if args.json:
        print(json.dumps({"data_dir": str(data_dir), "count": sum(g["count"] for g in groups), "groups": groups},
                         indent=2))
        return 0
    if not groups:
        print(f"{data_dir}: no findings")
        return 0
    print(f"{data_dir}: {sum(g['count'] for g in groups):,} findings in {len(groups)} groups (worst first)")
    print(f"  {'id':<12}  {'severity':<8}  {'rule':<40}  {'count':>7}  {'pool':<10}  {'operation':<24}  kind")
    for group in groups:
        coded = " (as coded)" if group.get("as_coded") else ""
        pool = fmt.short_id(group.get("pool_id"))
        print(f"  {group['id']:<12}  {group['severity']:<8}  {group['rule'][:40]:<40}  {group['count']:>7,}  "
              f"{pool:<10}  {(group.get('operation') or '–')[:24]:<24}  {group['kind']}{coded}")
    print("each group's first finding, whole: the file named example_path in --json")
    if any(group["commands"] for group in groups):
        first = next(group for group in groups if group["commands"])
        print("reproduce one (exit 1 while it recurs), shrink it to a few steps, export it as a pytest file:")
        for command in first["commands"].values():
            print(f"  {command}")
    unreplayable = [group["id"] for group in groups if not group["commands"]]
    if unreplayable:
        print(f"not replayable (judged by the attack that found them, or no pool): {', '.join(unreplayable)}")
    return 0


def replayable(group: dict) -> bool:
    return group["rule"] in REPLAYABLE_RULES and bool(group.get("pool_id"))


def register_findings(subparsers) -> None:
    findings = subparsers.add_parser("findings", help="list the grouped findings of a data directory")
    findings.add_argument("--data-dir", help="the data directory (default: the configured one; a run prints its own)")
    findings.add_argument("--json", action="store_true", help="print a JSON object instead")
    findings.set_defaults(func=cmd_findings)
