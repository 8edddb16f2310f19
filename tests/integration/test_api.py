"""The JSON-RPC API over real HTTP on a loopback port, against an engine on the embedded chain:
every method (success and documented errors), the JSON-RPC protocol (batches, notifications,
ids, standard errors), security (API key, non-loopback refusal, allow-list, CORS, rate limit,
body limits, audit log), /health, /metrics, rpc.discover as OpenRPC, and the CLI commands."""
from __future__ import annotations

import asyncio
import datetime
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import zlib
from pathlib import Path

import aiohttp
import jsonschema
import pytest
from prometheus_client.parser import text_string_to_metric_families

from engine.chain.base import ChainError
from engine.config import ApiConfig
from rpcapi.auth import ApiConfigError, redact
from rpcapi.client import RpcCallError, RpcClient
from rpcapi.methods import ERRORS, METHODS
from rpcapi.server import ApiServer
from tests.integration.conftest import settle

X = 10**9
Y = 10**6
KEY = "test-api-key-0123456789"
UNKNOWN_POOL = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"  # a valid pubkey no pool uses
REPO = Path(__file__).resolve().parents[2]
TEST_API = {"port": 0, "rate_limit_per_s": 0, "status_cache_ms": 0}


@pytest.fixture
async def api(open_engine, tmp_path):
    """factory(**api_overrides) -> (engine, server) with the server listening on 127.0.0.1:<free port>."""
    servers: list[ApiServer] = []
    engines = {}

    async def factory(engine=None, **overrides):
        if engine is None:
            engine = engines.get("default") or await open_engine()
            engines.setdefault("default", engine)
        config = ApiConfig.model_validate(TEST_API | overrides)
        server = ApiServer(engine, config, engine.local.settings.data_dir)
        await server.start()
        servers.append(server)
        return engine, server

    yield factory
    for server in servers:
        await server.stop()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


async def post(http, url, payload=None, *, body=None, headers=None):
    """(HTTP status, decoded JSON or None, response headers)."""
    data = body if body is not None else json.dumps(payload)
    async with http.post(url, data=data, headers={"Content-Type": "application/json", **(headers or {})}) as resp:
        raw = await resp.read()
        return resp.status, (json.loads(raw) if raw else None), resp.headers


def call(method, params=None, request_id=1):
    request = {"jsonrpc": "2.0", "method": method, "id": request_id}
    if params is not None:
        request["params"] = params
    return request


async def error_of(client, method, **params):
    with pytest.raises(RpcCallError) as raised:
        await client.call(method, **params)
    return raised.value


async def state(engine):
    """What no rejected call may change."""
    return (sorted(engine.local.pools), {t: r.status for t, r in engine.local.threads.items()},
            await engine.list_pools(), dict(engine.local.minted), dict(engine.local.burned))


SPEC = {"token_a_decimals": 9, "token_b_decimals": 6, "ratio_whole_number": 160, "ratio_direction": "a_to_b"}


# =========================================================================== every method


