"""all_pools_locked holds every pool's lock, in one order."""
from __future__ import annotations

import asyncio

from solders.pubkey import Pubkey

from engine.pools import PoolRecord, PoolRuntime, all_pools_locked


def _pool(pool_id: str) -> PoolRuntime:
    record = PoolRecord(pool_id=pool_id, token_a_mint=str(Pubkey.new_unique()), token_a_decimals=6,
                        token_b_mint=str(Pubkey.new_unique()), token_b_decimals=6, ratio_a_numerator=1,
                        ratio_b_denominator=1, flags=0, created_at="")
    return PoolRuntime(record, Pubkey.new_unique())


async def test_every_lock_is_held_inside_and_released_after():
    pools = [_pool(name) for name in ("b", "a", "c")]
    async with all_pools_locked(pools) as ordered:
        assert [pool.record.pool_id for pool in ordered] == ["a", "b", "c"]
        assert all(pool.lock.locked() for pool in pools)
    assert not any(pool.lock.locked() for pool in pools)


async def test_two_holders_in_opposite_orders_do_not_deadlock():
    pools = [_pool(name) for name in ("a", "b")]

    async def hold(order):
        async with all_pools_locked(order):
            await asyncio.sleep(0)

    await asyncio.wait_for(asyncio.gather(hold(pools), hold(list(reversed(pools)))), 2)
