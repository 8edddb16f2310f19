"""The JSON-RPC method table and the error code table.

`METHODS` maps each method name to its params model (rpcapi/schemas.py), a handler that calls
the Engine, whether it changes state (audited, clears the status cache), a summary, the shape
of its result (documentation: it goes into the OpenRPC document) and the domain errors it can
answer with. The dispatcher (rpcapi/server.py) and the OpenRPC document (rpcapi/openrpc.py)
are both built from this table.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from engine.chain.base import AirdropUnavailable
from engine.exceptions import (
    ChainUnavailable,
    DuplicateSwapDirection,
    EngineError,
    InsufficientCoreFunds,
    InvalidRequest,
    InvalidThreadState,
    OperationFailed,
    PoolNotFound,
    ThreadInErrorState,
    ThreadNotFound,
    ThreadRunning,
)
from engine.sharding.protocol import ShardFailed
from rpcapi import schemas as s

if TYPE_CHECKING:
    from engine.engine import Engine

# --------------------------------------------------------------------------- error codes

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
UNAUTHORIZED = -1011
FORBIDDEN = -1012
RATE_LIMITED = -1013
NOT_SUPPORTED = -1014


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

# --------------------------------------------------------------------------- result shapes


def _obj(*required: str, **properties: dict) -> dict:
    """A JSON schema of an object with these required keys (their shapes, where given)."""
    props = {key: {} for key in required} | properties
    return {"type": "object", "required": list(required), "properties": props}


_INT = {"type": "integer"}
_STR = {"type": "string"}
_BOOL = {"type": "boolean"}
_ARRAY = {"type": "array"}
_POOL = _obj("pool_id", "token_a_mint", "token_a_decimals", "token_b_mint", "token_b_decimals",
             "ratio_a_numerator", "ratio_b_denominator", "ratio_display", "flags",
             pool_id=_STR, token_a_mint=_STR, token_a_decimals=_INT, token_b_mint=_STR, token_b_decimals=_INT,
             ratio_a_numerator=_INT, ratio_b_denominator=_INT, ratio_display=_STR, flags=_INT)
_THREAD_CREATED = _obj("thread_id", "wallet_address", "status", thread_id=_STR, wallet_address=_STR, status=_STR)
_THREAD_STATUS = _obj("thread_id", "type", "status", "pool_id", "token_type", "wallet_address", "balances",
                      "statistics", "verification_totals", "recent_errors",
                      balances=_obj("sol", "token_a", "token_b", "lp_tokens"), recent_errors=_ARRAY)
_THREADS_SUMMARY = _obj("total_threads", "running_threads", "stopped_threads", "total_operations")

# --------------------------------------------------------------------------- the table

Handler = Callable[[Any, Any], Awaitable[Any] | Any]


@dataclass(frozen=True)
class Method:
    name: str
    params: type[s.Params]
    handler: Handler  # handler(ctx, params) where ctx.engine is the Engine
    state_changing: bool
    summary: str
    result: dict
    errors: tuple[int, ...] = ()
    cacheable: bool = False  # a status read whose answer may be reused for api.status_cache_ms
    description: str = ""
    examples: dict = field(default_factory=dict)

    async def call(self, ctx, params) -> Any:
        return await maybe_await(self.handler(ctx, params))


def _args(params: s.Params) -> dict:
    return params.model_dump()


async def _create_pool(ctx, p: s.CreatePoolParams):
    return await ctx.engine.create_pool(**p.model_dump(exclude_none=True))


async def _airdrop(ctx, p: s.AirdropParams):
    engine: Engine = ctx.engine
    if not engine.supports_airdrop:
        raise ApiError(NOT_SUPPORTED, f"airdrop_sol is not available: the cluster ({engine.overview()['mode']}) "
                                      f"has no faucet")
    try:
        return await engine.airdrop_sol(p.lamports, p.address)
    except AirdropUnavailable as exc:
        raise ApiError(NOT_SUPPORTED, f"airdrop_sol is not available: {exc}") from None


async def maybe_await(value):
    """The engine's read methods may be plain or async; accept both."""
    return await value if inspect.isawaitable(value) else value


async def _all_threads(ctx, p: s.OptionalPoolParams):
    return await maybe_await(ctx.engine.get_all_threads(p.pool_id))


