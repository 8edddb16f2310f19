"""The forms as an operator meets them (issue "The console, operator-grade"): ⏎ submits from any
field, the keys are shown, an error goes away as soon as its field is fixed, the swap form picks
a free direction, funding more SOL than the core wallet has says so, amounts show whole tokens."""
from __future__ import annotations

import pytest

from console.screens.forms import FormScreen
from engine.exceptions import InvalidParams
from tests.console.conftest import SIZE, X, fill, refreshed, until


def text(form: FormScreen, selector: str) -> str:
    return str(form.query_one(selector).content)


def shown_error(form: FormScreen, name: str) -> str:
    label = form.query_one(f"#error-{name}")
    return str(label.content) if label.has_class("-shown") else ""


async def open_form(app, pilot, key: str) -> FormScreen:
    await refreshed(app, pilot)
    await pilot.press(key)
    form = app.screen
    assert isinstance(form, FormScreen)
    await form.workers.wait_for_complete()  # a form that looks something up has done so
    await pilot.pause()
    return form


async def fund_more_sol_than_the_core_has(app, pilot) -> FormScreen:
    """The fund form of the swap thread, submitted with far more SOL than the core wallet has."""
    form = await open_form(app, pilot, "f")
    await fill(pilot, form, funding_type="sol", amount=str(10**18))
    await pilot.press("ctrl+s")
    await until(lambda: "amount" in form.errors)
    return form


# ---- 1. ⏎ submits from any field; Space / ↓ open a list; ⏎ in an open list picks ----------------

