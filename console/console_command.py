"""`frt-stress console`: the operator console (a Textual TUI).

    frt-stress console [--no-api] [--host H] [--port P] [--theme NAME] [--refresh HZ]
    frt-stress console --connect URL [--api-key KEY]

Without --connect: the Engine of the configuration (embedded chain by default), its JSON-RPC
listener (api.host / api.port) and the TUI, in one process and one asyncio loop. With --connect:
the same screens attached to a remote engine through its JSON-RPC API (quitting detaches; the
remote threads keep running). It is also what `frt-stress` runs without a subcommand on a
terminal. Logging goes to <data_dir>/logs/console.log and the in-app log view (l). SIGHUP (the
terminal went away) and SIGTERM end the console cleanly: threads stopped, sessions written,
state flushed.

Exit codes: 0 after quitting (or SIGTERM / SIGINT); 1 after SIGHUP; 2 when the engine could not be
opened or reached.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import threading
import time
import traceback
from functools import partial

from engine.config import load_config

log = logging.getLogger(__name__)
EXIT_CANNOT_RUN = 2
EXIT_GRACE_S = 3.0
CLOSE_TIMEOUT_S = 120.0


def console_options(args: argparse.Namespace) -> dict:
    return {name: getattr(args, name, None) for name in ("connect", "api_key", "no_api", "host", "port", "theme",
                                                          "refresh")}


def cmd_console(args: argparse.Namespace) -> int:
    settings = load_config(args.config).settings
    options = console_options(args)
    if options["refresh"] is not None and not 0.5 <= options["refresh"] <= 4:
        print("error: --refresh must be between 0.5 and 4 (times a second)", file=sys.stderr)
        return EXIT_CANNOT_RUN
    return asyncio.run(run_console(settings, **options))


def default_command(parser: argparse.ArgumentParser):
    """What `frt-stress` does without a subcommand: the console on a terminal, else the usage."""
    def run(args: argparse.Namespace) -> int:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            parser.print_help(sys.stderr)
            return EXIT_CANNOT_RUN
        return cmd_console(args)

    return run


async def run_console(settings, *, connect: str | None = None, api_key: str | None = None, no_api: bool = False,
                      host: str | None = None, port: int | None = None, theme: str | None = None,
                      refresh: float | None = None, app_options: dict | None = None) -> int:
    from console.app import ConsoleApp
    from console.gateway import open_local, open_remote
    from console.logs import configure_logging

    settings.ensure_data_dir()
    buffer, log_path = configure_logging(settings.data_dir, settings.log_level)
    console_config = getattr(settings, "console", None)  # a [console] section, when the config has one
    if connect:
        opener = partial(open_remote, connect, api_key or settings.api.api_key)
    else:
        opener = partial(open_local, settings, listen=not no_api, api_host=host, api_port=port)
    app = ConsoleApp(opener, state_dir=settings.data_dir, theme=theme,
                     config_theme=getattr(console_config, "theme", None),
                     refresh_hz=refresh or getattr(console_config, "refresh_hz", None) or 2.0,
                     log_buffer=buffer, log_path=log_path, **(app_options or {}))
    ending = _Ending(app, asyncio.get_running_loop())
    ending.install()
    log.info("console starting (%s)", f"remote {connect}" if connect else "local engine")
    try:
        await app.run_async()
    finally:
        ending.uninstall()
        await app.close_gateway()  # idempotent; covers a crash or a lost terminal
        ending.closed.set()
        log.info("console ended (exit code %s)", app.return_code)
    return app.return_code or 0


class _Ending:
    """SIGHUP (the terminal went away, e.g. an SSH drop) and SIGTERM end the console cleanly:
    the engine is closed first (threads stopped, sessions written, state flushed), then the app.

    SIGHUP uses a plain Python signal handler, which runs even when the event loop is stuck
    writing to the dead terminal; it turns terminal output off (so nothing blocks on it again),
    then schedules the close on the loop. A watchdog thread ends the process if the engine does
    not close within CLOSE_TIMEOUT_S, or the app does not end EXIT_GRACE_S after that."""

    def __init__(self, app, loop: asyncio.AbstractEventLoop) -> None:
        self.app, self.loop = app, loop
        self.closed = threading.Event()
        self.previous_hup = None
        self.started = False
        self.watchdog: threading.Thread | None = None

    def install(self) -> None:
        try:
            self.previous_hup = signal.signal(signal.SIGHUP, self._on_hangup)
            self.loop.add_signal_handler(signal.SIGTERM, self._begin, 0)
        except (ValueError, NotImplementedError, RuntimeError, AttributeError):  # not the main thread
            pass

    def uninstall(self) -> None:
        try:
            self.loop.remove_signal_handler(signal.SIGTERM)
            if self.previous_hup is not None:
                signal.signal(signal.SIGHUP, self.previous_hup)
        except (ValueError, NotImplementedError, RuntimeError, AttributeError):
            pass

    def _on_hangup(self, signum, frame) -> None:
        _silence_terminal(self.app)
        self._start_watchdog(1)
        self.loop.call_soon_threadsafe(self._begin, 1)

    def _start_watchdog(self, code: int) -> None:
        if self.watchdog is None:
            self.watchdog = threading.Thread(target=self._watch, args=(code,), name="console-exit-watchdog",
                                             daemon=True)
            self.watchdog.start()

    def _begin(self, code: int) -> None:
        if self.started:
            return
        self.started = True
        log.warning("%s: closing the engine, then the console", "SIGHUP (terminal lost)" if code else "SIGTERM")
        self._start_watchdog(code)
        self.loop.create_task(self._close_then_exit(code))

    async def _close_then_exit(self, code: int) -> None:
        try:
            await self.app.close_gateway()
        finally:
            self.closed.set()
            self.app.exit(return_code=code)

    def _watch(self, code: int) -> None:
        if not self.closed.wait(CLOSE_TIMEOUT_S):
            log.error("the engine did not close within %s s: exiting anyway", CLOSE_TIMEOUT_S)
        time.sleep(EXIT_GRACE_S)
        stacks = "".join(f"\n-- thread {ident}:\n" + "".join(traceback.format_stack(frame))
                         for ident, frame in sys._current_frames().items())
        log.error("the console did not end after its engine was closed: exiting; threads:%s", stacks)
        logging.shutdown()
        os._exit(code)


def _silence_terminal(app) -> None:
    """Stop writing to a terminal that is gone: every further write is dropped, and what is
    queued is discarded (a write blocked on the full queue can then finish)."""
    driver = getattr(app, "_driver", None)
    if driver is None:
        return
    driver.write = lambda data: None
    writer = getattr(driver, "_writer_thread", None)
    queue = getattr(writer, "_queue", None)
    if queue is not None:
        try:
            while True:
                queue.get_nowait()
        except Exception:  # noqa: BLE001 - queue.Empty: drained
            pass


def register_console(subparsers) -> None:
    console = subparsers.add_parser(
        "console", help="the operator console (TUI): engine + JSON-RPC listener + screens; "
                        "--connect URL attaches to a remote engine")
    console.add_argument("--connect", metavar="URL", help="attach to the JSON-RPC API at URL (http://H:P/rpc) "
                                                          "instead of opening an engine here")
    console.add_argument("--api-key", metavar="KEY", help="API key for --connect (default: api.api_key)")
    console.add_argument("--no-api", action="store_true", help="do not start the JSON-RPC listener")
    console.add_argument("--host", help="listener address (default: api.host, 127.0.0.1)")
    console.add_argument("--port", type=int, help="listener port (default: api.port, 8080; 0 = any free port)")
    console.add_argument("--theme", help="theme name (default: the one chosen last, else frt-dark)")
    console.add_argument("--refresh", type=float, metavar="HZ", help="view refreshes per second (0.5-4; default 2)")
    console.set_defaults(func=cmd_console)
