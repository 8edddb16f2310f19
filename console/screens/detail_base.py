"""Common frame of the detail screens: a title, scrollable sections, reload (R) and back (Esc).
Sections are read through the gateway in a worker, on open and then every `reload_every_s`."""
from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Container, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from console.bindings import DETAIL_KEYS, bindings
from console.gateway import GatewayError
from console.widgets.detail import is_wide


class DetailScreen(Screen):
    BINDINGS = bindings(DETAIL_KEYS)
    DEFAULT_CSS = """
    DetailScreen #detail-title { height: 1; background: $panel; padding: 0 1; text-style: bold; }
    DetailScreen #detail-status { height: auto; padding: 0 1; color: $text-muted; }
    DetailScreen #detail-body { padding: 0 1; height: 1fr; }
    DetailScreen #detail-sections { layout: grid; grid-size: 2; grid-gutter: 0 3; grid-rows: auto; height: auto; }
    DetailScreen.-narrow #detail-sections { layout: vertical; }
    DetailScreen .detail-section { margin-bottom: 1; height: auto; }
    DetailScreen .detail-section.-wide { column-span: 2; }
    """
    reload_every_s: float | None = 2.0
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.detail_title = title
        self.loads = 0
        self.data: Any = None

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
        self.loads += 1
        self.query_one("#detail-status", Static).update(Text(self.status_line(), no_wrap=True))
        body = self.query_one("#detail-sections", Container)
        existing = list(body.query(".detail-section"))
        if len(existing) == len(sections):
            for widget, renderable in zip(existing, sections):
                widget.update(renderable)
                widget.set_class(is_wide(renderable), "-wide")
        else:
            await body.remove_children()
            await body.mount_all(Static(renderable, classes="detail-section -wide" if is_wide(renderable)
                                        else "detail-section") for renderable in sections)

    def status_line(self) -> str:
        return "Esc back · R reload"

    async def load(self, gateway) -> list:  # pragma: no cover - overridden
        raise NotImplementedError
