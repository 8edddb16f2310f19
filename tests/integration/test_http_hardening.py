"""The API against hostile or broken HTTP clients, over real loopback HTTP (issue 13): unreadable
bodies get a 4xx JSON-RPC error (never 500), the audit log stays bounded and rotates, half-sent
requests are closed by the server, client errors are logged in one line, unusable API keys are
refused at start, and unauthenticated traffic does not throttle the key's holder."""
from __future__ import annotations

import asyncio
import gzip
import json
import logging
import os
import subprocess
import sys
import time
import zlib

import pytest

from engine.config import ApiConfig, ConfigError, load_config
from rpcapi.auth import ApiConfigError
from rpcapi.methods import ERRORS
from rpcapi.server import check_listen
from tests.integration.test_api import KEY, REPO, SPEC, api, call, http, post  # noqa: F401 - fixtures

LIST_POOLS = json.dumps(call("list_pools")).encode()


def assert_json_rpc_error(status, answer, expected_status, code=None):
    assert status == expected_status, (status, answer)
    assert answer["jsonrpc"] == "2.0" and answer["id"] is None and set(answer) == {"jsonrpc", "id", "error"}
    assert answer["error"]["code"] in ERRORS and isinstance(answer["error"]["message"], str)
    if code is not None:
        assert answer["error"]["code"] == code, answer


async def raw_exchange(server, data: bytes, *, limit_s: float = 10.0) -> tuple[bytes, float]:
    """Send `data` on a fresh connection and read until the server closes it: (all it sent,
    seconds until it closed). Fails if the server has not closed it within `limit_s`."""
    host, port = server.bound
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(data)
        await writer.drain()
        started = time.monotonic()
        received = await asyncio.wait_for(reader.read(), limit_s)  # until EOF: the server closed
        return received, time.monotonic() - started
    finally:
        writer.close()


async def send_body_late(server, head: bytes, body: bytes, *, limit_s: float = 10.0) -> bytes:
    """Send a request's headers with 'Expect: 100-continue', and its body only once the server
    says it reads it: the body then reaches the API's handler (sent together with the headers, a
    malformed body can be refused by aiohttp's parser before the API sees the request).
    Returns what the server sent after "100 Continue", until it closed the connection."""
    host, port = server.bound
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(head.replace(b"\r\n\r\n", b"\r\nExpect: 100-continue\r\n\r\n", 1))
        await writer.drain()
        assert await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), limit_s) == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(body)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), limit_s)
    finally:
        writer.close()


def split_response(raw: bytes) -> tuple[int, dict]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


# =========================================================================== encodings and bodies


async def test_a_gzip_header_on_a_body_that_is_not_gzip_is_a_json_rpc_400(api, http):
    _, server = await api()
    status, answer, headers = await post(http, server.url, body=LIST_POOLS, headers={"Content-Encoding": "gzip"})
    assert_json_rpc_error(status, answer, 400, -32700)
    assert headers["Content-Type"].startswith("application/json") and "gzip" in answer["error"]["message"]
    # Bodies that are what they say are decoded: gzip, deflate (zlib) and raw deflate.
    raw_deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    for coding, body in (("gzip", gzip.compress(LIST_POOLS)), ("deflate", zlib.compress(LIST_POOLS)),
                         ("deflate", raw_deflate.compress(LIST_POOLS) + raw_deflate.flush()),
                         ("identity", LIST_POOLS)):
        status, answer, _ = await post(http, server.url, body=body, headers={"Content-Encoding": coding})
        assert (status, answer["result"]) == (200, {"pools": []}), coding


