"""The shapes of the live view: what `get_snapshot` answers, and what each shard hands the
coordinator to build it.

The wire format is plain JSON objects; these TypedDicts declare their keys once. engine/status.py
builds the rows, the coordinator (engine/sharding/coordinator.py) merges them and renders the
header, and engine/api/operations.py generates the documented result schema from them (pydantic's
TypeAdapter), so OpenRPC documents the shape the answers really have. The docstrings after the
keys become the schema's descriptions.

Units: amounts are integers in base units (lamports for SOL, the mint's smallest unit for tokens);
times are ISO 8601 UTC strings; durations and latencies say their unit in the key (`_seconds`,
`_ms`); rates are per minute.
"""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict  # pydantic needs typing_extensions' TypedDict before Python 3.12

_DOCUMENTED = ConfigDict(use_attribute_docstrings=True)

ThreadStatusName = Literal["created", "running", "stopped", "error"]  # engine.threads.ThreadStatus
Severity = Literal["finding", "unexpected", "expected", "transient", "info"]  # engine.feed.SEVERITIES


# --------------------------------------------------------------------------- thread rows

@with_config(_DOCUMENTED)
class WalletBalances(TypedDict):
    """A thread wallet's five balances (engine.observe.WalletView.numbers): SOL in lamports,
    tokens and LP tokens in base units."""
    sol: int
    token_a: int
    token_b: int
    lp_a: int
    """LP tokens of the pool's token-A side."""
    lp_b: int
    """LP tokens of the pool's token-B side."""


@with_config(_DOCUMENTED)
class ThreadRow(TypedDict):
    """One row per worker thread, without chain reads. Counters are those of the thread's
    current statistics session (starting a thread starts a new one)."""
    thread_id: str
    """Global across shards, e.g. deposit_3."""
    type: str
    """The thread kind: deposit, withdrawal or swap."""
    pool_id: str
    side: Optional[str]
    """The token a deposit or withdrawal thread works on (A or B), or a swap thread's direction
    (a_to_b or b_to_a)."""
    status: ThreadStatusName
    status_symbol: str
    """The status as one character, for tables."""
    balances: Optional[WalletBalances]
    """As the thread's last cycle observed them; null before its first observation."""
    ok: int
    """Successful operations."""
    failed: int
    """Failed operations (expected, unexpected and transient)."""
    ops_per_minute: float
    """Attempts (ok + failed) per minute since the session started."""
    findings: int
    last_error: Optional[str]
    """The session's most common error name (null while nothing failed)."""
    error_reason: Optional[str]
    """For a thread in the error state: what put it there, in one line (the failed transaction's
    error, or the exception that stopped it); null otherwise."""
    waiting_reason: Optional[str]
    """Why the thread is waiting (nothing to spend, ...); null while it is not."""


# --------------------------------------------------------------------------- pool rows

@with_config(_DOCUMENTED)
class ThreadKindCounts(TypedDict):
    """How many threads of each kind work on the pool."""
    deposit: int
    withdrawal: int
    swap: int
    attack: int


@with_config(_DOCUMENTED)
class PoolLiquidity(TypedDict):
    """The pool's liquidity per side, in the tokens' base units."""
    token_a: int
    token_b: int


@with_config(_DOCUMENTED)
class PoolLpSupply(TypedDict):
    """The supply of each side's LP mint, in base units."""
    lp_token_a: int
    lp_token_b: int


@with_config(_DOCUMENTED)
class PoolPauseFlags(TypedDict):
    """The pool's pause flags, and the program's system-wide pause."""
    liquidity_paused: bool
    swaps_paused: bool
    system_paused: bool


@with_config(_DOCUMENTED)
class PoolRow(TypedDict):
    """One row per pool: its registry entry (engine.pools.PoolRecord.summary), its thread
    counts and, from the last observation of its on-chain state (no chain read), liquidity, LP
    supply and pause flags (null until the pool was first observed)."""
    pool_id: str
    token_a_mint: str
    token_a_decimals: int
    token_b_mint: str
    token_b_decimals: int
    ratio_a_numerator: int
    """The pool's fixed ratio: ratio_a_numerator base units of A = ratio_b_denominator base units of B."""
    ratio_b_denominator: int
    ratio_display: str
    """The ratio in whole tokens, e.g. "1 Token A = 160 Token B"."""
    flags: int
    """The pool's FRT flag bits (owner-only swaps, exact exchange, ...)."""
    created_at: str
    thread_counts: ThreadKindCounts
    liquidity: Optional[PoolLiquidity]
    lp_supply: Optional[PoolLpSupply]
    pause_flags: Optional[PoolPauseFlags]


