"""The gateways: LocalGateway maps engine errors to GatewayError, and in the console process
runs the engine on its own thread and loop (open_local), so the UI loop never runs engine work."""
from __future__ import annotations

import asyncio
import threading

import pytest

from console.gateway import GatewayError, LocalGateway, open_local
from tests.console.conftest import SIZE, X, console_settings, make_console, refreshed, until


async def test_local_gateway_maps_engine_errors(engine):
    gateway = LocalGateway(engine, owns_engine=False)
    with pytest.raises(GatewayError) as refused:
        await gateway.start_thread("deposit_99")
    assert refused.value.code == -1004 and "not found" in refused.value.message
    with pytest.raises(GatewayError) as invalid:
        await gateway.create_pool(token_a_decimals=19)
    assert invalid.value.code == -32602 and "token_a_decimals" in invalid.value.message
    snapshot = await gateway.snapshot(feed_limit=5)
    assert set(snapshot) >= {"engine", "threads", "pools", "feed", "feed_version"}


async def test_console_with_the_engine_on_its_own_thread(tmp_path, monkeypatch):
    monkeypatch.delenv("FRT_STRESS_PASSPHRASE", raising=False)
    settings = console_settings(tmp_path / "engine")
    gateway = await open_local(settings, listen=True, api_port=0)
    assert gateway.runner is not None and gateway.runner.loop is not asyncio.get_running_loop()
    app = make_console(gateway, tmp_path / "state")
    async with app.run_test(size=SIZE) as pilot:
        await app.wait_connected()
        assert app.gateway_info["api_url"].startswith("http://127.0.0.1:")
        pool_id = (await gateway.create_pool(token_a_decimals=9, token_b_decimals=6, ratio_whole_number=160,
                                             ratio_direction="a_to_b"))["pool_id"]
        thread_id = (await gateway.create_deposit_thread(pool_id, "A", 1_000 * X))["thread_id"]
        await refreshed(app, pilot)
        app.main.threads_table.select_key(thread_id)
        await pilot.press("s")
        async def running():
            return (await gateway.get_thread_status(thread_id))["status"] == "running"
        for _ in range(200):
            if await running():
                break
            await asyncio.sleep(0.02)
        assert await running()
        engine_threads = [t for t in threading.enumerate() if t.name == "frt-engine"]
        assert len(engine_threads) == 1
        await pilot.press("q", "y")  # running: confirm, then the engine closes on its thread
        await until(lambda: not engine_threads[0].is_alive(), timeout=30)
    assert gateway.engine._closed
    sessions = gateway.engine.local.store.list_sessions(thread_id)
    assert sessions and sessions[0]["session_info"]["stop_reason"] == "engine_shutdown"


async def test_the_engines_problems_are_shown_when_the_console_attaches(engine, console):
    engine.problems.append("threads.json was corrupt; the backup was used")
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        await until(lambda: any("threads.json was corrupt" in n.message for n in app._notifications))
