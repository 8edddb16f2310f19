"""The error and findings feed: deduplicated entries (count, first / last seen), by severity,
filterable by severity and text; re-rendered only when the engine's feed_version changed."""
from __future__ import annotations

from console import formatting as fmt
from console.widgets.cut_values import HidesCutValues
from console.widgets.diff_table import Cell, DiffTable, cell
from console.widgets.palette import SEVERITY_LABELS, Styles

SEVERITY_CYCLE = (None, "finding", "unexpected", "expected", "transient")


class FeedTable(HidesCutValues, DiffTable):
    COLUMNS = [("severity", "Severity", 12), ("count", "Count", 6), ("first", "First", 8), ("last", "Last", 8),
               ("title", "Event", 30), ("threads", "Threads", 16), ("message", "Message", 24)]
    STRETCH = "message"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.entries: dict[str, dict] = {}
        self.version: int | None = None
        self.severity: str | None = None
        self.filter_terms: list[str] = []

    def apply(self, entries: list[dict], version: int) -> bool:
        """Returns whether anything was re-rendered (only when the feed changed)."""
        if version == self.version:
            return False
        self.version = version
        self.entries = {entry["key"]: entry for entry in entries}
        self.render_rows()
        return True

    def set_filter(self, text: str) -> None:
        self.filter_terms = text.lower().split()
        self.render_rows()

    def cycle_severity(self) -> str | None:
        self.severity = SEVERITY_CYCLE[(SEVERITY_CYCLE.index(self.severity) + 1) % len(SEVERITY_CYCLE)]
        self.render_rows()
        return self.severity

    def render_rows(self) -> None:
        styles = Styles.of(self.app)
        chosen = [entry for entry in self.entries.values() if self._matches(entry)]
        chosen.sort(key=lambda entry: (entry.get("last_seen") or "", entry["key"]), reverse=True)
        by_key = self.entries
        self.set_keys([entry["key"] for entry in chosen], lambda key: self._row_cells(by_key[key], styles))
        total = len(self.entries)
        title = f"Feed: {total:,} event groups"
        if self.severity is not None or self.filter_terms:
            shown = [f"severity {self.severity}" if self.severity else "", f"filter “{' '.join(self.filter_terms)}”" if self.filter_terms else ""]
            title += f" · {len(chosen):,} shown: " + ", ".join(part for part in shown if part) + " (Esc clears)"
        else:
            title += " · v: severity, F: filter"
        self.border_title = title

    def _matches(self, entry: dict) -> bool:
        if self.severity is not None and entry.get("severity") != self.severity:
            return False
        if not self.filter_terms:
            return True
        haystack = " ".join(str(value) for value in (
            entry.get("severity"), entry.get("title"), entry.get("message"), entry.get("pool_id") or "",
            " ".join(entry.get("threads") or []))).lower()
        return all(term in haystack for term in self.filter_terms)

    def _row_cells(self, entry: dict, styles: Styles) -> tuple[Cell, ...]:
        severity = entry.get("severity", "info")
        threads = entry.get("threads") or []
        return (
            cell(SEVERITY_LABELS.get(severity, severity), styles.severity(severity)),
            cell(fmt.count(entry.get("count"))),
            cell(fmt.time_of_day(entry.get("first_seen"))),
            cell(fmt.time_of_day(entry.get("last_seen"))),
            cell(entry.get("title", "")),
            cell(", ".join(threads[-3:]) + (f" +{len(threads) - 3}" if len(threads) > 3 else "")),
            cell(" ".join(str(entry.get("message", "")).split())),
        )
