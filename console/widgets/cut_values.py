"""Tables wider than their window never show a value cut by its edge as if it were whole."""
from __future__ import annotations

from rich.cells import cell_len
from rich.segment import Segment
from textual.strip import Strip


class HidesCutValues:
    """For a DiffTable wider than its viewport: a value that the viewport's left or right edge
    cuts is not shown cut (`6.` for 6.9k, `1.9` for 1.93 would read as numbers): the visible part
    of that cell shows `…` alone. Values that fit entirely, even in a column cut in its padding or
    blank fill, are shown as they are. Scroll sideways to read the hidden column."""

    def _render_line(self, y: int, x1: int, x2: int, base_style):
        strip = super()._render_line(y, x1, x2, base_style)
        for start, end, mark in self._cut_spans(y, x1, x2):
            strip = hide_span(strip, start - x1, end - x1, mark - x1)
        return strip

    def _row_texts(self, y: int) -> list[str] | None:
        try:
            row_key, line_in_row = self._get_offsets(y)
        except LookupError:
            return None
        if row_key is self._header_row_key:
            return [str(column.label) for column in self.ordered_columns]
        cells = self._shown_cells.get(row_key.value)
        return None if cells is None or line_in_row else [text for text, _ in cells]

    def _cut_spans(self, y: int, x1: int, x2: int) -> list[tuple[int, int, int]]:
        """(start, end, where the … goes) in table coordinates, for the cells of row line `y`
        whose text the window shows only in part. The window is [x1, x2) less the frozen columns
        on its left, which are always whole; on screen, table x is at x - x1 either way."""
        spans: list[tuple[int, int, int]] = []
        texts: list[str] | None = None
        pad = self.cell_padding
        start = 0
        for index, column in enumerate(self.ordered_columns):
            end = start + column.get_render_width(self)
            if index < self.fixed_columns:
                x1 += end - start
                start = end
                continue
            if start < x2 and end > x1 and (start < x1 or end > x2):
                if texts is None:
                    texts = self._row_texts(y)
                    if texts is None:
                        return spans
                inner = max(0, end - start - 2 * pad)
                length = min(cell_len(texts[index]), inner) if index < len(texts) else inner
                text_start, text_end = start + pad, start + pad + length
                if text_end > text_start and text_start < x2 and text_end > x1 and (text_start < x1 or text_end > x2):
                    spans.append((max(start, x1), min(end, x2), max(text_start, x1)))
            start = end
            if start >= x2:
                break
        return spans


def hide_span(strip: Strip, start: int, end: int, mark: int) -> Strip:
    """`strip` with cells [start, end) blank but for a `…` at `mark` (the style of what it covers)."""
    piece = strip.crop(start, end)
    style = next((segment.style for segment in reversed(list(piece)) if segment.text), None)
    filler = [Segment(" " * (mark - start), style)] if mark > start else []
    filler.append(Segment("…", style))
    if end - mark - 1 > 0:
        filler.append(Segment(" " * (end - mark - 1), style))
    return Strip.join([strip.crop(0, start), Strip(filler, end - start), strip.crop(end, strip.cell_length)])
