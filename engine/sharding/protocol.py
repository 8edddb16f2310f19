"""The coordinator <-> shard protocol: one JSON object per line.

coordinator -> shard   {"id": 7, "method": "start_thread", "params": {"thread_id": "deposit_1"}}
shard -> coordinator   {"id": 7, "result": {...}}  or  {"id": 7, "error": {"type", "code", "message", "data"}}
shard -> coordinator   {"event": "snapshot", "data": {...}}   (pushed a few times per second)
shard -> coordinator   {"event": "ready", "data": {...}}  or  {"event": "failed", "error": {...}}  (once, at start)

A shard in the coordinator's own process (engine.shards = 0) answers the same messages without
the pipe (engine/sharding/links.py).
"""
from __future__ import annotations

import json

from engine import exceptions

_ERROR_TYPES = {cls.__name__: cls for cls in (
    exceptions.DuplicateSwapDirection, exceptions.PoolNotFound, exceptions.ThreadInErrorState,
    exceptions.ThreadNotFound, exceptions.ThreadRunning, exceptions.InvalidThreadState,
    exceptions.OperationFailed, exceptions.ChainUnavailable, exceptions.InsufficientCoreFunds,
    exceptions.InvalidRequest, exceptions.DataDirLocked,
    exceptions.NotSupported, exceptions.InvalidParams)}


class ShardInternalError(exceptions.EngineError):
    """A shard failed in a way that is not a domain error (a bug): logged where it happened; its
    message is for logs, never for API answers."""

    code = -32603


class ShardFailed(exceptions.EngineError):
    """The shard process died or answered nonsense; the command's outcome is unknown."""

    code = -1015


def encode(message: dict) -> bytes:
    return json.dumps(message, separators=(",", ":"), default=str).encode() + b"\n"


def decode(line: bytes) -> dict:
    return json.loads(line)


def error_to_json(exc: Exception) -> dict:
    from engine.chain.base import AirdropUnavailable, ChainError

    if isinstance(exc, AirdropUnavailable):
        exc = exceptions.NotSupported(f"airdrop_sol is not available: {exc}")
    elif isinstance(exc, ChainError):
        exc = exceptions.ChainUnavailable(f"chain unavailable: {exc}")
    if isinstance(exc, exceptions.EngineError):
        return {"type": type(exc).__name__, "code": exc.code, "message": exc.message, "data": exc.data}
    return {"type": "InternalError", "code": -32603, "message": f"{type(exc).__name__}: {exc}", "data": {}}


def error_from_json(error: dict) -> exceptions.EngineError:
    cls = _ERROR_TYPES.get(error.get("type"), ShardInternalError)
    return cls(error.get("message", "shard error"), error.get("data") or {})
