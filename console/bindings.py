"""Every console key binding in one table: the screens build their BINDINGS from it, the help
screen lists it, and the command palette offers each entry as a command.

Binding ids are `frt.<name>`; a Textual keymap can rebind them by id.
"""
from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Key:
    name: str          # id without the "frt." prefix
    key: str           # Textual key name(s), comma separated
    action: str        # action on the screen (or app) that owns it
    description: str   # short: footer and palette title
    help: str          # one sentence: help screen and palette help
    section: str
    show: bool = False  # shown in the footer
    display: str | None = None
    palette: bool = True  # offered in the command palette

    @property
    def id(self) -> str:
        return f"frt.{self.name}"

    def binding(self) -> Binding:
        return Binding(self.key, self.action, self.description, show=self.show, key_display=self.display,
                       id=self.id)


APP_KEYS: list[Key] = [
    Key("help", "question_mark,f1", "help", "Help", "List every key and what it does.", "Console", True, "?"),
    Key("palette", "ctrl+p", "command_palette", "Palette", "Search every action and theme by name.",
        "Console", False, "^p", palette=False),
    Key("pause", "p", "toggle_pause", "Pause view",
        "Freeze the view (the engine keeps running); press again to resume.", "Console", True),
    Key("faster", "plus,equals_sign", "refresh_faster", "Refresh +",
        "Refresh the view more often (up to 4 times a second).", "Console", False, "+"),
    Key("slower", "minus", "refresh_slower", "Refresh -", "Refresh the view less often.", "Console", False, "-"),
    Key("theme", "t", "next_theme", "Theme",
        "Switch to the next console theme (dark, light, high contrast); the choice is remembered.", "Console"),
    Key("log", "l", "show_log", "Log", "Show the console's log (also in <data_dir>/logs/console.log).",
        "Console"),
    Key("quit", "q,ctrl+q,ctrl+c", "request_quit", "Quit",
        "Quit; running threads are stopped cleanly after a confirmation (remote: detach).", "Console", True),
]

MAIN_KEYS: list[Key] = [
    Key("start", "s", "start", "Start", "Start the selected thread, or every tagged thread.", "Threads", True),
    Key("stop", "x", "stop", "Stop", "Stop the selected thread, or every tagged thread.", "Threads", True),
    Key("empty", "e", "empty", "Empty",
        "Empty the selected / tagged threads: burn their input balance and attempt the operation "
        "with it (asks first).", "Threads"),
    Key("delete", "d,delete", "delete", "Delete",
        "Delete the selected / tagged threads; they must be stopped (asks first).", "Threads"),
    Key("start_all", "S", "start_all", "Start all",
        "Start every thread that is not running (while a filter is on: the threads it shows).", "Threads"),
    Key("stop_all", "X", "stop_all", "Stop all",
        "Stop every running thread (while a filter is on: the threads it shows).", "Threads"),
    Key("start_pool", "o", "start_pool", "Start pool",
        "Start every thread of the selected pool (pools panel) or of the selected thread's pool.", "Threads"),
    Key("stop_pool", "O", "stop_pool", "Stop pool",
        "Stop every thread of the selected pool (pools panel) or of the selected thread's pool.", "Threads"),
    Key("tag", "space", "tag", "Tag", "Tag or untag the selected thread for bulk start / stop / empty / "
        "delete.", "Threads", display="space"),
    Key("untag", "u", "untag_all", "Untag all", "Clear every tag.", "Threads"),
    Key("detail", "enter", "detail", "Detail",
        "Open the detail of the selected thread, pool or feed entry.", "Threads", display="⏎"),
    Key("filter", "slash", "filter", "Filter",
        "Filter the threads as you type (id, type, pool, side, status, error); Esc clears.", "View", True, "/"),
    Key("clear_filters", "escape", "clear_filters", "Clear filter",
        "Dismiss an alert banner, else clear the threads' filter, else the feed's filter and severity, else the tags.", "View",
        palette=False, display="esc"),
    Key("units", "U", "toggle_units", "Units",
        "Show amounts in whole tokens (the token's decimals applied) or in exact base units; the panel titles "
        "say which.", "View"),
    Key("feed_filter", "F", "feed_filter", "Filter feed",
        "Filter the error / finding feed as you type; Esc clears.", "View"),
    Key("severity", "v", "cycle_severity", "Severity",
        "Cycle the feed's severity filter: all, findings, unexpected, expected, transient.", "View"),
    Key("sort", "c", "cycle_sort", "Sort column", "Sort the threads by the next column (or click a header).",
        "View"),
    Key("sort_by", "f6,greater_than_sign,less_than_sign", "pick_sort", "Sort by…",
        "Pick the threads' sort column from a list (as htop's F6); the current one again reverses the order.",
        "View", display="F6 > <"),
    Key("reverse", "r", "reverse_sort", "Reverse sort", "Reverse the sort order.", "View"),
    Key("coverage", "C", "coverage", "Coverage",
        "Show, per instruction, how the contract answered the run (success and each error by name and code) "
        "and the errors the model says it can answer that the run never provoked.", "View"),
    Key("new_deposit", "1", "new_deposit", "New deposit",
        "Create a deposit thread (form).", "Create", True),
    Key("new_withdrawal", "2", "new_withdrawal", "New withdrawal", "Create a withdrawal thread (form).", "Create"),
    Key("new_swap", "3", "new_swap", "New swap", "Create a swap thread (form; one per direction per pool).",
        "Create"),
    Key("new_attack", "4", "new_attack", "New attack",
        "Create an attack thread: a non-admin wallet running the attack catalogue (form).", "Create"),
    Key("new_pool", "N", "new_pool", "New pool", "Create a pool with two new mints (form).", "Create", True),
    Key("operator", "A", "toggle_operator", "Operator",
        "Turn the operator on or off: random admin actions (pool and system pauses, fee changes, owner-only "
        "swaps, consolidation, treasury withdrawals), each predicted and checked.", "Threads"),
    Key("fund", "f", "fund", "Fund", "Send SOL, mint tokens or give LP tokens to the selected thread (form).",
        "Create"),
    Key("mint", "m", "mint_and_send", "Mint & send", "Mint a pool token to any address (form).", "Create"),
]

DETAIL_KEYS: list[Key] = [
    Key("back", "escape,backspace", "back", "Back", "Close the detail and return to the main screen.",
        "Detail", True, "esc", palette=False),
    Key("reload", "R", "reload", "Reload", "Read the detail again.", "Detail", True, palette=False),
]

FINDING_KEYS: list[Key] = [
    Key("replay", "r", "replay", "Replay",
        "Finding detail: replay the finding's pool history on a fresh embedded ledger and say whether the "
        "finding recurs (local engine only).", "Detail", True, palette=False),
    Key("shrink", "s", "shrink", "Shrink",
        "Finding detail: shrink the history to a minimal sequence that still reproduces the finding, writing "
        "the best one so far next to the pool's history (local engine only).", "Detail", True, palette=False),
    Key("stop_reproduce", "x", "stop_reproduce", "Stop",
        "Finding detail: stop the running replay or shrink (shrink keeps its best sequence so far).", "Detail",
        True, palette=False),
]

ALL_KEYS = [*APP_KEYS, *MAIN_KEYS, *DETAIL_KEYS, *FINDING_KEYS]


def bindings(keys: list[Key]) -> list[Binding]:
    return [key.binding() for key in keys]