async def test_every_method_succeeds_with_the_documented_shapes(api):
    engine, server = await api()
    results = {}
    async with RpcClient(server.url) as client:
        document = await client.call("rpc.discover")
        schemas = {m["name"]: m["result"]["schema"] for m in document["methods"]}

        async def run(method, *positional, **params):
            result = await client.call(method, list(positional)) if positional else await client.call(method, **params)
            jsonschema.validate(result, schemas[method])
            results.setdefault(method, result)
            return result

        pool = await run("create_pool", **SPEC)
        assert (pool["ratio_a_numerator"], pool["ratio_b_denominator"]) == (X, 160 * Y)
        assert pool["ratio_display"] == "1 Token A = 160 Token B"
        pool_id = pool["pool_id"]
        await run("create_pool")  # everything drawn at random
        assert len((await run("list_pools"))["pools"]) == 2
        detail = await run("get_pool", pool_id=pool_id)
        assert detail["liquidity"] == {"token_a": 0, "token_b": 0}

        deposit = await run("create_deposit_thread", pool_id=pool_id, token_type="A", initial_amount=1_000 * X,
                            auto_refill=True, share_lp_tokens=False)
        assert deposit["status"] == "created" and deposit["thread_id"] == "deposit_1"
        withdrawal = await run("create_withdrawal_thread", pool_id, "A")  # by position
        seller = await run("create_swap_thread", pool_id=pool_id, direction="a_to_b", initial_amount=10 * X)
        buyer = await run("create_swap_thread", pool_id, "b_to_a")  # initial_amount defaults to 0

        funded = await run("fund_thread", thread_id=withdrawal["thread_id"], funding_type="lp_tokens", amount=5 * X)
        assert funded["balances"]["lp_tokens"] == 5 * X
        await run("fund_thread", thread_id=buyer["thread_id"], funding_type="token_b", amount=100 * Y)
        await run("fund_thread", thread_id=seller["thread_id"], funding_type="sol", amount=X)
        recipient = "7EcDhSYGxXyscszYEp35KHN8vvw3svAuLKTzXwCFLtV"
        minted = await run("mint_and_send_tokens", pool_id=pool_id, token_type="B", recipient_address=recipient,
                           amount=5 * Y)
        assert minted["amount_minted"] == 5 * Y and minted["recipient_address"] == recipient

        started = await run("start_thread", thread_id=deposit["thread_id"])
        assert started["status"] == "running"
        await settle()
        status = await run("get_thread_status", deposit["thread_id"])
        assert status["statistics"]["successful_deposits"] == 1
        everything = await run("get_all_threads")
        assert everything["summary"]["total_threads"] == 4 and everything["summary"]["running_threads"] == 1
        assert len((await run("get_all_threads", pool_id=pool_id))["threads"]) == 4
        stopped = await run("stop_thread", thread_id=deposit["thread_id"])
        assert stopped["status"] == "stopped" and stopped["session_file"].startswith("session_")
        sessions = await run("get_thread_sessions", thread_id=deposit["thread_id"], limit=5)
        assert len(sessions["sessions"]) == 1
        stepped = await run("run_cycle", thread_id=withdrawal["thread_id"])  # stopped: stepped by hand
        assert stepped["operation"] == "withdraw" and stepped["ok"] and 1 <= stepped["amount"] <= 5 * X

        emptied = await run("empty_thread", thread_id=seller["thread_id"])
        assert emptied["post_empty_balances"]["token_a_balance"] == 0
        all_started = await run("start_all_threads", pool_id=pool_id)
        assert all_started["count"] == 4
        await settle()
        all_stopped = await run("stop_all_threads")
        assert sorted(all_stopped["stopped"]) == sorted(all_started["started"])
        assert (await run("delete_thread", thread_id=buyer["thread_id"]))["deleted"] is True

        wallet = await run("core_wallet_status")
        assert wallet["address"] == str(engine.local.core.pubkey) and wallet["airdrop_available"] is True
        airdrop = await run("airdrop_sol", lamports=X, address=recipient)
        assert airdrop["address"] == recipient
        await run("airdrop_sol", lamports=X)  # the core wallet
        findings = await run("get_findings", limit=10)
        assert findings["count"] == 0
        engine_status = await run("get_engine_status")
        assert engine_status["cluster"]["mode"] == "embedded-emulated"
        assert engine_status["program_id"] == str(engine.local.cluster.program_id)
        assert engine_status["throughput"]["total_operations"] >= 1 and engine_status["cpu_percent_per_core"]
        snapshot = await run("get_snapshot", feed_limit=5)
        assert {row["thread_id"] for row in snapshot["threads"]} == set(engine.local.threads)
        assert {row["pool_id"] for row in snapshot["pools"]} == set(engine.local.pools) and len(snapshot["feed"]) <= 5
        attacker = await run("create_attack_thread", pool_id=pool_id, initial_amount=1_000, categories=["admin"])
        assert attacker["thread_id"] == "attack_1" and attacker["status"] == "created"
        operator = await run("set_operator", enabled=False, interval_s=2.5)
        assert operator["enabled"] is False and operator["interval_s"] == 2.5
        assert (await run("get_operator"))["actions"] == 0

    assert set(results) | {"rpc.discover"} == set(METHODS)
    # Private keys never appear in an answer (raw bytes as JSON, or base58).
    answers = json.dumps(results)
    for wallet in [engine.local.core, *(t.wallet for t in engine.local.threads.values())]:
        assert json.dumps(list(wallet.secret())) not in answers and str(wallet.keypair) not in answers


async def test_documented_domain_errors(api, http, monkeypatch):
    engine, server = await api()
    async with RpcClient(server.url) as client:
        pool_id = (await client.call("create_pool", **SPEC))["pool_id"]
        swap = await client.call("create_swap_thread", pool_id=pool_id, direction="a_to_b", initial_amount=X)
        deposit = (await client.call("create_deposit_thread", pool_id=pool_id, token_type="A",
                                     initial_amount=X))["thread_id"]
        before = await state(engine)

        duplicate = await error_of(client, "create_swap_thread", pool_id=pool_id, direction="a_to_b")
        assert duplicate.code == -1001
        assert duplicate.message == f"Swap thread for direction 'a_to_b' already exists for pool {pool_id}"

        for method, params in (("get_pool", {}), ("create_withdrawal_thread", {"token_type": "A"}),
                               ("create_deposit_thread", {"token_type": "B"}),
                               ("create_swap_thread", {"direction": "b_to_a"}), ("get_all_threads", {}),
                               ("start_all_threads", {}), ("stop_all_threads", {}),
                               ("mint_and_send_tokens", {"token_type": "A", "amount": 1,
                                                         "recipient_address": UNKNOWN_POOL})):
            missing = await error_of(client, method, pool_id=UNKNOWN_POOL, **params)
            assert missing.code == -1002, method
        assert missing.message == f"Pool {UNKNOWN_POOL} not found in registry"

        for method in ("start_thread", "stop_thread", "delete_thread", "empty_thread", "get_thread_status",
                       "get_thread_sessions"):
            assert (await error_of(client, method, thread_id="deposit_99")).code == -1004, method
        assert (await error_of(client, "fund_thread", thread_id="swap_42", funding_type="sol", amount=1)).code == -1004

        await client.call("start_thread", thread_id=deposit)
        running = await error_of(client, "delete_thread", thread_id=deposit)
        assert running.code == -1005 and "stop it first" in running.message
        engine.local.enter_error_state(engine.local.threads[deposit], {"error": "test", "at": "now"})
        await settle()
        errored = await error_of(client, "empty_thread", thread_id=deposit)
        assert errored.code == -1003
        assert errored.message == f"Cannot empty thread {deposit}: thread is in error state"
        before = await state(engine)

        too_much = await error_of(client, "fund_thread", thread_id=swap["thread_id"], funding_type="sol",
                                  amount=2**63)  # more SOL than the core wallet has: refused before sending
        assert too_much.code == -32602 and "ask for less" in too_much.message
        failed = await error_of(client, "fund_thread", thread_id=swap["thread_id"], funding_type="lp_tokens",
                                amount=2**64 - 1)  # more LP than anyone holds: the chain refuses it
        assert failed.code == -1007 and failed.data["error"] and failed.data["signature"]

        overflow = await error_of(client, "create_pool", token_b_decimals=6, ratio_whole_number=2**64 - 1,
                                  ratio_direction="a_to_b")  # token A decimals drawn: the engine refuses
        assert overflow.code == -1010

        monkeypatch.setattr(engine.local.settings.wallet, "min_core_lamports", 10**19)
        poor = await error_of(client, "create_withdrawal_thread", pool_id=pool_id, token_type="B")
        assert poor.code == -1009 and "core wallet" in poor.message
        monkeypatch.undo()

        monkeypatch.setattr(engine.local.cluster, "supports_airdrop", False)
        assert (await error_of(client, "airdrop_sol", lamports=X)).code == -1014
        monkeypatch.undo()

        async def unreachable(*args, **kwargs):
            raise ChainError("connection refused")

        monkeypatch.setattr(engine.local.cluster, "get_balance", unreachable)
        down = await error_of(client, "core_wallet_status")
        assert down.code == -1008 and "connection refused" in down.message
        monkeypatch.undo()

        def crash():
            raise RuntimeError("internal detail that must not leak")

        monkeypatch.setattr(engine.local, "list_pools", crash)
        status, answer, _ = await post(http, server.url, call("list_pools"))
        assert status == 200 and answer["error"] == {"code": -32603, "message": "Internal error"}
        assert "Traceback" not in json.dumps(answer) and "must not leak" not in json.dumps(answer)
        monkeypatch.undo()
        assert await state(engine) == before


