"""Common frame of the detail screens: a title, scrollable sections, reload (R) and back (Esc).
Sections are read through the gateway in a worker, on open and then every `reload_every_s`."""
from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Container, Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from console.bindings import DETAIL_KEYS, bindings
from console.gateway import GatewayError
from console.widgets.detail import is_wide, min_width


class DetailScreen(Screen):
    BINDINGS = bindings(DETAIL_KEYS)
    DEFAULT_CSS = """
    DetailScreen #detail-title { height: 1; background: $panel; padding: 0 1; text-style: bold; }
    DetailScreen #detail-status { height: auto; padding: 0 1; color: $text-muted; }
    DetailScreen #detail-body { padding: 0 1; height: 1fr; }
    DetailScreen #detail-sections { layout: vertical; height: auto; }
    DetailScreen .detail-row { layout: horizontal; height: auto; margin-bottom: 1; }
    DetailScreen .detail-row > .detail-section { width: 1fr; height: auto; }
    DetailScreen .detail-row > .detail-section.-right { margin-left: 3; }
    DetailScreen.-narrow .detail-row { layout: vertical; }
    DetailScreen.-narrow .detail-row > .detail-section { width: 100%; }
    DetailScreen.-narrow .detail-row > .detail-section.-right { margin-left: 0; margin-top: 1; }
    """
    GUTTER = 3  # columns between the two sections of a row
    reload_every_s: float | None = 2.0
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.detail_title = title
        self.loads = 0
        self.data: Any = None
        self.pool: dict | None = None  # the summary of the pool shown (its decimals), read once
        self.sections: list = []
        self._shape: list[int] | None = None

    async def pool_of(self, gateway, pool_id: str | None) -> dict | None:
        """The pool's summary from the pools list (None if it cannot be read)."""
        if self.pool is None and pool_id:
            try:
                pools = (await gateway.list_pools()).get("pools") or []
            except GatewayError:
                pools = []
            self.pool = next((pool for pool in pools if pool.get("pool_id") == pool_id), None)
        return self.pool

    def compose(self) -> ComposeResult:
        yield Static(Text(self.detail_title), id="detail-title")
        yield Static("loading …", id="detail-status")
        # a screen may put widgets of its own in the body, above the sections' grid
        with VerticalScroll(id="detail-body"):
            yield Container(id="detail-sections")
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()
        if self.reload_every_s:
            self.set_interval(self.reload_every_s, self.action_reload, name="detail-reload")

    def action_back(self) -> None:
        self.dismiss()

    def action_reload(self) -> None:
        if self.app.screen is self:
            self.run_worker(self._load(), group="detail", exclusive=True)

    async def _load(self) -> None:
        try:
            sections = await self.load(self.app.gateway)
        except GatewayError as exc:
            self.query_one("#detail-status", Static).update(Text(f"✖ {exc.message}", style="bold red"))
            return
        self.query_one("#detail-status", Static).update(Text(self.status_line(), no_wrap=True))
        self.sections = sections
        await self.lay_out(sections)
        self.loads += 1  # after the layout: a caller waiting for a load sees its sections

    def on_resize(self) -> None:
        if self.sections:  # a worker given the method, not a coroutine: one cancelled unstarted is no leak
            self.run_worker(self._lay_out_again, group="detail-layout", exclusive=True)

    async def _lay_out_again(self) -> None:
        await self.lay_out(self.sections)

    def rows_of(self, sections: list) -> list[list]:
        """Sections in reading order, two to a row where both fit half the width (a record table,
        a log, or a section whose numbers or ids would fold at half the width has a row of its
        own; so does a half section whose neighbour does). Below 110 columns every section has a
        row of its own."""
        width = max(1, self.size.width - 4)  # the body's padding and its scrollbar
        half = (width - self.GUTTER) // 2 - 1  # the narrower of two halves
        narrow = self.size.width < self.HORIZONTAL_BREAKPOINTS[1][0]  # as the class, read before it may be set
        rows: list[list] = []
        waiting = None
        for renderable in sections:
            alone = narrow or is_wide(renderable) or min_width(self.app.console, renderable, half) > half
            if alone:
                if waiting is not None:
                    rows.append([waiting])
                    waiting = None
                rows.append([renderable])
            elif waiting is None:
                waiting = renderable
            else:
                rows.append([waiting, renderable])
                waiting = None
        if waiting is not None:
            rows.append([waiting])
        return rows

    async def lay_out(self, sections: list) -> None:
        """Rows of sections (see rows_of): updated in place when their shape is the same, else
        mounted again. A row is a horizontal container of auto height: it is as tall as its
        taller section, and every section as tall as its own text (a grid's auto rows left out
        a section's bottom margin, so each section there lost its last line)."""
        rows = self.rows_of(sections)
        shape = [len(row) for row in rows]
        body = self.query_one("#detail-sections", Container)
        existing = list(body.query(".detail-row"))
        if shape == self._shape and len(existing) == len(rows):
            widgets = list(body.query(".detail-section"))
            for widget, renderable in zip(widgets, [r for row in rows for r in row]):
                widget.update(renderable)
            return
        self._shape = shape
        await body.remove_children()
        await body.mount_all(Horizontal(*(Static(renderable, classes="detail-section" + (" -right" if index else ""))
                                          for index, renderable in enumerate(row)), classes="detail-row")
                             for row in rows)

    def status_line(self) -> str:
        return "Esc back · R reload"

    async def load(self, gateway) -> list:  # pragma: no cover - overridden
        raise NotImplementedError
