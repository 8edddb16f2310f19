"""Detail of a feed entry: the deduplicated entry, and for a finding the finding documents
behind it (prediction, actual output, balances before / after, transaction and its logs)."""
from __future__ import annotations

from console.screens.detail_base import DetailScreen
from console.widgets.detail import log_lines, records, section

FINDINGS_READ = 200


def matching_findings(entry: dict, findings: list[dict]) -> list[dict]:
    """The finding documents behind a feed entry: those of its group (the feed keys a finding's
    entry "finding|<group id>"), or, for an entry without a group, those of its kind."""
    key = entry.get("key") or ""
    group = key.removeprefix("finding|") if key.startswith("finding|") else ""
    if group and "|" not in group:  # not an ungrouped entry's "finding|<title>|<pool>"
        return [finding for finding in findings if finding.get("group_id") == group]
    threads = set(entry.get("threads") or [])
    return [finding for finding in findings
            if finding.get("kind") == entry.get("title")
            and (not entry.get("pool_id") or finding.get("pool_id") == entry.get("pool_id"))
            and (not threads or finding.get("thread_id") in threads)]


class FindingDetailScreen(DetailScreen):
    reload_every_s = None

    def __init__(self, entry: dict) -> None:
        super().__init__(f"{entry.get('severity', '')}: {entry.get('title', '')}")
        self.entry = entry

    async def load(self, gateway) -> list:
        parts = [section("Feed entry", self.entry)]
        if self.entry.get("severity") != "finding":
            self.data = {"entry": self.entry, "findings": []}
            return parts
        answer = await gateway.get_findings(FINDINGS_READ)
        found = matching_findings(self.entry, answer.get("findings") or [])
        self.data = {"entry": self.entry, "findings": found}
        parts.append(records(f"Finding documents ({len(found)} of {answer.get('count', 0)} findings)", found,
                             [("finding_file", "File"), ("detected_at", "Detected"), ("thread_id", "Thread"),
                              ("operation", "Operation"), ("amount", "Amount"), ("actual_output", "Actual")]))
        for finding in found[:3]:
            transaction = finding.get("transaction") or {}
            parts.append(section(f"Finding {finding.get('finding_file', '')}",
                                 {k: v for k, v in finding.items() if k != "transaction"}))
            parts.append(section("Transaction", {k: v for k, v in transaction.items() if k != "logs"}))
            parts.append(log_lines("Transaction logs", transaction.get("logs")))
        return parts
