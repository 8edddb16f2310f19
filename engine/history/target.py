"""From a finding id to what reproduces it: its group, its first occurrence, the history of its
pool and the step that raised it."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.history.replay import REPLAYABLE_RULES
from engine.history.steps import History, HistoryError, load_history
from engine.store import StateStore, data_dir_finding_groups

SHRUNK_SUFFIX = ".shrunk.json"


@dataclass
class Target:
    group: dict  # the finding group (engine/findings.py)
    example: dict  # its first finding, whole
    history: History
    step: dict  # the history step whose transaction raised it

    @property
    def kind(self) -> str:
        return self.group["kind"]

    @property
    def rule(self) -> str:
        return self.group["rule"]

    @property
    def steps(self) -> list[dict]:
        """The history up to and including the finding's step."""
        return self.history.up_to(self.step)


def finding_signature(example: dict) -> str | None:
    """The transaction that raised the finding, wherever its detector put it."""
    for holder in (example.get("transaction"), example.get("evidence"), example):
        if isinstance(holder, dict) and isinstance(holder.get("signature"), str):
            return holder["signature"]
    return None


def locate(data_dir: Path, finding_id: str) -> Target:
    """The finding group `finding_id` (its id or a unique prefix) of a data directory, with the
    history to reproduce it. HistoryError says why it cannot be reproduced."""
    data_dir = Path(data_dir)
    if not (data_dir / "shards").is_dir():
        raise HistoryError(f"{data_dir} holds no engine state (no shards/ directory)")
    groups = [group for group in data_dir_finding_groups(data_dir) if group["id"].startswith(finding_id)]
    if not groups:
        raise HistoryError(f"no finding {finding_id} in {data_dir} (frt-stress findings --data-dir {data_dir})")
    if len(groups) > 1:
        raise HistoryError(f"{finding_id} names {len(groups)} findings: give more of its id")
    group = groups[0]
    if group["rule"] not in REPLAYABLE_RULES:
        raise HistoryError(f"finding {group['id']} ({group['rule']}) is judged by the attack that found it; "
                           f"replay's oracle checks only: {', '.join(sorted(REPLAYABLE_RULES))}")
    if not group.get("pool_id"):
        raise HistoryError(f"finding {group['id']} belongs to no pool: there is no pool history to replay")
    shard_dir = Path(group["shard_dir"])
    example = next((g.get("example") for g in StateStore(shard_dir).finding_groups() if g["id"] == group["id"]), None)
    if example is None:
        raise HistoryError(f"finding {group['id']}: its example file is missing from {shard_dir / 'findings'}")
    signature = finding_signature(example)
    if signature is None:
        raise HistoryError(f"finding {group['id']} names no transaction, so no step of the history raised it")
    history = load_history(shard_dir / "history" / f"{group['pool_id']}.jsonl")
    step = history.step_of(signature)
    if step is None:
        raise HistoryError(f"finding {group['id']}: transaction {signature} is not in the pool's history "
                           f"(recorded before histories were kept, or by another engine)")
    return Target(group, example, history, step)


def shrunk_path(target: Target) -> Path:
    """Where `shrink` keeps its best sequence by default (next to the pool's history)."""
    return target.history.path.with_name(f"{target.group['id']}{SHRUNK_SUFFIX}")
