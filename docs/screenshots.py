"""Draw the README's pictures of the console from a seeded engine, so that they show the console
as it is: `python docs/screenshots.py [--out docs/images]`.

The scene is the snapshot tests' (tests/console/conftest.py: populate_every_state): two pools,
one swapping both ways, a thread in every state, a finding; reads are frozen (times, rates,
signatures), so two runs draw the same pictures.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from console.gateway import LocalGateway  # noqa: E402
from tests.console.conftest import (FrozenGateway, make_console, open_test_engine,  # noqa: E402
                                    populate_every_state, refreshed)

PICTURES = [  # (file, terminal size, what to open: None for the main screen, else (panel, key))
    ("console-main.svg", (120, 40), None),
    ("console-main-wide.svg", (200, 60), None),
    ("console-pool-detail.svg", (120, 40), ("pools", "pool_id")),
    ("console-thread-detail.svg", (120, 40), ("threads", "deposit")),
]


async def draw(out: Path) -> list[Path]:
    written = []
    for name, size, target in PICTURES:
        with tempfile.TemporaryDirectory() as scratch:
            ids: dict = {}

            async def connect():
                engine = await open_test_engine(Path(scratch) / "engine")
                ids.update(await populate_every_state(engine))
                return FrozenGateway(LocalGateway(engine, owns_engine=True))

            app = make_console(connect, Path(scratch) / "state", theme="frt-dark", clock=lambda: 0.0)
            async with app.run_test(size=size) as pilot:
                await refreshed(app, pilot)
                if target is not None:
                    panel, key = target
                    widget = {"threads": app.main.threads_table, "pools": app.main.pools_panel}[panel]
                    widget.focus()
                    widget.select_key(ids[key])
                    await pilot.press("enter")
                    await app.screen.workers.wait_for_complete()
                    await pilot.pause()
                svg = app.export_screenshot(title=f"frt-stress console {size[0]}x{size[1]}")
                await pilot.press("q")
        path = out / name
        path.write_text(svg, encoding="utf-8")
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for path in asyncio.run(draw(args.out)):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
