"""The console's own log (what also goes to <data_dir>/logs/console.log)."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Log, Static


class LogScreen(Screen):
    BINDINGS = [Binding("escape,l", "back", "Back", id="frt.log.back")]
    DEFAULT_CSS = """
    LogScreen #log-title { height: 1; background: $panel; padding: 0 1; text-style: bold; }
    """

    def __init__(self, buffer, path=None) -> None:
        super().__init__()
        self.buffer = buffer
        self.path = path
        self.seen = 0

    def compose(self) -> ComposeResult:
        where = f" — also in {self.path}" if self.path else ""
        yield Static(f"Console log{where}", id="log-title", markup=False)
        yield Log(id="log", max_lines=5000, highlight=False)
        yield Footer()

    def on_mount(self) -> None:
        self.pull()
        self.set_interval(0.5, self.pull, name="log-pull")

    def pull(self) -> None:
        if self.buffer is None:
            return
        lines = self.buffer.since(self.seen)
        if lines:
            self.seen = lines[-1][0]
            self.query_one(Log).write_lines([text for _, text, _ in lines])

    def action_back(self) -> None:
        self.dismiss()
