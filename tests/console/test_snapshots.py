"""Screenshots (pytest-textual-snapshot) of the main screen in each theme and at 80x24, a thread
detail, a confirmation dialog and the new-thread form with a validation error.

Deterministic: a seeded engine with a fixed core wallet, reads frozen by FrozenGateway
(timestamps, uptime, rates, latencies, signatures), a frozen app clock, a fixed CPU sampler,
no cursor blink. Update with `pytest tests/console --snapshot-update` after looking at the SVGs.
"""
from __future__ import annotations

import pytest

from console.gateway import LocalGateway
from tests.console.conftest import FrozenGateway, make_console, open_test_engine, populate, refreshed


@pytest.fixture
def scene(tmp_path, monkeypatch):
    monkeypatch.delenv("FRT_STRESS_PASSPHRASE", raising=False)

    def factory(theme: str = "frt-dark"):
        async def connect():
            engine = await open_test_engine(tmp_path / "engine")
            await populate(engine)
            return FrozenGateway(LocalGateway(engine, owns_engine=True))

        return make_console(connect, tmp_path / "state", theme=theme, clock=lambda: 0.0)

    return factory


async def ready(pilot) -> None:
    await refreshed(pilot.app, pilot)
    await pilot.pause()


@pytest.mark.parametrize("theme", ["frt-dark", "frt-light", "frt-high-contrast"])
def test_main_screen(snap_compare, scene, theme):
    assert snap_compare(scene(theme), terminal_size=(120, 40), run_before=ready)


def test_main_screen_80x24(snap_compare, scene):
    assert snap_compare(scene(), terminal_size=(80, 24), run_before=ready)


def test_thread_detail(snap_compare, scene):
    async def run_before(pilot):
        await ready(pilot)
        pilot.app.main.threads_table.select_key("swap_1")
        await pilot.press("enter")
        await pilot.app.screen.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(scene(), terminal_size=(120, 40), run_before=run_before)


def test_confirm_empty(snap_compare, scene):
    async def run_before(pilot):
        await ready(pilot)
        await pilot.press("e")

    assert snap_compare(scene(), terminal_size=(120, 40), run_before=run_before)


def test_new_deposit_form_with_a_validation_error(snap_compare, scene):
    async def run_before(pilot):
        await ready(pilot)
        await pilot.press("1")
        pilot.app.screen.set_value("initial_amount", "12x")
        await pilot.press("ctrl+s")

    assert snap_compare(scene(), terminal_size=(120, 40), run_before=run_before)
