"""Engines on the embedded chain, in a temporary data directory, with deterministic pacing: the
coordinator users run, in front of one in-process shard (engine.shards = 0), whose Engine tests
may reach as `engine.local`."""
from __future__ import annotations

import asyncio
import os

import pytest

from engine.config import Settings
from engine.sharding.coordinator import Coordinator

# Started threads run one cycle, then sleep for an hour: tests drive further cycles by hand
# (Engine.run_cycle) so that every step is deterministic.
ONE_CYCLE_PACING = {"pacing_min_ms": 3_600_000, "pacing_max_ms": 3_600_000}
# Random amounts only, unless a test asks for boundary amounts (one of them spends the whole
# balance, which a test of a lone thread does not expect).
NO_BOUNDARY_AMOUNTS = {"boundary_amount_share": 0}


def engine_settings(data_dir, **engine) -> Settings:
    return Settings.model_validate({
        "data_dir": str(data_dir),
        "engine": {"seed": 7, "thread_initial_lamports": 5_000_000_000, "sol_monitor_interval_s": 3600, "shards": 0,
                   **ONE_CYCLE_PACING, **NO_BOUNDARY_AMOUNTS, **engine},
    })


@pytest.fixture
async def open_engine(tmp_path, monkeypatch):
    monkeypatch.delenv("FRT_STRESS_PASSPHRASE", raising=False)
    opened: list[Coordinator] = []

    async def factory(data_dir=None, **engine) -> Coordinator:
        instance = await Coordinator.open(engine_settings(data_dir or tmp_path / "data", **engine))
        opened.append(instance)
        return instance

    yield factory
    for instance in opened:
        await instance.close()


async def settle() -> None:
    """Let started threads run their first cycle (the embedded chain answers without waiting)."""
    for _ in range(3):
        await asyncio.sleep(0)


@pytest.fixture
def isolated_cli(tmp_path, monkeypatch):
    """For tests of the command line: no real config file or data directory is touched."""
    for name in list(os.environ):
        if name.startswith("FRT_STRESS_"):
            monkeypatch.delenv(name)
    config = tmp_path / "config.toml"
    config.write_text("")
    monkeypatch.setenv("FRT_STRESS_CONFIG", str(config))
    monkeypatch.setenv("FRT_STRESS_DATA_DIR", str(tmp_path / "data"))