BAD_PARAMS = [
    ("create_pool", {"token_a_decimals": -1}),
    ("create_pool", {"token_a_decimals": 19}),
    ("create_pool", {"token_a_decimals": 9.0}),
    ("create_pool", {"ratio_whole_number": 0}),
    ("create_pool", {"ratio_direction": "sideways"}),
    ("create_pool", {"flags": 1}),
    ("create_pool", {"colour": "red"}),
    ("create_pool", {"token_a_decimals": 18, "token_b_decimals": 18, "ratio_whole_number": 10**9,
                     "ratio_direction": "a_to_b"}),  # the ratio overflows u64
    ("create_pool", [1, 2, 3, "a_to_b", 0, "extra"]),  # too many positional params
    ("create_deposit_thread", {"pool_id": "@POOL", "token_type": "A", "initial_amount": -1}),
    ("create_deposit_thread", {"pool_id": "@POOL", "token_type": "A", "initial_amount": 1.0}),
    ("create_deposit_thread", {"pool_id": "@POOL", "token_type": "A", "initial_amount": 2**64}),
    ("create_deposit_thread", {"pool_id": "@POOL", "token_type": "A", "initial_amount": "100"}),
    ("create_deposit_thread", {"pool_id": "@POOL", "token_type": "A", "initial_amount": True}),
    ("create_deposit_thread", {"pool_id": "@POOL", "token_type": "C"}),
    ("create_deposit_thread", {"pool_id": "@POOL", "token_type": "A", "auto_refill": True}),  # needs an amount
    ("create_deposit_thread", {"pool_id": "@POOL", "token_type": "A", "auto_refill": "yes"}),
    ("create_deposit_thread", {"pool_id": "not-a-pubkey", "token_type": "A"}),
    ("create_deposit_thread", {"pool_id": "1" * 44, "token_type": "A"}),  # base58, but not 32 bytes
    ("create_deposit_thread", {"token_type": "A"}),
    ("create_withdrawal_thread", {"pool_id": "@POOL", "token_type": "a"}),
    ("create_withdrawal_thread", {"pool_id": 12345, "token_type": "A"}),
    ("create_swap_thread", {"pool_id": "@POOL", "direction": "a_to_c"}),
    ("create_swap_thread", {"pool_id": "@POOL", "direction": "a_to_b", "initial_amount": 1e30}),
    ("start_thread", {"thread_id": "thread_1"}),
    ("start_thread", {"thread_id": 1}),
    ("start_thread", {}),
    ("stop_thread", {"thread_id": "deposit_1", "force": True}),
    ("delete_thread", {"thread_id": "deposit_1/../../etc"}),
    ("empty_thread", {"thread_id": None}),
    ("fund_thread", {"thread_id": "deposit_1", "funding_type": "sol", "amount": 0}),
    ("fund_thread", {"thread_id": "deposit_1", "funding_type": "sol", "amount": -5}),
    ("fund_thread", {"thread_id": "deposit_1", "funding_type": "gold", "amount": 5}),
    ("fund_thread", {"thread_id": "deposit_1", "funding_type": "sol", "amount": 18446744073709551616}),
    ("mint_and_send_tokens", {"pool_id": "@POOL", "token_type": "A", "recipient_address": "nope", "amount": 5}),
    ("mint_and_send_tokens", {"pool_id": "@POOL", "token_type": "A", "recipient_address": UNKNOWN_POOL,
                              "amount": 0.5}),
    ("get_thread_sessions", {"thread_id": "deposit_1", "limit": 0}),
    ("get_findings", {"limit": -1}),
    ("airdrop_sol", {"lamports": 0}),
    ("airdrop_sol", {"lamports": 10, "address": "xyz"}),
    ("list_pools", {"unexpected": 1}),
    ("list_pools", [1]),
    ("get_all_threads", {"pool_id": ["@POOL"]}),
]