MALFORMED = [  # (name, headers, body, HTTP status, JSON-RPC code)
    ("deflate garbage", {"Content-Encoding": "deflate"}, b"\x00\x01garbage" * 10, 400, -32700),
    ("truncated gzip", {"Content-Encoding": "gzip"}, gzip.compress(LIST_POOLS)[:-12], 400, -32700),
    ("gzip with trailing bytes", {"Content-Encoding": "gzip"}, gzip.compress(LIST_POOLS) + b"more", 400, -32700),
    ("gzip twice, declared once", {"Content-Encoding": "gzip"}, gzip.compress(gzip.compress(LIST_POOLS)), 400,
     -32700),
    ("not UTF-8", {}, b'{"jsonrpc":"2.0","method":"list_pools\xff\xfe","id":1}', 400, -32700),
    ("not UTF-8 inside gzip", {"Content-Encoding": "gzip"}, gzip.compress(b'{"a":"\xc3\x28"}'), 400, -32700),
    ("a gzip bomb", {"Content-Encoding": "gzip"}, gzip.compress(b" " * 5_000_000), 413, -32600),
    ("unsupported coding", {"Content-Encoding": "br"}, LIST_POOLS, 415, -32600),
    ("unknown coding", {"Content-Encoding": "rot13"}, LIST_POOLS, 415, -32600),
    ("a charset that is not UTF-8", {"Content-Type": "application/json; charset=latin-1"}, LIST_POOLS, 415, -32600),
    ("not JSON", {"Content-Type": "text/plain"}, LIST_POOLS, 415, -32600),
]


@pytest.mark.parametrize(("name", "headers", "body", "expected_status", "code"), MALFORMED,
                         ids=[case[0] for case in MALFORMED])
async def test_malformed_encodings_and_bodies_are_4xx_json_rpc_errors(api, http, name, headers, body,
                                                                      expected_status, code):
    engine, server = await api()
    status, answer, _ = await post(http, server.url, body=body, headers=headers)
    assert_json_rpc_error(status, answer, expected_status, code)
    assert (await post(http, server.url, call("list_pools")))[0] == 200  # still serving


async def test_a_malformed_chunked_body_is_a_4xx_and_the_connection_is_closed(api, http):
    _, server = await api(read_timeout_s=0.5)
    head = b"POST /rpc HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    bad_chunk = b"zz\r\n{}\r\n0\r\n\r\n"  # "zz" is no chunk size
    # Sent with the headers, aiohttp's parser refuses the request before the API sees it.
    raw, _ = await raw_exchange(server, head + bad_chunk)
    assert raw.startswith(b"HTTP/1.") and raw.split()[1] == b"400"
    # Sent once the API reads the body: a JSON-RPC error (400, or 408 with aiohttp's C parser,
    # which drops the request's body when it fails instead of failing the body).
    status, answer = split_response(await send_body_late(server, head, bad_chunk))
    assert status in (400, 408)
    assert_json_rpc_error(status, answer, status)
    assert (await post(http, server.url, call("list_pools")))[0] == 200


# =========================================================================== the audit log


async def test_a_1mb_param_of_a_rejected_call_does_not_put_1mb_in_the_audit_log(api, http):
    engine, server = await api(max_body_bytes=4 * 1024 * 1024)
    audit = engine.local.settings.data_dir / "audit.log"
    huge = "x" * 1_000_000
    for params in ({**SPEC, "token_a_decimals": huge},                  # a long value
                   {**SPEC, "extra": [huge[:1000]] * 1000},              # a long list of long values
                   {**SPEC, **{f"k{i}": i for i in range(50_000)}}):     # many keys
        status, answer, _ = await post(http, server.url, call("create_pool", params, huge[:5000]))
        assert status == 200 and answer["error"]["code"] == -32602
    assert engine.local.pools == {}
    assert audit.stat().st_size < 3 * 8192
    entries = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(entry["method"], entry["outcome"], entry["cut"]) for entry in entries] == [
        ("create_pool", "-32602", True)] * 3
    assert "...[cut 999744 chars]" in entries[0]["params"]["token_a_decimals"]
    assert entries[0]["params"]["ratio_whole_number"] == 160  # the rest of the entry is kept
    assert entries[0]["id"].startswith("xxx") and entries[0]["id"].endswith("...[cut 4744 chars]")
    assert entries[1]["params"].startswith("...[cut: params of ")  # still over 4 KB once each value was cut
    assert entries[2]["params"]["..."] == "...[cut 49972 more keys]"
    # A call that passes is recorded as it was.
    status, answer, _ = await post(http, server.url, call("create_pool", SPEC))
    created = json.loads(audit.read_text().splitlines()[-1])
    assert created["outcome"] == "ok" and created["params"] == SPEC and "cut" not in created


