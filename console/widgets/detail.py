"""Rich renderables for the detail screens: key / value sections (nested dicts flattened to
dotted keys, nothing left out) and record tables."""
from __future__ import annotations

import json
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text


def flatten(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(data, dict):
        if not data and prefix:
            return [(prefix, "{}")]
        items: list[tuple[str, Any]] = []
        for key, value in data.items():
            items += flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return items
    return [(prefix, data)]


def show_value(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"
    if isinstance(value, list):
        if not value:
            return "[]"
        if all(not isinstance(item, (dict, list)) for item in value):
            return ", ".join(show_value(item) for item in value)
        return json.dumps(value, default=str)
    return str(value)


def section(title: str, data: dict | None, *, key_width: int = 40) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", show_header=False, box=None,
                  pad_edge=False, expand=True)
    table.add_column("key", style="dim", min_width=12, max_width=key_width, no_wrap=True, overflow="ellipsis")
    table.add_column("value", overflow="fold", ratio=1)
    rows = flatten(data or {})
    if not rows:
        table.add_row("(none)", "")
    for key, value in rows:
        table.add_row(key, Text(show_value(value)))
    return table


def is_wide(renderable) -> bool:
    """Record tables and logs take the full width of a detail screen; key / value sections half."""
    return not (isinstance(renderable, Table) and len(renderable.columns) == 2 and not renderable.show_header)


def records(title: str, rows: list[dict], columns: list[tuple[str, str]], *, empty: str = "(none)") -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", expand=True, box=None, pad_edge=False,
                  header_style="bold")
    for _, label in columns:
        table.add_column(label, overflow="fold")
    if not rows:
        table.add_row(empty, *[""] * (len(columns) - 1))
    for row in rows:
        table.add_row(*(Text(show_value(_dig(row, key))) for key, _ in columns))
    return table


def log_lines(title: str, lines: list[str] | None) -> Group:
    text = Text("\n".join(lines) if lines else "(no logs)", style="dim")
    return Group(Text(title, style="bold"), text)


def _dig(row: dict, dotted: str) -> Any:
    value: Any = row
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value
