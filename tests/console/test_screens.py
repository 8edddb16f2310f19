"""Detail screens (thread, pool, feed entry), the layout at 80x24, and the refresh rules:
only changed cells are written, nothing is fetched while a screen covers the main one."""
from __future__ import annotations

from console.screens.finding_detail import FindingDetailScreen
from console.screens.pool_detail import PoolDetailScreen
from console.screens.thread_detail import ThreadDetailScreen
from tests.console.conftest import SIZE, populate, refreshed, until


async def test_enter_opens_the_thread_detail_with_sessions_errors_and_signatures(engine, console):
    ids = await populate(engine)
    await engine.start_thread(ids["swap"])
    await engine.stop_thread(ids["swap"])  # one session on file
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        app.main.threads_table.select_key(ids["swap"])
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, ThreadDetailScreen)
        await until(lambda: screen.loads >= 1)
        status, sessions = screen.data["status"], screen.data["sessions"]
        assert status["thread_id"] == ids["swap"] and status == await engine.get_thread_status(ids["swap"]) | {
            "statistics": status["statistics"], "health_monitoring": status["health_monitoring"]}
        assert len(sessions["sessions"]) == 1
        titles = [getattr(widget.content, "title", None) for widget in screen.query(".detail-section")]
        for title in ("Thread", "Balances", "Statistics", "Verification totals", "Cost tracking",
                      "Health monitoring", "Swap specific", "Recent transactions", "Recent errors"):
            assert title in titles
        assert any(title and title.startswith("Sessions") for title in titles)
        errors = status["error_monitoring"]["recent_errors"]
        assert errors and errors[0]["error_name"] == "InsufficientFunds"
        assert any(title and title.startswith("Transactions, whole") for title in titles)
        whole = next(widget.content for widget in screen.query(".detail-section")
                     if (getattr(widget.content, "title", None) or "").startswith("Transactions, whole"))
        assert errors[0]["transaction_signature"] in [str(c) for column in whole.columns for c in column._cells]
        await pilot.press("escape")
        assert app.screen is app.main


async def test_pool_detail_from_the_pools_panel(engine, console):
    ids = await populate(engine)
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        panel = app.main.pools_panel
        panel.focus()
        panel.select_key(ids["pool_id"])
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, PoolDetailScreen)
        await until(lambda: screen.loads >= 1)
        assert screen.data == await engine.get_pool(ids["pool_id"])
        assert screen.data["liquidity"]["token_a"] > 0  # the deposits went in
        assert {row["thread_id"] for row in screen.threads} == {ids["deposit"], ids["withdrawal"], ids["swap"]}


async def test_finding_detail_from_the_feed(engine, console):
    await populate(engine)
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        feed = app.main.feed
        assert len(feed.keys_in_order) == 2  # the finding and the expected swap failure
        finding_key = next(key for key, entry in feed.entries.items() if entry["severity"] == "finding")
        feed.focus()
        feed.select_key(finding_key)
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, FindingDetailScreen)
        await until(lambda: screen.loads >= 1)
        assert [f["kind"] for f in screen.data["findings"]] == ["lp_mismatch"]
        assert screen.data["findings"][0]["transaction"]["logs"][-1] == "Program log: minted 1001 LP"
        await pilot.press("escape")
        # the feed's severity filter
        await pilot.press("v")
        assert feed.severity == "finding" and feed.keys_in_order == [finding_key]
        await pilot.press("v")
        assert feed.keys_in_order == []  # no unexpected errors
        await pilot.press("v")
        assert len(feed.keys_in_order) == 1  # expected
        await pilot.press("F", *"insufficient")
        assert len(feed.keys_in_order) == 1
        await pilot.press("escape")


async def test_refresh_writes_only_changed_cells_and_skips_covered_views(engine, console):
    ids = await populate(engine)
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        table = app.main.threads_table
        writes = table.cell_writes
        await refreshed(app, pilot)
        assert table.cell_writes == writes  # nothing changed, nothing written
        await engine.run_cycle(ids["deposit"])
        await refreshed(app, pilot)
        changed = table.cell_writes - writes
        assert 0 < changed <= 6  # token, LP, SOL, OK, rate of one row: not the whole table
        # a modal screen on top: no fetch, no rendering
        await pilot.press("question_mark")
        fetches, applied = app.refresher.fetches, app.main.applied
        await pilot.pause(1.2)
        assert app.refresher.fetches == fetches and app.main.applied == applied
        await pilot.press("escape")
        await until(lambda: app.main.applied > applied)


async def test_works_at_80x24(engine, console):
    await populate(engine)
    app = console()
    async with app.run_test(size=(80, 24)) as pilot:
        await refreshed(app, pilot)
        assert app.main.has_class("-narrow") and app.main.has_class("-short")
        threads = app.main.threads_table
        assert threads.region.height >= 6  # header + at least 4 rows + scrollbar
        for widget in ("#pools", "#cpu", "#chart", "#feed"):
            region = app.main.query_one(widget).region
            assert region.width > 0 and region.height > 0 and region.right <= 80 and region.bottom <= 24
