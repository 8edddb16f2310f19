"""A thread's status carries its recent transactions: every operation it ran, successes and
failures, newest first, at most 10; the same over the JSON-RPC API (and documented there)."""
from __future__ import annotations

from engine.config import ApiConfig
from engine.recorder import TRANSACTIONS_KEPT
from rpcapi.client import RpcClient
from rpcapi.server import ApiServer

X = 10**9  # one whole A token (9 decimals)
Y = 10**6  # one whole B token (6 decimals)
SPEC = {"token_a_decimals": 9, "token_b_decimals": 6, "ratio_whole_number": 160, "ratio_direction": "a_to_b"}
FIELDS = {"timestamp", "operation", "token_type", "amount_in", "token_in", "amount_out", "token_out", "ok", "outcome",
          "error_name", "error_code", "error_category", "signature", "latency_ms", "network_fee", "pool_fee"}


async def swap_that_failed_then_ran(engine) -> tuple[str, str]:
    """An A→B swap thread whose first cycle failed (the pool had no B yet) and whose second ran,
    after a deposit of B; returns (deposit thread, swap thread)."""
    pool_id = (await engine.create_pool(**SPEC))["pool_id"]
    deposit = (await engine.create_deposit_thread(pool_id, "B", 100_000 * Y))["thread_id"]
    swap = (await engine.create_swap_thread(pool_id, "a_to_b", 100 * X))["thread_id"]
    await engine.run_cycle(swap)
    await engine.run_cycle(deposit)
    await engine.run_cycle(swap)
    return deposit, swap


async def test_a_thread_status_lists_its_transactions_successes_and_failures_newest_first(open_engine):
    engine = await open_engine()
    deposit, swap = await swap_that_failed_then_ran(engine)
    transactions = (await engine.get_thread_status(swap))["recent_transactions"]
    assert [t["ok"] for t in transactions] == [True, False]  # newest first
    ran, failed = transactions
    assert set(ran) == FIELDS and set(failed) == FIELDS
    assert ran["operation"] == "swap" and ran["token_in"] == "token_a" and ran["token_out"] == "token_b"
    assert ran["amount_in"] > 0 and ran["amount_out"] > 0 and ran["outcome"] == "ok"
    assert ran["error_name"] is None and ran["latency_ms"] >= 0 and ran["network_fee"] > 0
    assert failed["outcome"] == "expected" and failed["error_name"] and failed["error_category"] == "expected"
    assert failed["amount_out"] == 0
    # the failure is the one the thread's recent errors name
    error = (await engine.get_thread_status(swap))["error_monitoring"]["recent_errors"][-1]
    assert error["transaction_signature"] == failed["signature"] != ran["signature"]
    assert ran["timestamp"] >= failed["timestamp"]
    healthy = (await engine.get_thread_status(deposit))["recent_transactions"]
    assert len(healthy) == 1 and healthy[0]["ok"] and healthy[0]["token_out"] == "lp_token_b"


async def test_recent_transactions_are_bounded_and_keep_the_newest(open_engine):
    engine = await open_engine()
    pool_id = (await engine.create_pool(**SPEC))["pool_id"]
    deposit = (await engine.create_deposit_thread(pool_id, "A", 1_000 * X))["thread_id"]
    signatures = []
    for _ in range(TRANSACTIONS_KEPT + 3):
        await engine.run_cycle(deposit)
        signatures.append((await engine.get_thread_status(deposit))["recent_transactions"][0]["signature"])
    transactions = (await engine.get_thread_status(deposit))["recent_transactions"]
    assert TRANSACTIONS_KEPT == 10 and len(transactions) == 10
    assert [t["signature"] for t in transactions] == signatures[::-1][:10]
    assert [t["timestamp"] for t in transactions] == sorted((t["timestamp"] for t in transactions), reverse=True)
    await engine.delete_thread(deposit)  # a deleted thread's ring goes with it
    assert engine.local.recorder.recent_transactions(deposit) == []


async def test_recent_transactions_over_the_json_rpc_api_as_documented(open_engine):
    engine = await open_engine()
    server = ApiServer(engine, ApiConfig.model_validate({"port": 0, "rate_limit_per_s": 0, "status_cache_ms": 0}),
                       engine.local.settings.data_dir)
    await server.start()
    try:
        _, swap = await swap_that_failed_then_ran(engine)
        async with RpcClient(server.url) as client:
            status = await client.call("get_thread_status", thread_id=swap)
            document = await client.call("rpc.discover")
        assert [t["ok"] for t in status["recent_transactions"]] == [True, False]
        assert status["recent_transactions"] == (await engine.get_thread_status(swap))["recent_transactions"]
        method = next(m for m in document["methods"] if m["name"] == "get_thread_status")
        documented = method["result"]["schema"]["properties"]["recent_transactions"]
        assert set(documented["items"]["required"]) == FIELDS and "newest first" in documented["description"]
    finally:
        await server.stop()
