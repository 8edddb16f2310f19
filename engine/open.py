"""Open the engine the settings ask for: in-process (shards = 0) or sharded over processes."""
from __future__ import annotations

import gc

from engine.engine import Engine
from engine.sharding.coordinator import ShardedEngine, default_shard_count


def shard_count(settings) -> int:
    configured = settings.engine.shards
    return default_shard_count(settings.engine.reserved_cores) if configured is None else configured


async def open_engine(settings) -> Engine | ShardedEngine:
    count = shard_count(settings)
    engine = await Engine.open(settings) if count == 0 else await ShardedEngine.open(settings, count)
    tune_gc()
    return engine


def tune_gc() -> None:
    """Keep garbage collection from stalling the event loop: the objects that exist once the
    engine is open are moved out of the collector's sight (gc.freeze), and full collections,
    which walk the whole heap (~200 ms with 1,000 threads), become rarer. Objects are still
    freed by reference counting as usual."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
