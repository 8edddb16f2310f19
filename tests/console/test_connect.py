"""`frt-stress console --connect URL --api-key KEY` against `frt-stress serve` on a loopback port:
the serve process runs its engine in a shard process; the console (Pilot, then the real command
on a pseudo-terminal) shows its threads, steers them through the JSON-RPC API, and quitting
detaches without stopping the remote threads. A wrong key is refused with exit code 2."""
from __future__ import annotations

import asyncio
import os
import pty
import re
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest

from console.gateway import GatewayError, open_remote
from rpcapi.client import RpcClient
from rpcapi.server import UNAUTHORIZED
from tests.console.conftest import SIZE, X, make_console, refreshed, until, write_core_keypair
from tests.console.test_process import _read_until, _wait

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "console-test-key-0123456789"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`frt-stress serve --port 0` (one shard, one-cycle pacing, an API key) and its URL."""
    root = tmp_path_factory.mktemp("served")
    keypair = write_core_keypair(root / "core-wallet.json")
    config = root / "config.toml"
    config.write_text(f'data_dir = "{root / "data"}"\n[wallet]\ncore_keypair = "{keypair}"\n'
                      f'[embedded]\npersist = false\n'
                      f'[engine]\nseed = 7\nshards = 1\nsol_monitor_interval_s = 3600\n'
                      f'pacing_min_ms = 3600000\npacing_max_ms = 3600000\n'
                      f'[api]\napi_key = "{API_KEY}"\n')
    env = {key: value for key, value in os.environ.items() if not key.startswith("FRT_STRESS_")}
    env["PYTHONPATH"] = str(ROOT)
    output = root / "serve.out"  # files, not pipes: a full pipe nobody reads would block serve
    with open(output, "w") as sink:
        process = subprocess.Popen([sys.executable, "-m", "console.cli", "--config", str(config), "serve",
                                    "--port", "0"], env=env, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
    try:
        url = None
        deadline = time.monotonic() + 90
        while url is None:
            match = re.search(r"listening on (http://127\.0\.0\.1:\d+/rpc)", output.read_text())
            url = match.group(1) if match else None
            if url is None and (process.poll() is not None or time.monotonic() > deadline):
                raise AssertionError(f"serve did not start: {output.read_text()[-2000:]}")
            time.sleep(0.05)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()


async def _remote_thread(url: str) -> tuple[str, str]:
    async with RpcClient(url, API_KEY) as client:
        pool_id = (await client.call("create_pool", token_a_decimals=9, token_b_decimals=6, ratio_whole_number=160,
                                     ratio_direction="a_to_b"))["pool_id"]
        thread_id = (await client.call("create_deposit_thread", pool_id=pool_id, token_type="A",
                                       initial_amount=1_000 * X))["thread_id"]
    return pool_id, thread_id


async def _status(url: str, thread_id: str) -> str:
    async with RpcClient(url, API_KEY) as client:
        return (await client.call("get_thread_status", thread_id=thread_id))["status"]


async def test_the_console_steers_a_remote_engine(served, tmp_path):
    pool_id, thread_id = await _remote_thread(served)
    app = make_console(partial(open_remote, served, API_KEY), tmp_path / "state")
    async with app.run_test(size=SIZE) as pilot:
        table = app.main.threads_table
        for _ in range(50):  # the coordinator's view follows the shards' pushed snapshots (every 0.25 s)
            await refreshed(app, pilot)
            if thread_id in table.keys_in_order:
                break
            await asyncio.sleep(0.1)
        assert app.gateway.kind == "remote" and thread_id in table.keys_in_order
        assert "remote" in str(app.main.header.render())
        table.select_key(thread_id)
        await pilot.press("s")
        await until(lambda: table.cell_text(thread_id, "status") == "▶ running")
        assert await _status(served, thread_id) == "running"
        await pilot.press("x")
        await until(lambda: table.cell_text(thread_id, "status") == "■ stopped")
        assert await _status(served, thread_id) == "stopped"
        await pilot.press("o")  # start the thread's pool
        await until(lambda: table.cell_text(thread_id, "status") == "▶ running")
        await pilot.press("q")  # remote: detach at once, no confirmation
        await until(lambda: not app.is_running, timeout=20)
    assert app.return_code == 0
    assert await _status(served, thread_id) == "running", "detaching must not stop the remote threads"
    async with RpcClient(served, API_KEY) as client:
        await client.call("stop_all_threads", pool_id=pool_id)


async def test_a_wrong_api_key_is_refused(served, tmp_path):
    with pytest.raises(GatewayError) as refused:
        await open_remote(served, "not-the-key")
    assert refused.value.code == UNAUTHORIZED and "API key" in refused.value.message
    app = make_console(partial(open_remote, served, "not-the-key"), tmp_path / "state")
    async with app.run_test(size=SIZE):
        await until(lambda: app.return_code is not None, timeout=20)
    assert app.return_code == 2


def test_the_connect_command_on_a_terminal(served, tmp_path):
    _, thread_id = asyncio.run(_remote_thread(served))
    env = {key: value for key, value in os.environ.items() if not key.startswith("FRT_STRESS_")}
    env.update(PYTHONPATH=str(ROOT), TERM="xterm-256color", COLUMNS="120", LINES="30", PYTHONFAULTHANDLER="1",
               FRT_STRESS_DATA_DIR=str(tmp_path / "console-data"))
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(sys.executable, [sys.executable, "-m", "console.cli", "console", "--connect", served,
                                    "--api-key", API_KEY], env)
    try:
        screen = _read_until(fd, thread_id.encode(), 60)
        assert b"remote" in screen and b"Traceback" not in screen
        os.write(fd, b"q")
        assert _wait(pid, 30, fd) == 0
    finally:
        os.close(fd)
    log = (tmp_path / "console-data" / "logs" / "console.log").read_text()
    assert "remote" in log and "console ended" in log
