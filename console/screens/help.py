"""Every key, grouped by section, from the same table the bindings are built from."""
from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from console.bindings import ALL_KEYS, Key


def key_label(key: Key) -> str:
    if key.display:
        return key.display
    names = {"question_mark": "?", "slash": "/", "plus": "+", "minus": "-", "equals_sign": "=", "space": "space",
             "enter": "⏎", "escape": "esc", "delete": "del"}
    return " ".join(names.get(part, part.replace("ctrl+", "^")) for part in key.key.split(","))


def help_table() -> Table:
    table = Table(expand=True, box=None, pad_edge=False, header_style="bold")
    table.add_column("Key", width=12, no_wrap=True)
    table.add_column("Action", width=16, no_wrap=True)
    table.add_column("What it does", ratio=1)
    section = None
    for key in ALL_KEYS:
        if key.section != section:
            section = key.section
            table.add_row(Text(section, style="bold underline"), "", "")
        table.add_row(Text(key_label(key), style="bold"), key.description, key.help)
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close", id="frt.help.close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 110; max-width: 98%; height: 90%; border: round $primary;
                                  background: $surface; padding: 0 1; }
    HelpScreen #help-title { text-style: bold; color: $primary; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("Keys  (Esc closes; ctrl+p searches every action by name)", id="help-title")
            yield Static(help_table(), id="help-table")
            yield Static(Text(
                "Status symbols: ▶ running  ■ stopped  ○ created  ✖ error.  Feed: ★ finding  ✖ unexpected  "
                "! expected  ~ transient.  Pause flags: liq / swp / sys.  Thread actions apply to the tagged "
                "threads when any are tagged (● in the first column), else to the selected one.", style="dim"))

    def action_close(self) -> None:
        self.dismiss()
