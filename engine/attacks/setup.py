"""Creating an attack thread: an ordinary thread record (engine/creation.py) with a non-admin
wallet holding SOL, both tokens and some LP of each side from deposits it makes itself."""
from __future__ import annotations

import logging

from engine import creation
from engine.attacks import CATEGORIES, set_categories

log = logging.getLogger(__name__)
DEFAULT_INITIAL_AMOUNT = 1_000_000


async def create_attack_thread(engine, pool_id: str, thread_id: str | None, initial_amount: int,
                               categories: list[str] | None) -> dict:
    unknown = sorted(set(categories or ()) - set(CATEGORIES))
    if unknown:
        from engine.exceptions import InvalidRequest

        raise InvalidRequest(f"unknown attack categories {unknown}; known: {list(CATEGORIES)}")
    # token A is minted by the ordinary funding (the kind's input token)
    created = await creation.create_thread(engine, "attack", pool_id, thread_id, initial_amount=initial_amount)
    thread = engine.registry.thread(created["thread_id"])
    set_categories(engine, thread, categories)
    pool = engine.registry.pool(pool_id)
    if initial_amount > 0:
        async with pool.lock:
            await engine.treasury.fund(thread, pool, "token_b", initial_amount)
            for side in ("A", "B"):  # its own LP, by its own deposits (a paused pool refuses: no LP then)
                result = await engine.client.deposit(thread.wallet, pool.addresses, pool.mint(side),
                                                     max(1, initial_amount // 4))
                if not result.ok:
                    log.info("%s: the LP deposit of side %s failed: %s", thread.thread_id, side, result.error_name)
        engine.save_threads()
        engine.save_engine_state()
    return created
