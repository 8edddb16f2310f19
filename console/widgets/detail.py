"""Rich renderables for the detail screens: key / value sections (nested dicts shown as indented
groups, nothing left out) and record tables.

What an operator copies or reads as a number is never folded: numbers and amounts are on one
line, ids and signatures fold only where even a full-width section is narrower than they are
(the screen lays a section out full width when its values do not fit half of it, see
`min_width`). Amounts read in whole tokens with their base units beside them."""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Callable

from rich.cells import cell_len
from rich.console import Console, Group
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from console.formatting import short_id, status_label

LAMPORTS_DECIMALS = 9
DIRECTIONS = {"a_to_b": "A→B", "b_to_a": "B→A"}
PROSE_AT = 48  # a string with spaces longer than this may wrap (a message); shorter ones stay on one line


class Amount:
    """An amount of base units of a token with `decimals` ("" unit: none shown)."""

    __slots__ = ("base", "decimals", "unit")

    def __init__(self, base: int | None, decimals: int | None, unit: str = "") -> None:
        self.base, self.decimals, self.unit = base, decimals, unit

    def whole(self) -> str:
        """'1.5 A' (decimals unknown or 0: the base units themselves)."""
        if self.base is None:
            return "–"
        unit = f" {self.unit}" if self.unit else ""
        if not self.decimals:
            return f"{self.base:,}{unit}"
        value = Decimal(self.base).scaleb(-self.decimals)
        shown = f"{value:,.{self.decimals}f}".rstrip("0").rstrip(".")  # exact: 1,001 base units never read as 1,000
        return f"{shown}{unit}"

    def stacked(self) -> Text:
        """For a table column: the whole amount over its base units, each on one line."""
        if self.base is None or not self.decimals or not self.base:
            return Text(self.whole(), no_wrap=True, overflow="ellipsis")
        return Text(f"{self.whole()}\n({self.base:,})", no_wrap=True, overflow="ellipsis")

    def __str__(self) -> str:
        """'1.5 A (1,500,000)'; '0 A'."""
        if self.base is None or not self.decimals or not self.base:
            return self.whole()
        return f"{self.whole()} ({self.base:,})"


def sol(lamports: int | None) -> Amount:
    return Amount(lamports, LAMPORTS_DECIMALS, "SOL")


def stacked(value: Any) -> Any:
    """An Amount as a table cell (see Amount.stacked); anything else as it is."""
    return value.stacked() if isinstance(value, Amount) else value