async def test_invalid_params_are_refused_with_their_detail_and_change_nothing(api, http):
    engine, server = await api()
    pool_id = (await engine.create_pool(**SPEC))["pool_id"]
    await engine.create_deposit_thread(pool_id, "A", X)
    before = await state(engine)
    audit = engine.local.settings.data_dir / "audit.log"
    audit_lines = len(audit.read_text().splitlines()) if audit.exists() else 0
    for index, (method, params) in enumerate(BAD_PARAMS):
        params = json.loads(json.dumps(params).replace("@POOL", pool_id))
        status, answer, _ = await post(http, server.url, call(method, params, index))
        assert status == 200 and answer["id"] == index, (method, params)
        error = answer["error"]
        assert error["code"] == -32602 and error["message"].startswith("Invalid params"), (method, params, answer)
        assert all({"loc", "msg", "type"} <= set(item) for item in error["data"]), error
        assert all("input" not in item for item in error["data"])  # the input is never echoed
    assert await state(engine) == before
    # Refused state-changing calls are audited too, with their outcome.
    audited = [json.loads(line) for line in
               (engine.local.settings.data_dir / "audit.log").read_text().splitlines()[audit_lines:]]
    assert audited and {entry["outcome"] for entry in audited} == {"-32602"}
    assert {entry["method"] for entry in audited} <= {name for name, m in METHODS.items() if m.state_changing}


# =========================================================================== protocol


async def test_jsonrpc_protocol_errors_ids_and_notifications(api, http):
    engine, server = await api()
    url = server.url
    status, answer, _ = await post(http, url, body=b'{"jsonrpc": "2.0", "method": "list_pools", "id": 1')
    assert status == 200 and answer == {"jsonrpc": "2.0", "id": None,
                                        "error": {"code": -32700, "message": "Parse error"}}
    for body in (b"\xff\xfe", b'{"jsonrpc": "2.0", "id": NaN}', b"[1e999]", b"", b"[" * 100_000):
        assert (await post(http, url, body=body))[1]["error"]["code"] == -32700, body[:20]

    invalid = [{"method": "list_pools", "id": 1}, {"jsonrpc": "1.0", "method": "list_pools", "id": 2},
               {"jsonrpc": "2.0", "method": 7, "id": 3}, {"jsonrpc": "2.0", "method": "list_pools", "params": "x",
                                                          "id": 4},
               {"jsonrpc": "2.0", "method": "list_pools", "params": None, "id": 5}, "a string", 42, None]
    for request in invalid:
        status, answer, _ = await post(http, url, request)
        assert status == 200 and answer["error"]["code"] == -32600, request
        expected_id = request.get("id") if isinstance(request, dict) else None
        assert answer["id"] == expected_id
    for bad_id in ({"a": 1}, [1], True):
        answer = (await post(http, url, {"jsonrpc": "2.0", "method": "list_pools", "id": bad_id}))[1]
        assert answer["error"]["code"] == -32600 and answer["id"] is None

    answer = (await post(http, url, call("no_such_method", {}, "abc")))[1]
    assert answer == {"jsonrpc": "2.0", "id": "abc", "error": {"code": -32601,
                                                               "message": "Method not found: no_such_method"}}

    for request_id in ("req-1", 7, -3, 2.5, None, 2**70):
        status, answer, _ = await post(http, url, call("list_pools", {}, request_id))
        assert status == 200 and answer["id"] == request_id and answer["result"] == {"pools": []}
    assert (await post(http, url, {"jsonrpc": "2.0", "method": "list_pools", "id": 1}))[1]["result"]  # no params

    # A notification is executed and answered with nothing.
    pool_id = (await engine.create_pool(**SPEC))["pool_id"]
    status, answer, _ = await post(http, url, {"jsonrpc": "2.0", "method": "create_withdrawal_thread",
                                               "params": {"pool_id": pool_id, "token_type": "B"}})
    assert (status, answer) == (204, None) and "withdrawal_1" in engine.local.threads
    for notification in ({"jsonrpc": "2.0", "method": "nope"}, {"jsonrpc": "2.0", "method": "start_thread",
                                                                  "params": {"thread_id": 5}}):
        assert (await post(http, url, notification))[:2] == (204, None)  # errors of notifications too

    # A batch mixing valid calls, invalid entries, an unknown method and notifications.
    batch = [call("list_pools", {}, 1),
             {"jsonrpc": "2.0", "method": "create_deposit_thread", "params": {"pool_id": pool_id, "token_type": "A"}},
             call("create_deposit_thread", {"pool_id": pool_id, "token_type": "A", "initial_amount": -1}, "bad"),
             {"jsonrpc": "2.0", "id": 3},
             7,
             call("get_thread_status", ["deposit_1"], 4),
             call("nope", None, 5),
             {"jsonrpc": "2.0", "method": "get_engine_status"}]
    status, answers, _ = await post(http, url, batch)
    assert status == 200 and isinstance(answers, list)
    assert [a["id"] for a in answers] == [1, "bad", 3, None, 4, 5]
    assert "result" in answers[0] and answers[1]["error"]["code"] == -32602
    assert answers[2]["error"]["code"] == -32600 and answers[3]["error"]["code"] == -32600
    assert answers[4]["result"]["thread_id"] == "deposit_1"  # created by the notification before it
    assert answers[5]["error"]["code"] == -32601
    for answer in answers:
        assert answer["jsonrpc"] == "2.0" and ("result" in answer) != ("error" in answer)

    assert (await post(http, url, [{"jsonrpc": "2.0", "method": "list_pools"}] * 3))[:2] == (204, None)
    assert (await post(http, url, []))[1] == {"jsonrpc": "2.0", "id": None, "error": {
        "code": -32600, "message": "Invalid Request: empty batch"}}
    too_long = (await post(http, url, [call("list_pools", {}, i) for i in range(101)]))[1]
    assert too_long["error"]["code"] == -32600 and "max_batch" in too_long["error"]["message"]

    async with RpcClient(url) as client:
        answers = await client.batch([("list_pools", {}), ("get_thread_status", {"thread_id": "swap_9"})])
        assert "pools" in answers[0] and isinstance(answers[1], RpcCallError) and answers[1].code == -1004
        await client.notify("create_withdrawal_thread", pool_id=pool_id, token_type="A")
        assert "withdrawal_2" in engine.local.threads


