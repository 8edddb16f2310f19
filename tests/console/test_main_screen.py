"""The main screen as an operator meets it (issue "The console, operator-grade"): what is stale or
disconnected looks it, a shard restart loses neither totals nor feed and says so, filters and
sort are shown in the panel titles and cleared with Esc, S / X act on what a filter shows, one
unit convention with a toggle, an empty engine says what to do first, and the usual keys."""
from __future__ import annotations

import os
import signal

from textual.widgets import Static
from textual.widgets.data_table import ColumnKey

from console.formatting import tokens
from console.gateway import open_remote
from console.screens.confirm import ConfirmScreen
from engine.config import ApiConfig
from rpcapi.server import ApiServer
from engine.sharding.coordinator import Coordinator
from tests.console.conftest import SIZE, X, build_pool, console_settings, make_console, refreshed, until

API_KEY = "main-screen-test-key-0123456789"


def banner(app) -> str:
    widget = app.main.query_one("#banner", Static)
    return str(widget.render()) if widget.display and widget.styles.display != "none" else ""


async def test_a_remote_console_whose_server_stopped_dims_its_last_data_under_a_banner(engine, setup, tmp_path):
    server = ApiServer(engine, ApiConfig.model_validate({"port": 0, "api_key": API_KEY, "rate_limit_per_s": 0,
                                                         "status_cache_ms": 0}), tmp_path / "api")
    await server.start()
    try:
        await engine.start_thread(setup["deposit"])
        app = make_console(lambda: open_remote(server.url, API_KEY), tmp_path / "state")
        async with app.run_test(size=SIZE) as pilot:
            await refreshed(app, pilot)
            assert not app.main.has_class("-stale") and banner(app) == ""
            assert app.main.threads_table.cell_text(setup["deposit"], "status") == "▶ running"

            await server.stop()
            await refreshed(app, pilot)
            assert app.main.has_class("-stale")
            shown = banner(app)
            assert "cannot reach" in shown and "stale" in shown and app.main.last_data_at in shown
            assert app.main.query_one("#body").styles.text_opacity < 1  # dimmed, not shown as live
    finally:
        await server.stop()


async def test_a_shard_restart_keeps_the_totals_and_the_feed_and_raises_a_banner(tmp_path, monkeypatch):
    monkeypatch.delenv("FRT_STRESS_PASSPHRASE", raising=False)
    settings = console_settings(tmp_path / "engine", shards=1)
    engine = await Coordinator.open(settings.model_copy(update={
        "embedded": settings.embedded.model_copy(update={"persist": True})}))  # a restart resumes the ledger
    try:
        threads = await build_pool(engine)
        await engine.checkpoint()
        for _ in range(2):
            assert (await engine.run_cycle(threads["deposit"]))["ok"]
        assert not (await engine.run_cycle(threads["swap"]))["ok"]  # A→B, no B in the pool: an expected refusal
        app = make_console(lambda: _local(engine), tmp_path / "state")
        async with app.run_test(size=SIZE) as pilot:
            await until(lambda: _header(app)["operations"] == 3 and app.main.feed.entries, 20)
            await refreshed(app, pilot)
            feed_before = {key: entry["count"] for key, entry in app.main.feed.entries.items()}
            assert banner(app) == ""

            shard = engine.shards[0]
            os.kill(shard.pid, signal.SIGKILL)
            await until(lambda: shard.restarts == 1 and shard.alive, 20)

            async def restart_seen() -> bool:
                await refreshed(app, pilot)
                return any("died" in entry["title"] for entry in app.main.feed.entries.values())

            for _ in range(100):
                if await restart_seen():
                    break
            header = _header(app)
            assert (header["operations"], header["ok"], header["failed"]) == (3, 2, 1)
            assert "ops 3" in str(app.main.header.render())
            for key, count in feed_before.items():
                assert app.main.feed.entries[key]["count"] == count
            died = next(entry for entry in app.main.feed.entries.values() if "died" in entry["title"])
            assert app.main.feed.cell_text(died["key"], "severity") == "✖ unexpected"
            assert threads["deposit"] in app.main.feed.cell_text(died["key"], "threads")
            assert "shard 0 died" in banner(app) and "restarted" in banner(app)

            await pilot.press("escape")
            await pilot.pause()
            assert banner(app) == ""
    finally:
        await engine.close()


