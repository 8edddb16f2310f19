"""The main screen: header, threads table, pools panel, CPU gauges, throughput chart, feed; and
every operator action on threads and pools."""
from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from console import formatting as fmt
from console.bindings import MAIN_KEYS, bindings
from console.gateway import GatewayError
from console.screens import forms
from console.screens.confirm import ConfirmScreen
from console.screens.sort_picker import SortPicker
from console.widgets.cpu_gauges import CpuGauges
from console.widgets.feed import FeedTable
from console.widgets.header import HeaderBar
from console.widgets.pools_panel import PoolsPanel
from console.widgets.threads_table import SORT_NAMES, ThreadsTable
from console.widgets.throughput_chart import ThroughputChart

BULK_CONCURRENCY = 8


def names(thread_ids: list[str], most: int = 4) -> str:
    """'deposit_1, swap_2 and 3 more'."""
    shown = ", ".join(thread_ids[:most])
    return shown + (f" and {len(thread_ids) - most} more" if len(thread_ids) > most else "")


class FilterInput(Input):
    BINDINGS = [Binding("escape", "clear", "Clear filter", id="frt.filter.clear")]

    def action_clear(self) -> None:
        self.value = ""
        self.screen.close_filter(keep=False)


class MainScreen(Screen):
    BINDINGS = bindings(MAIN_KEYS)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (200, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-normal"), (50, "-tall")]

    def __init__(self) -> None:
        super().__init__()
        self.snapshot: dict | None = None
        self.filter_target = "threads"
        self.pending_select: str | None = None
        self.applied = 0
        self.last_data_at: str | None = None  # wall-clock time of the last snapshot shown
        self.shard_restarts: int | None = None
        self.alert: str | None = None  # a banner that stays until Esc (a shard restarted)

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header")
        yield Static(id="banner")
        with Container(id="body"):
            yield Static(id="hint")
            yield ThreadsTable(id="threads")
            with Container(id="side"):
                yield PoolsPanel(id="pools")
                yield CpuGauges(id="cpu")
                yield ThroughputChart(id="chart")
        yield FeedTable(id="feed")
        yield FilterInput(placeholder="filter threads: words to match (Esc clears, ⏎ keeps)", id="filter")
        yield Footer()

    def on_mount(self) -> None:
        self.threads_table.focus()
        if self.app.units != self.threads_table.units:  # the operator's choice from an earlier session
            self.threads_table.set_units(self.app.units)
            self.pools_panel.set_units(self.app.units)
        self.query_one("#filter", FilterInput).cursor_blink = getattr(self.app, "cursor_blink", True)

    def on_screen_resume(self) -> None:
        if self.app.gateway is not None:
            self.app.refresher.request()

    # ---- parts --------------------------------------------------------------------------------

    @property
    def threads_table(self) -> ThreadsTable:
        return self.query_one("#threads", ThreadsTable)

    @property
    def pools_panel(self) -> PoolsPanel:
        return self.query_one("#pools", PoolsPanel)

    @property
    def feed(self) -> FeedTable:
        return self.query_one("#feed", FeedTable)

    @property
    def header(self) -> HeaderBar:
        return self.query_one("#header", HeaderBar)

    # ---- applying snapshots ---------------------------------------------------------------------

    def apply(self, snapshot: dict, resources: dict, rates) -> None:
        self.snapshot = snapshot
        self.applied += 1
        self.last_data_at = time.strftime("%H:%M:%S")
        self.remove_class("-stale")
        self.notice_restarts((snapshot.get("engine") or {}).get("shards") or [])
        pools = {pool["pool_id"]: pool for pool in snapshot.get("pools", [])}
        self.show_header(rates.ops_per_second if rates else None)
        self.threads_table.apply(snapshot.get("threads", []), pools)
        self.show_hint(snapshot)
        self.pools_panel.apply(snapshot.get("pools", []))
        self.feed.apply(snapshot.get("feed", []), snapshot.get("feed_version", 0))
        if rates is not None:
            self.query_one("#chart", ThroughputChart).push(rates.ops_per_second, rates.latency_ms, rates.p95_ms)
        self.query_one("#cpu", CpuGauges).show(resources or {})
        if self.pending_select and self.pending_select in self.threads_table.rows_by_id:
            self.threads_table.select_key(self.pending_select)
            self.pending_select = None

    def show_header(self, throughput: float | None = None, problem: str | None = None) -> None:
        app = self.app
        engine = self.snapshot.get("engine") if self.snapshot else None
        self._throughput = throughput if throughput is not None else getattr(self, "_throughput", None)
        problem = problem or app.problem
        self.header.show(engine, app.gateway_info, throughput=self._throughput, refresh_hz=app.refresher.hz,
                         paused=app.paused, problem=problem)
        if problem and self.snapshot is not None:
            self.show_stale(problem)

    def show_stale(self, problem: str) -> None:
        """The engine cannot be read: the last data stays, dimmed, under a banner that says so."""
        self.add_class("-stale")
        self.query_one("#banner", Static).update(
            f"⚠ {problem}. Everything below is the last data received, at {self.last_data_at}: it is stale "
            f"(threads may have stopped); retrying.")

    def notice_restarts(self, shards: list[dict]) -> None:
        """A shard that died and was restarted: a banner until Esc (its threads were stopped)."""
        restarts = sum(shard.get("restarts", 0) for shard in shards)
        if self.shard_restarts is not None and restarts > self.shard_restarts:
            which = ", ".join(str(shard["shard"]) for shard in shards if shard.get("restarts"))
            self.alert = (f"⚠ shard {which} died at {self.last_data_at} and was restarted on its last checkpoint: "
                          f"its threads were stopped (S starts them again); the feed says more. Esc dismisses.")
        self.shard_restarts = restarts
        self.set_class(self.alert is not None, "-alert")
        if self.alert and not self.has_class("-stale"):
            self.query_one("#banner", Static).update(self.alert)

    def show_hint(self, snapshot: dict) -> None:
        """An empty engine says what to do first instead of showing an empty table."""
        hint = self.query_one("#hint", Static)
        if snapshot.get("threads"):
            hint.display = False
            return
        hint.display = True
        first = ("N creates a pool (two new mints at a fixed ratio); then" if not snapshot.get("pools") else
                 f"{fmt.plural(len(snapshot['pools']), 'pool')}, no thread yet:")
        hint.update(f"{first} 1, 2, 3 and 4 create a deposit, withdrawal, swap or attack thread on the selected "
                    f"pool; s starts the selected thread, S starts them all; ? lists every key. (A whole scenario "
                    f"loads headless: frt-stress run scenarios/demo.toml --data-dir DIR, then open DIR here.)")

    def restyle(self) -> None:
        """After a theme switch: cell styles come from the theme."""
        self.threads_table.render_rows()
        self.pools_panel.apply(list(self.pools_panel.pools.values()))
        self.feed.render_rows()
        self.show_header()

    # ---- selection helpers ----------------------------------------------------------------------

    def selected_thread(self) -> str | None:
        return self.threads_table.selected_key

    def selected_pool(self) -> str | None:
        """The pool selected in the pools panel when it has focus, else the selected thread's."""
        if self.focused is self.pools_panel and self.pools_panel.selected_key:
            return self.pools_panel.selected_key
        thread_id = self.selected_thread()
        if thread_id is not None:
            return self.threads_table.rows_by_id.get(thread_id, {}).get("pool_id")
        return self.pools_panel.selected_key

    def pools_list(self) -> list[dict]:
        return list(self.pools_panel.pools.values())

    def _targets(self) -> list[str]:
        targets = self.threads_table.targets()
        if not targets:
            self.app.notify("No thread selected (create one with 1, 2 or 3).", severity="warning")
        return targets

    # ---- thread actions ---------------------------------------------------------------------------

    def action_start(self) -> None:
        self._bulk("started", lambda gw, t: gw.start_thread(t), pending="starting")

    def action_stop(self) -> None:
        self._bulk("stopped", lambda gw, t: gw.stop_thread(t), pending="stopping")

    def action_empty(self) -> None:
        self._confirm_bulk("Empty", "Burns the whole input balance, attempts the operation with it and burns what it "
                                    "returned. This cannot be undone.",
                           "emptied", lambda gw, t: gw.empty_thread(t), pending="emptying")

    def action_delete(self) -> None:
        running = [thread_id for thread_id in self.threads_table.targets()
                   if self.threads_table.rows_by_id.get(thread_id, {}).get("status") == "running"]
        if running:
            self.app.notify(f"cannot delete {names(running)}: running; stop {'it' if len(running) == 1 else 'them'} "
                            f"first (x)", severity="warning")
            return
        self._confirm_bulk("Delete", "The thread and its files are removed; its wallet keeps its tokens.",
                           "deleted", lambda gw, t: gw.delete_thread(t), pending="deleting")

    def _confirm_bulk(self, verb: str, message: str, done: str, call, pending: str) -> None:
        targets = self._targets()
        if targets:
            what = targets[0] if len(targets) == 1 else f"{len(targets)} tagged threads"
            self._confirm(f"{verb} {what}?", f"{message}\n\n{verb}: {names(targets, 12)}.", verb,
                          lambda: self._bulk(done, call, targets, pending=pending))

    def action_start_all(self) -> None:
        self._all_or_shown("start_all_threads")

    def action_stop_all(self) -> None:
        self._all_or_shown("stop_all_threads")

    def _all_or_shown(self, method: str) -> None:
        """S / X act on every thread, or, while a filter hides some, on the threads it shows."""
        table = self.threads_table
        if not table.filter_terms:
            self._all(method, None)
            return
        starting = method == "start_all_threads"
        targets = [thread_id for thread_id in table.shown_ids()
                   if (table.rows_by_id[thread_id].get("status") == "running") != starting]
        if not targets:
            self.app.notify(f"no shown thread to {'start' if starting else 'stop'} (filter: "
                            f"{' '.join(table.filter_terms)})", severity="warning")
            return
        self._bulk("started" if starting else "stopped",
                   (lambda gw, t: gw.start_thread(t)) if starting else (lambda gw, t: gw.stop_thread(t)),
                   targets, pending="starting" if starting else "stopping")

    def action_clear_filters(self) -> None:
        """Esc on the main screen: dismiss an alert, else clear the threads' filter, else the feed's
        filter and severity, else the tags."""
        if self.alert is not None:
            self.alert = None
            self.remove_class("-alert")
        elif self.threads_table.filter_terms:
            self.threads_table.set_filter("")
        elif self.feed.filter_terms or self.feed.severity:
            self.feed.set_filter("")
            self.feed.severity = None
            self.feed.render_rows()
        elif self.threads_table.tagged:
            self.threads_table.clear_tags()

    def action_toggle_units(self) -> None:
        units = fmt.UNITS[(fmt.UNITS.index(self.threads_table.units) + 1) % len(fmt.UNITS)]
        self.threads_table.set_units(units)
        self.pools_panel.set_units(units)
        self.app.units = units
        self.app.state.remember("units", units)
        self.app.notify(f"amounts in {fmt.UNIT_LABELS[units]} (remembered)", timeout=2)

    def action_toggle_operator(self) -> None:
        async def run() -> None:
            status = await self.app.gateway.get_operator()
            result = await self.app.gateway.set_operator(enabled=not status["enabled"])
            self.app.notify(f"operator {'on' if result['enabled'] else 'off'}: an admin action every "
                            f"~{result['interval_s']:g} s per shard while threads run")

        self.app.run_operation(run(), "set_operator")

    def action_start_pool(self) -> None:
        self._pool_action("start_all_threads")

    def action_stop_pool(self) -> None:
        self._pool_action("stop_all_threads")

    def _pool_action(self, method: str) -> None:
        pool_id = self.selected_pool()
        if pool_id is None:
            self.app.notify("No pool selected.", severity="warning")
            return
        self._all(method, pool_id)

    def _all(self, method: str, pool_id: str | None) -> None:
        async def run() -> None:
            result = await getattr(self.app.gateway, method)(pool_id)
            status = "running" if method == "start_all_threads" else "stopped"
            for thread_id in result.get("started") or result.get("stopped") or []:
                self.app.patch_thread_status(thread_id, status)
            scope = f" of pool {fmt.short_id(pool_id)}" if pool_id else ""
            verb = "started" if method == "start_all_threads" else "stopped"
            self.app.notify(f"{verb} {result.get('count', 0)} threads{scope}")

        self.app.run_operation(run(), f"{method}")

    def _bulk(self, verb: str, call: Callable[[object, str], Awaitable[dict]],
              targets: list[str] | None = None, pending: str | None = None) -> None:
        targets = targets if targets is not None else self._targets()
        if not targets:
            return
        if pending and self.app.gateway is not None:
            self.threads_table.set_pending(targets, pending, show=not self.app.view_blocked())

        async def one(gateway, semaphore, thread_id):
            async with semaphore:
                return await call(gateway, thread_id)

        async def run() -> None:
            gateway = self.app.gateway
            semaphore = asyncio.Semaphore(BULK_CONCURRENCY)
            try:
                results = await asyncio.gather(*(one(gateway, semaphore, t) for t in targets),
                                               return_exceptions=True)
            finally:
                self.threads_table.clear_pending(targets)
                if not self.app.view_blocked():
                    self.threads_table.render_rows()
            failures = []
            for thread_id, result in zip(targets, results):
                if isinstance(result, GatewayError):
                    failures.append(f"{thread_id}: {result.message}")
                elif isinstance(result, BaseException):
                    raise result
                elif isinstance(result, dict) and result.get("status") and not result.get("message"):
                    self.app.patch_thread_status(thread_id, result["status"])
            done = len(targets) - len(failures)
            if done:
                self.app.notify(f"{verb} {targets[0] if len(targets) == 1 else f'{done} threads'}")
            if failures:
                self.app.notify("\n".join(failures[:5]) + (f"\n… {len(failures) - 5} more" if len(failures) > 5
                                                            else ""), severity="error", timeout=8)

        self.app.run_operation(run(), verb)

    def _confirm(self, title: str, message: str, yes: str, then: Callable[[], None]) -> None:
        def answered(ok: bool | None) -> None:
            if ok:
                then()

        self.app.push_screen(ConfirmScreen(title, message, yes=yes), answered)

    def action_tag(self) -> None:
        thread_id = self.selected_thread()
        if thread_id is None:
            return
        self.threads_table.toggle_tag(thread_id)
        self.threads_table.action_cursor_down()

    def action_untag_all(self) -> None:
        self.threads_table.clear_tags()

    # ---- forms ------------------------------------------------------------------------------------

    def _need_pools(self) -> list[dict] | None:
        pools = self.pools_list()
        if not pools:
            self.app.notify("No pool yet: create one first (N).", severity="warning")
            return None
        return pools

    def _open_form(self, form: forms.FormScreen, done: Callable[[dict], str]) -> None:
        def finished(result: dict | None) -> None:
            if result is not None:
                self.app.notify(done(result))
                self.app.refresher.request()

        self.app.push_screen(form, finished)

    def _created_thread(self, result: dict) -> str:
        self.pending_select = result.get("thread_id")
        return f"created {result.get('thread_id')} (not started yet: s starts it)"

    def action_new_deposit(self) -> None:
        if pools := self._need_pools():
            self._open_form(forms.deposit_form(self.app.gateway, pools, self.selected_pool()), self._created_thread)

    def action_new_withdrawal(self) -> None:
        if pools := self._need_pools():
            self._open_form(forms.withdrawal_form(self.app.gateway, pools, self.selected_pool()),
                            self._created_thread)

    def action_new_swap(self) -> None:
        if pools := self._need_pools():
            self._open_form(forms.swap_form(self.app.gateway, pools, self.selected_pool()), self._created_thread)

    def action_new_attack(self) -> None:
        if pools := self._need_pools():
            self._open_form(forms.attack_form(self.app.gateway, pools, self.selected_pool()), self._created_thread)

    def action_new_pool(self) -> None:
        self._open_form(forms.pool_form(self.app.gateway),
                        lambda r: f"created pool {r.get('pool_id')}: {r.get('ratio_display')}")

    def action_fund(self) -> None:
        thread_id = self.selected_thread()
        if thread_id is None:
            self.app.notify("No thread selected.", severity="warning")
            return
        self._open_form(forms.fund_form(self.app.gateway, thread_id),
                        lambda r: f"funded {r.get('thread_id')}: " + (
                            f"{r.get('amount'):,} lamports ({fmt.sol(r.get('amount'), 9)} SOL)"
                            if r.get("funding_type") == "sol" else
                            f"{r.get('amount'):,} base units of {str(r.get('funding_type')).replace('_', ' ')}"))

    def action_mint_and_send(self) -> None:
        if pools := self._need_pools():
            self._open_form(forms.mint_form(self.app.gateway, pools, self.selected_pool()),
                            lambda r: f"minted {r.get('amount_minted'):,} base units of token {r.get('token_type')} "
                                      f"to {r.get('recipient_address')}")

    # ---- view -------------------------------------------------------------------------------------

    def action_detail(self) -> None:
        focused = self.focused
        if focused is self.pools_panel:
            self.open_pool(self.pools_panel.selected_key)
        elif focused is self.feed:
            self.open_feed_entry(self.feed.selected_key)
        else:
            self.open_thread(self.threads_table.selected_key)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        key = event.row_key.value
        if event.data_table is self.pools_panel:
            self.open_pool(key)
        elif event.data_table is self.feed:
            self.open_feed_entry(key)
        else:
            self.open_thread(key)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        if event.data_table is self.threads_table:
            self.threads_table.sort_by(event.column_key.value)

    def open_thread(self, thread_id: str | None) -> None:
        from console.screens.thread_detail import ThreadDetailScreen

        if thread_id:
            self.app.push_screen(ThreadDetailScreen(thread_id))

    def open_pool(self, pool_id: str | None) -> None:
        from console.screens.pool_detail import PoolDetailScreen

        if pool_id:
            threads = [row for row in self.threads_table.rows_by_id.values() if row.get("pool_id") == pool_id]
            self.app.push_screen(PoolDetailScreen(pool_id, threads))

    def open_feed_entry(self, key: str | None) -> None:
        from console.screens.finding_detail import FindingDetailScreen

        entry = self.feed.entries.get(key) if key else None
        if entry is not None:
            self.app.push_screen(FindingDetailScreen(entry))

    def action_coverage(self) -> None:
        from console.screens.coverage import CoverageScreen

        self.app.push_screen(CoverageScreen())

    def action_filter(self) -> None:
        self._open_filter("threads")

    def action_feed_filter(self) -> None:
        self._open_filter("feed")

    def _open_filter(self, target: str) -> None:
        self.filter_target = target
        box = self.query_one("#filter", FilterInput)
        current = " ".join((self.threads_table if target == "threads" else self.feed).filter_terms)
        box.placeholder = f"filter {target}: words to match (Esc clears, ⏎ keeps)"
        box.value = current
        box.add_class("-shown")
        box.focus()

    def close_filter(self, keep: bool) -> None:
        box = self.query_one("#filter", FilterInput)
        if not keep:
            self._filter_target_widget().set_filter("")
        box.remove_class("-shown")
        self._filter_target_widget().focus()

    def _filter_target_widget(self):
        return self.threads_table if self.filter_target == "threads" else self.feed

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            event.stop()
            self._filter_target_widget().set_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            event.stop()
            self.close_filter(keep=True)

    def action_cycle_severity(self) -> None:
        severity = self.feed.cycle_severity()
        self.app.notify(f"feed: {severity or 'all severities'}", timeout=2)

    def action_cycle_sort(self) -> None:
        column = self.threads_table.cycle_sort()
        self.app.notify(f"threads sorted by {SORT_NAMES[column].lower()}", timeout=2)

    def action_pick_sort(self) -> None:
        table = self.threads_table
        self.app.push_screen(SortPicker(SORT_NAMES, table.sort_column, table.sort_reverse),
                             lambda column: column and table.sort_by(column))

    def action_reverse_sort(self) -> None:
        table = self.threads_table
        table.sort_by(table.sort_column, reverse=not table.sort_reverse)
