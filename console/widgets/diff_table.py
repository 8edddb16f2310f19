"""A DataTable that is updated by difference: fixed column widths, rows keyed by id, and on
every update only the cells whose text or style changed are written (`update_cell`); rows are
added / removed only for keys that appeared / disappeared, and reordered only when the order
changed. The cursor stays on the same row key across all of that.

Rows outside the visible window are not even formatted: they are marked stale and brought up
to date when they scroll into view, so the cost of a refresh follows the screen's height, not
the number of rows (1,000 threads cost what 40 do)."""
from __future__ import annotations

from typing import Callable, ClassVar, Iterable

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._segment_tools import line_crop
from textual.binding import Binding
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

Cell = tuple[str, str]  # (text, rich style)
CellsOf = Callable[[str], tuple[Cell, ...]]
VISIBLE_MARGIN = 5  # rows above and below the window kept current as well


def cell(text: str, style: str = "") -> Cell:
    return (text, style)


_STYLES: dict[str, Style] = {}


def _style(style) -> Style:
    if isinstance(style, Style):
        return style
    parsed = _STYLES.get(style)
    if parsed is None:
        parsed = _STYLES[style] = Style.parse(style) if style else Style()
    return parsed


def _text(value: Cell) -> Text:
    return Text(value[0], style=value[1], no_wrap=True, overflow="ellipsis")


