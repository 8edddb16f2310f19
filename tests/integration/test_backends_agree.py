"""One scenario, two paths to the chain: EmbeddedCluster in-process, and RpcCluster over HTTP to
a `frt-stress localnet` process. Same seed, same transactions, so the same chain state."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from engine.chain.embedded import EmbeddedCluster
from engine.chain.ledger import EmbeddedLedger
from engine.chain.rpc import RpcCluster
from engine.demo import run_scenario, seeded_wallet
from engine.frt.client import FrtClient
from engine.frt.constants import LOCALNET_PROGRAM_ID

SEED = 11
REPO = Path(__file__).resolve().parents[2]


async def _run(cluster) -> object:
    core = seeded_wallet("core", SEED)
    assert (await cluster.airdrop(core.pubkey, 100 * 10**9)).ok
    client = FrtClient(cluster)
    if not await client.is_program_initialized():
        assert (await client.initialize_program(core, core.pubkey)).ok
    return await run_scenario(client, core, seed=SEED)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _wait_healthy(url: str, process: subprocess.Popen) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            if process.poll() is not None:
                raise RuntimeError(f"localnet exited early: {process.stdout.read()}")
            try:
                async with session.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "getHealth"}) as reply:
                    if (await reply.json()).get("result") == "ok":
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("localnet did not become healthy")


@pytest.fixture
def localnet_process(tmp_path):
    port = _free_port()
    env = {**os.environ, "FRT_STRESS_DATA_DIR": str(tmp_path), "FRT_STRESS_CONFIG": str(tmp_path / "none.toml"),
           "PYTHONPATH": str(REPO)}
    (tmp_path / "none.toml").write_text("")
    process = subprocess.Popen(
        [sys.executable, "-c", "from console.cli import main; raise SystemExit(main())",
         "localnet", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    yield f"http://127.0.0.1:{port}", process
    if process.poll() is None:
        process.kill()
        process.wait()


async def test_embedded_and_rpc_backends_reach_identical_state(localnet_process, tmp_path):
    url, process = localnet_process
    embedded = await _run(EmbeddedCluster(EmbeddedLedger(LOCALNET_PROGRAM_ID)))

    await _wait_healthy(url, process)
    rpc = RpcCluster(url, LOCALNET_PROGRAM_ID, poll_interval_s=0.02)
    await rpc.connect()
    try:
        over_rpc = await _run(rpc)
    finally:
        await rpc.close()

    assert over_rpc.steps == embedded.steps
    assert over_rpc.pool == embedded.pool
    assert over_rpc.pool_state == embedded.pool_state
    assert over_rpc.balances == embedded.balances
    assert [step["error"] for step in embedded.steps if not step["ok"]] == ["InsufficientFunds", "SplInsufficientFunds"]

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    assert (tmp_path / "ledger.snapshot").exists()  # saved on the way out
