"""The coordinator <-> shard protocol: one JSON object per line.

coordinator -> shard   {"id": 7, "method": "start_thread", "params": {"thread_id": "deposit_1"}}
shard -> coordinator   {"id": 7, "result": {...}}  or  {"id": 7, "error": {"type", "code", "message", "data"}}
shard -> coordinator   {"event": "snapshot", "data": {...}}   (pushed a few times per second)
"""
from __future__ import annotations

import json

from engine import exceptions

_ERROR_TYPES = {cls.__name__: cls for cls in (
    exceptions.DuplicateSwapDirection, exceptions.PoolNotFound, exceptions.ThreadInErrorState,
    exceptions.ThreadNotFound, exceptions.ThreadRunning, exceptions.InvalidThreadState,
    exceptions.OperationFailed, exceptions.ChainUnavailable, exceptions.InsufficientCoreFunds,
    exceptions.InvalidRequest)}


class ShardFailed(exceptions.EngineError):
    """The shard process died or answered nonsense; the command's outcome is unknown."""

    code = -1015


def encode(message: dict) -> bytes:
    return json.dumps(message, separators=(",", ":"), default=str).encode() + b"\n"


def decode(line: bytes) -> dict:
    return json.loads(line)


def error_to_json(exc: Exception) -> dict:
    if isinstance(exc, exceptions.EngineError):
        return {"type": type(exc).__name__, "code": exc.code, "message": exc.message, "data": exc.data}
    return {"type": "InternalError", "code": -32603, "message": f"{type(exc).__name__}: {exc}", "data": {}}


def error_from_json(error: dict) -> exceptions.EngineError:
    cls = _ERROR_TYPES.get(error.get("type"), exceptions.EngineError)
    instance = cls(error.get("message", "shard error"), error.get("data") or {})
    if cls is exceptions.EngineError:
        instance.code = error.get("code", -32603)
    return instance
