"""The JSON-RPC method table and the error code table.

`METHODS` is the engine's operation table (engine/api/operations.py) as the API serves it:
one method per operation — its params model, whether it changes state (audited, clears the
status cache), a summary, the shape of its result and the domain errors it can answer with —
plus `rpc.discover`. The dispatcher (rpcapi/server.py) and the OpenRPC document
(rpcapi/openrpc.py) are both built from this table.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from engine.api.operations import OPERATION_LIST, Operation
from engine.api.params import NoParams, Params
from engine.exceptions import (
    ChainUnavailable,
    DuplicateSwapDirection,
    EngineError,
    InsufficientCoreFunds,
    InvalidRequest,
    InvalidThreadState,
    NotSupported,
    OperationFailed,
    PoolNotFound,
    ThreadInErrorState,
    ThreadNotFound,
    ThreadRunning,
)
from engine.sharding.protocol import ShardFailed

# --------------------------------------------------------------------------- error codes

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
UNAUTHORIZED = -1011
FORBIDDEN = -1012
RATE_LIMITED = -1013
NOT_SUPPORTED = NotSupported.code


class ApiError(EngineError):
    """An error the API itself answers with (not raised by the engine)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.data = data


@dataclass(frozen=True)
class ErrorCode:
    code: int
    name: str
    message: str
    http_status: int
    meaning: str


ERRORS: dict[int, ErrorCode] = {e.code: e for e in (
    ErrorCode(PARSE_ERROR, "ParseError", "Parse error", 200, "The body is not valid JSON (or not UTF-8)."),
    ErrorCode(INVALID_REQUEST, "InvalidRequest", "Invalid Request", 200,
              "Not a JSON-RPC 2.0 request object: missing/incorrect jsonrpc, method not a string, params "
              "neither object nor array, id of a wrong type, empty batch or batch longer than api.max_batch "
              "(HTTP 413 for a body over api.max_body_bytes, 415 for a Content-Type other than JSON)."),
    ErrorCode(METHOD_NOT_FOUND, "MethodNotFound", "Method not found", 200, "No method of this name."),
    ErrorCode(INVALID_PARAMS, "InvalidParams", "Invalid params", 200,
              "Params fail validation (unknown key, missing key, wrong type, float for an integer, amount "
              "outside 0..2^64-1, unknown enum value, malformed id or address); `data` lists the errors "
              "(loc, msg, type). Nothing is executed."),
    ErrorCode(INTERNAL_ERROR, "InternalError", "Internal error", 200,
              "An unexpected failure; details are in the server log, never in the answer."),
    ErrorCode(DuplicateSwapDirection.code, "DuplicateSwapDirection", "Duplicate swap direction", 200,
              "The pool already has a swap thread for this direction."),
    ErrorCode(PoolNotFound.code, "PoolNotFound", "Pool not found", 200,
              "No pool with this id in the registry (or its account is gone from the chain)."),
    ErrorCode(ThreadInErrorState.code, "ThreadInErrorState", "Thread in error state", 200,
              "The thread is in the error state (empty_thread refuses it)."),
    ErrorCode(ThreadNotFound.code, "ThreadNotFound", "Thread not found", 200, "No thread with this id."),
    ErrorCode(ThreadRunning.code, "ThreadRunning", "Thread running", 200,
              "The thread is running; stop it first (delete_thread)."),
    ErrorCode(InvalidThreadState.code, "InvalidThreadState", "Invalid thread state", 200,
              "The thread's state does not allow this operation."),
    ErrorCode(OperationFailed.code, "OperationFailed", "Operation failed", 200,
              "A chain transaction the call needed (funding, minting, pool creation) failed; `data` has the "
              "error, signature and logs."),
    ErrorCode(ChainUnavailable.code, "ChainUnavailable", "Chain unavailable", 200,
              "The cluster could not be reached or refused the request."),
    ErrorCode(InsufficientCoreFunds.code, "InsufficientCoreFunds", "Insufficient core funds", 200,
              "The core wallet cannot pay for this and the cluster has no faucet."),
    ErrorCode(InvalidRequest.code, "EngineInvalidRequest", "Invalid request", 200,
              "Arguments valid in shape that the engine cannot act on (e.g. a drawn random ratio that "
              "overflows u64)."),
    ErrorCode(UNAUTHORIZED, "Unauthorized", "Unauthorized", 401,
              "An API key is configured and the request has none or a wrong one (HTTP 401)."),
    ErrorCode(FORBIDDEN, "Forbidden", "Forbidden", 403,
              "The client address is outside api.allowed_ips, or the browser Origin is not in "
              "api.cors_origins (HTTP 403)."),
    ErrorCode(RATE_LIMITED, "RateLimited", "Rate limited", 429,
              "The client exceeded api.rate_limit_per_s / api.rate_limit_burst (HTTP 429, Retry-After)."),
    ErrorCode(NOT_SUPPORTED, "NotSupported", "Not supported by this cluster", 200,
              "The cluster does not offer this (airdrop_sol where there is no faucet, e.g. mainnet)."),
    ErrorCode(ShardFailed.code, "ShardFailed", "Shard failed", 200,
              "The shard process serving the pool or thread died during the call; its outcome is unknown "
              "(the shard is restarted with its threads stopped)."),
)}

# --------------------------------------------------------------------------- the table

Handler = Callable[[Any, Any], Awaitable[Any]]


@dataclass(frozen=True)
class Method:
    """A JSON-RPC method: an engine operation (engine/api/operations.py) as the API serves it."""

    name: str
    params: type[Params]
    handler: Handler  # handler(ctx, params) where ctx.engine is the EngineApi
    state_changing: bool
    summary: str
    result: dict
    errors: tuple[int, ...] = ()
    cacheable: bool = False  # a status read whose answer may be reused for api.status_cache_ms
    description: str = ""

    async def call(self, ctx, params) -> Any:
        return await self.handler(ctx, params)

    @classmethod
    def of(cls, operation: Operation, handler: Handler | None = None) -> "Method":
        async def call_engine(ctx, params):
            return await ctx.engine.call(operation.name, params)

        return cls(operation.name, operation.params, handler or call_engine, operation.state_changing,
                   operation.summary, operation.result, operation.errors, operation.cacheable,
                   operation.description)


async def _engine_status(ctx, params):
    """The engine's status, and this API's own (listener, sessions, cache)."""
    return await ctx.engine.call("get_engine_status", params) | {"api": ctx.api_status()}


_API_HANDLERS: dict[str, Handler] = {"get_engine_status": _engine_status}


async def _discover(ctx, params):
    return ctx.openrpc()


METHOD_LIST: list[Method] = [Method.of(operation, _API_HANDLERS.get(operation.name)) for operation in OPERATION_LIST]
METHOD_LIST.append(Method("rpc.discover", NoParams, _discover, False, "This API's OpenRPC document.",
                          {"type": "object", "required": ["openrpc", "info", "methods"],
                           "properties": {"openrpc": {}, "info": {}, "methods": {}}}))

METHODS: dict[str, Method] = {method.name: method for method in METHOD_LIST}
