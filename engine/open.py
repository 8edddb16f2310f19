"""Open the engine the settings ask for: in-process (shards = 0) or sharded over processes."""
from __future__ import annotations

from engine.engine import Engine
from engine.sharding.coordinator import ShardedEngine, default_shard_count


def shard_count(settings) -> int:
    configured = settings.engine.shards
    return default_shard_count(settings.engine.reserved_cores) if configured is None else configured


async def open_engine(settings) -> Engine | ShardedEngine:
    count = shard_count(settings)
    if count == 0:
        return await Engine.open(settings)
    return await ShardedEngine.open(settings, count)