async def test_the_audit_log_rotates_at_its_configured_size(api, http):
    engine, server = await api(audit_log_max_bytes=4096, audit_log_backups=2)
    audit = engine.local.settings.data_dir / "audit.log"
    batch = [call("start_thread", {"thread_id": f"deposit_{index}"}, index) for index in range(1, 101)]  # -1004 each
    for _ in range(3):
        status, answers, _ = await post(http, server.url, batch)
        assert status == 200 and {answer["error"]["code"] for answer in answers} == {-1004}
    files = sorted(audit.parent.glob("audit.log*"))
    assert [path.name for path in files] == ["audit.log", "audit.log.1", "audit.log.2"]  # no audit.log.3
    for path in files:
        assert path.stat().st_size <= 4096 and oct(path.stat().st_mode & 0o777) == "0o600"
        assert all(json.loads(line)["method"] == "start_thread" for line in path.read_text().splitlines())
    newest = [json.loads(line)["id"] for line in audit.read_text().splitlines()]
    assert newest[-1] == 100  # the last entry is in the current file
    kept = sum(len(path.read_text().splitlines()) for path in files)
    assert 40 < kept < 300  # the oldest entries went with the deleted backup


# =========================================================================== timeouts


async def test_a_half_sent_body_is_answered_408_and_closed_within_the_read_timeout(api, http):
    _, server = await api(read_timeout_s=0.5)
    request = (b"POST /rpc HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
               b'{"jsonrpc":"2.0","met')
    raw, closed_after = await raw_exchange(server, request)
    assert 0.4 <= closed_after < 3
    status, answer = split_response(raw)
    assert_json_rpc_error(status, answer, 408, -32600)
    assert "read_timeout_s" in answer["error"]["message"]
    assert b"Connection: close" in raw.partition(b"\r\n\r\n")[0]
    assert (await post(http, server.url, call("list_pools")))[0] == 200


async def test_half_sent_headers_and_idle_connections_are_closed_within_the_idle_timeout(api):
    _, server = await api(idle_timeout_s=0.5)
    for data in (b"POST /rpc HTTP/1.1\r\nHost: x\r\nContent-Ty", b""):
        raw, closed_after = await raw_exchange(server, data)
        assert raw == b"" and closed_after < 3, data


async def test_many_half_sent_requests_are_all_closed(api, http):
    _, server = await api(read_timeout_s=0.5, idle_timeout_s=0.5)
    head = b"POST /rpc HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{"
    results = await asyncio.gather(*(raw_exchange(server, head if index % 2 else head[:30]) for index in range(100)))
    assert all(closed_after < 5 for _, closed_after in results)
    assert (await post(http, server.url, call("list_pools")))[0] == 200


# =========================================================================== the server's log


