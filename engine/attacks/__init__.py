"""The attack catalogue: one module per category, in priority order. An attack thread
(engine/kinds/attack.py) runs the attacks of its categories in a seeded order
(engine/attacks/worker.py)."""
from __future__ import annotations

import json
import logging
from pathlib import Path

from engine.atomic import atomic_write_text

log = logging.getLogger(__name__)

CATEGORIES = ("admin", "boundary", "substitution", "blocking", "outside")
# "outside" (tokens sent straight into a vault, ...) is asked for by name only: a vault transfer
# can never be taken back out, so the ledger audit fails for that pool afterwards.
DEFAULT_CATEGORIES = ("admin", "boundary", "substitution", "blocking")
CATEGORIES_FILE = "attack_threads.json"  # thread id -> {"categories": [...]} (threads.json has no place for it)


def catalogue(categories=None) -> list:
    """Every attack of `categories` (DEFAULT_CATEGORIES when None), in catalogue order."""
    from engine.attacks import admin, blocking, boundary, outside, substitution

    modules = {"admin": admin, "boundary": boundary, "substitution": substitution, "blocking": blocking,
               "outside": outside}
    chosen = [c for c in CATEGORIES if c in (categories or DEFAULT_CATEGORIES)]
    return [attack for category in chosen for attack in modules[category].catalogue()]


def _path(engine) -> Path:
    return Path(engine.settings.data_dir) / CATEGORIES_FILE


def _load(engine) -> dict:
    try:
        return json.loads(_path(engine).read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("cannot read %s: %s", _path(engine), exc)
        return {}


def set_categories(engine, thread, categories) -> None:
    thread.__dict__["attack_categories"] = list(categories) if categories else None
    saved = _load(engine)
    saved[thread.thread_id] = {"categories": thread.__dict__["attack_categories"]}
    atomic_write_text(_path(engine), json.dumps(saved, indent=1))


def categories_of(engine, thread) -> list[str] | None:
    """The thread's categories (None: all), as created; remembered across restarts."""
    if "attack_categories" not in thread.__dict__:
        thread.__dict__["attack_categories"] = _load(engine).get(thread.thread_id, {}).get("categories")
    return thread.__dict__["attack_categories"]


def categories_of_record(thread) -> list[str] | None:
    """What the thread record holds (views: no file read)."""
    return thread.__dict__.get("attack_categories")