def show_value(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"
    if isinstance(value, Amount):
        return str(value)
    if isinstance(value, list):
        if not value:
            return "[]"
        if all(not isinstance(item, (dict, list)) for item in value):
            return ", ".join(show_value(item) for item in value)
        return json.dumps(value, default=str)
    if isinstance(value, str):
        if value in DIRECTIONS:
            return DIRECTIONS[value]
        return when(value) if _is_iso(value) else value
    return str(value)


def cell(value: Any) -> Text:
    """A value as a table cell: numbers, amounts, ids and short strings on one line; prose (a
    long string with spaces, JSON) may wrap; a string with no spaces folds only when it must."""
    if isinstance(value, Text):
        return value
    shown = show_value(value)
    if isinstance(value, (int, float, Amount)) or value is None:
        return Text(shown, no_wrap=True, overflow="ellipsis")
    if " " in shown and len(shown) <= PROSE_AT:
        return Text(shown, no_wrap=True, overflow="ellipsis")
    return Text(shown, overflow="fold")  # ids: no spaces, so only folded where wider than the screen


def when(iso: str | None) -> str:
    """'2025-01-02T03:04:05.678Z' -> '2025-01-02 03:04:05.678'."""
    if not iso:
        return "–"
    return iso.replace("T", " ").removesuffix("Z")


def time_ms(iso: str | None) -> str:
    """'2025-01-02T03:04:05.678912Z' -> '03:04:05.678'."""
    if not iso or "T" not in iso:
        return "–"
    return iso.split("T", 1)[1].removesuffix("Z")[:12]


def _is_iso(value: str) -> bool:
    return len(value) >= 19 and value[4] == "-" and value[10] == "T" and value[13] == ":"


def flatten(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Dotted keys of every leaf (the shape the API's dicts have, for callers that want it)."""
    if isinstance(data, dict):
        if not data and prefix:
            return [(prefix, "{}")]
        items: list[tuple[str, Any]] = []
        for key, value in data.items():
            items += flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return items
    return [(prefix, data)]


def section(title: str, data: dict | None, *, units: Callable[[str, Any], Any] | None = None) -> Table:
    """A key / value section: a nested dict is a group, its name on a line of its own and its
    keys indented under it. `units(dotted_key, value)` may turn a value into an Amount."""
    table = Table(title=title, title_justify="left", title_style="bold", show_header=False, box=None,
                  pad_edge=False, expand=True)
    table.add_column("key", style="dim", no_wrap=True)
    table.add_column("value", ratio=1)
    widths = [0, 0]
    if not data:
        table.add_row("(none)", "")
    else:
        _rows(table, data, "", 0, units, widths)
    table.min_content_width = widths[0] + COLUMN_GAP + widths[1]  # read by min_width
    return table


COLUMN_GAP = 2  # a Table's padding between two columns
_MEASURE = Console(width=1000)


def _min_cell_width(text: Text) -> int:
    """Its longest line when it may not wrap (Rich measures any Text by its longest word)."""
    if text.no_wrap:
        return max((cell_len(line) for line in text.plain.splitlines()), default=0)
    return Measurement.get(_MEASURE, _MEASURE.options, text).minimum


def _rows(table: Table, data: dict, prefix: str, depth: int, units, widths: list[int]) -> None:
    indent = "  " * depth
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        widths[0] = max(widths[0], len(indent) + len(str(key)))
        if isinstance(value, dict) and value:
            table.add_row(Text(f"{indent}{key}", style="bold"), "")
            _rows(table, value, dotted, depth + 1, units, widths)
            continue
        if isinstance(value, dict):
            value = "{}"
        elif isinstance(value, int) and not isinstance(value, bool) and str(key).endswith("code"):
            value = str(value)  # an error code, not a quantity: 1035, never 1,035
        elif units is not None and isinstance(value, int) and not isinstance(value, bool):
            value = units(dotted, value)
        shown = cell(value)
        widths[1] = max(widths[1], _min_cell_width(shown))
        table.add_row(f"{indent}{key}", shown)


def status_text(status: str | None, symbol: str | None = None) -> str:
    """'▶ running': the one spelling of a thread's state (the threads table's)."""
    return status_label(status, symbol) if status else "–"


def records(title: str, rows: list[dict], columns: list[tuple], *, empty: str = "(none)",
            wrap: tuple[str, ...] = ()) -> Table:
    """A table of records. A column is (dotted key, label) or (dotted key, label, format), where
    format(value, row) returns what to show. Every column stays on one line but those labelled
    in `wrap` (prose: messages), which give up width first when the table is too wide."""
    table = Table(title=title, title_justify="left", title_style="bold", box=None, pad_edge=False,
                  header_style="bold")  # its natural width: a wide screen leaves no gulf inside it
    for column in columns:
        prose = column[1] in wrap
        table.add_column(column[1], no_wrap=not prose, overflow="fold" if prose else "ellipsis")
    if not rows:
        table.add_row(empty, *[""] * (len(columns) - 1))
    for row in rows:
        cells = []
        for column in columns:
            value = _dig(row, column[0])
            if len(column) > 2:
                value = column[2](value, row)
            shown = cell(value)
            if column[1] in wrap:
                shown = Text(shown.plain, style=shown.style, overflow="fold")
            cells.append(shown)
        table.add_row(*cells)
    return table


def signature_cell(value: Any, row: dict | None = None) -> Text:
    """A signature in a table: the console's one shortening of ids (the whole one is in a field)."""
    return Text(short_id(value) if value else "–", no_wrap=True)


def log_lines(title: str, lines: list[str] | None) -> Group:
    text = Text("\n".join(lines) if lines else "(no logs)", style="dim", overflow="fold")
    return Group(Text(title, style="bold", overflow="fold"), text)


def is_wide(renderable) -> bool:
    """Record tables and logs take the full width of a detail screen; key / value sections half,
    when their values fit there (see `min_width`)."""
    return not (isinstance(renderable, Table) and len(renderable.columns) == 2 and not renderable.show_header)


def min_width(console: Console, renderable, width: int) -> int:
    """The narrowest width at which the renderable shows its numbers and ids unfolded."""
    known = getattr(renderable, "min_content_width", None)
    if known is not None:
        return known
    return Measurement.get(console, console.options.update_width(max(1, width)), renderable).minimum


def _dig(row: dict, dotted: str) -> Any:
    value: Any = row
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value
