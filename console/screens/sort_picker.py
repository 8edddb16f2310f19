"""Sort the threads by a column picked from a list, as htop's F6 does: the current column is
marked with its order and highlighted; ⏎ sorts by the highlighted column (the current one
again: the order reverses), Esc leaves the sort as it was. Dismisses with the column or None."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option


class SortPicker(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="frt.sort.cancel")]
    DEFAULT_CSS = """
    SortPicker { align: center middle; }
    SortPicker > Vertical { width: 40; max-width: 95%; height: auto; border: round $primary;
                            background: $surface; padding: 0 1; }
    SortPicker #sort-title { text-style: bold; color: $primary; }
    SortPicker OptionList, SortPicker OptionList:focus { height: auto; max-height: 16; border: none; padding: 0; }
    SortPicker #sort-keys { color: $text-muted; }
    """

    def __init__(self, names: dict[str, str], current: str, reverse: bool) -> None:
        super().__init__()
        self.names, self.current, self.reverse = names, current, reverse

    def compose(self) -> ComposeResult:
        arrow = " ▼" if self.reverse else " ▲"
        with Vertical():
            yield Static("Sort threads by", id="sort-title")
            yield OptionList(*[Option(name + (arrow if key == self.current else ""), id=key)
                               for key, name in self.names.items()], id="sort-columns")
            yield Static("⏎ sort · the current column again: reverse · Esc cancel", id="sort-keys")

    def on_mount(self) -> None:
        columns = self.query_one(OptionList)
        columns.highlighted = list(self.names).index(self.current) if self.current in self.names else 0
        columns.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)
