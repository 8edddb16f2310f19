"""The engine's read-only answers: pools, threads, sessions, findings, the core wallet, the
engine's status, the live view's snapshot and the health checks. Nothing here changes state;
the shapes come from engine/status.py."""
from __future__ import annotations

import asyncio
import time

import psutil

from engine import status as status_view
from engine.exceptions import PoolNotFound, ThreadNotFound
from engine.findings import count_by
from engine.observe import observe, wallet_views
from engine.store import utc_now_iso

YIELD_EVERY = 100  # threads answered between turns of the event loop


async def list_pools(engine) -> dict:
    counts = engine.registry.thread_counts_by_pool()
    return {"pools": [pool.record.summary() | {"thread_counts": counts[pool_id]}
                      for pool_id, pool in engine.pools.items()]}


async def get_pool(engine, pool_id: str) -> dict:
    pool = engine.registry.pool(pool_id)
    accounts = await engine.cluster.get_multiple_accounts([pool.addresses.pool_state])
    if accounts[0] is None:
        raise PoolNotFound(f"Pool {pool_id} has no account on the chain")
    view = await observe(engine.cluster, pool.addresses, engine.core.pubkey)
    return status_view.pool_detail(pool, view.pool, engine.registry.thread_counts_by_pool()[pool_id])


async def get_thread_status(engine, thread_id: str) -> dict:
    thread = engine.registry.thread(thread_id)
    pool = engine.pools[thread.pool_id]
    view = await observe(engine.cluster, pool.addresses, thread.wallet.pubkey, with_pool=False)
    return status_view.thread_status(engine, thread, pool, view.wallet)


async def get_all_threads(engine, pool_id: str | None = None) -> dict:
    threads = engine.registry.threads_of(pool_id)
    pools = engine.pools
    wallets = await wallet_views(engine.cluster, [(t.thread_id, t.wallet.pubkey, pools[t.pool_id].addresses)
                                                  for t in threads])
    statuses = []
    for index, thread in enumerate(threads):
        statuses.append(status_view.thread_status(engine, thread, pools[thread.pool_id], wallets[thread.thread_id]))
        if index % YIELD_EVERY == YIELD_EVERY - 1:
            await asyncio.sleep(0)  # thousands of threads: let the workers and other callers in
    return {"threads": statuses, "summary": status_view.threads_summary(threads)}


async def get_thread_sessions(engine, thread_id: str, limit: int | None = None) -> dict:
    """A deleted thread's sessions stay readable while its files do."""
    if thread_id not in engine.threads and not engine.store.list_sessions(thread_id, 1):
        raise ThreadNotFound(f"Thread {thread_id} not found")
    sessions = engine.store.list_sessions(thread_id, limit)
    return {"thread_id": thread_id, "sessions": [status_view.session_summary(s) for s in sessions]}


async def get_findings(engine, limit: int | None = 50) -> dict:
    """Every finding counted (`count`, by kind and by severity, over the groups kept in the data
    directory), the groups (newest last_seen first, each with its first finding whole as
    `example`) and the newest finding files (`findings`; only a group's first few are written)."""
    store = engine.store
    everything = store.finding_groups(examples=False)
    return {"count": sum(group["count"] for group in everything), "stored": store.count_findings(),
            "by_kind": count_by(everything, "kind"), "by_severity": count_by(everything, "severity"),
            "groups": store.finding_groups(limit), "findings": store.list_findings(limit)}


async def core_wallet_status(engine) -> dict:
    lamports = await engine.cluster.get_balance(engine.core.pubkey)
    return {"address": str(engine.core.pubkey), "sol_balance": lamports, "airdrop_available": engine.supports_airdrop}


async def get_engine_status(engine) -> dict:
    cluster = engine.cluster
    return {
        "cluster": {"mode": cluster.mode, "description": cluster.describe(), "url": cluster.url},
        "program_id": str(cluster.program_id),
        "core_wallet": str(engine.core.pubkey),
        "started_at": engine.started_at,
        "uptime_seconds": round(time.monotonic() - engine.started_monotonic, 1),
        "pools": len(engine.pools),
        "threads": status_view.threads_summary(list(engine.threads.values())),
        "totals": engine.totals.summary(),
        "findings": engine.store.findings_total(),
        "cpu_percent_per_core": psutil.cpu_percent(percpu=True),
        "memory_rss_bytes": psutil.Process().memory_info().rss,
        "problems": list(engine.problems),
    }


async def snapshot(engine, feed_limit: int = 100) -> dict:
    """Everything the coordinator's live view needs from this shard in one cheap call: its chain
    facts under "engine" (the coordinator renders the header from every shard's), its rows and
    its feed; no per-thread chain reads (balances are the ones each thread's last cycle observed)."""
    core_lamports = await engine.cluster.get_balance(engine.core.pubkey)
    counts = engine.registry.thread_counts_by_pool()
    return {
        "taken_at": utc_now_iso(),
        "facts": status_view.shard_facts(engine, core_lamports),
        "threads": [status_view.thread_row(t) for t in engine.threads.values()],
        "pools": [status_view.pool_row(pool, counts[pool_id]) for pool_id, pool in engine.pools.items()],
        "feed": engine.feed.latest(feed_limit),
        "feed_version": engine.feed.version,
    }


async def chain_health(engine, timeout_s: float = 5.0) -> dict:
    """Whether the chain answers (a latest-blockhash round trip), and how fast."""
    mode = engine.cluster.mode
    started = time.perf_counter()
    try:
        await asyncio.wait_for(engine.cluster.get_latest_blockhash(), timeout_s)
    except Exception as exc:  # any failure means the chain does not answer
        return {"mode": mode, "ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"mode": mode, "ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 3)}


async def thread_summaries(engine) -> list[dict]:
    return [status_view.thread_summary(thread) for thread in engine.threads.values()]