async def _engine_status(ctx, p):
    status = dict(await maybe_await(ctx.engine.get_engine_status()))
    totals = ctx.engine.totals
    per_minute = totals.operations_per_minute()
    status["throughput"] = {"operations_per_second": round(per_minute / 60, 2),
                            "operations_per_minute": round(per_minute, 2),
                            "total_operations": totals.total_operations, "waiting_cycles": totals.waits}
    status["api"] = ctx.api_status()
    return status


_POOL_ERRORS = (PoolNotFound.code,)
_THREAD_ERRORS = (ThreadNotFound.code,)
_CHAIN_ERRORS = (OperationFailed.code, ChainUnavailable.code, InsufficientCoreFunds.code)

METHOD_LIST: list[Method] = [
    Method("create_pool", s.CreatePoolParams, _create_pool, True,
           "Create two mints and a pool; anything not given is drawn at random.", _POOL,
           (InvalidRequest.code, *_CHAIN_ERRORS),
           description='ratio_whole_number and ratio_direction give the human ratio: "a_to_b" means '
                       '1 A = N B. With both decimals, the ratio and the direction given, a ratio that does not '
                       'fit in u64 base units is refused with -32602.'),
    Method("list_pools", s.NoParams, lambda ctx, p: ctx.engine.list_pools(), False,
           "Every pool in the registry, with its thread counts.", _obj("pools", pools=_ARRAY), cacheable=True),
    Method("get_pool", s.PoolParams, lambda ctx, p: ctx.engine.get_pool(p.pool_id), False,
           "One pool: registry entry plus its on-chain state (liquidity, vaults, LP supply, fees, flags).",
           _obj("pool_id", "liquidity", "vault_balances", "lp_supply", "fees", "pause_flags", "thread_counts"),
           (*_POOL_ERRORS, ChainUnavailable.code), cacheable=True),
    Method("create_deposit_thread", s.CreateDepositThreadParams,
           lambda ctx, p: ctx.engine.create_deposit_thread(**_args(p)), True,
           "Create a deposit thread (stopped) with a funded wallet.", _THREAD_CREATED,
           (*_POOL_ERRORS, *_CHAIN_ERRORS), description="auto_refill needs initial_amount > 0 (-32602 otherwise)."),
    Method("create_withdrawal_thread", s.CreateWithdrawalThreadParams,
           lambda ctx, p: ctx.engine.create_withdrawal_thread(**_args(p)), True,
           "Create a withdrawal thread (stopped); its LP balance starts at 0.", _THREAD_CREATED,
           (*_POOL_ERRORS, *_CHAIN_ERRORS)),
    Method("create_swap_thread", s.CreateSwapThreadParams,
           lambda ctx, p: ctx.engine.create_swap_thread(**_args(p)), True,
           "Create a swap thread (stopped); at most one per direction per pool.", _THREAD_CREATED,
           (DuplicateSwapDirection.code, *_POOL_ERRORS, *_CHAIN_ERRORS)),
    Method("start_thread", s.ThreadParams, lambda ctx, p: ctx.engine.start_thread(p.thread_id), True,
           "Start a thread (a fresh statistics session); starting a running thread is a no-op.",
           _obj("thread_id", "status", thread_id=_STR, status=_STR), (*_THREAD_ERRORS, ChainUnavailable.code)),
    Method("stop_thread", s.ThreadParams, lambda ctx, p: ctx.engine.stop_thread(p.thread_id), True,
           "Stop a running thread after its current cycle and write its session file.",
           _obj("thread_id", "status", thread_id=_STR, status=_STR), _THREAD_ERRORS),
    Method("delete_thread", s.ThreadParams, lambda ctx, p: ctx.engine.delete_thread(p.thread_id), True,
           "Delete a thread that is not running (its files go too).",
           _obj("thread_id", "deleted", thread_id=_STR, deleted=_BOOL), (*_THREAD_ERRORS, ThreadRunning.code)),
    Method("empty_thread", s.ThreadParams, lambda ctx, p: ctx.engine.empty_thread(p.thread_id), True,
           "Burn the thread's whole input balance, attempt the operation with it, burn what it returned.",
           _obj("thread_id", "thread_type", "empty_operation", "post_empty_balances"),
           (*_THREAD_ERRORS, ThreadInErrorState.code, *_CHAIN_ERRORS)),
    Method("get_thread_status", s.ThreadParams, lambda ctx, p: ctx.engine.get_thread_status(p.thread_id), False,
           "A thread's status, balances, statistics and monitoring data (design §5.3-5.4).", _THREAD_STATUS,
           (*_THREAD_ERRORS, ChainUnavailable.code), cacheable=True),
    Method("get_all_threads", s.OptionalPoolParams, _all_threads, False,
           "The status of every thread (optionally of one pool) and a summary.",
           _obj("threads", "summary", threads={"type": "array", "items": _THREAD_STATUS}, summary=_THREADS_SUMMARY),
           (*_POOL_ERRORS, ChainUnavailable.code), cacheable=True),
    Method("fund_thread", s.FundThreadParams, lambda ctx, p: ctx.engine.fund_thread(**_args(p)), True,
           "Send SOL, mint token A/B, or deposit and transfer LP tokens to a thread's wallet.",
           _obj("thread_id", "funding_type", "amount", "transaction_signature", "network_fee_paid", "balances"),
           (*_THREAD_ERRORS, *_CHAIN_ERRORS)),
    Method("mint_and_send_tokens", s.MintAndSendTokensParams,
           lambda ctx, p: ctx.engine.mint_and_send_tokens(**_args(p)), True,
           "Mint one of a pool's tokens to any address (its token account is created if needed).",
           _obj("transaction_signature", "pool_id", "token_mint", "token_type", "recipient_address", "amount_minted",
                "network_fee_paid"), (*_POOL_ERRORS, *_CHAIN_ERRORS)),
    Method("get_thread_sessions", s.ThreadSessionsParams,
           lambda ctx, p: ctx.engine.get_thread_sessions(p.thread_id, p.limit), False,
           "A thread's past sessions (newest first) with their verification summaries.",
           _obj("thread_id", "sessions", sessions=_ARRAY), _THREAD_ERRORS, cacheable=True),
    Method("start_all_threads", s.OptionalPoolParams, lambda ctx, p: ctx.engine.start_all_threads(p.pool_id), True,
           "Start every thread that is not running (optionally only those of one pool).",
           _obj("started", "count", started=_ARRAY, count=_INT), (*_POOL_ERRORS, ChainUnavailable.code)),
    Method("stop_all_threads", s.OptionalPoolParams, lambda ctx, p: ctx.engine.stop_all_threads(p.pool_id), True,
           "Stop every running thread (optionally only those of one pool), writing their sessions.",
           _obj("stopped", "count", stopped=_ARRAY, count=_INT), _POOL_ERRORS),
    Method("core_wallet_status", s.NoParams, lambda ctx, p: ctx.engine.core_wallet_status(), False,
           "The core wallet's address and SOL balance, and whether the cluster offers airdrops.",
           _obj("address", "sol_balance", "airdrop_available", address=_STR, sol_balance=_INT,
                airdrop_available=_BOOL), (ChainUnavailable.code,), cacheable=True),
    Method("airdrop_sol", s.AirdropParams, _airdrop, True,
           "Request SOL from the cluster's faucet (embedded chain, localnet, devnet; never mainnet).",
           _obj("address", "lamports", "transaction_signature"), (NOT_SUPPORTED, *_CHAIN_ERRORS)),
    Method("get_findings", s.FindingsParams, lambda ctx, p: ctx.engine.get_findings(p.limit), False,
           "Findings (model mismatches, invariant violations, ...): the count, by kind, and the newest ones.",
           _obj("count", "by_kind", "findings", count=_INT, findings=_ARRAY), cacheable=True),
    Method("get_engine_status", s.NoParams, _engine_status, False,
           "Cluster, program id and mode, uptime, thread and pool counts, totals, throughput, CPU per core.",
           _obj("cluster", "program_id", "core_wallet", "uptime_seconds", "pools", "threads", "totals", "throughput",
                "cpu_percent_per_core", "api"), cacheable=True),
    Method("get_snapshot", s.SnapshotParams, lambda ctx, p: ctx.engine.snapshot(feed_limit=p.feed_limit), False,
           "Everything a live view needs in one cheap call (what the console polls): the engine's header, a row "
           "per thread and per pool, the newest feed entries.",
           _obj("taken_at", "engine", "threads", "pools", "feed", "feed_version", threads=_ARRAY, pools=_ARRAY,
                feed=_ARRAY, feed_version=_INT), cacheable=True,
           description="Balances are those each thread's last cycle observed: no chain reads per thread."),
    Method("rpc.discover", s.NoParams, lambda ctx, p: ctx.openrpc(), False,
           "This API's OpenRPC document.", _obj("openrpc", "info", "methods")),
]

METHODS: dict[str, Method] = {method.name: method for method in METHOD_LIST}
