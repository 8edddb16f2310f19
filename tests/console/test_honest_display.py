"""Issue 14, first bugs: a palette screenshot that always saves (9), a header that fits 80
columns (4), one steady ops/s for the header and the chart (6), and table values that are never
shown cut as if they were numbers (5)."""
from __future__ import annotations

import re

from textual.app import SystemCommand

from console import formatting as fmt

from tests.console.conftest import SIZE, populate, refreshed, until


def notifications(app) -> list[str]:
    return [str(notification.message) for notification in app._notifications]


async def test_palette_screenshot_saves_under_the_data_dir_without_a_downloads_folder(engine, console, tmp_path,
                                                                                      monkeypatch):
    home = tmp_path / "home"  # no ~/Downloads here
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_DOWNLOAD_DIR", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        command = next(c for c in app.get_system_commands(app.screen)
                       if isinstance(c, SystemCommand) and c.title == "Screenshot")
        command.callback()
        folder = tmp_path / "state" / "screenshots"  # the console fixture's data dir
        await until(lambda: any("screenshot" in text.lower() for text in notifications(app)))
        await pilot.pause()
        saved = list(folder.glob("*.svg"))
        assert len(saved) == 1, notifications(app)
        assert "<svg" in saved[0].read_text()
        assert any(str(saved[0]) in text for text in notifications(app)), notifications(app)
        assert not (home / "Downloads").exists()


def header_lines(app) -> list[str]:
    header = app.main.header
    return [header.render_line(y).text for y in range(header.size.height)]


async def test_header_keeps_its_totals_on_screen_at_80_columns(engine, setup, console):
    app = console()
    async with app.run_test(size=(80, 24)) as pilot:
        await refreshed(app, pilot)
        app.gateway_info = {**app.gateway_info, "api_url": "http://127.0.0.1:8080/rpc"}
        app.paused = True
        await refreshed(app, pilot)  # not applied while paused: show the header now
        app.main.show_header(problem="refresh failed: cannot reach the server at 10.0.0.1:8080")
        await pilot.pause()
        lines = header_lines(app)
        assert len(lines) == 2
        first, second = lines
        assert "embedded" in first and "core" in first  # the line did not wrap into the second one
        for mark in ("ops ", "✔ ", "✖ ", "★ ", "ops/s", "▶", "■", "○", "PAUSED"):
            assert mark in second, (mark, lines)
        assert second.rstrip().endswith("…")  # the problem does not fit: cut visibly, not wrapped


async def test_header_drops_the_least_important_parts_first(engine, setup, console):
    app = console()
    async with app.run_test(size=(80, 24)) as pilot:
        await refreshed(app, pilot)
        header = app.main.header
        engine_row = {**app.main.snapshot["engine"], "operations": 1_234_567, "ok": 1_200_000, "failed": 34_567,
                      "findings": 12, "pools": 120}
        gateway = {"kind": "local", "api_url": "http://127.0.0.1:8080/rpc"}
        header.compose_parts(engine_row, gateway, 3.7, 2.0, False, None)
        wide = header.compose_text(engine_row, gateway, 3.7, 2.0, False, None, width=200).plain.split("\n")
        assert "API 127.0.0.1:8080" in wide[0] and "prog " in wide[0] and "120 pools" in wide[1]
        for width in (78, 60):
            lines = header.compose_text(engine_row, gateway, 3.7, 2.0, False, None, width=width).plain.split("\n")
            assert all(len(line) <= width for line in lines), (width, lines)
            assert "1,234,567" in lines[1] and "★ 12" in lines[1], (width, lines)
        narrow = header.compose_text(engine_row, gateway, 3.7, 2.0, False, None, width=78).plain.split("\n")
        assert "prog " not in narrow[0] and "core " in narrow[0] and "up " in narrow[0]
        assert "3.7 ops/s" in narrow[1] and "▶" in narrow[1]


async def test_ops_per_second_is_steady_at_a_steady_load_and_the_same_in_header_and_chart(engine, setup, console):
    """3.7 operations a second, but the engine's total grows once a second: one 0.5 s refresh
    interval sees 0 or 3-4 operations (0.0 or ~8 ops/s); the moving window sees 3.7."""
    now = [0.0]
    app = console(clock=lambda: now[0])
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        app.refresher.stop()  # this test hands the snapshots over itself
        await app.refresher.wait_idle()
        snapshot = app.main.snapshot
        chart_label = app.main.query_one("#ops-label")
        seen = []
        for step in range(40):  # 20 s at 2 Hz
            now[0] = 100.0 + step * 0.5
            total = int(3.7 * int(now[0]))
            engine_row = {**snapshot["engine"], "operations": total}
            rates = app.refresher.rates(engine_row)
            app.main.apply({**snapshot, "engine": engine_row}, {}, rates)
            header = re.search(r"([\d.,–]+) ops/s", str(app.main.header.render())).group(1)
            chart = re.search(r"ops/s ([\d.,–]+)", str(chart_label.render())).group(1)
            assert header == chart, (now[0], header, chart)
            if now[0] >= 106.0:
                seen.append(float(header))
        assert seen and all(3.5 <= value <= 3.9 for value in seen), seen


def cut_cells(table) -> list[tuple[int, str, str]]:
    """(line, column label, what shows) for each cell of a column the viewport cuts that shows
    neither its whole value nor blanks or `…` alone: a value cut mid-way, read as another number."""
    table.flush()
    x1, x2 = int(table.scroll_x), int(table.scroll_x) + table.size.width
    frozen = table.ordered_columns[:table.fixed_columns]  # drawn whole at the left; the rest scrolls behind
    low = x1 + sum(column.get_render_width(table) for column in frozen)
    keys = table.keys_in_order[int(table.scroll_y):]
    found = []
    for y in range(min(table.size.height, len(keys) + 1)):
        line = table.render_line(y).text
        start = 0
        for index, column in enumerate(table.ordered_columns):
            end = start + column.get_render_width(table)
            if index >= len(frozen) and start < x2 and end > low and (start < low or end > x2):
                shown = line[max(start, low) - x1:min(end, x2) - x1].strip()
                whole = str(column.label) if y == 0 else table.cell_text(keys[y - 1], column.key.value)
                if shown not in ("", "…", whole):
                    found.append((y, str(column.label), shown))
            start = end
    return found


async def test_tables_never_show_a_value_cut_by_the_window_edge(engine, console):
    await populate(engine)
    for size in ((80, 24), (120, 40)):
        app = console()
        async with app.run_test(size=size) as pilot:
            await refreshed(app, pilot)
            threads, pools, feed = app.main.threads_table, app.main.pools_panel, app.main.feed
            assert cut_cells(threads) == [] and cut_cells(pools) == [] and cut_cells(feed) == []
            threads.scroll_to(x=23, animate=False)  # scrolled sideways: the left edge cuts too
            pools.scroll_to(x=5, animate=False)
            feed.scroll_to(x=5, animate=False)
            await pilot.pause()
            assert cut_cells(threads) == [] and cut_cells(pools) == [] and cut_cells(feed) == []
            if threads.scroll_x:  # the thread and pool ids stay in view (frozen columns)
                assert threads.render_line(1).text.split()[0] == threads.keys_in_order[0]
                assert pools.render_line(1).text.split()[0] == fmt.short_id(pools.keys_in_order[0])


def test_one_pool_is_one_pool():
    from console.formatting import plural

    assert [plural(n, "pool") for n in (0, 1, 2, 1200)] == ["0 pools", "1 pool", "2 pools", "1,200 pools"]
