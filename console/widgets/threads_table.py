"""The threads table: one row per thread, updated by difference from engine snapshots;
sortable by any column, filtered as you type, rows tagged for bulk actions."""
from __future__ import annotations

import re

from textual.widgets.data_table import ColumnKey

from console import formatting as fmt
from console.widgets.cut_values import HidesCutValues
from console.widgets.diff_table import Cell, DiffTable, cell
from console.widgets.palette import Styles

SORT_NAMES = {"id": "Thread id", "pool": "Pool", "side": "Side (token or direction)", "status": "Status",
              "token": "Token balance", "lp": "LP balance", "sol": "SOL balance", "ok": "Successful operations",
              "failed": "Failed operations", "rate": "Operations per minute", "error": "Last error"}
SORTABLE = tuple(SORT_NAMES)
_NUMBER = re.compile(r"(\d+)")


_NATURAL: dict[str, tuple] = {}


def _natural(text: str) -> tuple:
    """'swap_12' sorts after 'swap_2' (cached: called for every row on every refresh)."""
    key = _NATURAL.get(text)
    if key is None:
        if len(_NATURAL) > 100_000:
            _NATURAL.clear()
        key = _NATURAL[text] = tuple(int(part) if part.isdigit() else part for part in _NUMBER.split(text))
    return key


def balances_of(row: dict, pool: dict | None) -> tuple[int | None, int | None, int | None, int | None]:
    """(token shown, its decimals, LP shown, SOL lamports) of a snapshot thread row. The token is
    the one the thread trades: its side (deposit / withdrawal) or its input (swap)."""
    numbers = row.get("balances")
    side = row.get("side")
    token = "A" if side in ("A", "a_to_b") else "B" if side in ("B", "b_to_a") else None
    if numbers is None or token is None:
        return None, fmt.pool_tokens_decimals(pool, token), None, None
    lp_side = token if row.get("type") != "swap" else None
    lp = numbers.get(f"lp_{lp_side.lower()}") if lp_side else numbers.get("lp_a", 0) + numbers.get("lp_b", 0)
    return numbers.get(f"token_{token.lower()}"), fmt.pool_tokens_decimals(pool, token), lp, numbers.get("sol")


def error_text(row: dict) -> str:
    """The Last error column: what put a thread in the error state, else its session's most
    common error, else why it waits."""
    return row.get("error_reason") or row.get("last_error") or row.get("waiting_reason") or ""


