"""`frt-stress findings [--data-dir DIR] [--json]`: the grouped findings of a data directory
(a `run`'s, or the one `serve` and the console use), read from its shards' files — no engine
is opened, so it works while the engine runs and after it has stopped."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.config import load_config
from engine.findings import merge_groups, severity_rank
from engine.store import StateStore


def finding_groups(data_dir: Path) -> list[dict]:
    """Every shard's groups merged by id, worst severity first, then the most frequent."""
    groups = []
    for shard_dir in sorted((data_dir / "shards").glob("*/")):
        if (shard_dir / "findings").is_dir():
            store = StateStore(shard_dir)
            groups += [group | {"example_path": str(shard_dir / "findings" / group["example_file"])}
                       if group.get("example_file") else group
                       for group in store.finding_groups(examples=False)]
    return sorted(merge_groups(groups), key=lambda g: (severity_rank(g["severity"]), -g["count"], g["id"]))


def cmd_findings(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir).expanduser() if args.data_dir else load_config(args.config).settings.data_dir
    if not (data_dir / "shards").is_dir():
        print(f"error: {data_dir} holds no engine state (no shards/ directory)", file=sys.stderr)
        return 2
    groups = finding_groups(data_dir)
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
        pool = (group.get("pool_id") or "–")[:8] + ("…" if group.get("pool_id") else "")
        print(f"  {group['id']:<12}  {group['severity']:<8}  {group['rule'][:40]:<40}  {group['count']:>7,}  "
              f"{pool:<10}  {(group.get('operation') or '–')[:24]:<24}  {group['kind']}{coded}")
    print("each group's first finding, whole: the file named example_path in --json")
    return 0


def register_findings(subparsers) -> None:
    findings = subparsers.add_parser("findings", help="list the grouped findings of a data directory")
    findings.add_argument("--data-dir", help="the data directory (default: the configured one; a run prints its own)")
    findings.add_argument("--json", action="store_true", help="print a JSON object instead")
    findings.set_defaults(func=cmd_findings)
