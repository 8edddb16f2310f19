"""Property-based fuzzing of the JSON-RPC API over HTTP (hypothesis): whatever is sent, the
server never answers HTTP 500, always answers with valid JSON-RPC 2.0 (or nothing, for
notifications), and a call answered with an error changes nothing in the engine."""
from __future__ import annotations

import json

import aiohttp
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engine.config import ApiConfig
from rpcapi.methods import ERRORS, METHODS
from rpcapi.server import ApiServer
from tests.integration.conftest import settle

FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large, HealthCheck.filter_too_much])
ALLOWED_STATUS = {200, 204, 400, 413}  # 400: a body that is not UTF-8 (a JSON-RPC Parse error)
UNKNOWN_KEY = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"

# Placeholders replaced by the ids of the fixture's pool and threads.
PLACEHOLDERS = ["@POOL", "@DEPOSIT", "@WITHDRAWAL", "@SWAP"]
INTERESTING_STRINGS = PLACEHOLDERS + [
    "A", "B", "C", "a", "a_to_b", "b_to_a", "sol", "token_a", "token_b", "lp_tokens", "deposit_1", "swap_1",
    "withdrawal_1", "deposit_999", "deposit_0", "../etc/passwd", UNKNOWN_KEY, "1" * 44, "", "null", "1e3", "💥"]
INTERESTING_NUMBERS = [0, 1, -1, 2, 9, 18, 19, 160, 10**9, 2**53, 2**63, 2**64 - 1, 2**64, -(2**64), 2**80,
                       0.0, 1.0, -0.5, 1e30, 1e-9]

scalars = st.one_of(
    st.none(), st.booleans(), st.sampled_from(INTERESTING_NUMBERS), st.sampled_from(INTERESTING_STRINGS),
    st.integers(min_value=-(2**66), max_value=2**66), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20))
json_values = st.recursive(scalars, lambda children: st.lists(children, max_size=3)
                           | st.dictionaries(st.text(max_size=8), children, max_size=3), max_leaves=8)
method_names = st.sampled_from([*METHODS, "nope", "rpc.nope", ""])
_AMOUNTS = [0, 1, 1000, 10**9, 2**64 - 1]
PLAUSIBLE = {  # values that pass validation, so that many calls reach the engine
    "pool_id": ["@POOL", UNKNOWN_KEY], "thread_id": ["@DEPOSIT", "@WITHDRAWAL", "@SWAP", "deposit_999"],
    "token_type": ["A", "B"], "direction": ["a_to_b", "b_to_a"], "ratio_direction": ["a_to_b", "b_to_a"],
    "funding_type": ["sol", "token_a", "token_b", "lp_tokens"], "initial_amount": _AMOUNTS, "amount": _AMOUNTS,
    "lamports": _AMOUNTS, "limit": [1, 5, 100], "token_a_decimals": [0, 6, 9, 18], "token_b_decimals": [0, 6, 9],
    "ratio_whole_number": [1, 160, 10**6], "flags": [0, 32, 64, 96], "auto_refill": [True, False],
    "share_lp_tokens": [True, False], "recipient_address": [UNKNOWN_KEY], "address": [UNKNOWN_KEY],
}


def field_value(name: str):
    plausible = PLAUSIBLE.get(name)
    return st.one_of(st.sampled_from(plausible), json_values) if plausible else json_values


@st.composite
def params_for(draw, method: str):
    model = METHODS[method].params if method in METHODS else None
    fields = (list(model.model_fields) if model else []) or ["x"]
    kind = draw(st.sampled_from(["all", "all", "some", "some", "by_position", "absent", "anything"]))
    if kind == "absent":
        return None
    if kind == "by_position":
        return [draw(field_value(name)) for name in fields[:draw(st.integers(0, len(fields) + 1))]]
    if kind == "anything":
        return draw(json_values)
    chosen = fields if kind == "all" else draw(st.lists(st.sampled_from(fields), unique=True, max_size=len(fields)))
    params = {name: draw(field_value(name)) for name in chosen}
    if draw(st.integers(0, 9)) == 0:
        params[draw(st.text(min_size=1, max_size=8))] = draw(json_values)
    return params


@st.composite
def requests(draw):
    method = draw(method_names)
    request = {"jsonrpc": "2.0", "method": method}
    params = draw(params_for(method))
    if params is not None:
        request["params"] = params
    request["id"] = draw(st.one_of(st.integers(-(2**40), 2**40), st.text(max_size=8), st.none()))
    if draw(st.integers(0, 9)) == 0:
        del request["id"]  # a notification
    if draw(st.integers(0, 14)) == 0:
        request[draw(st.sampled_from(["jsonrpc", "method", "id", "params"]))] = draw(json_values)  # break it
    return request


