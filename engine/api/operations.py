"""The one table of engine operations.

Each entry names an operation once: its params model (engine/api/params.py), where the
coordinator routes it, whether it changes state, what it answers (a JSON schema) and the
domain errors it can answer with. Everything else follows from this table: the facade's
methods and their validation (engine/api/facade.py), the shard's dispatch, the coordinator's
routing, the JSON-RPC method table and its OpenRPC document, and the console gateway.
Adding an operation is one entry here plus its implementation on the shard `Engine`
(or, for `Route.COORDINATOR`, on the coordinator).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable

from pydantic import TypeAdapter

from engine.api import params as p
from engine.api.rows import Snapshot
from engine.exceptions import (
    ChainUnavailable,
    DuplicateSwapDirection,
    InsufficientCoreFunds,
    InvalidRequest,
    NotSupported,
    OperationFailed,
    PoolNotFound,
    ThreadInErrorState,
    ThreadNotFound,
    ThreadRunning,
)
from engine.findings import SEVERITIES, merge_groups


class Route(Enum):
    NEW_POOL = "new_pool"  # the least loaded shard; the coordinator registers the new pool
    POOL = "pool"  # the shard that owns params.pool_id
    NEW_THREAD = "new_thread"  # the pool's shard; the coordinator assigns the (global) thread id
    THREAD = "thread"  # the shard that owns params.thread_id
    DROP_THREAD = "drop_thread"  # the shard that owns params.thread_id; the coordinator forgets the thread
    EACH = "each"  # the pool's shard when params.pool_id is given, otherwise every shard; answers merged
    FIRST = "first"  # the first shard answers for the chain (its faucet)
    COORDINATOR = "coordinator"  # the coordinator answers from what it holds and asks the shards itself


# --------------------------------------------------------------------------- merging shard answers


def _concat(key: str) -> Callable[[list[dict], Any], dict]:
    def merge(parts: list[dict], params) -> dict:
        return {key: [item for part in parts for item in part[key]]}
    return merge


def _concat_counted(key: str) -> Callable[[list[dict], Any], dict]:
    def merge(parts: list[dict], params) -> dict:
        items = [item for part in parts for item in part[key]]
        return {key: items, "count": len(items)}
    return merge


def _merge_threads(parts: list[dict], params) -> dict:
    return {"threads": [thread for part in parts for thread in part["threads"]],
            "summary": sum_counts(part["summary"] for part in parts)}


def _merge_findings(parts: list[dict], params) -> dict:
    """Counts summed; groups merged by id (engine/findings.py merge_groups); the newest files."""
    findings = sorted((f for part in parts for f in part["findings"]), key=lambda f: f.get("detected_at", ""),
                      reverse=True)
    groups = merge_groups(group for part in parts for group in part.get("groups", []))
    return {"count": sum(part["count"] for part in parts),
            "stored": sum(part.get("stored", 0) for part in parts),
            "by_kind": sum_counts(part["by_kind"] for part in parts),
            "by_severity": sum_counts(part.get("by_severity", {}) for part in parts),
            "groups": groups[:params.limit] if params.limit else groups,
            "findings": findings[:params.limit] if params.limit else findings}


def _merge_operator(parts: list[dict], params) -> dict:
    by_action: dict = {}
    for part in parts:
        for name, counts in part["by_action"].items():
            by_action[name] = sum_counts([by_action.get(name, {}), counts])
    return {"enabled": any(part["enabled"] for part in parts), "interval_s": parts[0]["interval_s"],
            "actions": sum(part["actions"] for part in parts), "by_action": by_action,
            "findings": sum(part["findings"] for part in parts), "shards": parts}


def sum_counts(dicts) -> dict:
    total: dict = {}
    for item in dicts:
        for key, value in item.items():
            total[key] = total.get(key, 0) + value
    return total


# --------------------------------------------------------------------------- result shapes


def _obj(*required: str, **properties: dict) -> dict:
    """A JSON schema of an object with these required keys (their shapes, where given)."""
    props = {key: {} for key in required} | properties
    return {"type": "object", "required": list(required), "properties": props}


def _typed(shape: type) -> dict:
    """The JSON schema of a TypedDict (engine/api/rows.py), self-contained: the nested shapes
    are written in place of pydantic's "$defs" references, so the schema means the same
    wherever it is copied (the OpenRPC document resolves "#/..." from its own root)."""
    schema = TypeAdapter(shape).json_schema(mode="serialization")
    defs = schema.pop("$defs", {})

    def inline(node):
        if isinstance(node, dict):
            if "$ref" in node:  # keys beside the reference (a description) stay
                siblings = {key: value for key, value in node.items() if key != "$ref"}
                return inline(defs[node["$ref"].rsplit("/", 1)[-1]]) | inline(siblings)
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    return inline(schema)


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
                      balances=_obj("sol", "token_a", "token_b", "lp_tokens"), recent_errors=_ARRAY,
                      recent_transactions={
                          "type": "array", "description": "The thread's last operations' transactions (at most 10, "
                          "successes and failures, newest first; kept in memory: empty after a restart). Amounts in "
                          "base units of token_in / token_out (token_a, token_b, lp_token_a, lp_token_b); outcome "
                          "is ok, expected, unexpected or transient; error_* are null for a success.",
                          "items": _obj("timestamp", "operation", "token_type", "amount_in", "token_in", "amount_out",
                                        "token_out", "ok", "outcome", "error_name", "error_code", "error_category",
                                        "signature", "latency_ms", "network_fee", "pool_fee")})
_THREADS_SUMMARY = _obj("total_threads", "running_threads", "stopped_threads", "total_operations")
_STATUS_CHANGE = _obj("thread_id", "status", thread_id=_STR, status=_STR)

_COUNTS = {"type": "object", "additionalProperties": _INT}
_NULLABLE_STR = {"type": ["string", "null"]}
_FINDING_GROUP = _obj(
    "id", "kind", "rule", "severity", "as_coded", "pool_id", "operation", "count", "first_seen", "last_seen",
    id={**_STR, "description": "A short stable hash of (kind, rule, pool_id, operation): the same in every shard."},
    kind=_STR, rule=_STR, severity={"enum": list(SEVERITIES)}, as_coded=_BOOL, pool_id=_NULLABLE_STR,
    operation=_NULLABLE_STR, count={**_INT, "description": "Every finding of the group, written to a file or not."},
    first_seen=_STR, last_seen=_STR, detail={**_STR, "description": "The first finding's detail line."},
    stored={**_INT, "description": "How many of its findings have a file (the first few)."},
    example_file=_NULLABLE_STR,
    example={"type": ["object", "null"], "description": "The group's first finding, whole, with its context."})
_FINDINGS = _obj("count", "by_kind", "by_severity", "groups", "findings",
                 count={**_INT, "description": "Every finding counted, in every group."},
                 stored={**_INT, "description": "Finding files kept (the first few of each group)."},
                 by_kind=_COUNTS, by_severity=_COUNTS,
                 groups={"type": "array", "items": _FINDING_GROUP,
                         "description": "Findings grouped by (kind, rule, pool_id, operation), newest last_seen "
                                        "first, at most `limit`."},
                 findings={**_ARRAY, "description": "The newest finding files, at most `limit`."})

_POOL_ERRORS = (PoolNotFound.code,)
_THREAD_ERRORS = (ThreadNotFound.code,)
_CHAIN_ERRORS = (OperationFailed.code, ChainUnavailable.code, InsufficientCoreFunds.code)

# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Operation:
    name: str
    params: type[p.Params]
    route: Route
    state_changing: bool
    summary: str
    result: dict  # JSON schema of the answer (documentation: it goes into the OpenRPC document)
    errors: tuple[int, ...] = ()
    cacheable: bool = False  # a read whose answer the API may reuse for api.status_cache_ms
    description: str = ""
    merge: Callable[[list[dict], Any], dict] | None = None  # Route.EACH: the shards' answers into one
    thread_kind: str | None = None  # Route.NEW_THREAD: the kind, which prefixes the thread id

    def validate(self, params: Any) -> p.Params:
        """The params as this operation's model (an instance is taken as it is)."""
        return params if isinstance(params, self.params) else self.params.model_validate(params or {})


