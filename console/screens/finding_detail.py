"""Detail of a feed entry: the deduplicated entry, and for a finding the finding documents
behind it (prediction, actual output, balances before / after, transaction and its logs).

For a finding group, a "Reproduce" panel on top: the commands that replay, shrink and export it
and, with a local engine, replay (r) and shrink (s) run here on a worker thread, their progress
shown live; x stops them, and so does leaving the screen (shrink keeps its best sequence)."""
from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.timer import Timer
from textual.widgets import Static
from textual.worker import Worker

from console.bindings import FINDING_KEYS, bindings
from console.reproduce_runner import ReproduceRun
from console.screens.detail_base import DetailScreen
from console.widgets.detail import Amount, log_lines, records, section, show_value, sol, stacked, when
from console.widgets.reproduce_panel import panel, status_summary, why_not_replayable

FINDINGS_READ = 200
PROGRESS_EVERY_S = 0.1


def matching_findings(entry: dict, findings: list[dict]) -> list[dict]:
    """The finding documents behind a feed entry: those of its group (the feed keys a finding's
    entry "finding|<group id>"), or, for an entry without a group, those of its kind."""
    group = group_id_of(entry)
    if group:
        return [finding for finding in findings if finding.get("group_id") == group]
    threads = set(entry.get("threads") or [])
    return [finding for finding in findings
            if finding.get("kind") == entry.get("title")
            and (not entry.get("pool_id") or finding.get("pool_id") == entry.get("pool_id"))
            and (not threads or finding.get("thread_id") in threads)]


def group_id_of(entry: dict) -> str | None:
    key = entry.get("key") or ""
    group = key.removeprefix("finding|") if key.startswith("finding|") else ""
    return group if group and "|" not in group else None  # not an ungrouped entry's "finding|<title>|<pool>"


_OTHER = {"A": "B", "B": "A"}


def _lines(first, second) -> Text:
    """Two values of a record in one cell, one under the other, each whole (80 columns have no
    room for them side by side)."""
    return Text(f"{show_value(first)}\n{show_value(second)}", no_wrap=True)


def finding_units(finding: dict, pool: dict | None):
    """units(dotted key, value) for a finding document: what was sent in the input token, what
    came back in its output (LP for a deposit, the other token for a swap), fees in SOL."""
    decimals = {"A": (pool or {}).get("token_a_decimals"), "B": (pool or {}).get("token_b_decimals")}
    side = finding.get("token_type")
    operation = finding.get("operation")
    out_side = _OTHER.get(side) if operation == "swap" else side
    in_lp, out_lp = operation == "withdraw", operation == "deposit"

    def units(dotted: str, value: int):
        key = dotted.rsplit(".", 1)[-1]
        if "fee" in key or "lamports" in key:
            return sol(value)
        if side not in _OTHER:
            return value
        if key == "amount":
            return Amount(value, decimals[side], f"LP {side}" if in_lp else side)
        if key in ("actual_output", "output", "expected_output"):
            return Amount(value, decimals[out_side], f"LP {out_side}" if out_lp else out_side)
        return value

    return units


def local_data_dir(gateway) -> Path | None:
    """The data directory of the console's own engine; None when it is attached to a remote one."""
    if gateway is None or getattr(gateway, "kind", None) != "local":
        return None
    settings = getattr(getattr(gateway, "engine", None), "settings", None)
    return Path(settings.data_dir) if settings is not None else None


