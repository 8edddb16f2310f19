"""What a live row shows before its thread has run: rows never read the chain (a snapshot is
rows in memory), and a thread's balances and a pool's liquidity were known only once a thread
had operated. A pool or thread just created, and every one of an engine reopened on its data
directory, is read here once, so that its row shows the chain's figures instead of "–"."""
from __future__ import annotations

import asyncio
import logging

from engine.chain.base import ChainError
from engine.observe import observe, wallet_views
from engine.pools import PoolRuntime
from engine.threads import ThreadRecord

log = logging.getLogger(__name__)

WALLETS_PER_READ = 100  # five accounts each: getMultipleAccounts in chunks of 100 accounts


async def see_pool(engine, pool) -> None:
    view = await observe(engine.cluster, pool.addresses, engine.core.pubkey)
    if pool.last_view is None:
        pool.last_view = view.pool


async def see_thread(engine, thread) -> None:
    pool = engine.pools[thread.pool_id]
    view = await observe(engine.cluster, pool.addresses, thread.wallet.pubkey, with_pool=pool.last_view is None)
    if thread.wallet_view is None:  # a cycle that ran meanwhile saw it later
        thread.wallet_view = view.wallet
    if pool.last_view is None and view.pool is not None:
        pool.last_view = view.pool


async def see_new(engine, created: PoolRuntime | ThreadRecord) -> None:
    """A pool or thread just created and saved: a chain that does not answer now leaves its row
    without figures (until a thread of it runs), not its creation failed."""
    try:
        await (see_thread(engine, created) if isinstance(created, ThreadRecord) else see_pool(engine, created))
    except ChainError as exc:
        log.warning("reading the figures of a new pool or thread failed: %s", exc)


async def see_everything_unseen(engine) -> None:
    """Every pool and thread row without figures, in batched reads (a background task at open);
    a chain that does not answer leaves them as they are, said in the log."""
    try:
        for pool in [pool for pool in engine.pools.values() if pool.last_view is None]:
            await see_pool(engine, pool)
        unseen = [thread for thread in engine.threads.values() if thread.wallet_view is None]
        for start in range(0, len(unseen), WALLETS_PER_READ):
            batch = unseen[start:start + WALLETS_PER_READ]
            views = await wallet_views(engine.cluster, [(t.thread_id, t.wallet.pubkey, engine.pools[t.pool_id].addresses)
                                                        for t in batch])
            for thread in batch:
                if thread.wallet_view is None:
                    thread.wallet_view = views[thread.thread_id]
            await asyncio.sleep(0)
    except ChainError as exc:
        log.warning("reading the balances of threads and pools that have not run yet failed: %s", exc)