OPERATION_LIST: list[Operation] = [
    Operation("create_pool", p.CreatePoolParams, Route.NEW_POOL, True,
              "Create two mints and a pool; anything not given is drawn at random.", _POOL,
              (InvalidRequest.code, *_CHAIN_ERRORS),
              description='ratio_whole_number and ratio_direction give the human ratio: "a_to_b" means '
                          '1 A = N B. With both decimals, the ratio and the direction given, a ratio that does not '
                          'fit in u64 base units is refused with -32602.'),
    Operation("list_pools", p.NoParams, Route.EACH, False,
              "Every pool in the registry, with its thread counts.", _obj("pools", pools=_ARRAY), cacheable=True,
              merge=_concat("pools")),
    Operation("get_pool", p.PoolParams, Route.POOL, False,
              "One pool: registry entry plus its on-chain state (liquidity, vaults, LP supply, fees, flags).",
              _obj("pool_id", "liquidity", "vault_balances", "lp_supply", "fees", "pause_flags", "thread_counts"),
              (*_POOL_ERRORS, ChainUnavailable.code), cacheable=True),
    Operation("create_deposit_thread", p.CreateDepositThreadParams, Route.NEW_THREAD, True,
              "Create a deposit thread (stopped) with a funded wallet.", _THREAD_CREATED,
              (*_POOL_ERRORS, *_CHAIN_ERRORS), description="auto_refill needs initial_amount > 0 (-32602 otherwise).",
              thread_kind="deposit"),
    Operation("create_withdrawal_thread", p.CreateWithdrawalThreadParams, Route.NEW_THREAD, True,
              "Create a withdrawal thread (stopped); its LP balance starts at 0.", _THREAD_CREATED,
              (*_POOL_ERRORS, *_CHAIN_ERRORS), thread_kind="withdrawal"),
    Operation("create_swap_thread", p.CreateSwapThreadParams, Route.NEW_THREAD, True,
              "Create a swap thread (stopped); at most one per direction per pool.", _THREAD_CREATED,
              (DuplicateSwapDirection.code, *_POOL_ERRORS, *_CHAIN_ERRORS), thread_kind="swap"),
    Operation("create_attack_thread", p.CreateAttackThreadParams, Route.NEW_THREAD, True,
              "Create an attack thread (stopped): a non-admin wallet that runs the attack catalogue (admin "
              "instructions via the ProgramData bypass, boundary amounts, substituted accounts) against its pool.",
              _THREAD_CREATED, (InvalidRequest.code, *_POOL_ERRORS, *_CHAIN_ERRORS), thread_kind="attack",
              description="Every attack is predicted by the code-derived model and checked by the intent oracle; "
                          "a successful admin attack is undone right after (a treasury withdrawal cannot be)."),
    Operation("start_thread", p.ThreadParams, Route.THREAD, True,
              "Start a thread (a fresh statistics session); starting a running thread is a no-op.",
              _STATUS_CHANGE, (*_THREAD_ERRORS, ChainUnavailable.code)),
    Operation("stop_thread", p.ThreadParams, Route.THREAD, True,
              "Stop a running thread after its current cycle and write its session file.", _STATUS_CHANGE,
              _THREAD_ERRORS),
    Operation("delete_thread", p.ThreadParams, Route.DROP_THREAD, True,
              "Delete a thread that is not running (its files go too).",
              _obj("thread_id", "deleted", thread_id=_STR, deleted=_BOOL), (*_THREAD_ERRORS, ThreadRunning.code)),
    Operation("run_cycle", p.ThreadParams, Route.THREAD, True,
              "Run exactly one cycle of a thread that is not running (stepping by hand) and say what happened.",
              _obj("thread_id", "operation", thread_id=_STR),
              (*_THREAD_ERRORS, ThreadRunning.code, ThreadInErrorState.code, *_CHAIN_ERRORS)),
    Operation("empty_thread", p.ThreadParams, Route.THREAD, True,
              "Burn the thread's whole input balance, attempt the operation with it, burn what it returned.",
              _obj("thread_id", "thread_type", "empty_operation", "post_empty_balances"),
              (*_THREAD_ERRORS, ThreadInErrorState.code, *_CHAIN_ERRORS)),
    Operation("get_thread_status", p.ThreadParams, Route.THREAD, False,
              "A thread's status, balances, statistics and monitoring data (design §5.3-5.4).", _THREAD_STATUS,
              (*_THREAD_ERRORS, ChainUnavailable.code), cacheable=True),
    Operation("get_all_threads", p.OptionalPoolParams, Route.EACH, False,
              "The status of every thread (optionally of one pool) and a summary.",
              _obj("threads", "summary", threads={"type": "array", "items": _THREAD_STATUS},
                   summary=_THREADS_SUMMARY),
              (*_POOL_ERRORS, ChainUnavailable.code), cacheable=True, merge=_merge_threads),
    Operation("fund_thread", p.FundThreadParams, Route.THREAD, True,
              "Send SOL, mint token A/B, or deposit and transfer LP tokens to a thread's wallet.",
              _obj("thread_id", "funding_type", "amount", "transaction_signature", "network_fee_paid", "balances"),
              (*_THREAD_ERRORS, *_CHAIN_ERRORS)),
    Operation("mint_and_send_tokens", p.MintAndSendTokensParams, Route.POOL, True,
              "Mint one of a pool's tokens to any address (its token account is created if needed).",
              _obj("transaction_signature", "pool_id", "token_mint", "token_type", "recipient_address",
                   "amount_minted", "network_fee_paid"), (*_POOL_ERRORS, *_CHAIN_ERRORS)),
    Operation("get_thread_sessions", p.ThreadSessionsParams, Route.THREAD, False,
              "A thread's past sessions (newest first) with their verification summaries.",
              _obj("thread_id", "sessions", sessions=_ARRAY), _THREAD_ERRORS, cacheable=True),
    Operation("start_all_threads", p.OptionalPoolParams, Route.EACH, True,
              "Start every thread that is not running (optionally only those of one pool).",
              _obj("started", "count", started=_ARRAY, count=_INT), (*_POOL_ERRORS, ChainUnavailable.code),
              merge=_concat_counted("started")),
    Operation("stop_all_threads", p.OptionalPoolParams, Route.EACH, True,
              "Stop every running thread (optionally only those of one pool), writing their sessions.",
              _obj("stopped", "count", stopped=_ARRAY, count=_INT), _POOL_ERRORS,
              merge=_concat_counted("stopped")),
    Operation("core_wallet_status", p.NoParams, Route.COORDINATOR, False,
              "The core wallet's address and SOL balance, and whether the cluster offers airdrops.",
              _obj("address", "sol_balance", "airdrop_available", address=_STR, sol_balance=_INT,
                   airdrop_available=_BOOL), (ChainUnavailable.code,), cacheable=True),
    Operation("airdrop_sol", p.AirdropParams, Route.FIRST, True,
              "Request SOL from the cluster's faucet (embedded chain, localnet, devnet; never mainnet).",
              _obj("address", "lamports", "transaction_signature"), (NotSupported.code, *_CHAIN_ERRORS)),
    Operation("get_findings", p.FindingsParams, Route.EACH, False,
              "Findings (model mismatches, invariant violations, ...): the count, by kind and severity, the groups "
              "(one per kind, rule, pool and operation, with a count and one full example) and the newest files.",
              _FINDINGS, cacheable=True,
              merge=_merge_findings),
    Operation("get_engine_status", p.NoParams, Route.COORDINATOR, False,
              "Cluster, program id and mode, uptime, thread and pool counts, totals, throughput, CPU per core.",
              _obj("cluster", "program_id", "core_wallet", "uptime_seconds", "pools", "threads", "totals",
                   "throughput", "cpu_percent_per_core"), cacheable=True),
    Operation("set_operator", p.SetOperatorParams, Route.EACH, True,
              "Turn the operator on or off and set its mean interval: random admin actions (pool and system "
              "pauses, fee changes, owner-only swaps, consolidation, treasury withdrawals), each checked.",
              _obj("enabled", "interval_s", "actions", "by_action", "findings", enabled=_BOOL, actions=_INT,
                   findings=_INT), merge=_merge_operator),
    Operation("get_operator", p.NoParams, Route.EACH, False,
              "The operator's settings and what it has done: actions by name (ok / refused), findings, the last "
              "action.", _obj("enabled", "interval_s", "actions", "by_action", "findings", enabled=_BOOL,
                             actions=_INT, findings=_INT), cacheable=True, merge=_merge_operator),
    Operation("get_snapshot", p.SnapshotParams, Route.COORDINATOR, False,
              "Everything a live view needs in one cheap call (what the console polls): the engine's header, a "
              "row per thread and per pool, the newest feed entries.",
              _typed(Snapshot), cacheable=True,
              description="Balances are those each thread's last cycle observed: no chain reads per thread."),
]

OPERATIONS: dict[str, Operation] = {operation.name: operation for operation in OPERATION_LIST}
