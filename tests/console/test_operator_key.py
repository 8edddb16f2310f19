"""The operator toggle (key A): the engine's operator is turned on, then off."""
from __future__ import annotations

from tests.console.conftest import SIZE, refreshed, until


async def test_the_operator_key_toggles_the_engines_operator(engine, console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        await pilot.press("A")
        await until(lambda: engine.local.operator.enabled)
        await pilot.press("A")
        await until(lambda: not engine.local.operator.enabled)
