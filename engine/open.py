"""Open the engine the settings ask for: in-process (shards = 0) or sharded over processes."""
from __future__ import annotations

import gc
from pathlib import Path

from engine.engine import Engine
from engine.sharding.coordinator import ShardedEngine, default_shard_count


def shard_count(settings) -> int:
    configured = settings.engine.shards
    return default_shard_count(settings.engine.reserved_cores) if configured is None else configured


async def open_engine(settings) -> Engine | ShardedEngine:
    count = shard_count(settings)
    engine = await Engine.open(settings) if count == 0 else await ShardedEngine.open(settings, count)
    unused = unused_state(Path(settings.data_dir), count)
    if unused:
        engine.problems.append(unused)
    tune_gc()
    return engine


def unused_state(data_dir: Path, count: int) -> str | None:
    """The data directory also holds the threads of the other way of running, which this one
    does not load: say so rather than let them look lost."""
    if count and (data_dir / "threads.json").exists():
        return (f"{data_dir} also holds threads of an in-process engine (engine.shards = 0), which shard processes "
                f"do not load: set engine.shards = 0 to use them")
    if not count and any((data_dir / "shards").glob("*/threads.json")):
        return (f"{data_dir / 'shards'} holds threads of shard processes, which this in-process engine "
                f"(engine.shards = 0) does not load: unset engine.shards to use them")
    return None


def tune_gc() -> None:
    """Keep garbage collection from stalling the event loop: the objects that exist once the
    engine is open are moved out of the collector's sight (gc.freeze), and full collections,
    which walk the whole heap (~200 ms with 1,000 threads), become rarer. Objects are still
    freed by reference counting as usual."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