async def test_oversized_malformed_and_wrongly_typed_bodies(api, http):
    engine, server = await api(max_body_bytes=4096)
    status, answer, _ = await post(http, server.url, body=b'{"jsonrpc":"2.0","method":"list_pools","x":"'
                                                         + b"a" * 5000 + b'","id":1}')
    assert status == 413 and answer["error"]["code"] == -32600 and "max_body_bytes" in answer["error"]["message"]
    async with http.post(server.url, data=json.dumps(call("list_pools")),
                         headers={"Content-Type": "text/plain"}) as response:  # a "simple" cross-site request
        assert response.status == 415 and (await response.json())["error"]["code"] == -32600
    async with http.get(server.url) as response:
        assert response.status == 405
    async with http.post(server.url.replace("/rpc", "/nope"), data="{}") as response:
        assert response.status == 404
    assert (await post(http, server.url, call("list_pools")))[0] == 200  # still serving


# =========================================================================== security


async def test_api_key_is_required_on_every_endpoint_and_a_refused_call_changes_nothing(api, http):
    engine, server = await api(api_key=KEY)
    create = call("create_pool", SPEC)
    for headers in ({}, {"Authorization": "Bearer wrong-key-wrong-key"}, {"X-API-Key": KEY[:-1]},
                    {"Authorization": KEY}, {"Authorization": f"Basic {KEY}"}):
        status, answer, response_headers = await post(http, server.url, create, headers=headers)
        assert status == 401, headers
        assert answer["jsonrpc"] == "2.0" and answer["id"] is None and answer["error"]["code"] == -1011
        assert response_headers["WWW-Authenticate"].startswith("Bearer")
    assert engine.local.pools == {}
    for path in ("/health", "/metrics"):
        async with http.get(server.url.replace("/rpc", path)) as response:
            assert response.status == 401
        async with http.get(server.url.replace("/rpc", path), headers={"X-API-Key": KEY}) as response:
            assert response.status == 200

    assert (await post(http, server.url, create, headers={"Authorization": f"Bearer {KEY}"}))[0] == 200
    assert (await post(http, server.url, call("list_pools"), headers={"X-API-Key": KEY}))[1]["result"]["pools"]
    async with RpcClient(server.url, api_key=KEY) as client:
        assert len((await client.call("list_pools"))["pools"]) == 1
    async with RpcClient(server.url) as client:
        refused = await error_of(client, "list_pools")
        assert (refused.code, refused.http_status) == (-1011, 401)

    audit = [json.loads(line) for line in (engine.local.settings.data_dir / "audit.log").read_text().splitlines()]
    assert sum(entry.get("reason") == "Unauthorized" for entry in audit) >= 5
    assert KEY not in (engine.local.settings.data_dir / "audit.log").read_text()
    created = [entry for entry in audit if entry.get("method") == "create_pool"]
    assert len(created) == 1 and created[0]["outcome"] == "ok" and created[0]["client"] == "127.0.0.1"
    assert created[0]["params"] == SPEC and created[0]["time"].endswith("Z")


async def test_listening_beyond_loopback_needs_an_api_key(open_engine, tmp_path, monkeypatch, capsys):
    engine = await open_engine()
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.com"):
        with pytest.raises(ApiConfigError) as raised:
            ApiServer(engine, ApiConfig(host=host, port=0), tmp_path)
        assert f"refusing to listen on {host} without an API key" in str(raised.value)
        assert "api.api_key" in str(raised.value) and "FRT_STRESS_API__API_KEY" in str(raised.value)
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        ApiServer(engine, ApiConfig(host=host, port=0), tmp_path)
    server = ApiServer(engine, ApiConfig(host="0.0.0.0", port=0, api_key=KEY), tmp_path)
    host, port = await server.start()
    assert port > 0
    await server.stop()
    with pytest.raises(ValueError, match="at least 16 characters"):
        ApiConfig(api_key="short")

    # The serve command refuses before it opens anything.
    from console.api_commands import serve

    settings = engine.settings.model_copy(update={"data_dir": tmp_path / "never"})
    assert await serve(settings, host="0.0.0.0", port=0) == 2
    assert "refusing to listen on 0.0.0.0 without an API key" in capsys.readouterr().err
    assert not (tmp_path / "never").exists()


async def test_allow_list_and_cors(api, http):
    engine, server = await api(allowed_ips=["10.0.0.0/8", "192.168.0.0/16"])
    status, answer, _ = await post(http, server.url, call("list_pools"))
    assert status == 403 and answer["error"]["code"] == -1012 and "allowed_ips" in answer["error"]["message"]
    _, server = await api(allowed_ips=["127.0.0.0/8"])
    assert (await post(http, server.url, call("list_pools")))[0] == 200

    # No CORS origins configured: browsers' cross-site requests are refused outright.
    status, answer, headers = await post(http, server.url, call("list_pools"), headers={"Origin": "http://evil.test"})
    assert status == 403 and answer["error"]["code"] == -1012 and "Access-Control-Allow-Origin" not in headers

    _, server = await api(cors_origins=["http://localhost:3000"], api_key=KEY)
    async with http.options(server.url, headers={"Origin": "http://localhost:3000",
                                                 "Access-Control-Request-Method": "POST",
                                                 "Access-Control-Request-Headers": "content-type,x-api-key"}) as resp:
        assert resp.status == 204  # a preflight needs no key
        assert resp.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
        assert "X-API-Key" in resp.headers["Access-Control-Allow-Headers"]
    status, answer, headers = await post(http, server.url, call("list_pools"),
                                         headers={"Origin": "http://localhost:3000", "X-API-Key": KEY})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    status, _, headers = await post(http, server.url, call("list_pools"), headers={"Origin": "http://localhost:3000"})
    assert status == 401 and headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    async with http.options(server.url, headers={"Origin": "http://other.test"}) as resp:
        assert resp.status == 403