class ThreadsTable(HidesCutValues, DiffTable):
    COLUMNS = [("tag", "", 1), ("id", "Thread", 14), ("pool", "Pool", 9), ("side", "Side", 5),
               ("status", "Status", 9), ("token", "Token", 7), ("lp", "LP", 7), ("sol", "SOL", 6),
               ("ok", "OK", 7), ("failed", "Fail", 6), ("rate", "/min", 6), ("error", "Last error", 10)]
    STRETCH = "error"

    def __init__(self, **kwargs) -> None:
        super().__init__(fixed_columns=2, **kwargs)  # the tag and the thread id stay when scrolling sideways
        self.units = "tokens"
        self.rows_by_id: dict[str, dict] = {}
        self.pools: dict[str, dict] = {}
        self.tagged: set[str] = set()
        self.pending: dict[str, str] = {}  # thread id -> operation under way ("stopping", ...)
        self.filter_terms: list[str] = []
        self.sort_column = "id"
        self.sort_reverse = False

    # ---- what the operator controls --------------------------------------------------------------

    def set_filter(self, text: str) -> None:
        self.filter_terms = text.lower().split()
        self.render_rows()

    def set_units(self, units: str) -> None:
        self.units = units
        for key in ("token", "lp"):
            self.columns[ColumnKey(key)].width = fmt.AMOUNT_WIDTHS[units]
        self._require_update_dimensions = True
        self._fit_stretch()
        self.render_rows()

    def sort_by(self, column: str, reverse: bool | None = None) -> None:
        if column not in SORTABLE:
            return
        if reverse is None:
            reverse = not self.sort_reverse if column == self.sort_column else False
        self.sort_column, self.sort_reverse = column, reverse
        self.render_rows()

    def cycle_sort(self) -> str:
        index = SORTABLE.index(self.sort_column) if self.sort_column in SORTABLE else -1
        self.sort_by(SORTABLE[(index + 1) % len(SORTABLE)], reverse=False)
        return self.sort_column

    def toggle_tag(self, thread_id: str) -> None:
        if thread_id in self.tagged:
            self.tagged.discard(thread_id)
        else:
            self.tagged.add(thread_id)
        self.render_rows()

    def clear_tags(self) -> None:
        self.tagged.clear()
        self.render_rows()

    def targets(self) -> list[str]:
        """Tagged threads that still exist, else the selected one."""
        tagged = [thread_id for thread_id in self.keys_in_order if thread_id in self.tagged]
        if tagged:
            return tagged
        selected = self.selected_key
        return [selected] if selected else []

    # ---- updates ---------------------------------------------------------------------------------

    def apply(self, threads: list[dict], pools: dict[str, dict]) -> None:
        self.rows_by_id = {row["thread_id"]: row for row in threads}
        self.pools = pools
        self.tagged &= set(self.rows_by_id)
        self.render_rows()

    def patch_status(self, thread_id: str, status: str) -> None:
        """Show an operation's answer at once (the next snapshot confirms it)."""
        row = self.rows_by_id.get(thread_id)
        if row is None:
            return
        row["status"] = status
        row.pop("status_symbol", None)
        self.update_cells(thread_id, {"status": self._status_cell(row, Styles.of(self.app))})

    def set_pending(self, thread_ids: list[str], label: str, show: bool = True) -> None:
        """Operations sent and not answered yet: their rows say so ('◌ stopping…') at once."""
        styles = Styles.of(self.app)
        for thread_id in thread_ids:
            self.pending[thread_id] = label
            row = self.rows_by_id.get(thread_id)
            if show and row is not None:
                self.update_cells(thread_id, {"status": self._status_cell(row, styles)})

    def clear_pending(self, thread_ids: list[str]) -> None:
        for thread_id in thread_ids:
            self.pending.pop(thread_id, None)

    def _status_cell(self, row: dict, styles: Styles) -> Cell:
        label = self.pending.get(row["thread_id"])
        if label is not None:
            return cell(f"◌ {label}…", styles.warning)
        status = row.get("status", "?")
        return cell(fmt.status_label(status, row.get("status_symbol")), styles.status(status))

    def render_rows(self) -> None:
        styles = Styles.of(self.app)
        rows = self.rows_by_id
        chosen = [row for row in rows.values() if self._matches(row)] if self.filter_terms else list(rows.values())
        chosen.sort(key=self._sort_key, reverse=self.sort_reverse)
        self.set_keys([row["thread_id"] for row in chosen], lambda key: self._row_cells(rows[key], styles))
        self._show_sort_and_title()

    def _show_sort_and_title(self) -> None:
        arrow = "▼" if self.sort_reverse else "▲"
        for key, label, _ in self.COLUMNS:
            self.set_label(key, f"{label}{arrow}" if key == self.sort_column else label)
        total, shown = len(self.rows_by_id), len(self._order)
        parts = [f"Threads {shown:,} of {total:,} · filter “{' '.join(self.filter_terms)}” (Esc clears)"
                 if self.filter_terms else f"Threads {total:,}"]
        if self.tagged:
            parts.append(f"{len(self.tagged):,} tagged")
        label = next(label for key, label, _ in self.COLUMNS if key == self.sort_column)
        parts.append(f"sort {label or 'tag'} {arrow}")
        parts.append(fmt.UNIT_LABELS[self.units])
        self.border_title = " · ".join(parts)

    def shown_ids(self) -> list[str]:
        """The threads the filter lets through, in the order shown."""
        return list(self._order)

    def _matches(self, row: dict) -> bool:
        haystack = " ".join(str(value) for value in (
            row["thread_id"], row.get("type"), fmt.TYPE_LABELS.get(row.get("type"), ""), row.get("pool_id"), fmt.side_label(row), row.get("side"),
            row.get("status"), error_text(row), "tagged" if row["thread_id"] in self.tagged else "",
        )).lower()
        return all(term in haystack for term in self.filter_terms)

    def _sort_key(self, row: dict):
        column = self.sort_column
        if column == "id":
            return _natural(row["thread_id"])
        if column in ("token", "lp", "sol"):
            token, decimals, lp, lamports = balances_of(row, self.pools.get(row.get("pool_id")))
            value = {"token": (token / 10**decimals if token is not None and decimals else token),
                     "lp": lp, "sol": lamports}[column]
            return (value is not None, value or 0, _natural(row["thread_id"]))
        if column in ("ok", "failed"):
            return (row.get(column) or 0, _natural(row["thread_id"]))
        if column == "rate":
            return (row.get("ops_per_minute") or 0.0, _natural(row["thread_id"]))
        value = {"type": row.get("type"), "pool": row.get("pool_id"), "side": row.get("side"),
                 "status": row.get("status"), "error": error_text(row)}[column]
        return (value or "", _natural(row["thread_id"]))

    def _row_cells(self, row: dict, styles: Styles) -> tuple[Cell, ...]:
        thread_id = row["thread_id"]
        status = row.get("status", "?")
        token, decimals, lp, lamports = balances_of(row, self.pools.get(row.get("pool_id")))
        error = error_text(row)
        failing = bool(row.get("error_reason") or row.get("last_error"))
        failed = row.get("failed") or 0
        return (
            cell("●" if thread_id in self.tagged else " ", styles.accent),
            cell(thread_id),
            cell(fmt.short_id(row.get("pool_id"))),
            cell(fmt.side_label(row)),
            self._status_cell(row, styles),
            cell(fmt.tokens(token, decimals, self.units)),
            cell(fmt.tokens(lp, decimals, self.units)),
            cell(fmt.sol(lamports)),
            cell(fmt.count(row.get("ok"))),
            cell(fmt.count(failed), styles.warning if failed else ""),
            cell(f"{row.get('ops_per_minute') or 0:.1f}"),
            cell(error, styles.error if failing and status == "error" else styles.muted if not failing else ""),
        )