async def test_enter_on_a_closed_select_submits_the_form(engine, setup, console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(app, pilot, "2")  # focus: the pool Select
        assert form.focused.id == "field-pool_id"
        await pilot.press("enter")
        await until(lambda: "withdrawal_2" in engine.local.threads)
        await until(lambda: app.screen is app.main)


async def test_enter_in_an_open_select_picks_the_option_then_enter_submits(engine, setup, console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(app, pilot, "2")
        form.query_one("#field-token_type").focus()
        await pilot.press("space")  # opens the list
        await pilot.pause()
        assert form.query_one("#field-token_type").expanded
        await pilot.press("down", "enter")  # picks B; the form stays open
        await pilot.pause()
        assert app.screen is form and form.raw_value("token_type") == "B"
        assert not engine.local.threads.get("withdrawal_2")
        await pilot.press("enter")
        await until(lambda: "withdrawal_2" in engine.local.threads)
        assert engine.local.threads["withdrawal_2"].token_type == "B"


async def test_enter_on_a_checkbox_submits_and_space_toggles_it(engine, setup, console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(app, pilot, "1")
        await fill(pilot, form, initial_amount="5_000")
        form.query_one("#field-auto_refill").focus()
        await pilot.press("space")
        await pilot.pause()
        assert form.raw_value("auto_refill") is True
        await pilot.press("enter")
        await until(lambda: "deposit_2" in engine.local.threads)
        assert engine.local.threads["deposit_2"].auto_refill is True


# ---- 2. the form's keys are shown in it ------------------------------------------------------------

async def test_the_form_shows_its_keys(engine, setup, console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(app, pilot, "1")
        keys = text(form, "#form-keys")
        for word in ("⏎", "ctrl+s", "submit", "Esc", "cancel", "Space", "list"):
            assert word in keys, word


# ---- 3. an error goes as soon as its field is fixed --------------------------------------------------

async def test_a_fixed_field_loses_its_error_at_once(engine, setup, console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(app, pilot, "1")
        await fill(pilot, form, initial_amount="12x")
        await pilot.press("ctrl+s")
        assert "whole number" in shown_error(form, "initial_amount")
        await fill(pilot, form, initial_amount="12y")  # still wrong: still said
        assert "whole number" in shown_error(form, "initial_amount")
        await fill(pilot, form, initial_amount="12")
        assert shown_error(form, "initial_amount") == "" and "initial_amount" not in form.errors
        assert not form.query_one("#field-initial_amount").has_class("-invalid")
        assert str(form.query_one("#form-status").content) == ""
        # a check across fields: fixing the other field clears it too
        await fill(pilot, form, initial_amount="0", auto_refill=True)
        await pilot.press("ctrl+s")
        assert "initial amount" in shown_error(form, "auto_refill")
        await fill(pilot, form, initial_amount="7")
        assert shown_error(form, "auto_refill") == ""
        assert len(engine.local.threads) == 3  # nothing was sent


async def test_an_engine_error_under_a_field_goes_when_the_field_changes(engine, setup, console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        app.main.threads_table.select_key(setup["swap"])
        form = await fund_more_sol_than_the_core_has(app, pilot)
        assert app.screen is form
        await fill(pilot, form, funding_type="token_a")  # another field: the engine's word stays
        assert "ask for less" in shown_error(form, "amount")
        await fill(pilot, form, amount="1000")
        assert shown_error(form, "amount") == "" and not form.errors


# ---- 4. the swap form picks a direction still free -----------------------------------------------------

async def test_swap_form_defaults_to_a_free_direction_and_follows_the_pool(engine, setup, console):
    other = (await engine.create_pool(token_a_decimals=6, token_b_decimals=6, ratio_whole_number=2,
                                      ratio_direction="a_to_b"))["pool_id"]
    await engine.create_swap_thread(other, "b_to_a", 0)
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        app.main.threads_table.select_key(setup["swap"])  # its pool has a_to_b
        form = await open_form(app, pilot, "3")
        assert form.raw_value("pool_id") == setup["pool_id"]
        assert form.raw_value("direction") == "b_to_a"
        await fill(pilot, form, pool_id=other)  # b_to_a is taken there
        assert form.raw_value("direction") == "a_to_b"
        assert shown_error(form, "direction") == ""
        await fill(pilot, form, pool_id=setup["pool_id"], initial_amount="10")
        assert form.raw_value("direction") == "b_to_a"
        await pilot.press("ctrl+s")
        await until(lambda: "swap_3" in engine.local.threads)
        created = engine.local.threads["swap_3"]
        assert (created.pool_id, created.swap_direction) == (setup["pool_id"], "b_to_a")


async def test_swap_form_says_before_submit_that_both_directions_are_taken(engine, setup, console):
    await engine.create_swap_thread(setup["pool_id"], "b_to_a", 0)
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        app.main.threads_table.select_key(setup["swap"])
        form = await open_form(app, pilot, "3")
        assert "both directions" in shown_error(form, "direction")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is form and len(engine.local.threads) == 4  # nothing was sent
        assert "both directions" in shown_error(form, "direction")


# ---- 5. more SOL than the core wallet has ------------------------------------------------------------

async def test_funding_more_sol_than_the_core_wallet_has_is_refused_clearly(engine, setup):
    thread = setup["swap"]
    before = (await engine.get_thread_status(thread))["balances"]
    with pytest.raises(InvalidParams) as refused:
        await engine.fund_thread(thread, "sol", 10**18)
    message = refused.value.message
    assert "amount" in message and "core wallet has" in message and "ask for less" in message
    assert "SystemResult" not in message and "lamports" in message
    assert (await engine.get_thread_status(thread))["balances"] == before  # nothing changed
    # what the core wallet can spare still goes through
    await engine.fund_thread(thread, "sol", 1_000)
    assert (await engine.get_thread_status(thread))["balances"]["sol"] == before["sol"] + 1_000


async def test_fund_form_shows_the_core_wallets_balance_under_the_amount(engine, setup, console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        app.main.threads_table.select_key(setup["swap"])
        form = await fund_more_sol_than_the_core_has(app, pilot)
        error = shown_error(form, "amount")
        assert "core wallet has" in error and "SOL" in error and "ask for less" in error
        assert "SystemResult" not in error


# ---- 6. amounts in base units, previewed in whole tokens ---------------------------------------------

async def test_amount_fields_preview_whole_tokens(engine, setup, console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(app, pilot, "1")  # pool 9/6
        assert "(base units" in str(form.query_one("#label-initial_amount").content)
        await fill(pilot, form, initial_amount="1_500_000_000")
        assert text(form, "#preview-initial_amount") == "= 1.5 token A (9 decimals)"
        await fill(pilot, form, token_type="B")
        assert text(form, "#preview-initial_amount") == "= 1,500 token B (6 decimals)"
        await fill(pilot, form, initial_amount="abc")
        assert text(form, "#preview-initial_amount") == ""
        await pilot.press("escape")

        form = await open_form(app, pilot, "3")  # the input token follows the direction
        await fill(pilot, form, direction="b_to_a", initial_amount="2500000")
        assert text(form, "#preview-initial_amount") == "= 2.5 token B (6 decimals)"
        await pilot.press("escape")

        form = await open_form(app, pilot, "m")
        await fill(pilot, form, token_type="A", amount=str(3 * X))
        assert text(form, "#preview-amount") == "= 3 token A (9 decimals)"
        await pilot.press("escape")

        app.main.threads_table.select_key(setup["swap"])
        form = await open_form(app, pilot, "f")  # the thread's pool: looked up
        assert "(base units" in str(form.query_one("#label-amount").content)
        await fill(pilot, form, funding_type="sol", amount="1_500_000_000")
        assert text(form, "#preview-amount") == "= 1.5 SOL (lamports: 9 decimals)"
        await fill(pilot, form, funding_type="token_b", amount="1")
        assert text(form, "#preview-amount") == "= 0.000001 token B (6 decimals)"
        await fill(pilot, form, funding_type="lp_tokens", amount="25")
        assert text(form, "#preview-amount") == "= 0.000000025 LP token A (9 decimals)"
