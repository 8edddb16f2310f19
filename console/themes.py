"""Console themes: Textual `Theme`s read from TOML files, and the remembered choice.

Theme files live in the repository's `themes/` directory (and, for your own, in
`<data_dir>/themes/`): one TOML table per file whose keys are those of `textual.theme.Theme`
(name, primary, secondary, accent, warning, error, success, foreground, background, surface,
panel, boost, dark, luminosity_spread, text_alpha) plus an optional `[variables]` table.
The choice made in the console is remembered in `<data_dir>/console-state.json`.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import tomllib
from pathlib import Path

from textual.theme import Theme

from engine.atomic import atomic_write_text

log = logging.getLogger(__name__)

DEFAULT_THEME = "frt-dark"
CONSOLE_THEMES = ("frt-dark", "frt-light", "frt-high-contrast")  # what the theme key cycles through
THEMES_DIR_ENV = "FRT_STRESS_THEMES_DIR"
STATE_FILE = "console-state.json"
_FIELDS = {f.name for f in dataclasses.fields(Theme)}


def bundled_themes_dir() -> Path:
    return Path(os.environ.get(THEMES_DIR_ENV) or Path(__file__).resolve().parent.parent / "themes")


def load_theme_file(path: Path) -> Theme:
    """One theme; ValueError names the file and the problem."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    unknown = set(data) - _FIELDS
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}")
    if "name" not in data or "primary" not in data:
        raise ValueError(f"{path}: 'name' and 'primary' are required")
    try:
        theme = Theme(**data)
        theme.to_color_system()  # parses every colour
    except Exception as exc:  # noqa: BLE001 - any bad value makes the file unusable
        raise ValueError(f"{path}: {exc}") from None
    return theme


def load_themes(*directories: Path | None) -> dict[str, Theme]:
    """Every *.toml theme of the directories (later ones override earlier ones by name);
    unreadable files are logged and skipped."""
    themes: dict[str, Theme] = {}
    for directory in directories:
        if directory is None or not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.toml")):
            try:
                theme = load_theme_file(path)
            except ValueError as exc:
                log.warning("theme skipped: %s", exc)
                continue
            themes[theme.name] = theme
    return themes


class ConsoleState:
    """Small persistent console preferences (the theme, the units) in <data_dir>/console-state.json."""

    def __init__(self, directory: Path | None) -> None:
        self.path = directory / STATE_FILE if directory is not None else None
        self.data: dict = {}
        if self.path is not None and self.path.exists():
            try:
                self.data = json.loads(self.path.read_text(encoding="utf-8"))
                if not isinstance(self.data, dict):
                    self.data = {}
            except (OSError, ValueError) as exc:
                log.warning("ignoring %s: %s", self.path, exc)

    @property
    def theme(self) -> str | None:
        value = self.data.get("theme")
        return value if isinstance(value, str) else None

    @property
    def units(self) -> str | None:
        value = self.data.get("units")
        return value if isinstance(value, str) else None

    def remember_theme(self, name: str) -> None:
        self.remember("theme", name)

    def remember(self, key: str, value: str) -> None:
        if self.data.get(key) == value:
            return
        self.data[key] = value
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path, json.dumps(self.data, indent=2) + "\n")
        except OSError as exc:
            log.warning("cannot remember the %s in %s: %s", key, self.path, exc)


def choose_theme(available: set[str], *candidates: str | None) -> str:
    """The first candidate that is an available theme, else the default (or any theme)."""
    for name in candidates:
        if name and name in available:
            return name
    if DEFAULT_THEME in available:
        return DEFAULT_THEME
    return "textual-dark"


def next_console_theme(current: str, available: set[str]) -> str:
    cycle = [name for name in CONSOLE_THEMES if name in available] or sorted(available)
    if current not in cycle:
        return cycle[0]
    return cycle[(cycle.index(current) + 1) % len(cycle)]
