"""Issue 14, first bugs: a palette screenshot that always saves (9), a header that fits 80
columns (4), one steady ops/s for the header and the chart (6), and table values that are never
shown cut as if they were numbers (5)."""
from __future__ import annotations

from textual.app import SystemCommand

from tests.console.conftest import SIZE, refreshed, until


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
