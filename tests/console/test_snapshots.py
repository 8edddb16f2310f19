"""Screenshots (pytest-textual-snapshot) of the main screen in each theme and at 80x24, 120x40 and
200x60 with a thread in every state, of each detail screen (thread, pool swapping both ways,
finding) at 80x24, 120x40 and 200x60, of a confirmation dialog and of the new-thread form with a
validation error. docs/screenshots.py draws the README's pictures from the same scene.

Deterministic: a seeded engine with a fixed core wallet, reads frozen by FrozenGateway
(timestamps, uptime, rates, latencies, signatures), a frozen app clock, a fixed CPU sampler,
no cursor blink. Update with `pytest tests/console --snapshot-update` after looking at the SVGs.
"""
from __future__ import annotations

import pytest

from console.gateway import LocalGateway
from tests.console.conftest import FrozenGateway, make_console, open_test_engine, populate_every_state, refreshed


@pytest.fixture
def scene(tmp_path, monkeypatch):
    monkeypatch.delenv("FRT_STRESS_PASSPHRASE", raising=False)

    def factory(theme: str = "frt-dark"):
        async def connect():
            engine = await open_test_engine(tmp_path / "engine")
            await populate_every_state(engine)
            return FrozenGateway(LocalGateway(engine, owns_engine=True))

        return make_console(connect, tmp_path / "state", theme=theme, clock=lambda: 0.0)

    return factory


async def ready(pilot) -> None:
    await refreshed(pilot.app, pilot)
    await pilot.pause()


@pytest.mark.parametrize("theme", ["frt-dark", "frt-light", "frt-high-contrast"])
def test_main_screen(snap_compare, scene, theme):
    assert snap_compare(scene(theme), terminal_size=(120, 40), run_before=ready)


@pytest.mark.parametrize("size", [(80, 24), (200, 60)], ids=["80x24", "200x60"])
def test_main_screen_sizes(snap_compare, scene, size):
    assert snap_compare(scene(), terminal_size=size, run_before=ready)


async def open_detail(pilot, table: str, key: str) -> None:
    """Select `key` in the main screen's `table` (threads, pools or feed) and open its detail."""
    await ready(pilot)
    main = pilot.app.main
    widget = {"threads": main.threads_table, "pools": main.pools_panel, "feed": main.feed}[table]
    widget.focus()
    widget.select_key(key)
    await pilot.press("enter")
    await pilot.app.screen.workers.wait_for_complete()
    await pilot.pause()


DETAILS = {"thread": ("threads", lambda app: "swap_1"),
           "pool": ("pools", lambda app: app.main.threads_table.rows_by_id["swap_1"]["pool_id"]),
           "finding": ("feed", lambda app: next(key for key, entry in app.main.feed.entries.items()
                                                 if entry["severity"] == "finding"))}


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 60)], ids=["80x24", "120x40", "200x60"])
@pytest.mark.parametrize("detail", list(DETAILS))
def test_detail_screens(snap_compare, scene, detail, size):
    table, key_of = DETAILS[detail]

    async def run_before(pilot):
        await open_detail(pilot, table, key_of(pilot.app))

    assert snap_compare(scene(), terminal_size=size, run_before=run_before)


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
