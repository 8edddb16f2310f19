"""`frt-stress console` as a process on a pseudo-terminal: it draws the TUI, logs to its file
(not the terminal), and when the terminal goes away (the pty closes: SIGHUP, as on an SSH drop)
it stops its threads cleanly and exits."""
from __future__ import annotations

import os
import pty
import select
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.console.conftest import build_pool, console_settings

ROOT = Path(__file__).resolve().parents[2]


def _read_until(fd: int, needle: bytes, timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{needle!r} not shown; got {seen[-2000:]!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def _wait(pid: int, timeout: float, fd: int | None = None) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if fd is not None and select.select([fd], [], [], 0)[0]:
            try:
                os.read(fd, 65536)  # keep the terminal drained
            except OSError:
                pass
        time.sleep(0.05)
    stacks = b""
    if fd is not None:  # PYTHONFAULTHANDLER: SIGABRT prints every thread's stack on the terminal
        os.kill(pid, signal.SIGABRT)
        time.sleep(1)
        try:
            while select.select([fd], [], [], 0.5)[0]:
                stacks += os.read(fd, 65536)
        except OSError:
            pass
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    raise AssertionError("the console did not exit\n" + stacks.decode(errors="replace")[-6000:])


@pytest.fixture
async def prepared(tmp_path, monkeypatch):
    """A data directory whose engine — one shard process, as `frt-stress console` opens it on a
    2-core machine — has one pool and a thread that was running when it closed (so the console
    resumes it)."""
    from engine.open import open_engine

    monkeypatch.delenv("FRT_STRESS_PASSPHRASE", raising=False)
    settings = console_settings(tmp_path, pacing_min_ms=200, pacing_max_ms=400, shards=1)
    settings = settings.model_copy(update={"embedded": settings.embedded.model_copy(update={"persist": True})})
    engine = await open_engine(settings)
    ids = await build_pool(engine)
    await engine.start_thread(ids["deposit"])
    await engine.close()  # remembered as running
    config = tmp_path / "config.toml"
    config.write_text(f'data_dir = "{settings.data_dir}"\n[wallet]\ncore_keypair = "{settings.wallet.core_keypair}"\n'
                      f'[engine]\nseed = 7\nshards = 1\npacing_min_ms = 200\npacing_max_ms = 400\n')
    return settings, config, ids


@pytest.mark.parametrize("how", ["hangup", "quit"])
def test_console_process_ends_cleanly(prepared, how):
    settings, config, ids = prepared
    env = {key: value for key, value in os.environ.items() if not key.startswith("FRT_STRESS_")}
    env.update(PYTHONPATH=str(ROOT), TERM="xterm-256color", COLUMNS="100", LINES="30", PYTHONFAULTHANDLER="1")
    pid, fd = pty.fork()
    if pid == 0:  # the child: the console on the pty
        os.execvpe(sys.executable, [sys.executable, "-m", "console.cli", "--config", str(config), "console",
                                    "--port", "0"], env)
    try:
        screen = _read_until(fd, b"embedded-emulated", 60)
        screen += _read_until(fd, b"running", 30)  # the resumed thread
        assert b"Traceback" not in screen
        if how == "hangup":
            os.close(fd)  # the terminal goes away: SIGHUP
            fd = None
            code = _wait(pid, 60)
            assert code == 1
        else:
            os.write(fd, b"q")
            _read_until(fd, b"Stop the threads and quit?", 20)
            os.write(fd, b"y")
            code = _wait(pid, 60, fd)
            assert code == 0
    finally:
        if fd is not None:
            os.close(fd)
    sessions = sorted((settings.data_dir / "shards" / "0" / "sessions" / ids["deposit"]).glob("*.json"))
    assert len(sessions) == 2, "the console did not write the resumed thread's session"  # 1 from `prepared`
    assert '"stop_reason": "engine_shutdown"' in sessions[-1].read_text()
    log = (settings.data_dir / "logs" / "console.log").read_text()
    assert "console detached" in log and "console ended" in log