# --------------------------------------------------------------------------- feed

@with_config(_DOCUMENTED)
class FeedEntry(TypedDict):
    """One distinct event for operators (engine.feed.FeedEntry): repeats of the same severity,
    title and pool count up instead of adding entries."""
    key: str
    """What makes two events the same: "severity|title|pool_id", or "finding|<group id>" for a finding."""
    severity: Severity
    title: str
    message: str
    """The latest occurrence's message."""
    count: int
    """How many times it happened."""
    first_seen: str
    last_seen: str
    threads: list[str]
    """The threads it happened in (the latest 20)."""
    pool_id: Optional[str]


# --------------------------------------------------------------------------- header

@with_config(_DOCUMENTED)
class LatencySummary(TypedDict):
    """Send-to-confirmation latency of every operation, in milliseconds, from mergeable
    histograms (percentiles within 1 % of the exact ones)."""
    count: int
    """Samples."""
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


@with_config(_DOCUMENTED)
class ThreadsSummary(TypedDict):
    """Threads by status, and their operations (ok + failed) in their current sessions."""
    total_threads: int
    running_threads: int
    stopped_threads: int
    created_threads: int
    error_threads: int
    total_operations: int


@with_config(_DOCUMENTED)
class ShardStatus(TypedDict):
    """One shard: its process (pid null for the shard in the coordinator's process), how often
    it was restarted, and how many pools and threads the registry places on it."""
    shard: int
    alive: bool
    pid: Optional[int]
    restarts: int
    pools: int
    threads: int


@with_config(_DOCUMENTED)
class EngineHeader(TypedDict):
    """The engine as a whole, rendered once by the coordinator. The operation figures come
    from every shard's merged totals, since the engine started (not per session)."""
    mode: str
    """embedded-emulated, embedded-so or rpc."""
    description: str
    """The chain in words (backend, where the shards run, what executes FRT)."""
    url: Optional[str]
    """The JSON-RPC endpoint; null for embedded ledgers."""
    program_id: Optional[str]
    core_wallet: str
    """The core wallet's address (it funds every thread wallet)."""
    core_lamports: int
    """The core wallet's SOL in lamports (on embedded ledgers, the sum over the shards' ledgers)."""
    uptime_seconds: float
    operations: int
    """Operations attempted (every verdict)."""
    ok: int
    failed: int
    """operations - ok: expected, unexpected and transient failures."""
    unexpected: int
    findings: int
    waits: int
    """Cycles in which a thread had nothing to spend (not operations)."""
    operations_per_minute: float
    """Over the last minute, every shard together."""
    latency_ms: LatencySummary
    threads: ThreadsSummary
    pools: int
    shards: list[ShardStatus]


# --------------------------------------------------------------------------- the answer

@with_config(_DOCUMENTED)
class Snapshot(TypedDict):
    """get_snapshot: everything a live view needs in one cheap call."""
    taken_at: str
    engine: EngineHeader
    threads: list[ThreadRow]
    pools: list[PoolRow]
    feed: list[FeedEntry]
    """The newest entries first (at most feed_limit)."""
    feed_version: int
    """Changes whenever the feed does: a viewer may skip re-rendering it while it stays."""


# --------------------------------------------------------------------------- shard to coordinator

@with_config(_DOCUMENTED)
class ShardFacts(TypedDict):
    """What the coordinator takes from a shard besides its rows and totals to render the
    header: facts about its chain, not figures to add up (those are in its totals)."""
    url: Optional[str]
    program_id: str
    core_lamports: int
    """The core wallet's SOL as this shard's chain sees it, in lamports."""


class ShardSnapshot(TypedDict):
    """A shard's live view (engine/sharding/shard.py shard_snapshot), pushed to the coordinator:
    Engine.snapshot() plus its mergeable totals."""
    taken_at: str
    facts: ShardFacts
    threads: list[ThreadRow]
    pools: list[PoolRow]
    feed: list[FeedEntry]
    feed_version: int
    totals: dict  # engine.stats.EngineTotals.to_json(): merged with EngineTotals.merge_json
