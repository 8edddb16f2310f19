"""Engines on the embedded chain, in a temporary data directory, with deterministic pacing."""
from __future__ import annotations

import asyncio

import pytest

from engine.config import Settings
from engine.engine import Engine

# Started threads run one cycle, then sleep for an hour: tests drive further cycles by hand
# (Engine.run_cycle) so that every step is deterministic.
ONE_CYCLE_PACING = {"pacing_min_ms": 3_600_000, "pacing_max_ms": 3_600_000}


def engine_settings(data_dir, **engine) -> Settings:
    return Settings.model_validate({
        "data_dir": str(data_dir),
        "engine": {"seed": 7, "thread_initial_lamports": 5_000_000_000, **ONE_CYCLE_PACING, **engine},
    })


@pytest.fixture
async def open_engine(tmp_path, monkeypatch):
    monkeypatch.delenv("FRT_STRESS_PASSPHRASE", raising=False)
    opened: list[Engine] = []

    async def factory(data_dir=None, **engine) -> Engine:
        instance = await Engine.open(engine_settings(data_dir or tmp_path / "data", **engine), start_background=False)
        opened.append(instance)
        return instance

    yield factory
    for instance in opened:
        await instance.close()


async def settle() -> None:
    """Let started threads run their first cycle (the embedded chain answers without waiting)."""
    for _ in range(3):
        await asyncio.sleep(0)
