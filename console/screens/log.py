"""The console's own log (what also goes to <data_dir>/logs/console.log): start-up, every
notification (the operator's actions and the engine's answers), warnings and errors; long lines
wrap."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, RichLog, Static


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
        yield RichLog(id="log", max_lines=5000, wrap=True, markup=False, highlight=False)
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
            log = self.query_one(RichLog)
            for _, text, _ in lines:
                log.write(text)

    def action_back(self) -> None:
        self.dismiss()
