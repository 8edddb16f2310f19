"""The detail screens as an operator reads them, checked on the screen's own text: no section
loses a line beside a taller one (the pool detail at 120 and 200 columns), a healthy thread lists
its successful transactions, numbers and signatures are never folded, a pool id is whole, and a
pool with both swap directions lists both swap threads with their directions."""
from __future__ import annotations

import re

import pytest
from textual.widgets import Static

from console.formatting import short_id
from console.screens.finding_detail import FindingDetailScreen
from console.screens.pool_detail import PoolDetailScreen
from console.screens.thread_detail import ThreadDetailScreen
from tests.console.conftest import build_pool, populate, until

Y = 10**6  # one whole B token (6 decimals)
TALL = 400  # rows: every section of a detail is on the screen at once


def screen_lines(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


def section_text(app, title: str) -> str:
    """What the screen shows of the section whose title starts so (its region of the screen)."""
    widget = next(w for w in app.screen.query(".detail-section") if (_title(w) or "").startswith(title))
    region = widget.region
    assert region.height > 0, f"{title!r} is not on the screen"
    return "\n".join(line[region.x:region.right] for line in screen_lines(app)[region.y:region.bottom])


def _title(widget: Static) -> str | None:
    title = getattr(widget.content, "title", None)
    return str(title) if title is not None else None


async def opened(app, pilot, screen):
    await app.push_screen(screen)
    await until(lambda: screen.loads >= 1)
    await pilot.pause()
    await pilot.pause()
    assert screen.query_one("#detail-body").max_scroll_y == 0  # all of it is on the screen
    return screen


async def two_way_pool(engine) -> dict:
    """build_pool's pool with liquidity on both sides and a second swap thread, B→A; every
    thread ran (the swaps after the deposits)."""
    ids = await build_pool(engine)
    ids["deposit_b"] = (await engine.create_deposit_thread(ids["pool_id"], "B", 100_000 * Y))["thread_id"]
    ids["swap_back"] = (await engine.create_swap_thread(ids["pool_id"], "b_to_a", 1_000 * Y))["thread_id"]
    for name in ("deposit", "deposit_b", "withdrawal", "swap", "swap_back"):
        await engine.run_cycle(ids[name])
    return ids


@pytest.mark.parametrize("width", [120, 200])
async def test_pool_detail_shows_every_line_of_every_section(engine, console, width):
    ids = await two_way_pool(engine)
    app = console()
    async with app.run_test(size=(width, TALL)) as pilot:
        screen = await opened(app, pilot, PoolDetailScreen(ids["pool_id"]))
        pool = screen.data
        assert "token_b" in section_text(app, "Vault balances")
        assert "lp_token_b" in section_text(app, "LP supply")
        assert "pool_lamports" in section_text(app, "Fees")
        assert "state_flags" in "\n".join(screen_lines(app))
        assert f"{pool['vault_balances']['token_b']:,}" in section_text(app, "Vault balances")
        threads = section_text(app, "Threads of this pool")
        for thread_id in ("deposit_1", "deposit_2", "withdrawal_1", "swap_1", "swap_2"):
            assert thread_id in threads  # the last one (swap_2) included
        # both swap threads, each with its direction, spelled one way
        assert re.search(r"swap_1 .*A→B", threads) and re.search(r"swap_2 .*B→A", threads)
        assert "a_to_b" not in "\n".join(screen_lines(app)) and "b_to_a" not in "\n".join(screen_lines(app))


async def test_a_healthy_thread_lists_its_successful_transactions(engine, console):
    ids = await build_pool(engine)
    await engine.run_cycle(ids["deposit"])
    await engine.run_cycle(ids["deposit"])
    transactions = (await engine.get_thread_status(ids["deposit"]))["recent_transactions"]
    assert len(transactions) == 2 and all(t["ok"] for t in transactions)
    app = console()
    async with app.run_test(size=(120, TALL)) as pilot:
        await opened(app, pilot, ThreadDetailScreen(ids["deposit"]))
        shown = section_text(app, "Recent transactions")
        assert "(none)" not in shown
        rows = [line for line in shown.splitlines() if "deposit" in line]
        assert len(rows) == 2 and all(" ok " in f"{row} " for row in rows)
        for transaction in transactions:
            assert short_id(transaction["signature"]) in shown


@pytest.mark.parametrize("width", [120, 200])
async def test_numbers_and_signatures_are_never_folded_and_no_gap(engine, console, width):
    ids = await populate(engine)  # the swap failed: an error with its signature
    await engine.run_cycle(ids["deposit"])
    status = await engine.get_thread_status(ids["swap"])
    app = console()
    async with app.run_test(size=(width, TALL)) as pilot:
        await opened(app, pilot, ThreadDetailScreen(ids["swap"]))
        lines = screen_lines(app)
        text = "\n".join(lines)
        numbers = [value for value in _leaves(status) if isinstance(value, int) and not isinstance(value, bool)
                   and value >= 10_000]
        assert numbers
        for value in numbers:
            assert f"{value:,}" in text, f"{value:,} is not on one line"
        signature = status["error_monitoring"]["recent_errors"][-1]["transaction_signature"]
        assert any(signature in line for line in lines)  # whole, on one line
        body = screen.query_one("#detail-body").region if (screen := app.screen) else None
        content = lines[body.y:body.bottom]
        last = max(i for i, line in enumerate(content) if line.strip())
        blank_runs = re.findall(r"\n(?:[ ]*\n){3,}", "\n".join(content[:last + 1]))
        assert not blank_runs, "a gap of blank lines between sections"


@pytest.mark.parametrize("width", [80, 120, 200])
async def test_a_long_pool_id_is_whole_on_screen(engine, console, width):
    ids = await populate(engine)
    feed = (await engine.call("get_snapshot", {"feed_limit": 100}))["feed"]
    entry = next(e for e in feed if e.get("pool_id") == ids["pool_id"])
    app = console()
    async with app.run_test(size=(width, TALL)) as pilot:
        await opened(app, pilot, FindingDetailScreen(entry))
        assert any(ids["pool_id"] in line for line in screen_lines(app))
        await app.pop_screen()
        await opened(app, pilot, ThreadDetailScreen(ids["swap"]))
        lines = screen_lines(app)
        assert any(ids["pool_id"] in line for line in lines[3:])  # in the sections, not only the status line
        wallet = (await engine.get_thread_status(ids["swap"]))["wallet_address"]
        assert any(wallet in line for line in lines)


def _leaves(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


async def test_sections_are_laid_out_again_when_the_terminal_is_resized(engine, console):
    ids = await two_way_pool(engine)
    app = console()
    async with app.run_test(size=(200, TALL)) as pilot:
        screen = await opened(app, pilot, PoolDetailScreen(ids["pool_id"]))

        def columns() -> set[int]:
            return {widget.region.x for widget in screen.query(".detail-section")}

        assert len(columns()) == 2  # two sections to a row
        mint = screen.data["token_b_mint"]
        assert mint in section_text(app, "Token B")  # beside another section at 200 columns
        await pilot.resize_terminal(120, TALL)
        await until(lambda: mint in section_text(app, "Token B"))  # a row of its own: the id is whole
        await pilot.pause()
        assert "token_b" in section_text(app, "Vault balances") and "lp_token_b" in section_text(app, "LP supply")
        await pilot.resize_terminal(100, TALL)
        await until(lambda: len(columns()) == 1)  # one section to a row


async def test_finding_documents_show_each_file_name_and_time_whole_at_80_columns(engine, console):
    """The documents table was wider than 80 columns: the file name lost its end
    ('…_lp_mismatch.jso') and the detection time column had no width left at all."""
    ids = await populate(engine)
    feed = (await engine.call("get_snapshot", {"feed_limit": 100}))["feed"]
    entry = next(e for e in feed if e["severity"] == "finding" and e.get("pool_id") == ids["pool_id"])
    app = console()
    async with app.run_test(size=(80, TALL)) as pilot:
        screen = await opened(app, pilot, FindingDetailScreen(entry))
        table = section_text(app, "Finding documents")
        for finding in screen.data["findings"]:
            assert finding["finding_file"] in table
            assert finding["detected_at"].replace("T", " ")[:19] in table
            assert finding["thread_id"] in table and finding["operation"] in table
