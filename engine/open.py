"""Open the engine the settings ask for: the coordinator, in front of one shard in this process
(engine.shards = 0) or of shard processes."""
from __future__ import annotations

from engine.api.facade import EngineApi
from engine.gc_tuning import tune_gc
from engine.sharding.coordinator import Coordinator, shard_count

__all__ = ["open_engine", "shard_count", "tune_gc"]


async def open_engine(settings) -> EngineApi:
    engine = await Coordinator.open(settings)
    tune_gc()
    return engine