async def test_rate_limit_per_client(api, http):
    engine, server = await api(rate_limit_per_s=1, rate_limit_burst=3)
    statuses = [(await post(http, server.url, call("list_pools")))[0] for _ in range(3)]
    assert statuses == [200, 200, 200]
    status, answer, headers = await post(http, server.url, call("create_pool", SPEC))
    assert status == 429 and answer["error"]["code"] == -1013 and int(headers["Retry-After"]) >= 1
    assert engine.local.pools == {}
    await asyncio.sleep(1.1)
    assert (await post(http, server.url, call("list_pools")))[0] == 200
    await asyncio.sleep(2.1)  # the bucket holds 3 again: a batch of 5 costs 5
    status, answer, _ = await post(http, server.url, [call("list_pools", {}, i) for i in range(5)])
    assert status == 429 and answer["error"]["code"] == -1013


async def test_tls(api, tmp_path, http):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    with pytest.raises(ValueError, match="together"):
        ApiConfig(tls_cert=cert_path)
    _, server = await api(tls_cert=str(cert_path), tls_key=str(key_path))
    assert server.url.startswith("https://")
    async with RpcClient(server.url, ssl_context=ssl.create_default_context(cafile=str(cert_path))) as client:
        assert await client.call("list_pools") == {"pools": []}
    with pytest.raises(aiohttp.ClientError):  # an untrusted certificate is refused by default
        await post(http, server.url, call("list_pools"))


def test_redaction():
    assert redact({"api_key": "k", "params": {"passphrase": "p", "Secret": 1, "amount": 5,
                                              "nested": [{"privateKey": "x", "token_type": "A"}]}}) == {
        "api_key": "***", "params": {"passphrase": "***", "Secret": "***", "amount": 5,
                                     "nested": [{"privateKey": "***", "token_type": "A"}]}}


async def test_audit_log_records_state_changing_calls_only(api, http):
    engine, server = await api()
    async with RpcClient(server.url) as client:
        pool_id = (await client.call("create_pool", **SPEC))["pool_id"]
        await client.call("list_pools")
        await client.call("get_all_threads")
        await error_of(client, "start_thread", thread_id="deposit_5")
        await client.call("create_withdrawal_thread", pool_id=pool_id, token_type="A")
    status, _, _ = await post(http, server.url, call("create_withdrawal_thread", {"pool_id": pool_id, "token_type": "B",
                                                                                  "api_key": "hunter2-hunter2"}))
    lines = (engine.local.settings.data_dir / "audit.log").read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    assert [(e["method"], e["outcome"]) for e in entries] == [
        ("create_pool", "ok"), ("start_thread", "-1004"), ("create_withdrawal_thread", "ok"),
        ("create_withdrawal_thread", "-32602")]
    assert entries[-1]["params"]["api_key"] == "***" and "hunter2" not in "\n".join(lines)
    assert all(e["client"] == "127.0.0.1" and "time" in e and "id" in e for e in entries)
    assert oct((engine.local.settings.data_dir / "audit.log").stat().st_mode & 0o777) == "0o600"


async def test_status_reads_are_cached_until_a_state_change(api):
    engine, server = await api(status_cache_ms=60_000)
    async with RpcClient(server.url) as client:
        pool_id = (await client.call("create_pool", **SPEC))["pool_id"]
        first = await client.call("get_all_threads")
        await engine.create_deposit_thread(pool_id, "A", 0)  # behind the API's back: not seen yet
        assert await client.call("get_all_threads") == first
        concurrent = await asyncio.gather(*(client.call("get_all_threads") for _ in range(20)))
        assert all(answer == first for answer in concurrent)
        await client.call("create_withdrawal_thread", pool_id=pool_id, token_type="A")  # through the API
        assert (await client.call("get_all_threads"))["summary"]["total_threads"] == 2


async def test_an_expired_status_answer_is_served_while_a_fresh_one_is_computed(api):
    engine, server = await api(status_cache_ms=1000)
    async with RpcClient(server.url) as client:
        pool_id = (await client.call("create_pool", **SPEC))["pool_id"]
        first = await client.call("get_all_threads")
        await engine.create_deposit_thread(pool_id, "A", 0)
        await asyncio.sleep(1.1)  # expired, but within the next period
        assert await client.call("get_all_threads") == first  # no wait: the old answer ...
        await asyncio.sleep(0.1)  # ... while the new one is computed in the background
        assert (await client.call("get_all_threads"))["summary"]["total_threads"] == 1