async def test_client_errors_are_logged_in_one_line_and_only_bugs_with_a_traceback(api, http, caplog, monkeypatch):
    engine, server = await api(max_body_bytes=4096, api_key=KEY, read_timeout_s=0.5)
    auth = {"X-API-Key": KEY}
    caplog.set_level(logging.DEBUG)
    await post(http, server.url, body=b'{"jsonrpc": "2.0", "method": ', headers=auth)        # bad JSON
    await post(http, server.url, call("create_pool", {"token_a_decimals": "nine"}), headers=auth)  # bad params
    await post(http, server.url, call("no_such_method"), headers=auth)                    # unknown method
    await post(http, server.url, call("list_pools"), headers={"X-API-Key": "wrong-key-wrong-key"})  # auth
    await post(http, server.url, body=b"[" + b" " * 5000 + b"]", headers=auth)             # too large
    await post(http, server.url, body=LIST_POOLS, headers={**auth, "Content-Encoding": "gzip"})  # bad gzip
    await raw_exchange(server, b"POST /rpc HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")  # malformed HTTP
    await send_body_late(server, b"POST /rpc HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-API-Key: "
                                 + KEY.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n", b"zz\r\n")  # bad chunk
    client_lines = [record for record in caplog.records if "client error" in record.getMessage()]
    assert len(client_lines) == 7, [record.getMessage() for record in client_lines]
    for record in caplog.records:
        assert record.exc_info is None and "\n" not in record.getMessage(), record.getMessage()
        assert "Traceback" not in record.getMessage()
    messages = "\n".join(record.getMessage() for record in caplog.records)
    for expected in ("HTTP 200 Parse error", "create_pool: Invalid params: token_a_decimals", "no_such_method",
                     "HTTP 401 Unauthorized", "HTTP 413 TooLarge", "HTTP 400 BadBody: the body is not valid gzip",
                     "Error handling request from 127.0.0.1: 400"):
        assert expected in messages, expected
    assert "HTTP 400 BadBody: malformed request body" in messages or "HTTP 408 Timeout" in messages
    assert KEY not in messages and "wrong-key-wrong-key" not in messages

    # A bug of the server's own keeps its traceback.
    caplog.clear()

    async def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(engine, "call", broken)
    status, answer, _ = await post(http, server.url, call("list_pools"), headers=auth)
    assert answer["error"]["code"] == -32603
    (bug,) = [record for record in caplog.records if record.exc_info]
    assert "internal error in list_pools" in bug.getMessage()


# =========================================================================== keys and limits


@pytest.mark.parametrize("key", [" " * 16, "\t" * 20, f" {KEY}", f"{KEY}\n", f"{KEY} ", "test-api-key\x00-0123"])
def test_blank_padded_or_unprintable_api_keys_are_refused(key):
    with pytest.raises(ValueError, match="api_key must not"):
        ApiConfig(api_key=key)
    # A configuration built around validation is refused when the API starts.
    with pytest.raises(ApiConfigError, match="api.api_key: api_key must not"):
        check_listen(ApiConfig.model_construct(**(ApiConfig().model_dump() | {"api_key": key})))


def test_serve_with_a_blank_api_key_exits_2_naming_the_setting(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n')
    env = {**os.environ, "PYTHONPATH": str(REPO), "FRT_STRESS_CONFIG": str(config),
           "FRT_STRESS_API__API_KEY": " " * 16}
    # A subprocess: before the check, serve started (and would have served until stopped).
    done = subprocess.run([sys.executable, "-m", "console.cli", "serve", "--host", "0.0.0.0", "--port", "0"],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "FRT_STRESS_API__API_KEY" in done.stderr and "api.api_key: api_key must not be blank" in done.stderr
    assert not (tmp_path / "data").exists()

    config.write_text(f'data_dir = "{tmp_path / "data"}"\n[api]\napi_key = "  {KEY}  "\n')
    with pytest.raises(ConfigError, match=r"api\.api_key: api_key must not start or end with blanks"):
        load_config(config)


async def test_unauthenticated_requests_do_not_throttle_the_right_key(api, http):
    engine, server = await api(api_key=KEY, rate_limit_per_s=1, rate_limit_burst=100)
    statuses = await asyncio.gather(*(post(http, server.url, call("list_pools"), headers=headers)
                                      for index in range(150)
                                      for headers in [{"X-API-Key": f"guess-{index:04d}-0123456789"} if index % 2
                                                      else {}]))
    statuses = [status for status, _, _ in statuses]
    assert statuses.count(429) >= 40 and set(statuses) == {401, 429}  # a brute force is still throttled
    status, answer, _ = await post(http, server.url, call("list_pools"), headers={"X-API-Key": KEY})
    assert status == 200 and answer["result"] == {"pools": []}
    status, answer, _ = await post(http, server.url, call("create_pool", SPEC),
                                   headers={"Authorization": f"Bearer {KEY}"})
    assert status == 200 and "pool_id" in answer["result"]
    assert 429 in [(await post(http, server.url, call("list_pools")))[0] for _ in range(3)]  # still throttled
    # The key's holder has a bucket of its own, with the same limit.
    batch = [call("list_pools", {}, index) for index in range(100)]
    assert 429 in [(await post(http, server.url, batch, headers={"X-API-Key": KEY}))[0] for _ in range(2)]
