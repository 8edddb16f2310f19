"""The coverage screen (C): per instruction, how the contract answered and what it never did."""
from __future__ import annotations

from console.screens.coverage import CoverageScreen
from engine.invariants import REACHABLE_ERRORS
from tests.console.conftest import SIZE, populate, refreshed, until


def _cells(table) -> list[list[str]]:
    """The rows of a rich Table, as text."""
    columns = [[str(cell) for cell in column._cells] for column in table.columns]
    return [list(row) for row in zip(*columns)]


async def test_c_opens_the_coverage_of_the_run_s_instructions(engine, console):
    await populate(engine)  # three deposits that went in, one swap refused (no liquidity yet)
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        await pilot.press("C")
        screen = app.screen
        assert isinstance(screen, CoverageScreen)
        await until(lambda: screen.loads >= 1)

        instructions, answered = (widget.content for widget in screen.query(".detail-section"))
        rows = {row[0]: row for row in _cells(instructions)}
        assert list(rows) == ["deposit", "withdraw", "swap"]
        assert rows["deposit"][1:4] == ["3", "3", "0"]  # sent, ok, failed
        assert rows["swap"][1:4] == ["1", "0", "1"]
        assert rows["withdraw"][4] == f"0 of {len(REACHABLE_ERRORS['withdraw'])}"
        (error,) = _cells(answered)
        assert error[0] == "swap" and error[1:] == ["InsufficientFunds", "–", "1", "yes"]  # the model predicts it
        assert screen.data["exercised"] == 1
        status = str(screen.query_one("#detail-status").content)
        assert f"errors exercised: 1 of {screen.data['reachable']} reachable" in status

        await pilot.press("escape")
        assert app.screen is app.main


async def test_at_80_columns_no_detail_section_loses_its_last_line(engine, console):
    """A narrow grid sized each section one line short when its text wrapped (issue 14, bug 1):
    "Reachable, never provoked" lost its last error name at 80 columns."""
    await populate(engine)
    app = console()
    async with app.run_test(size=(80, 24)) as pilot:
        await refreshed(app, pilot)
        await pilot.press("C")
        screen = app.screen
        await until(lambda: screen.loads >= 1)
        await pilot.pause()
        for section in screen.query(".detail-section"):
            width = section.content_region.width
            lines = app.console.render_lines(section.content, app.console.options.update_width(width), pad=False)
            assert section.content_region.height >= len(lines), section.content