async def test_large_cached_answers_are_sent_deflated(api, monkeypatch):
    import rpcapi.server

    monkeypatch.setattr(rpcapi.server, "COMPRESS_ABOVE", 200)
    engine, server = await api(status_cache_ms=60_000)
    pool_id = (await engine.create_pool(**SPEC))["pool_id"]
    for side in "AB":
        await engine.create_withdrawal_thread(pool_id, side)
    async with aiohttp.ClientSession(auto_decompress=False) as raw:
        answers = []
        for request_id in (7, "x" * 70_000, None):  # a long id spans several stored deflate blocks
            async with raw.post(server.url, data=json.dumps(call("get_all_threads", {}, request_id)),
                                headers={"Content-Type": "application/json", "Accept-Encoding": "gzip, deflate"}) as resp:
                assert resp.headers["Content-Encoding"] == "deflate"
                answer = json.loads(zlib.decompress(await resp.read()))
                assert answer["id"] == request_id and answer["result"]["summary"]["total_threads"] == 2
                answers.append(answer["result"])
        async with raw.post(server.url, data=json.dumps(call("get_all_threads")),
                            headers={"Content-Type": "application/json", "Accept-Encoding": "identity"}) as resp:
            assert "Content-Encoding" not in resp.headers
            assert (await resp.json())["result"] == answers[0] == answers[1]
        async with raw.post(server.url, data=json.dumps([call("get_all_threads", {}, 1), call("list_pools", {}, 2)]),
                            headers={"Content-Type": "application/json", "Accept-Encoding": "deflate"}) as resp:
            assert "Content-Encoding" not in resp.headers and (await resp.json())[0]["result"] == answers[0]
    async with RpcClient(server.url) as client:  # aiohttp inflates it transparently
        assert await client.call("get_all_threads") == answers[0]


# =========================================================================== health, metrics, discover


async def test_health_and_metrics(api, http, monkeypatch):
    engine, server = await api()
    base = server.url.removesuffix("/rpc")
    async with RpcClient(server.url) as client:
        pool_id = (await client.call("create_pool", **SPEC))["pool_id"]
        thread_id = (await client.call("create_deposit_thread", pool_id=pool_id, token_type="A",
                                       initial_amount=X))["thread_id"]
        await engine.run_cycle(thread_id)
        await client.call("start_thread", thread_id=thread_id)
        await error_of(client, "get_pool", pool_id=UNKNOWN_POOL)
    async with http.get(f"{base}/health") as response:
        health = await response.json()
        assert response.status == 200 and health["status"] == "ok" and health["chain"]["ok"] is True

    async def down():
        raise ChainError("node unreachable")

    monkeypatch.setattr(engine.local.cluster, "get_latest_blockhash", down)
    async with http.get(f"{base}/health") as response:
        health = await response.json()
        assert response.status == 503 and health["chain"]["ok"] is False and "unreachable" in health["chain"]["error"]
    monkeypatch.undo()

    async with http.get(f"{base}/metrics") as response:
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    assert samples[("frt_operations_total", (("operation", "deposit"), ("outcome", "ok")))] >= 1
    assert samples[("frt_threads", (("state", "running"),))] == 1
    assert samples[("frt_pools", ())] == 1
    assert samples[("frt_rpc_requests_total", (("method", "create_pool"), ("outcome", "ok")))] == 1
    assert samples[("frt_rpc_requests_total", (("method", "get_pool"), ("outcome", "-1002")))] == 1
    assert samples[("frt_operation_latency_seconds_count", (("operation", "deposit"),))] >= 1
    assert samples[("frt_operation_latency_seconds_bucket", (("le", "+Inf"), ("operation", "deposit")))] >= 1
    assert any(name == "frt_cpu_percent" for name, _ in samples)
    for name in ("frt_findings", "frt_errors", "frt_rpc_request_duration_seconds", "frt_http_rejected"):
        assert f"# TYPE {name}" in text


OPENRPC_META = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["openrpc", "info", "methods"],
    "additionalProperties": False,
    "patternProperties": {"^x-": {}},
    "properties": {
        "openrpc": {"type": "string", "pattern": r"^1\.[0-3]\.\d+$"},
        "info": {"type": "object", "required": ["title", "version"], "properties": {
            "title": {"type": "string"}, "version": {"type": "string"}, "description": {"type": "string"}}},
        "servers": {"type": "array", "items": {"type": "object", "required": ["url"],
                                               "properties": {"name": {"type": "string"}, "url": {"type": "string"}}}},
        "methods": {"type": "array", "items": {"$ref": "#/definitions/method"}},
        "components": {"type": "object", "additionalProperties": False, "properties": {
            "schemas": {"type": "object"},
            "errors": {"type": "object", "additionalProperties": {"$ref": "#/definitions/error"}}}},
    },
    "definitions": {
        "method": {"type": "object", "required": ["name", "params"], "additionalProperties": False,
                   "patternProperties": {"^x-": {}}, "properties": {
                       "name": {"type": "string", "minLength": 1}, "summary": {"type": "string"},
                       "description": {"type": "string"},
                       "paramStructure": {"enum": ["by-name", "by-position", "either"]},
                       "params": {"type": "array", "items": {"$ref": "#/definitions/contentDescriptor"}},
                       "result": {"$ref": "#/definitions/contentDescriptor"},
                       "errors": {"type": "array", "items": {"$ref": "#/definitions/error"}},
                       "deprecated": {"type": "boolean"}}},
        "contentDescriptor": {"type": "object", "required": ["name", "schema"], "additionalProperties": False,
                              "patternProperties": {"^x-": {}}, "properties": {
                                  "name": {"type": "string", "minLength": 1}, "summary": {"type": "string"},
                                  "description": {"type": "string"}, "required": {"type": "boolean"},
                                  "schema": {"type": ["object", "boolean"]}, "deprecated": {"type": "boolean"}}},
        "error": {"type": "object", "required": ["code", "message"], "additionalProperties": False,
                  "properties": {"code": {"type": "integer"}, "message": {"type": "string"}, "data": {}}},
    },
}