def substitute(value, ids: dict):
    if isinstance(value, str):
        return ids.get(value, value)
    if isinstance(value, list):
        return [substitute(item, ids) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, ids) for key, item in value.items()}
    return value


def is_notification(request) -> bool:
    return (isinstance(request, dict) and "id" not in request and request.get("jsonrpc") == "2.0"
            and isinstance(request.get("method"), str)
            and isinstance(request.get("params", {}), (dict, list)))


def valid_id(value) -> bool:
    return value is None or (isinstance(value, (str, int, float)) and not isinstance(value, bool))


def check_answer(answer, request=None) -> None:
    """A valid JSON-RPC 2.0 response object (matching `request`'s id where it has a valid one)."""
    assert isinstance(answer, dict) and answer.get("jsonrpc") == "2.0", answer
    assert set(answer) in ({"jsonrpc", "id", "result"}, {"jsonrpc", "id", "error"}), answer
    assert valid_id(answer["id"])
    if "error" in answer:
        error = answer["error"]
        assert set(error) <= {"code", "message", "data"} and isinstance(error["message"], str)
        assert error["code"] in ERRORS, error
        assert "Traceback" not in json.dumps(error)
    if isinstance(request, dict) and "id" in request and valid_id(request["id"]):
        assert answer["id"] == request["id"]


@pytest.fixture
async def target(open_engine):
    """An engine with a pool and one thread of each kind, behind an API on a free loopback port."""
    engine = await open_engine()
    pool_id = (await engine.create_pool(token_a_decimals=9, token_b_decimals=6, ratio_whole_number=160,
                                        ratio_direction="a_to_b"))["pool_id"]
    ids = {"@POOL": pool_id}
    ids["@DEPOSIT"] = (await engine.create_deposit_thread(pool_id, "A", 10**12))["thread_id"]
    ids["@WITHDRAWAL"] = (await engine.create_withdrawal_thread(pool_id, "A"))["thread_id"]
    ids["@SWAP"] = (await engine.create_swap_thread(pool_id, "a_to_b", 10**10))["thread_id"]
    server = ApiServer(engine, ApiConfig(port=0, rate_limit_per_s=0, status_cache_ms=0, max_body_bytes=65536),
                       engine.settings.data_dir)
    await server.start()
    async with aiohttp.ClientSession() as session:
        yield engine, server, session, ids
    await server.stop()


async def snapshot(engine):
    await settle()
    return (sorted(engine.local.pools), {t: (r.status, r.pool_id) for t, r in engine.local.threads.items()},
            await engine.list_pools(), dict(engine.local.minted), dict(engine.local.burned))


async def send(session, url, body: bytes):
    async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as response:
        raw = await response.read()
        assert response.status in ALLOWED_STATUS, (response.status, raw[:300])
        if response.status == 204:
            assert raw == b""
            return None
        return json.loads(raw)


@settings(FUZZ, max_examples=400)
@given(request=requests())
async def test_single_calls_never_fail_the_server_and_errors_change_nothing(target, request):
    engine, server, session, ids = target
    request = substitute(request, ids)
    before = await snapshot(engine)
    answer = await send(session, server.url, json.dumps(request).encode())
    if answer is None:
        assert is_notification(request)
        return
    assert not is_notification(request)
    check_answer(answer, request)
    event(f"{request.get('method')}: {answer['error']['code'] if 'error' in answer else 'ok'}")  # --hypothesis-show-statistics
    if "error" in answer:
        assert await snapshot(engine) == before, (request, answer)


@FUZZ
@given(batch=st.lists(st.one_of(requests(), json_values), min_size=1, max_size=6))
async def test_batches_answer_every_non_notification_in_order(target, batch):
    engine, server, session, ids = target
    batch = substitute(batch, ids)
    answers = await send(session, server.url, json.dumps(batch).encode())
    expected = [entry for entry in batch if not is_notification(entry)]
    if not expected:
        assert answers is None
        return
    assert isinstance(answers, list) and len(answers) == len(expected)
    for answer, request in zip(answers, expected):
        check_answer(answer, request)


@FUZZ
@given(body=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode),
                      json_values.map(lambda v: json.dumps(v).encode())))
async def test_arbitrary_bodies_get_a_json_rpc_answer(target, body):
    engine, server, session, ids = target
    before = await snapshot(engine)
    answer = await send(session, server.url, body)
    if answer is None:
        return  # a JSON value that happened to be only notifications
    for item in answer if isinstance(answer, list) else [answer]:
        check_answer(item)
    assert await snapshot(engine) == before
