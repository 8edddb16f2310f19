"""A failed transaction is judged once: the chain reports the runtime's error unjudged, the
operation judges it with the operation and the pool's facts, and every later reader sees that
judgment."""
from __future__ import annotations

import pytest

from engine.chain import base
from engine.frt.constants import FLAG_EXACT_EXCHANGE_REQUIRED
from engine.operations import require_ok, run_verified
from engine.pools import PoolRecord, PoolRuntime
from engine.exceptions import OperationFailed
from engine.sandbox import make_world

X = 10**9


@pytest.fixture
def judgments(monkeypatch) -> list:
    calls = []

    def counting(failure, logs, **context):
        calls.append(context)
        return judge(failure, logs, **context)

    judge = base.judge
    monkeypatch.setattr(base, "judge", counting)
    return calls


def runtime(world, flags: int) -> PoolRuntime:
    pool = world.pool
    decimals = {str(world.mint_x): 9, str(world.mint_y): 6}
    record = PoolRecord(str(pool.pool_state), str(pool.token_a_mint), decimals[str(pool.token_a_mint)],
                        str(pool.token_b_mint), decimals[str(pool.token_b_mint)], pool.ratio_a, pool.ratio_b, flags)
    return PoolRuntime(record, world.client.program_id)


async def test_the_chain_reports_a_failure_without_judging_it(judgments):
    world = await make_world()
    trader = await world.user(x=X)

    result = await world.client.swap(trader, world.pool, world.mint_x, X, 160 * 10**6)  # beyond the liquidity

    assert not result.ok and judgments == []
    failure = result.failure
    assert failure.raw == {"InstructionError": [1, "InsufficientFunds"]}
    assert (failure.instruction_index, failure.instruction) == (1, "swap")
    assert failure.program_ids[1] == failure.frt_program_id == str(world.client.program_id)
    assert result.error_name == "InstructionError"
    assert (result.error.name, result.error.category) == ("InsufficientFunds", "expected")  # judged on first read
    assert result.error is result.error and len(judgments) == 1


async def test_the_operation_judges_once_with_the_pools_facts(judgments):
    world = await make_world(flags=FLAG_EXACT_EXCHANGE_REQUIRED)
    pool = runtime(world, FLAG_EXACT_EXCHANGE_REQUIRED)
    lp = await world.user(y=1_000 * 10**6)
    assert (await world.client.deposit(lp, world.pool, world.mint_y, 1_000 * 10**6)).ok
    trader = await world.user(x=X)
    token = "A" if pool.mint("A") == world.mint_x else "B"

    outcome = await run_verified(world.client, pool, trader, "swap", token, 1_234_567)  # leaves a remainder

    assert judgments == [{"operation": "swap", "exact_pool": True}]
    assert (outcome.error_name, outcome.verdict) == ("AmountMismatch", "expected")
    assert outcome.result.error.category == "expected"  # the operation's judgment, not the pool-blind one
    assert len(judgments) == 1


async def test_side_transactions_read_a_judged_error(judgments):
    world = await make_world()
    poor = await world.user(x=X)
    result = await world.client.burn_tokens(poor, world.mint_x, 2 * X)

    with pytest.raises(OperationFailed) as failed:
        require_ok(result, "burning")

    assert str(failed.value) == "burning failed: SplInsufficientFunds"
    assert failed.value.data["error"]["category"] == "unexpected" and len(judgments) == 1