class DiffTable(DataTable):
    COLUMNS: ClassVar[list[tuple[str, str, int]]] = []  # (key, label, width)
    STRETCH: ClassVar[str | None] = None  # a column that widens to fill the room the others leave
    BINDINGS = [Binding("j", "cursor_down", "Down", show=False), Binding("k", "cursor_up", "Up", show=False),
                Binding("g", "scroll_top", "Top", show=False), Binding("G", "scroll_bottom", "Bottom", show=False)]
    # caches of the row order and line offsets (class defaults: DataTable.__init__ reads them)
    _structure_version = 0
    _ordered_key: tuple | None = None
    _ordered_cache: list = []
    _offsets_key: tuple | None = None
    _offsets_cache: list = []

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("cursor_type", "row")
        super().__init__(**kwargs)
        self._shown_cells: dict[str, tuple[Cell, ...]] = {}
        self._stale: set[str] = set()
        self._cells_of: CellsOf | None = None
        self._own_cell_cache: dict[tuple, tuple[object, object]] = {}
        self._own_line_cache: dict[tuple, Strip] = {}
        self._metas: dict[tuple[int, int], Style] = {}
        self._cell_styles: dict[tuple, tuple[Style, Style]] = {}
        self._order: list[str] = []  # row keys as shown (kept here: DataTable's is O(n) per update)
        self._column_keys = [key for key, _, _ in self.COLUMNS]
        self.cell_writes = 0  # how many cells were written (tests and benchmarks look at it)

    def on_mount(self) -> None:
        self._ensure_columns()

    def _ensure_columns(self) -> None:
        if not self.columns:
            for key, label, width in self.COLUMNS:
                self.add_column(label, width=width, key=key)
            self._fit_stretch()

    def _fit_stretch(self) -> None:
        """Give the STRETCH column the width the others leave (never less than its own)."""
        if self.STRETCH is None or not self.columns or not self.size.width:
            return
        key = ColumnKey(self.STRETCH)
        others = sum(column.get_render_width(self) for column_key, column in self.columns.items()
                     if column_key != key)
        minimum = next(width for name, _, width in self.COLUMNS if name == self.STRETCH)
        width = max(minimum, self.size.width - 1 - others - 2 * self.cell_padding)  # 1: the scrollbar
        column = self.columns[key]
        if column.width != width:
            column.width = width
            self._require_update_dimensions = True
            self._own_line_cache.clear()
            self.refresh()

    def set_label(self, key: str, label: str) -> None:
        column = self.columns.get(ColumnKey(key))
        if column is not None and str(column.label) != label:
            column.label = Text(label)
            self._clear_caches()
            self.refresh()

    # ---- selection ------------------------------------------------------------------------------

    @property
    def selected_key(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001 - cursor outside the rows
            return None

    def select_key(self, key: str, scroll: bool = True) -> None:
        if key in self._shown_cells:
            self.move_cursor(row=self.get_row_index(key), scroll=scroll)

    @property
    def keys_in_order(self) -> list[str]:
        return list(self._order)

    # ---- updates --------------------------------------------------------------------------------

    def set_rows(self, rows: Iterable[tuple[str, tuple[Cell, ...]]]) -> bool:
        """Show exactly `rows` (key, cells), in this order (every row formatted by the caller)."""
        rows = list(rows)
        cells = dict(rows)
        return self.set_keys([key for key, _ in rows], cells.__getitem__)

    def set_keys(self, desired: list[str], cells_of: CellsOf) -> bool:
        """Show exactly the rows `desired`, in this order; `cells_of(key)` formats a row and is
        only called for new rows and for rows in (or near) the visible window. Returns whether
        rows were added, removed or reordered."""
        self._ensure_columns()
        self._cells_of = cells_of
        selected = self.selected_key
        structural = False
        if len(desired) != len(self._shown_cells) or any(key not in self._shown_cells for key in desired):
            wanted = set(desired)
            removed = [key for key in self._shown_cells if key not in wanted]
            for key in removed:
                self.remove_row(key)
                self._structure_version += 1
                del self._shown_cells[key]
                self._stale.discard(key)
            if removed:
                self._order = [key for key in self._order if key in wanted]
            for key in desired:
                if key not in self._shown_cells:
                    row = cells_of(key)
                    self.add_row(*(_text(value) for value in row), key=key)
                    self._structure_version += 1
                    self.cell_writes += len(row)
                    self._shown_cells[key] = row
                    self._order.append(key)
            structural = True
        self._stale.update(self._shown_cells)
        if desired != self._order:
            self._reorder(desired)
            structural = True
        if structural and selected is not None and selected in self._shown_cells:
            self.select_key(selected, scroll=False)
        self.refresh_visible()
        return structural

    def refresh_visible(self) -> None:
        """Bring the stale rows of the visible window (and a small margin) up to date."""
        if not self._stale or self._cells_of is None:
            return
        first = max(0, int(self.scroll_y) - VISIBLE_MARGIN)
        last = int(self.scroll_y) + max(self.size.height, 1) + VISIBLE_MARGIN
        order = self._order
        for index in range(first, min(last, len(order))):
            key = order[index]
            if key in self._stale:
                self._stale.discard(key)
                self._write(key, self._cells_of(key))

    def flush(self) -> None:
        """Bring every stale row up to date (tests)."""
        if self._cells_of is not None:
            for key in list(self._stale):
                self._write(key, self._cells_of(key))
            self._stale.clear()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self.refresh_visible()

    def on_resize(self) -> None:
        self._fit_stretch()
        self.refresh_visible()

    def _write(self, key: str, cells: tuple[Cell, ...]) -> None:
        old = self._shown_cells.get(key)
        if old is None or old == cells:
            return
        for column, before, after in zip(self._column_keys, old, cells):
            if before != after:
                self.update_cell(key, column, _text(after))
                self.cell_writes += 1
        self._shown_cells[key] = cells

    def update_cells(self, key: str, changes: dict[str, Cell]) -> None:
        """Write some cells of one row now (an operation's own answer, before the next refresh)."""
        old = self._shown_cells.get(key)
        if old is None:
            return
        cells = list(old)
        for column, value in changes.items():
            cells[self._column_keys.index(column)] = value
        self._write(key, tuple(cells))

    def cell_text(self, key: str, column: str) -> str | None:
        """What the cell shows now (a stale row is brought up to date first)."""
        if key in self._stale and self._cells_of is not None:
            self._stale.discard(key)
            self._write(key, self._cells_of(key))
        cells = self._shown_cells.get(key)
        return None if cells is None else cells[self._column_keys.index(column)][0]

    # ---- rendering ------------------------------------------------------------------------------
    # DataTable keys its cell render cache on a table-wide update counter, so writing one cell
    # re-renders every visible cell. Here a rendered cell is reused until that cell's own value
    # (a new Text object on every write), its row position, style or width change.

    def _render_cell(self, row_index: int, column_index: int, base_style, width: int, cursor: bool = False,
                     hover: bool = False):
        if row_index < 0 or column_index < 0:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        try:
            row_key = self._row_locations.get_key(row_index)
            column_key = self._column_locations.get_key(column_index)
            value = self._data[row_key][column_key]
        except (KeyError, IndexError):
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        key = (row_key, column_key, row_index, id(value), base_style, width, cursor, hover,
               self._show_hover_cursor, self._pseudo_class_state, self.show_cursor)
        hit = self._own_cell_cache.get(key)
        if hit is not None and hit[0] is value:
            return hit[1]
        if isinstance(value, Text) and not value.spans and "\n" not in value.plain:
            lines = self._render_text_cell(value, row_index, column_index, base_style, width, cursor, hover)
        else:
            lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        if len(self._own_cell_cache) > 20_000:
            self._own_cell_cache.clear()
        self._own_cell_cache[key] = (value, lines)
        return lines

    def _render_text_cell(self, value: Text, row_index: int, column_index: int, base_style: Style, width: int,
                          cursor: bool, hover: bool) -> list[list[Segment]]:
        """What DataTable renders for a one-line, one-style Text cell (padding, ellipsis, cursor
        and hover styles), without going through Rich's general layout: ~50x cheaper."""
        component_style, post_style = self._get_styles_to_render_cell(
            False, False, False, hover, cursor, self.show_cursor, self._show_hover_cursor,
            self.cursor_foreground_priority == "css", self.cursor_background_priority == "css")
        pad = self.cell_padding
        inner = max(0, width - 2 * pad)
        text = value.plain
        if cell_len(text) > inner:
            text = (set_cell_size(text, inner - 1) + "…") if inner >= 1 else ""
        fill = inner - cell_len(text)
        base = base_style + self._meta(row_index, column_index) + component_style
        plain = base + post_style
        styled = base + _style(value.style) + post_style
        line = [Segment(" " * pad, plain)] if pad else []
        if text:
            line.append(Segment(text, styled))
        if fill + pad:
            line.append(Segment(" " * (fill + pad), plain))
        return [line]

    # DataTable recomputes its row order and line offsets (O(rows)) after every cell update;
    # here they are recomputed only when rows were added, removed or reordered.

    def _structure_key(self) -> tuple:
        return (self.row_count, id(self._row_locations), self._structure_version)

    @property
    def ordered_rows(self):
        key = self._structure_key()
        if self._ordered_key != key:
            self._ordered_cache = DataTable.ordered_rows.fget(self)
            self._ordered_key = key
        return self._ordered_cache

    @property
    def _y_offsets(self):
        key = self._structure_key()
        if self._offsets_key != key:
            self._offsets_cache = [(row.key, y) for row in self.ordered_rows for y in range(row.height)]
            self._offsets_key = key
        return self._offsets_cache

    def _meta(self, row_index: int, column_index: int) -> Style:
        """Style.from_meta pickles its dict: one per cell position, made once."""
        key = (row_index, column_index)
        style = self._metas.get(key)
        if style is None:
            if len(self._metas) > 50_000:
                self._metas.clear()
            style = self._metas[key] = Style.from_meta({"row": row_index, "column": column_index})
        return style

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        """A data row drawn straight from its (text, style) cells, and reused while that row,
        its position, the cursor / hover on it and the widget's style are unchanged
        (DataTable re-renders every visible line whenever any cell changes)."""
        try:
            row_key, line_in_row = self._get_offsets(y)
        except LookupError:
            return super()._render_line(y, x1, x2, base_style)
        cells = self._shown_cells.get(row_key.value) if row_key is not self._header_row_key else None
        if cells is None or line_in_row or self._labelled_row_exists \
                or self.cursor_type != "row" or len(cells) != len(self.columns):
            return super()._render_line(y, x1, x2, base_style)
        row_index = self._row_locations.get(row_key)
        cursor = self.cursor_coordinate.row == row_index
        hover = self.hover_coordinate.row == row_index
        width = self.size.width
        key = (row_key.value, cells, row_index, cursor, hover, x1, x2, width, base_style, self.show_cursor,
               self._show_hover_cursor, self._pseudo_class_state, self.app.theme, self.fixed_columns)
        strip = self._own_line_cache.get(key)
        if strip is not None:
            return strip
        row_style = self._get_row_style(row_index, base_style)
        fixed: list[Segment] = []  # frozen columns, always drawn; the rest scrolls behind them
        fixed_width = 0
        segments: list[Segment] = []
        table_width = 0
        start = None  # x of the first scrolling column drawn: those outside the window are skipped
        for column_index, (column, value) in enumerate(zip(self.ordered_columns, cells)):
            column_width = column.get_render_width(self)
            if column_index < self.fixed_columns:
                fixed += self._cell_segments(value, row_index, column_index, row_style, column_width, cursor, hover)
                fixed_width += column_width
            elif table_width + column_width > x1 + fixed_width and table_width < x2:
                if start is None:
                    start = table_width
                segments += self._cell_segments(value, row_index, column_index, row_style, column_width, cursor,
                                                hover)
            table_width += column_width
        low = x1 + fixed_width  # the scrolling part's window is [low, x2) in table coordinates
        if start is None:
            start = table_width
        if table_width < x2:
            extend_style, _ = self._get_styles_to_render_cell(False, False, False, hover, cursor, self.show_cursor,
                                                              self._show_hover_cursor, False, False)
            extend_style = row_style + extend_style + Style.from_meta({"row": row_index, "column": 0,
                                                                       "out_of_bounds": True})
            segments.append(Segment(" " * (x2 - table_width), extend_style))
        drawn = max(table_width, x2) - start
        scrolled = line_crop(segments, max(0, low - start), x2 - start, drawn)
        strip = Strip(fixed + scrolled).adjust_cell_length(width, base_style)
        strip = strip.simplify()
        if len(self._own_line_cache) > 5_000:
            self._own_line_cache.clear()
        self._own_line_cache[key] = strip
        return strip

    def _cell_segments(self, value: Cell, row_index: int, column_index: int, row_style: Style, width: int,
                       cursor: bool, hover: bool) -> list[Segment]:
        styles_key = (row_style, row_index, column_index, cursor, hover, value[1], self.app.theme)
        styles = self._cell_styles.get(styles_key)
        if styles is None:
            component_style, post_style = self._get_styles_to_render_cell(
                False, False, False, hover, cursor, self.show_cursor, self._show_hover_cursor,
                self.cursor_foreground_priority == "css", self.cursor_background_priority == "css")
            base = row_style + self._meta(row_index, column_index) + component_style
            styles = (base + post_style, base + _style(value[1]) + post_style)
            if len(self._cell_styles) > 50_000:
                self._cell_styles.clear()
            self._cell_styles[styles_key] = styles
        plain, styled = styles
        pad = self.cell_padding
        inner = max(0, width - 2 * pad)
        text = value[0]
        length = len(text) if text.isascii() else cell_len(text)
        if length > inner:
            text = (set_cell_size(text, inner - 1) + "…") if inner >= 1 else ""
            length = cell_len(text)
        fill = inner - length
        line = [Segment(" " * pad, plain)] if pad else []
        if text:
            line.append(Segment(text, styled))
        if fill + pad:
            line.append(Segment(" " * (fill + pad), plain))
        return line

    def _reorder(self, desired: list[str]) -> None:
        if not self._column_keys:
            return
        first = self._column_keys[0]
        position = {id(self.get_cell(key, first)): index for index, key in enumerate(desired)}
        self.sort(first, key=lambda value: position.get(id(value), len(position)))
        self._structure_version += 1
        self._order = list(desired)
