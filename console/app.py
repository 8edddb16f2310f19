"""The console App: connects a gateway, owns the refresh loop, the theme and the view state
(paused, refresh rate); the screens do the rest.

    app = ConsoleApp(connect)           # connect: async () -> EngineGateway
    app.run()                           # or: await app.run_async() / async with app.run_test()

Knobs for deterministic tests: `clock` (throughput / chart time), `cpu_sampler` (instead of the
gateway's CPU and memory figures), `cursor_blink`.
"""
from __future__ import annotations

import asyncio
import logging
import time
from functools import partial
from pathlib import Path
from typing import Awaitable, Callable, Iterable

from textual.app import App, SystemCommand
from textual.screen import Screen

from console.bindings import APP_KEYS, MAIN_KEYS, bindings
from console.formatting import UNITS
from console.gateway import EngineGateway, GatewayError
from console.refresher import SHARED_CORES_BUDGET, Refresher
from console.screens.confirm import ConfirmScreen
from console.screens.help import HelpScreen
from console.screens.log import LogScreen
from console.screens.main import MainScreen
from console.themes import ConsoleState, bundled_themes_dir, choose_theme, load_themes, next_console_theme

log = logging.getLogger(__name__)

Connect = Callable[[], Awaitable[EngineGateway]]
TEXTUAL_COMMANDS_KEPT = {"Screenshot", "Maximize", "Minimize"}
NOTIFICATION_LEVELS = {"information": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


class ConsoleApp(App[int]):
    CSS_PATH = "console.tcss"
    TITLE = "frt-stress console"
    BINDINGS = bindings(APP_KEYS)
    ENABLE_COMMAND_PALETTE = True

    def __init__(self, connect: Connect | EngineGateway, *, state_dir: Path | None = None,
                 theme: str | None = None, config_theme: str | None = None, refresh_hz: float = 2.0,
                 clock: Callable[[], float] = time.monotonic, cpu_sampler: Callable[[], dict] | None = None,
                 cursor_blink: bool = True, log_buffer=None, log_path: Path | None = None,
                 themes_dirs: Iterable[Path] | None = None) -> None:
        super().__init__()
        self._connect = connect
        self.gateway: EngineGateway | None = None
        self.gateway_info: dict = {}
        self.problem: str | None = None
        self.paused = False
        self.clock = clock
        self.cpu_sampler = cpu_sampler
        self.cursor_blink = cursor_blink
        self.log_buffer, self.log_path = log_buffer, log_path
        self.refresher = Refresher(self, refresh_hz, clock=clock)
        self.main = MainScreen()
        self.connected = asyncio.Event()
        self._quitting = False
        self.state_dir = state_dir
        self.state = ConsoleState(state_dir)
        self.units = self.state.units if self.state.units in UNITS else UNITS[0]  # amounts: whole tokens or base (U)
        dirs = list(themes_dirs) if themes_dirs is not None else [bundled_themes_dir(),
                                                                   state_dir / "themes" if state_dir else None]
        for loaded in load_themes(*dirs).values():
            self.register_theme(loaded)
        self.theme = choose_theme(set(self.available_themes), theme, self.state.theme, config_theme)

    # ---- lifecycle ----------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self.push_screen(self.main)
        self.run_worker(self._open(), group="connect", exclusive=True)

    async def _open(self) -> None:
        try:
            gateway = self._connect if hasattr(self._connect, "snapshot") else await self._connect()
        except Exception as exc:  # noqa: BLE001 - shown, then the app ends with code 2
            log.exception("cannot connect")
            message = exc.message if isinstance(exc, GatewayError) else f"{type(exc).__name__}: {exc}"
            self.exit(2, return_code=2, message=f"error: cannot open the engine: {message}")
            return
        self.gateway = gateway
        self.gateway_info = gateway.describe()
        local = getattr(gateway, "kind", None) == "local"
        if local and getattr(gateway, "runner", None) is None:
            self.refresher.cpu_budget = None  # engine on this very thread: its CPU would count as ours
        elif not local or self.gateway_info.get("shards"):
            self.refresher.cpu_budget = SHARED_CORES_BUDGET  # the engine's work is in other processes
        if self.gateway_info.get("api_problem"):
            self.notify(f"JSON-RPC listener not started: {self.gateway_info['api_problem']}", severity="warning",
                        timeout=10)
        while not self.main.is_mounted:
            await asyncio.sleep(0.01)
        self.connected.set()
        log.info("console attached (%s)", self.gateway_info)
        self.refresher.start()
        self.refresher.request()
        await self._report_problems()

    async def _report_problems(self) -> None:
        try:
            problems = await self.gateway.problems()
        except GatewayError as exc:
            log.warning("could not read the engine's problems: %s", exc)
            return
        for problem in problems:
            log.warning("engine: %s", problem)
        if problems:
            more = f" (+{len(problems) - 1} more in the log view, l)" if len(problems) > 1 else ""
            self.notify(problems[0] + more, title="The engine reports", severity="warning", timeout=15)

    async def wait_connected(self) -> None:
        await self.connected.wait()

    async def close_gateway(self) -> None:
        """Stop refreshing; close the gateway (local: listener, then engine). Idempotent."""
        self.refresher.stop()
        gateway, self.gateway = self.gateway, None
        if gateway is not None:
            await gateway.close()
            log.info("console detached")

    async def on_unmount(self) -> None:
        await self.close_gateway()  # the path taken on SIGHUP / terminal loss as well

    def notify(self, message: str, *, title: str = "", severity: str = "information", **kwargs) -> None:
        """Every notification also goes to the log (the log view then holds what the operator did
        and what the engine answered, not only start-up lines)."""
        log.log(NOTIFICATION_LEVELS.get(severity, logging.INFO), "%s%s", f"{title}: " if title else "",
                " | ".join(str(message).splitlines()))
        super().notify(message, title=title, severity=severity, **kwargs)

    # ---- view state -----------------------------------------------------------------------------

    def view_blocked(self) -> bool:
        """No rendering of engine data while paused or while another screen covers the main one."""
        if self.paused or self._quitting or not self.is_running:
            return True
        stack = self.screen_stack
        return not stack or stack[-1] is not self.main

    def apply_snapshot(self, snapshot: dict, resources: dict, rates) -> None:
        self.problem = None
        with self.batch_update():
            self.main.apply(snapshot, resources, rates)

    def show_problem(self, problem: str) -> None:
        self.problem = problem
        if not self.view_blocked():
            self.main.show_header(problem=problem)

    def patch_thread_status(self, thread_id: str, status: str) -> None:
        if not self.view_blocked():
            self.main.threads_table.patch_status(thread_id, status)
        self.refresher.request()

    def run_operation(self, operation: Awaitable[None], what: str) -> None:
        """Run an operation in a worker; a refusal from the engine becomes a notification."""
        async def guarded() -> None:
            try:
                await operation
            except GatewayError as exc:
                self.notify(f"{what}: {exc.message}", severity="error", timeout=8)
            finally:
                self.refresher.request()

        if self.gateway is None:
            operation.close()
            self.notify("not connected yet", severity="warning")
            return
        self.run_worker(guarded(), group="operations")

    # ---- app actions ----------------------------------------------------------------------------

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        if self.screen is self.main:
            self.main.show_header()
        if not self.paused:
            self.refresher.request()
        self.notify("view paused (the engine keeps running)" if self.paused else "view resumed", timeout=2)

    def action_refresh_faster(self) -> None:
        self._rate_changed(self.refresher.faster())

    def action_refresh_slower(self) -> None:
        self._rate_changed(self.refresher.slower())

    def _rate_changed(self, hz: float) -> None:
        if self.screen is self.main:
            self.main.show_header()
        self.notify(f"refresh {hz:g} times a second", timeout=2)

    def action_next_theme(self) -> None:
        self.theme = next_console_theme(self.theme, set(self.available_themes))

    def _theme_changed(self, theme) -> None:
        self.state.remember_theme(theme.name)
        if self.main.is_mounted:
            self.main.restyle()

    def action_show_log(self) -> None:
        if not isinstance(self.screen, LogScreen):
            self.push_screen(LogScreen(self.log_buffer, self.log_path))

    def action_request_quit(self) -> None:
        if not self._quitting:
            self.run_worker(self._quit(), group="quit", exclusive=True)

    async def action_quit(self) -> None:
        self.action_request_quit()

    async def _quit(self) -> None:
        running = await self._running_threads()
        if self.gateway is not None and self.gateway.kind == "local" and running:
            message = (f"{running} thread{'s are' if running > 1 else ' is'} running. They will be stopped "
                       f"cleanly (sessions written) and resumed at the next start.")

            def answered(ok: bool | None) -> None:
                if ok:
                    self.run_worker(self._stop_and_exit(running), group="quit", exclusive=True)

            self.push_screen(ConfirmScreen("Stop the threads and quit?", message, yes="Stop and quit"), answered)
        else:
            await self._stop_and_exit(0)

    async def _stop_and_exit(self, running: int) -> None:
        self._quitting = True
        if running:
            self.notify(f"stopping {running} threads …", timeout=60)
        try:
            await self.close_gateway()
        finally:
            self.exit(0)

    async def _running_threads(self) -> int:
        """Running threads now (asked from the engine: the view may be paused or stale)."""
        snapshot = self.main.snapshot or {}
        if self.gateway is not None:
            try:
                snapshot = await self.gateway.snapshot(feed_limit=0)
            except GatewayError:
                pass
        return sum(1 for row in snapshot.get("threads", []) if row.get("status") == "running")

    def screenshots_dir(self) -> Path:
        """Where screenshots go: <data_dir>/screenshots/ (created if missing), else the current
        directory (no data dir, or it cannot be written)."""
        if self.state_dir is not None:
            folder = Path(self.state_dir) / "screenshots"
            try:
                folder.mkdir(parents=True, exist_ok=True)
                return folder
            except OSError as exc:
                log.warning("cannot create %s (%s): screenshots go to the current directory", folder, exc)
        return Path.cwd()

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """The palette's "Screenshot": saved under screenshots_dir() rather than ~/Downloads (which
        may not exist); Textual's notification names the file."""
        return super().deliver_screenshot(filename, path or str(self.screenshots_dir()), time_format)

    # ---- command palette ------------------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Our keys in words (no internal ids), our themes, and of Textual's own commands those
        that have no key of ours (its theme picker would offer themes that are not ours)."""
        for key in APP_KEYS:
            if key.palette:
                yield SystemCommand(key.description, key.help, partial(self.run_action, key.action))
        if screen is self.main:
            for key in MAIN_KEYS:
                if key.palette:
                    yield SystemCommand(key.description, key.help, partial(self.main.run_action, key.action))
        for name in sorted(self.available_themes):
            if name.startswith("frt-"):
                yield SystemCommand(f"Theme: {name.removeprefix('frt-')}", "Switch to this theme (remembered)",
                                    partial(setattr, self, "theme", name))
        for command in super().get_system_commands(screen):
            if command.title in TEXTUAL_COMMANDS_KEPT:
                yield command
