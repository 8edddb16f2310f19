"""The engine's background tasks: the first look at rows that have no figures yet (once, at
open: engine/first_views.py), the SOL monitor (tops up thread wallets running low), the
statistics flusher (writes statistics.json when something changed) and the operator (admin
actions at random moments, engine/operator.py; it idles while engine.operator_enabled is off,
so set_operator can turn it on at any time)."""
from __future__ import annotations

import asyncio
import logging

from engine import first_views
from engine.chain.base import ChainError
from engine.exceptions import InsufficientCoreFunds

log = logging.getLogger(__name__)


def start(engine) -> list[asyncio.Task]:
    return [asyncio.create_task(first_views.see_everything_unseen(engine), name="first-views"),
            asyncio.create_task(sol_monitor(engine), name="sol-monitor"),
            asyncio.create_task(stats_flusher(engine), name="stats-flusher"),
            asyncio.create_task(engine.operator.run(), name="operator")]


async def stop(tasks: list[asyncio.Task]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def sol_monitor(engine) -> None:
    interval = engine.settings.engine.sol_monitor_interval_s
    while True:
        await asyncio.sleep(interval)
        try:
            await engine.top_up_wallets()
        except (ChainError, InsufficientCoreFunds) as exc:
            log.warning("SOL monitor round failed: %s", exc)


async def stats_flusher(engine) -> None:
    while True:
        await asyncio.sleep(engine.settings.engine.stats_flush_interval_s)
        if engine.recorder.dirty:
            engine.checkpoint()