class FindingDetailScreen(DetailScreen):
    BINDINGS = bindings(FINDING_KEYS)
    DEFAULT_CSS = """
    FindingDetailScreen #reproduce { height: auto; margin-bottom: 1; display: none; }
    FindingDetailScreen #reproduce.-shown { display: block; }
    """
    reload_every_s = None

    def __init__(self, entry: dict) -> None:
        super().__init__(f"{entry.get('severity', '')}: {entry.get('title', '')}")
        self.entry = entry
        self.is_finding = entry.get("severity") == "finding"
        self.group: dict | None = None
        self.data_dir: Path | None = None
        self.runs: dict[str, ReproduceRun] = {}  # the latest of each verb
        self._ticker: Timer | None = None

    async def on_mount(self) -> None:  # before DetailScreen.on_mount (Textual calls both) starts the load
        await self.query_one("#detail-body").mount(Static(id="reproduce"), before="#detail-sections")
        self.data_dir = local_data_dir(self.app.gateway)

    def on_unmount(self) -> None:
        for run in self.runs.values():
            run.stop()  # the worker thread ends before its next step; Textual cancels the worker

    async def load(self, gateway) -> list:
        parts = [section("Feed entry", self.entry)]
        if not self.is_finding:
            self.data = {"entry": self.entry, "findings": []}
            return parts
        answer = await gateway.get_findings(FINDINGS_READ)
        found = matching_findings(self.entry, answer.get("findings") or [])
        group_id = group_id_of(self.entry)
        self.group = next((group for group in answer.get("groups") or [] if group["id"] == group_id), None)
        self.data = {"entry": self.entry, "findings": found, "group": self.group}
        self.show_runs()
        self.refresh_bindings()
        if self.group is not None:
            parts.append(section("Finding group", {k: v for k, v in self.group.items() if k != "example"}))
        pool = await self.pool_of(gateway, self.entry.get("pool_id") or (self.group or {}).get("pool_id"))
        parts.append(records(f"Finding documents ({len(found)} of {answer.get('count', 0)} findings)", found,
                             [("finding_file", "File\ndetected", lambda v, r: _lines(v, when(r.get("detected_at"))[:19])),
                              ("thread_id", "Thread\noperation", lambda v, r: _lines(v, r.get("operation"))),
                              ("amount", "Amount", lambda v, r: stacked(_unit(finding_units(r, pool), "amount", v))),
                              ("actual_output", "Actual",
                               lambda v, r: stacked(_unit(finding_units(r, pool), "actual_output", v)))]))
        for finding in found[:3]:
            transaction = finding.get("transaction") or {}
            units = finding_units(finding, pool)
            parts.append(section(f"Finding {finding.get('finding_file', '')}",
                                 {k: v for k, v in finding.items() if k != "transaction"}, units=units))
            parts.append(section("Transaction", {k: v for k, v in transaction.items() if k != "logs"}, units=units))
            parts.append(log_lines("Transaction logs", transaction.get("logs")))
        return parts

    # ---- replay and shrink ------------------------------------------------------------------------

    @property
    def can_reproduce(self) -> bool:
        return self.data_dir is not None and why_not_replayable(self.group) is None

    @property
    def active_run(self) -> ReproduceRun | None:
        return next((run for run in self.runs.values() if run.active), None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("replay", "shrink"):
            if not self.can_reproduce:
                return False
            return None if self.active_run else True  # shown, dimmed, while one runs
        if action == "stop_reproduce":
            return self.active_run is not None
        return True

    def action_replay(self) -> None:
        self.start("replay")

    def action_shrink(self) -> None:
        self.start("shrink")

    def action_stop_reproduce(self) -> None:
        if self.active_run is not None:
            self.active_run.stop()

    def start(self, verb: str) -> None:
        if not self.can_reproduce or self.active_run is not None:
            return
        run = self.runs[verb] = ReproduceRun(verb, self.group["id"], self.data_dir)
        self.run_worker(run.execute, name=f"{verb} {run.group_id}", group="reproduce", thread=True,
                        exit_on_error=False)
        self._ticker = self.set_interval(PROGRESS_EVERY_S, self.show_runs, name="reproduce-progress")
        self.query_one("#detail-body").scroll_home(animate=False)
        self.show_runs()
        self.refresh_bindings()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "reproduce" and event.worker.is_finished:
            if self._ticker is not None:
                self._ticker.stop()
                self._ticker = None
            self.show_runs()
            self.refresh_bindings()

    def show_runs(self) -> None:
        widget = self.query_one("#reproduce", Static)
        widget.set_class(self.is_finding, "-shown")
        if self.is_finding:
            widget.update(panel(self.group, self.data_dir, self.runs, group_id_of(self.entry)))
        if self.loads:
            self.query_one("#detail-status", Static).update(Text(self.status_line(), no_wrap=True))

    def status_line(self) -> str:
        if self.active_run is not None:
            return f"Esc back · R reload · x stop · {status_summary(self.runs)}"
        return "Esc back · R reload" + (" · r replay · s shrink" if self.can_reproduce else "")


def _unit(units, key: str, value):
    return units(key, value) if isinstance(value, int) and not isinstance(value, bool) else value
