"""The console's attack-thread form (key 4): it creates an attack thread on the engine."""
from __future__ import annotations

from console.screens.forms import FormScreen
from tests.console.conftest import SIZE, refreshed, until


async def test_new_attack_thread_form_creates_an_admin_attacker(engine, setup, console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await refreshed(app, pilot)
        await pilot.press("4")
        form = app.screen
        assert isinstance(form, FormScreen) and form.form_title == "New attack thread"
        form.set_value("initial_amount", "5000")
        form.set_value("categories", "admin")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await until(lambda: "attack_1" in engine.local.threads)
        thread = engine.local.threads["attack_1"]
        assert (thread.thread_type, thread.initial_amount, thread.pool_id) == ("attack", 5000, setup["pool_id"])
        assert thread.__dict__["attack_categories"] == ["admin"]