async def test_rpc_discover_is_a_valid_openrpc_document_listing_every_method(api):
    _, server = await api()
    async with RpcClient(server.url) as client:
        document = await client.call("rpc.discover")
    jsonschema.Draft7Validator(OPENRPC_META).validate(document)
    names = [method["name"] for method in document["methods"]]
    assert names == list(METHODS) and len(set(names)) == len(names)
    assert document["servers"][0]["url"] == server.url
    for method in document["methods"]:
        params = method["params"]
        assert len({p["name"] for p in params}) == len(params)
        required = [p.get("required", False) for p in params]
        assert required == sorted(required, reverse=True), method["name"]  # required params come first
        for descriptor in [*params, method["result"]]:
            # Each schema is a valid JSON schema whose references resolve inside the document.
            wrapped = {**descriptor["schema"], "components": document["components"]}
            jsonschema.Draft7Validator.check_schema(wrapped)
        assert {error["code"] for error in method["errors"]} <= set(ERRORS)
    expected = {
        "create_deposit_thread": [("pool_id", True), ("token_type", True), ("initial_amount", False),
                                  ("auto_refill", False), ("share_lp_tokens", False)],
        "fund_thread": [("thread_id", True), ("funding_type", True), ("amount", True)],
    }
    by_name = {method["name"]: method for method in document["methods"]}
    for name, fields in expected.items():
        assert [(p["name"], p["required"]) for p in by_name[name]["params"]] == fields
    amount = by_name["fund_thread"]["params"][2]["schema"]
    assert (amount["type"], amount["minimum"], amount["maximum"]) == ("integer", 1, 2**64 - 1)
    assert by_name["fund_thread"]["params"][1]["schema"]["enum"] == ["sol", "token_a", "token_b", "lp_tokens"]
    assert by_name["fund_thread"]["x-state-changing"] is True and by_name["list_pools"]["x-state-changing"] is False
    # The documented param schemas accept what the server accepts (by JSON schema, before the engine).
    validator = jsonschema.Draft7Validator({"components": document["components"], **{
        "type": "object", "additionalProperties": False,
        "properties": {p["name"]: p["schema"] for p in by_name["create_swap_thread"]["params"]},
        "required": [p["name"] for p in by_name["create_swap_thread"]["params"] if p["required"]]}})
    assert validator.is_valid({"pool_id": UNKNOWN_POOL, "direction": "a_to_b", "initial_amount": 5})
    assert not validator.is_valid({"pool_id": UNKNOWN_POOL, "direction": "a_to_b", "initial_amount": -5})
    assert not validator.is_valid({"pool_id": UNKNOWN_POOL, "direction": "up"})


# =========================================================================== the commands


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_and_rpc_commands(tmp_path, monkeypatch, capsys):
    from console.cli import main

    for name in list(os.environ):
        if name.startswith("FRT_STRESS_"):
            monkeypatch.delenv(name)
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "FRT_STRESS_CONFIG": str(tmp_path / "none.toml"),
           "FRT_STRESS_DATA_DIR": str(tmp_path / "data"), "FRT_STRESS_API__PORT": str(port),
           "FRT_STRESS_API__API_KEY": KEY, "FRT_STRESS_ENGINE__PACING_MIN_MS": "3600000",
           "FRT_STRESS_ENGINE__PACING_MAX_MS": "3600000", "FRT_STRESS_ENGINE__SEED": "3"}
    (tmp_path / "none.toml").write_text("")
    daemon = subprocess.Popen([sys.executable, "-m", "console.cli", "serve"], env=env, cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        printed = [daemon.stdout.readline() for _ in range(1)]
        while printed[-1] and "listening on" not in printed[-1]:
            printed.append(daemon.stdout.readline())
        assert f"listening on http://127.0.0.1:{port}/rpc" in printed[-1], "".join(printed) + daemon.stderr.read()
        monkeypatch.setenv("FRT_STRESS_CONFIG", str(tmp_path / "none.toml"))
        monkeypatch.setenv("FRT_STRESS_API__PORT", str(port))
        monkeypatch.setenv("FRT_STRESS_API__API_KEY", KEY)
        capsys.readouterr()

        assert main(["rpc", "create_pool", "token_a_decimals=9", "token_b_decimals=6", "ratio_whole_number=160",
                     "ratio_direction=a_to_b"]) == 0
        pool = json.loads(capsys.readouterr().out)
        assert pool["ratio_display"] == "1 Token A = 160 Token B"
        assert main(["rpc", "create_deposit_thread", f"pool_id={pool['pool_id']}", "token_type=A",
                     "initial_amount=1000000000", "auto_refill=true"]) == 0
        thread_id = json.loads(capsys.readouterr().out)["thread_id"]
        assert main(["rpc", "start_thread", thread_id]) == 0  # by position
        assert json.loads(capsys.readouterr().out)["status"] == "running"
        assert main(["rpc", "get_thread_status", "thread_id=deposit_77"]) == 1
        error = json.loads(capsys.readouterr().err)["error"]
        assert error["code"] == -1004
        assert main(["rpc", "list_pools", "--api-key", "wrong-key-wrong-key"]) == 1
        assert json.loads(capsys.readouterr().err)["error"]["code"] == -1011
        assert main(["rpc", "--list"]) == 0
        listing = capsys.readouterr().out
        for name in METHODS:
            assert name in listing
        assert main(["rpc", "list_pools", "--url", f"http://127.0.0.1:{_free_port()}/rpc"]) == 2
        assert "cannot reach" in capsys.readouterr().err

        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=60) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    data = tmp_path / "data"
    # serve runs the threads in shard processes by default: each keeps its state under shards/<n>/
    assert list(data.glob(f"shards/*/sessions/{thread_id}/session_*.json"))  # its session was written
    (threads_file,) = [path for path in data.glob("shards/*/threads.json")
                       if thread_id in json.loads(path.read_text())["threads"]]
    assert json.loads(threads_file.read_text())["threads"][thread_id]["status"] == "running"  # resumes
    assert (data / "audit.log").exists()
