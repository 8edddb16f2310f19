"""The API's security pieces without a server: audit entries bounded and rotated, request
bodies decoded within limits, the rate limiter's buckets."""
from __future__ import annotations

import gzip
import json
import zlib

import pytest

from rpcapi.audit import MAX_CHARS, MAX_ENTRY_BYTES, AuditLog, bounded_entry
from rpcapi.auth import RateLimiter
from rpcapi.body import BodyError, content_codings, decode


# --------------------------------------------------------------------------- audit entries


def test_a_small_entry_is_kept_as_it_is():
    entry = {"client": "127.0.0.1", "method": "create_pool", "params": {"ratio_whole_number": 160, "x": [1, None]},
             "outcome": "ok", "id": 7}
    assert bounded_entry(entry) == entry


def test_long_values_are_cut_with_a_marker():
    record = bounded_entry({"params": {"a": "x" * 10_000, "b": list(range(100)), "c": 2**1000,
                                       "d": {f"k{i}": i for i in range(40)}, "e": [[[[[[[1]]]]]]]},
                            "id": "y" * 300})
    params = record["params"]
    assert record["cut"] is True
    assert params["a"] == "x" * MAX_CHARS + f"...[cut {10_000 - MAX_CHARS} chars]"
    assert params["b"][-1] == "...[cut 68 more items]" and params["b"][:32] == list(range(32))
    assert params["c"] == "...[cut: an integer of 1001 bits]"
    assert params["d"]["..."] == "...[cut 8 more keys]" and len(params["d"]) == 33
    assert "...[cut: nested deeper than 6]" in json.dumps(params["e"])
    assert record["id"].endswith("...[cut 44 chars]")


def test_params_too_large_once_cut_are_replaced_by_a_marker():
    record = bounded_entry({"method": "create_pool", "params": {f"k{i}": "v" * 1000 for i in range(30)}})
    assert record["params"].startswith("...[cut: params of ") and record["cut"] is True
    assert len(json.dumps(record)) < MAX_ENTRY_BYTES


def test_secrets_are_redacted_even_under_long_key_names():
    long_name = "a" * 400 + "_password"
    record = bounded_entry({"params": {long_name: "hunter2", "nested": [{"api_key": "k" * 1000}]}})
    assert "hunter2" not in json.dumps(record) and "kkk" not in json.dumps(record)
    assert record["params"]["nested"] == [{"api_key": "***"}]


# --------------------------------------------------------------------------- audit rotation


def test_the_audit_log_rotates_and_keeps_its_backups(tmp_path):
    log = AuditLog(tmp_path / "audit.log", max_bytes=4096, backups=3)
    for index in range(300):
        log.write(client="127.0.0.1", method="start_thread", params={"thread_id": f"deposit_{index}"},
                  outcome="-1004", id=index)
    log.close()
    files = sorted(tmp_path.iterdir())
    assert [path.name for path in files] == ["audit.log", "audit.log.1", "audit.log.2", "audit.log.3"]
    assert all(path.stat().st_size <= 4096 and path.stat().st_mode & 0o777 == 0o600 for path in files)
    ids = [json.loads(line)["id"] for path in reversed(files) for line in path.read_text().splitlines()]
    assert ids == list(range(ids[0], 300))  # in order, the oldest ones gone

    reopened = AuditLog(tmp_path / "audit.log", max_bytes=4096, backups=3)  # a restart keeps counting
    reopened.write(method="start_thread", outcome="ok")
    reopened.close()
    assert (tmp_path / "audit.log").stat().st_size <= 4096


def test_no_path_no_file(tmp_path):
    AuditLog(None).write(method="create_pool")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- request bodies


BODY = b'{"jsonrpc":"2.0","method":"list_pools","id":1}'


def test_content_codings_are_undone_in_reverse_order():
    assert content_codings("") == [] and content_codings("identity") == []
    assert content_codings("deflate, GZIP") == ["deflate", "gzip"]
    assert decode(gzip.compress(zlib.compress(BODY)), ["deflate", "gzip"], 1000) == BODY
    for coding in ("br", "compress", "gzip;q=1"):
        with pytest.raises(BodyError) as raised:
            content_codings(coding)
        assert raised.value.status == 415


@pytest.mark.parametrize("data, coding, status", [
    (BODY, "gzip", 400), (gzip.compress(BODY)[:-3], "gzip", 400), (zlib.compress(BODY) + b"x", "deflate", 400),
    (gzip.compress(b"0" * 10_000), "gzip", 413), (zlib.compress(b"0" * 1001), "deflate", 413),
])
def test_undecodable_or_too_large_content_is_refused(data, coding, status):
    with pytest.raises(BodyError) as raised:
        decode(data, [coding], 1000)
    assert raised.value.status == status and raised.value.parse == (status == 400)


def test_a_body_of_exactly_the_limit_decodes():
    assert decode(gzip.compress(b"0" * 1000), ["gzip"], 1000) == b"0" * 1000


# --------------------------------------------------------------------------- rate limit


def test_buckets_are_independent():
    now = [0.0]
    limiter = RateLimiter(1, 3, clock=lambda: now[0])
    assert [limiter.take("127.0.0.1 unauthenticated") for _ in range(4)] == [True, True, True, False]
    assert limiter.take("127.0.0.1")
    now[0] += 1
    assert limiter.take("127.0.0.1 unauthenticated") and not limiter.take("127.0.0.1 unauthenticated")
