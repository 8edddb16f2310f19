"""The shard links' failure paths."""
from __future__ import annotations

import asyncio

import pytest

from engine.sharding.links import ProcessLink
from engine.sharding.protocol import ShardFailed


async def test_a_request_to_a_shard_whose_output_has_closed_fails_at_once(tmp_path):
    link = ProcessLink(0, tmp_path)
    link._reader = asyncio.create_task(asyncio.sleep(0))  # the reader ended: the shard's stdout closed
    await link._reader
    with pytest.raises(ShardFailed, match="has exited"):
        await asyncio.wait_for(link.request("list_pools", {}), 1)  # it once waited forever
    assert link.pending == {}
