"""The Engine facade checks only what the params models cannot: what depends on the engine's
state or on a random draw."""
from __future__ import annotations

import pytest

from engine.exceptions import InvalidRequest


async def test_a_drawn_ratio_that_overflows_u64_is_refused(open_engine):
    engine = await open_engine()
    pools = set(engine.local.pools)
    with pytest.raises(InvalidRequest, match="does not fit in u64"):  # 10^6 * 10^18 base units of A per B
        await engine.create_pool(token_a_decimals=18, ratio_whole_number=10**6, ratio_direction="b_to_a")
    assert set(engine.local.pools) == pools


async def test_a_taken_thread_id_is_refused(open_engine):
    engine = await open_engine()
    pool_id = (await engine.create_pool(token_a_decimals=6, token_b_decimals=6, ratio_whole_number=1,
                                        ratio_direction="a_to_b"))["pool_id"]
    created = await engine.create_withdrawal_thread(pool_id, "A")
    shard = engine.local
    with pytest.raises(InvalidRequest, match="taken"):
        await shard.create_withdrawal_thread(pool_id, "B", thread_id=created["thread_id"])
    with pytest.raises(InvalidRequest, match="does not fit"):
        await shard.create_withdrawal_thread(pool_id, "B", thread_id="deposit_99")
    assert list(shard.threads) == [created["thread_id"]]
