"""A deduplicated feed of errors and findings for operators: one entry per distinct event, with
how often it happened and when first and last."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict, dataclass, field

SEVERITIES = ("finding", "unexpected", "expected", "transient", "info")


@dataclass
class FeedEntry:
    key: str
    severity: str
    title: str
    message: str
    count: int = 1
    first_seen: str = ""
    last_seen: str = ""
    threads: list[str] = field(default_factory=list)
    pool_id: str | None = None

    def to_json(self) -> dict:
        return asdict(self)


class EventFeed:
    def __init__(self, capacity: int = 500) -> None:
        self.capacity = capacity
        self.entries: OrderedDict[str, FeedEntry] = OrderedDict()
        self.version = 0  # bumps on every change, so viewers can skip re-rendering

    def add(self, severity: str, title: str, message: str, at: str, *, thread_id: str | None = None,
            pool_id: str | None = None, key: str | None = None) -> FeedEntry:
        """`key` says what makes two events the same (a finding's: its group); by default the
        severity, title and pool."""
        key = key or f"{severity}|{title}|{pool_id or ''}"
        entry = self.entries.pop(key, None)
        if entry is None:
            entry = FeedEntry(key, severity, title, message, first_seen=at, pool_id=pool_id)
        else:
            entry.count += 1
            entry.message = message
        entry.last_seen = at
        if thread_id and thread_id not in entry.threads:
            entry.threads = (entry.threads + [thread_id])[-20:]
        self.entries[key] = entry  # most recent last
        while len(self.entries) > self.capacity:
            self.entries.popitem(last=False)
        self.version += 1
        return entry

    def restore_findings(self, groups: list[dict]) -> None:
        """Entries for the finding groups a data directory already holds (a restarted engine's
        feed starts with them, oldest first, counted as their groups are; a new occurrence adds
        to its group's entry)."""
        for group in sorted(groups, key=lambda g: g["last_seen"]):
            key = f"finding|{group['id']}"
            self.entries[key] = FeedEntry(key, "finding", f"{group['severity']} · {group['rule']}",
                                          group.get("detail", ""), count=group["count"],
                                          first_seen=group["first_seen"], last_seen=group["last_seen"],
                                          pool_id=group.get("pool_id"))
        while len(self.entries) > self.capacity:
            self.entries.popitem(last=False)
        self.version += 1

    def latest(self, limit: int = 100, severities: tuple[str, ...] = SEVERITIES) -> list[dict]:
        chosen = [e for e in reversed(self.entries.values()) if e.severity in severities]
        return [entry.to_json() for entry in chosen[:limit]]


def merge_feeds(*feeds: list[dict], limit: int) -> list[dict]:
    """Feed entries from several sources (the shards, the coordinator, a restarted shard's
    earlier life) as one feed, newest first: entries with the same key are one event. A finding
    group's entry is counted by its group, which a restarted shard restores whole, so the most
    recent copy stands; other events restart from zero with the shard, so their counts add up."""
    merged: dict[str, dict] = {}
    for entry in (entry for feed in feeds for entry in feed):
        known = merged.get(entry["key"])
        if known is None:
            merged[entry["key"]] = dict(entry)
            continue
        newer, older = (entry, known) if entry["last_seen"] >= known["last_seen"] else (known, entry)
        combined = dict(newer)
        if entry["severity"] != "finding":
            combined["count"] = known["count"] + entry["count"]
        combined["first_seen"] = min(known["first_seen"], entry["first_seen"])
        combined["threads"] = list(dict.fromkeys(older["threads"] + newer["threads"]))[-20:]
        merged[entry["key"]] = combined
    return sorted(merged.values(), key=lambda entry: entry["last_seen"], reverse=True)[:limit]