async def _local(engine):
    from console.gateway import LocalGateway

    return LocalGateway(engine, owns_engine=False)


def status(engine, thread_id: str) -> str:
    return engine.local.threads[thread_id].status


def _header(app) -> dict:
    return ((app.main.snapshot or {}).get("engine") or {})


async def test_a_filter_shows_in_the_title_esc_clears_it_and_S_starts_only_what_it_shows(engine, setup, console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        table = app.main.threads_table
        assert str(table.border_title).startswith("Threads 3 · sort Thread ▲")
        await pilot.press("slash", *"swap", "enter")
        assert table.keys_in_order == [setup["swap"]]
        assert "Threads 1 of 3 · filter “swap” (Esc clears)" in str(table.border_title)

        await pilot.press("S")
        await until(lambda: engine.local.threads[setup["swap"]].status == "running")
        await refreshed(app, pilot)
        assert status(engine, setup["deposit"]) != "running"  # hidden: not started
        assert status(engine, setup["withdrawal"]) != "running"

        await pilot.press("escape")  # on the table, not in the filter box
        assert table.keys_in_order == [setup["deposit"], setup["swap"], setup["withdrawal"]]
        assert str(table.border_title).startswith("Threads 3 · sort")

        await pilot.press("v")  # the feed's severity filter is in its title too
        assert "severity finding" in str(app.main.feed.border_title)
        await pilot.press("escape")
        assert app.main.feed.severity is None and "shown" not in str(app.main.feed.border_title)


async def test_amounts_are_whole_tokens_and_U_shows_exact_base_units_remembered(engine, setup, console):
    assert (await engine.run_cycle(setup["deposit"]))["ok"]
    held = (await engine.get_thread_status(setup["deposit"]))["balances"]["token_a"]  # 9 decimals
    whole, exact = tokens(held, 9), f"{held:,}"
    assert whole != exact and "e" not in whole
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        table, pools = app.main.threads_table, app.main.pools_panel
        assert table.cell_text(setup["deposit"], "token") == whole
        assert "whole tokens" in str(table.border_title) and "whole tokens" in str(pools.border_title)

        await pilot.press("U")
        assert table.cell_text(setup["deposit"], "token") == exact
        assert "base units" in str(table.border_title) and "base units" in str(pools.border_title)
        assert table.columns[ColumnKey("token")].width >= len(exact)
        await refreshed(app, pilot)
        assert table.cell_text(setup["deposit"], "token") == exact  # refreshes keep the choice

    app = console()  # the choice is remembered
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        table = app.main.threads_table
        assert table.cell_text(setup["deposit"], "token") == exact and "base units" in str(table.border_title)
        await pilot.press("U")
        assert table.cell_text(setup["deposit"], "token") == whole


def test_tiny_amounts_are_never_scientific_or_zero():
    assert tokens(280, 9) == "<0.001" and tokens(2_800_000, 9) == "0.0028" and tokens(0, 9) == "0"
    assert tokens(280, 9, "base") == "280" and tokens(6_900_000_000_000, 9) == "6.9k"


async def test_an_empty_engine_says_what_to_do_first(engine, console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        hint = app.main.query_one("#hint", Static)
        assert hint.display and "N creates a pool" in str(hint.render())
        footer_keys = {key for key, active in app.main.active_bindings.items() if active.binding.show}
        assert "N" in footer_keys
    pool_id = (await engine.create_pool(token_a_decimals=6, token_b_decimals=6))["pool_id"]
    await engine.create_deposit_thread(pool_id, "A", 10 * 10**6)
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        assert not app.main.query_one("#hint", Static).display


async def test_j_k_move_delete_refuses_a_running_thread_at_once_and_ctrl_c_asks_to_quit(engine, setup, console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        table = app.main.threads_table
        assert table.selected_key == setup["deposit"]
        await pilot.press("j", "j")
        assert table.selected_key == setup["withdrawal"]
        await pilot.press("k")
        assert table.selected_key == setup["swap"]

        await engine.start_thread(setup["swap"])
        await refreshed(app, pilot)
        await pilot.press("d")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)  # no question whose answer would fail
        assert status(engine, setup["swap"]) == "running"
        assert any("cannot delete swap_1: running" in str(n.message) for n in app._notifications)

        await pilot.press("space", "space")  # tag swap_1 and withdrawal_1, then empty: the names are asked about
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and "swap_1, withdrawal_1" in app.screen.message
        await pilot.press("escape")

        await pilot.press("ctrl+c")
        await until(lambda: isinstance(app.screen, ConfirmScreen))
        assert "quit" in app.screen.title_text.lower()


async def test_a_thread_stopped_in_error_without_a_failed_operation_says_why_in_its_row(engine, setup, console,
                                                                                       monkeypatch):
    """A thread that crashed (here: its operation raised, as a chain that stops answering does)
    has no failed operation, so it had no last error: its row said "✖ ERROR" and nothing else."""
    from engine import workers

    async def chain_gone(*args, **kwargs):
        raise ConnectionError("getMultipleAccounts: giving up after 6 attempts")

    monkeypatch.setattr(workers, "run_verified", chain_gone)
    deposit = setup["deposit"]
    await engine.start_thread(deposit)
    await until(lambda: engine.local.threads[deposit].status == "error")
    row = next(row for row in (await engine.local.snapshot())["threads"] if row["thread_id"] == deposit)
    assert row["failed"] == 0 and row["last_error"] is None
    assert row["error_reason"] == "ConnectionError: getMultipleAccounts: giving up after 6 attempts"
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        table = app.main.threads_table
        assert table.cell_text(deposit, "status") == "✖ ERROR"
        assert table.cell_text(deposit, "error").startswith("ConnectionError: getMultipleAccounts")
        await pilot.press("slash", *"connectionerror", "enter")  # the filter finds it by its reason
        await pilot.pause()
        assert table.keys_in_order == [deposit]


async def test_sort_by_picks_any_column_from_a_list_and_the_current_one_again_reverses(engine, setup, console):
    """Before, only `c` (the next column, one press at a time, 11 of them) or a mouse click on a
    header could choose the sort."""
    from console.screens.sort_picker import SortPicker

    await engine.run_cycle(setup["deposit"])  # the only thread with a successful operation
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        table = app.main.threads_table
        await pilot.press("greater_than_sign")
        picker = app.screen
        assert isinstance(picker, SortPicker)
        columns = picker.query_one("#sort-columns")
        assert columns.get_option_at_index(columns.highlighted).id == "id"  # the current column, marked
        assert str(columns.get_option_at_index(0).prompt) == "Thread id ▲"
        await pilot.press(*["down"] * 7, "enter")  # Successful operations
        assert app.screen is app.main and (table.sort_column, table.sort_reverse) == ("ok", False)
        assert table.keys_in_order[-1] == setup["deposit"] and "sort OK ▲" in str(table.border_title)

        await pilot.press("f6", "enter")  # the current column again: reversed
        assert (table.sort_column, table.sort_reverse) == ("ok", True)
        assert table.keys_in_order[0] == setup["deposit"] and "sort OK ▼" in str(table.border_title)

        await pilot.press("less_than_sign", "up", "escape")  # cancelled: as it was
        assert app.screen is app.main and (table.sort_column, table.sort_reverse) == ("ok", True)
