"""Every keyboard action against a real engine on the embedded chain: press the key, then
check what the ENGINE did (and that the screen shows it)."""
from __future__ import annotations

import asyncio
import inspect

from textual.widgets.data_table import ColumnKey

from console.screens.confirm import ConfirmScreen
from console.screens.forms import FormScreen
from console.screens.help import HelpScreen
from console.screens.log import LogScreen
from tests.console.conftest import SIZE, X, fill, refreshed, until


async def resolve(answer):
    return await answer if inspect.isawaitable(answer) else answer


def status(engine, thread_id):
    return engine.local.threads[thread_id].status


def select(app, thread_id):
    app.main.threads_table.select_key(thread_id)


async def test_start_and_stop_the_selected_thread(engine, setup, console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        table = app.main.threads_table
        select(app, setup["deposit"])
        await pilot.press("s")
        await until(lambda: status(engine, setup["deposit"]) == "running")
        await until(lambda: table.cell_text(setup["deposit"], "status") == "▶ running")
        assert status(engine, setup["withdrawal"]) == "created"  # only the selected one
        await pilot.press("x")
        await until(lambda: status(engine, setup["deposit"]) == "stopped")
        await until(lambda: table.cell_text(setup["deposit"], "status") == "■ stopped")
        sessions = (await resolve(engine.get_thread_sessions(setup["deposit"])))["sessions"]
        assert len(sessions) == 1 and sessions[0]["stop_reason"] == "manual_stop"


async def test_tagged_threads_take_bulk_actions(engine, setup, console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        table = app.main.threads_table
        select(app, setup["deposit"])
        await pilot.press("space")  # tags deposit_1, moves down to swap_1
        await pilot.press("space")  # tags swap_1
        assert table.tagged == {setup["deposit"], setup["swap"]}
        assert table.cell_text(setup["deposit"], "tag") == "●"
        await pilot.press("s")
        await until(lambda: status(engine, setup["deposit"]) == status(engine, setup["swap"]) == "running")
        assert status(engine, setup["withdrawal"]) == "created"
        await pilot.press("x")
        await until(lambda: status(engine, setup["deposit"]) == status(engine, setup["swap"]) == "stopped")
        await pilot.press("u")
        assert not table.tagged


async def test_empty_asks_first_then_burns_the_input_balance(engine, setup, console):
    app = console()
    deposit = setup["deposit"]
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        select(app, deposit)
        await pilot.press("e")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # cancelled: nothing happens
        assert app.screen is app.main
        assert (await engine.get_thread_status(deposit))["balances"]["token_a"] == 1_000 * X
        await pilot.press("e")
        await pilot.press("y")
        await until(lambda: engine.local.threads[deposit].stats.empty_operations == 1)
        balances = (await engine.get_thread_status(deposit))["balances"]
        assert balances["token_a"] == 0 and balances["lp_tokens"] == 0


async def test_delete_asks_first_and_refuses_a_running_thread(engine, setup, console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        select(app, setup["withdrawal"])
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await until(lambda: setup["withdrawal"] not in engine.local.threads)
        await refreshed(app, pilot)
        assert setup["withdrawal"] not in app.main.threads_table.keys_in_order
        # a running thread is refused by the engine: the console says so, the thread stays
        await engine.start_thread(setup["swap"])
        await refreshed(app, pilot)
        select(app, setup["swap"])
        await pilot.press("d", "y")
        await pilot.pause(0.2)
        assert setup["swap"] in engine.local.threads
        assert any("stop it first" in str(n.message) for n in app._notifications)


async def test_start_all_and_stop_all(engine, setup, console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        await pilot.press("S")
        await until(lambda: all(t.status == "running" for t in engine.local.threads.values()))
        await pilot.press("X")
        await until(lambda: all(t.status == "stopped" for t in engine.local.threads.values()))


async def test_start_and_stop_per_pool(engine, setup, console):
    other = (await engine.create_pool(token_a_decimals=6, token_b_decimals=6, ratio_whole_number=2,
                                      ratio_direction="a_to_b"))["pool_id"]
    elsewhere = (await engine.create_deposit_thread(other, "B", 10**9))["thread_id"]
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        select(app, setup["deposit"])  # the selected thread's pool
        await pilot.press("o")
        await until(lambda: all(engine.local.threads[t].status == "running"
                                for t in (setup["deposit"], setup["withdrawal"], setup["swap"])))
        assert status(engine, elsewhere) == "created"
        # the pool selected in the pools panel, when it has focus
        pools = app.main.pools_panel
        pools.focus()
        pools.select_key(other)
        await pilot.press("o")
        await until(lambda: status(engine, elsewhere) == "running")
        pools.select_key(setup["pool_id"])
        await pilot.press("O")
        await until(lambda: status(engine, setup["deposit"]) == "stopped")
        assert status(engine, elsewhere) == "running"


async def test_new_deposit_thread_form_validates_inline_then_creates(engine, setup, console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        await pilot.press("1")
        form = app.screen
        assert isinstance(form, FormScreen)
        await fill(pilot, form, token_type="B", initial_amount="12x")
        await pilot.press("ctrl+s")
        assert "whole number" in form.errors["initial_amount"]
        assert len(engine.local.threads) == 3  # nothing was sent
        await fill(pilot, form, initial_amount="0", auto_refill=True)
        await pilot.press("ctrl+s")
        assert "auto_refill" in form.errors
        await fill(pilot, form, initial_amount="5_000_000", auto_refill=True)
        await pilot.press("ctrl+s")
        await until(lambda: "deposit_2" in engine.local.threads)
        await until(lambda: app.screen is app.main)
        thread = engine.local.threads["deposit_2"]
        assert (thread.token_type, thread.initial_amount, thread.auto_refill, thread.pool_id) == \
            ("B", 5_000_000, True, setup["pool_id"])
        await until(lambda: app.main.threads_table.selected_key == "deposit_2")


async def test_new_withdrawal_thread(engine, setup, console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        await pilot.press("2")
        await fill(pilot, app.screen, token_type="B")
        await pilot.press("enter")  # the Select keeps focus: enter opens it; submit with ctrl+s
        await pilot.press("escape") if not isinstance(app.screen, FormScreen) else None
        await pilot.press("ctrl+s")
        await until(lambda: "withdrawal_2" in engine.local.threads)
        assert engine.local.threads["withdrawal_2"].token_type == "B"


async def test_new_swap_thread_shows_the_engines_refusal_under_the_field(engine, setup, console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        await pilot.press("3")
        form = app.screen
        await fill(pilot, form, direction="a_to_b", initial_amount="1000")
        await pilot.press("ctrl+s")  # a_to_b already exists in this pool
        await until(lambda: "direction" in form.errors)
        assert "already exists" in form.errors["direction"]
        assert app.screen is form  # the form stays open
        await fill(pilot, form, direction="b_to_a")
        await pilot.press("ctrl+s")
        await until(lambda: "swap_2" in engine.local.threads)
        assert engine.local.threads["swap_2"].swap_direction == "b_to_a"
        assert engine.local.threads["swap_2"].initial_amount == 1000


async def test_new_pool(engine, console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        await pilot.press("1")  # no pool yet: refused with a hint
        assert app.screen is app.main
        await pilot.press("N")
        form = app.screen
        await fill(pilot, form, token_a_decimals="19")
        await pilot.press("ctrl+s")
        assert "between 0 and 18" in form.errors["token_a_decimals"]
        await fill(pilot, form, token_a_decimals="0", token_b_decimals="9", ratio_whole_number="5",
                   ratio_direction="b_to_a")
        await pilot.press("ctrl+s")
        await until(lambda: len(engine.local.pools) == 1)
        record = next(iter(engine.local.pools.values())).record
        assert (record.token_a_decimals, record.token_b_decimals) == (0, 9)
        assert record.ratio_display == "1 Token B = 5 Token A"
        await refreshed(app, pilot)
        assert app.main.pools_panel.keys_in_order == [record.pool_id]


async def test_fund_thread(engine, setup, console):
    app = console()
    swap = setup["swap"]
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        select(app, swap)
        await pilot.press("f")
        form = app.screen
        await fill(pilot, form, funding_type="token_a", amount="0")
        await pilot.press("ctrl+s")
        assert "between 1" in form.errors["amount"]
        await fill(pilot, form, amount="777")
        await pilot.press("ctrl+s")
        await until(lambda: app.screen is app.main)
        assert (await engine.get_thread_status(swap))["balances"]["token_a"] == 100 * X + 777


async def test_mint_and_send(engine, setup, console):
    from solders.keypair import Keypair

    app = console()
    recipient = str(Keypair.from_seed(bytes([9] * 32)).pubkey())
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        await pilot.press("m")
        form = app.screen
        await fill(pilot, form, token_type="B", recipient_address="not-a-key", amount="5")
        await pilot.press("ctrl+s")
        assert "base58" in form.errors["recipient_address"]
        await fill(pilot, form, recipient_address=recipient)
        await pilot.press("ctrl+s")
        await until(lambda: app.screen is app.main)
        mint = str(engine.local.pools[setup["pool_id"]].mint("B"))
        assert recipient in engine.local.external_recipients[mint]


async def test_pause_freezes_the_view_while_the_engine_runs(engine, setup, console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        table = app.main.threads_table
        await pilot.press("p")
        assert app.paused and app.view_blocked()
        applied = app.main.applied
        await engine.start_thread(setup["deposit"])  # the engine goes on
        await refreshed(app, pilot)
        await asyncio.sleep(0.6)  # a few timer ticks
        assert app.main.applied == applied
        assert table.cell_text(setup["deposit"], "status") == "○ created"
        await pilot.press("p")
        await until(lambda: table.cell_text(setup["deposit"], "status") == "▶ running")


async def test_refresh_rate_keys(engine, console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await app.wait_connected()
        assert app.refresher.hz == 2
        await pilot.press("plus")
        assert app.refresher.hz == 4
        await pilot.press("plus")
        assert app.refresher.hz == 4  # at most 4 times a second
        await pilot.press("minus", "minus", "minus", "minus")
        assert app.refresher.hz == 0.5
        assert abs(app.refresher._timer._interval - 2.0) < 1e-9


async def test_theme_switch_is_remembered(engine, console, tmp_path):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        assert app.theme == "frt-dark"
        await pilot.press("t")
        assert app.theme == "frt-light"
        await pilot.press("t")
        assert app.theme == "frt-high-contrast"
        await pilot.pause()
    again = console()
    async with again.run_test(size=SIZE):
        assert again.theme == "frt-high-contrast"


async def test_help_lists_every_binding(engine, console):
    from console.bindings import ALL_KEYS

    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one("#help-table").content
        descriptions = {str(cell) for column in table.columns for cell in column._cells}
        assert all(key.description in descriptions for key in ALL_KEYS)
        labels = [str(cell) for cell in table.columns[0]._cells]
        assert "q ^q ^c" in labels and "F6 > <" in labels  # whole in the 12-column key column (was "q ctrl+q ct…")
        assert all(len(label) <= 12 for label in labels)
        await pilot.press("escape")
        assert app.screen is app.main


async def test_command_palette_runs_actions(engine, setup, console):
    from textual.command import CommandPalette

    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"Start all")
        await until(lambda: app.screen.query("CommandList").first().option_count > 0)
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(lambda: all(t.status == "running" for t in engine.local.threads.values()))


async def test_log_view(engine, console):
    import logging

    from console.logs import LogBuffer

    buffer = LogBuffer()
    for name in ("frt.test", "console.app"):
        logging.getLogger(name).addHandler(buffer)
    try:
        app = console(log_buffer=buffer)
        async with app.run_test(size=SIZE) as pilot:
            logging.getLogger("frt.test").warning("hello from the engine " + "and more words " * 20 + "THE END")
            await pilot.press("x")  # an action: its answer (here: nothing selected) is logged as well
            await pilot.press("l")
            assert isinstance(app.screen, LogScreen)
            await pilot.pause(0.6)
            text = " ".join(strip.text.strip() for strip in app.screen.query_one("#log").lines)
            assert "hello from the engine" in text and "THE END" in text  # wrapped, not clipped
            assert "No thread selected" in text
            await pilot.press("escape")
            assert app.screen is app.main
    finally:
        for name in ("frt.test", "console.app"):
            logging.getLogger(name).removeHandler(buffer)


async def test_the_palette_offers_our_actions_in_words_and_only_our_themes(engine, console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        commands = list(app.get_system_commands(app.main))
        titles = [command.title for command in commands]
        assert "Start all" in titles and "Screenshot" in titles
        assert not any("[frt." in command.help or "frt." in command.title for command in commands)
        assert [title for title in titles if title.startswith("Theme: ")] == [
            "Theme: dark", "Theme: high-contrast", "Theme: light"]
        assert not any(command.help == "Change the current theme" for command in commands)  # Textual's picker
        assert "Quit" in titles and titles.count("Quit") == 1


async def test_quit_with_running_threads_asks_then_stops_them(engine, setup, tmp_path):
    from console.gateway import LocalGateway
    from tests.console.conftest import make_console

    gateway = LocalGateway(engine, owns_engine=True)
    app = make_console(gateway, tmp_path / "state")
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        await engine.start_thread(setup["deposit"])
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert app.screen is app.main and engine.local.threads[setup["deposit"]].status == "running"
        await pilot.press("q", "y")
        await until(lambda: engine._closed)
    assert engine._closed
    session = engine.local.store.list_sessions(setup["deposit"])[0]
    assert session["session_info"]["stop_reason"] == "engine_shutdown"


async def test_quit_without_running_threads_exits_at_once(engine, setup, console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_sort_and_filter(engine, setup, console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        table = app.main.threads_table
        assert table.keys_in_order == ["deposit_1", "swap_1", "withdrawal_1"]
        await pilot.press("r")  # reverse
        assert table.keys_in_order == ["withdrawal_1", "swap_1", "deposit_1"]
        await pilot.press("c")  # next column: pool (one pool: by id)
        assert table.sort_column == "pool"
        assert table.keys_in_order == ["deposit_1", "swap_1", "withdrawal_1"]
        assert str(table.columns[ColumnKey("pool")].label) == "Pool▲" and str(table.columns[ColumnKey("id")].label) == "Thread"
        assert "sort Pool ▲" in str(table.border_title)
        await pilot.press("slash", *"wdr")
        assert table.keys_in_order == ["withdrawal_1"]
        await pilot.press("enter")  # keep the filter, back to the table
        assert app.main.focused is table
        await refreshed(app, pilot)
        assert table.keys_in_order == ["withdrawal_1"]  # refreshes respect it
        await pilot.press("slash", "escape")  # clear
        assert len(table.keys_in_order) == 3
