"""The shapes the service design gives its answers (§5.1-5.4, sessions §4.1), built from records.

Pure functions of engine state: the API and the console show exactly these."""
from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from typing import Iterable

from engine.api.rows import PoolRow, ShardFacts, ThreadKindCounts, ThreadRow, ThreadsSummary
from engine.observe import PoolView, WalletView
from engine.pools import PoolRuntime
from engine.stats import ThreadStats
from engine.store import utc_now_iso
from engine.threads import CREATED, ERROR, RUNNING, STATUS_SYMBOLS, STOPPED, ThreadRecord


def balances(thread: ThreadRecord, wallet: WalletView) -> dict:
    return wallet.status_json(thread.token_type)


def _seconds_since(iso: str | None) -> float | None:
    if not iso:
        return None
    return round((datetime.now(timezone.utc) - _parse_utc(iso)).total_seconds(), 1)


@lru_cache(maxsize=8192)
def _parse_utc(iso: str) -> datetime:
    """A thread's session start is read at every snapshot: parse each string once."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _ops_per_minute(stats: ThreadStats) -> float:
    elapsed = _seconds_since(stats.session_started_at)
    return round(stats.total_attempts * 60.0 / elapsed, 2) if elapsed else 0.0


def thread_status(engine, thread: ThreadRecord, pool: PoolRuntime, wallet: WalletView) -> dict:
    """get_thread_status: the design's §5.3 fields plus the §5.4 monitoring sections."""
    stats = thread.stats
    errors = engine.recent_errors(thread.thread_id)
    status = {
        "thread_id": thread.thread_id,
        "type": thread.thread_type,
        "status": thread.status,
        "status_symbol": STATUS_SYMBOLS[thread.status],
        "pool_id": thread.pool_id,
        "token_type": thread.token_type,
        "swap_direction": thread.swap_direction,
        "wallet_address": str(thread.wallet.pubkey),
        "waiting_reason": thread.waiting_reason,
        "balances": balances(thread, wallet),
        "statistics": {
            "successful_deposits": stats.successful_deposits,
            "successful_withdrawals": stats.successful_withdrawals,
            "successful_swaps": stats.successful_swaps,
            "failed_operations": stats.failed_operations,
            "total_volume_processed": stats.total_volume_processed,
            "operation_counts": {"successful_operations": stats.successful_operations,
                                 "failed_operations": stats.failed_operations,
                                 "expected_failures": stats.expected_failures,
                                 "unexpected_failures": stats.unexpected_failures,
                                 "waiting_cycles": stats.waiting_cycles,
                                 "total_attempts": stats.total_attempts,
                                 "success_rate_percentage": stats.success_rate},
            "timing_stats": {"operations_per_minute": _ops_per_minute(stats),
                             "last_operation_duration_ms": stats.last_operation_duration_ms,
                             "session_seconds": _seconds_since(stats.session_started_at)},
        },
        "verification_totals": _verification_totals(thread),
        "cost_tracking": {
            "network_fees": {"total_sol_spent": stats.network_fees_paid,
                             "average_fee_per_transaction": _average(stats.network_fees_paid, stats.total_attempts),
                             "fee_trend_last_10_ops": _average(sum(stats.recent_fees), len(stats.recent_fees))},
            "pool_fees": {"total_pool_fees_paid": stats.pool_fees_paid,
                          "average_pool_fee_per_op": _average(stats.pool_fees_paid, stats.successful_operations)},
        },
        "thread_identity": {"thread_id": thread.thread_id, "thread_type": thread.thread_type,
                            "pool_id": thread.pool_id, "token_type": thread.token_type, "status": thread.status,
                            "created_at": thread.created_at, "started_at": thread.started_at,
                            "last_operation_at": thread.last_operation_at},
        "recent_transactions": engine.recorder.recent_transactions(thread.thread_id),
        "recent_errors": [{"timestamp": e.get("timestamp"), "error": e.get("error_message"),
                           "operation_type": e.get("operation_type"), "category": e.get("category")}
                          for e in errors[-10:]],
        "error_monitoring": {"recent_errors": errors[-10:],
                             "error_trends": {"most_common_error": stats.most_common_error,
                                              "errors_by_name": stats.errors_by_name,
                                              "error_rate_percentage": round(100 - stats.success_rate, 2)
                                              if stats.total_attempts else 0.0}},
        "health_monitoring": _health(engine, thread, wallet),
        "error_state": thread.error_state,
        "findings": stats.findings,
        "pool_integration": {"pool_info": {"pool_address": pool.record.pool_id,
                                           "token_a_mint": pool.record.token_a_mint,
                                           "token_b_mint": pool.record.token_b_mint,
                                           "lp_token_mint": str(pool.lp_mint(thread.token_type or thread.input_token))}},
    }
    status[f"{thread.thread_type}_specific"] = thread.kind.specific(thread, wallet, engine.settings.engine,
                                                                    engine.threads.values())
    return status


def _average(total: int, count: int) -> int:
    return total // count if count else 0


def _verification_totals(thread: ThreadRecord) -> dict:
    stats = thread.stats
    return {**thread.kind.verification_totals(stats), "pool_fees_paid": stats.pool_fees_paid,
            "network_fees_paid": stats.network_fees_paid,
            "total_sol_spent": stats.pool_fees_paid + stats.network_fees_paid}


def _health(engine, thread: ThreadRecord, wallet: WalletView) -> dict:
    stats = thread.stats
    config = engine.settings.engine
    if thread.status == ERROR:
        operational = "error"
    elif thread.status != RUNNING:
        operational = "stopped"
    elif stats.consecutive_failures >= 5 or wallet.sol < config.sol_threshold_lamports:
        operational = "warning"
    else:
        operational = "healthy"
    input_balance = thread.kind.input_balance(thread, wallet)
    return {"operational_status": operational,
            "performance_indicators": {"consecutive_failures": stats.consecutive_failures,
                                       "last_successful_operation": stats.last_success_at,
                                       "time_since_last_success_seconds": _seconds_since(stats.last_success_at)},
            "resource_status": {"sol_sufficient": wallet.sol >= config.sol_threshold_lamports,
                                "tokens_sufficient": input_balance > 0,
                                "waiting_reason": thread.waiting_reason}}


def threads_summary(threads: Iterable[ThreadRecord]) -> ThreadsSummary:
    return _threads_summary((thread.status, thread.stats.total_attempts) for thread in threads)


def rows_threads_summary(rows: Iterable[ThreadRow]) -> ThreadsSummary:
    """The same summary from thread rows (a row's ok + failed is its thread's total_attempts)."""
    return _threads_summary((row["status"], row["ok"] + row["failed"]) for row in rows)


def _threads_summary(threads: Iterable[tuple[str, int]]) -> ThreadsSummary:
    """Threads by status and their attempts, from (status, attempts) pairs."""
    by_status: dict[str, int] = {}
    total = attempts = 0
    for status, thread_attempts in threads:
        by_status[status] = by_status.get(status, 0) + 1
        total += 1
        attempts += thread_attempts
    return {"total_threads": total, "running_threads": by_status.get(RUNNING, 0),
            "stopped_threads": by_status.get(STOPPED, 0), "created_threads": by_status.get(CREATED, 0),
            "error_threads": by_status.get(ERROR, 0), "total_operations": attempts}


def pool_detail(pool: PoolRuntime, view: PoolView, thread_counts: dict) -> dict:
    state = view.state
    return pool.record.summary() | {
        "owner": str(state.owner),
        "token_a_vault": str(state.token_a_vault), "token_b_vault": str(state.token_b_vault),
        "lp_token_a_mint": str(state.lp_token_a_mint), "lp_token_b_mint": str(state.lp_token_b_mint),
        "liquidity": {"token_a": state.total_token_a_liquidity, "token_b": state.total_token_b_liquidity},
        "vault_balances": {"token_a": view.vault_a, "token_b": view.vault_b},
        "lp_supply": {"lp_token_a": view.lp_supply_a, "lp_token_b": view.lp_supply_b},
        "fees": {"contract_liquidity_fee": state.contract_liquidity_fee, "swap_contract_fee": state.swap_contract_fee,
                 "collected_liquidity_fees": state.collected_liquidity_fees,
                 "collected_swap_contract_fees": state.collected_swap_contract_fees,
                 "total_sol_fees_collected": state.total_sol_fees_collected,
                 "total_fees_consolidated": state.total_fees_consolidated, "pool_lamports": view.lamports},
        "pause_flags": {"liquidity_paused": state.liquidity_paused, "swaps_paused": state.swaps_paused,
                        "swap_for_owners_only": state.owner_only, "exact_exchange_required": state.exact_exchange,
                        "system_paused": view.system_paused},
        "state_flags": state.flags,
        "thread_counts": thread_counts,
    }


# ---- empty_thread --------------------------------------------------------------------------

def empty_report_base(thread: ThreadRecord, available: int) -> dict:
    return {"thread_id": thread.thread_id, "thread_type": thread.thread_type, "empty_operation": {
        "tokens_used": 0, "lp_tokens_received": 0, "lp_tokens_used": 0, "tokens_withdrawn": 0,
        "tokens_swapped_in": 0, "tokens_swapped_out": 0, "tokens_burned": 0, "lp_tokens_burned": 0,
        "operation_successful": False, "error_message": None, "transaction_signature": None,
        "network_fee_paid": 0, "available_before": available}}


def fill_empty_report(report: dict, thread: ThreadRecord, available: int, outcome, received: int, fees: int) -> None:
    empty = report["empty_operation"]
    empty.update(thread.kind.empty_figures(thread, available, received))
    empty["operation_successful"] = outcome.ok
    empty["error_message"] = None if outcome.ok else (
        f"{outcome.operation.capitalize()} failed: {outcome.result.error.name} ({outcome.verdict})")
    empty["attempt_signature"] = outcome.result.signature
    empty["transaction_signature"] = outcome.result.signature if outcome.ok else None
    empty["network_fee_paid"] = fees


def post_empty_balances(thread: ThreadRecord, wallet: WalletView) -> dict:
    return wallet.after_empty_json(thread.token_type)


# ---- sessions ------------------------------------------------------------------------------

def session_document(thread: ThreadRecord, wallet: WalletView, stop_reason: str) -> dict:
    stats = thread.stats
    started = stats.session_started_at
    ended = utc_now_iso()
    start_balances = stats.starting_balances
    token_key = f"token_{(thread.input_token or 'a').lower()}"
    lp_key = f"lp_{(thread.token_type or thread.input_token).lower()}"
    return {
        "thread_id": thread.thread_id, "thread_type": thread.thread_type, "pool_id": thread.pool_id,
        "token_type": thread.token_type, "swap_direction": thread.swap_direction,
        "session_info": {"start_time": started, "end_time": ended,
                         "duration_seconds": _seconds_since(started) or 0,
                         "start_reason": stats.session_start_reason or "manual_start", "stop_reason": stop_reason},
        "verification_totals": {
            "operation_counts": {"successful_operations": stats.successful_operations,
                                 "successful_deposits": stats.successful_deposits,
                                 "successful_withdrawals": stats.successful_withdrawals,
                                 "successful_swaps": stats.successful_swaps,
                                 "failed_operations": stats.failed_operations,
                                 "expected_failures": stats.expected_failures,
                                 "unexpected_failures": stats.unexpected_failures,
                                 "total_attempts": stats.total_attempts, "waiting_cycles": stats.waiting_cycles},
            "token_flows": _verification_totals(thread) | {
                "tokens_received_from_sharing": stats.tokens_from_sharing,
                "lp_tokens_received_from_sharing": stats.lp_tokens_from_deposits,
                "tokens_from_auto_refill": stats.tokens_from_refills},
            "fee_tracking": {"pool_fees_paid": stats.pool_fees_paid, "network_fees_paid": stats.network_fees_paid,
                             "total_sol_spent": stats.pool_fees_paid + stats.network_fees_paid,
                             "average_sol_per_transaction": _average(stats.pool_fees_paid + stats.network_fees_paid,
                                                                     stats.total_attempts)},
            "balance_verification": {
                "starting_token_balance": start_balances.get(token_key, 0),
                "ending_token_balance": wallet.numbers()[token_key],
                "starting_lp_balance": start_balances.get(lp_key, 0), "ending_lp_balance": wallet.numbers()[lp_key],
                "starting_sol_balance": start_balances.get("sol", 0), "ending_sol_balance": wallet.sol},
            "findings": stats.findings,
        },
        "pool_verification_data": _pool_verification(thread),
        "error_state": thread.error_state,  # kept here too: restarting the thread clears it
    }


def _pool_verification(thread: ThreadRecord) -> dict:
    return thread.kind.pool_verification(thread.stats)


def session_summary(session: dict) -> dict:
    info = session.get("session_info", {})
    totals = session.get("verification_totals", {})
    counts = totals.get("operation_counts", {})
    fees = totals.get("fee_tracking", {})
    flows = totals.get("token_flows", {})
    processed = sum(value for key, value in flows.items()
                    if key in ("tokens_deposited", "tokens_withdrawn", "tokens_swapped_in"))
    return {"session_file": session.get("session_file"), "start_time": info.get("start_time"),
            "end_time": info.get("end_time"), "duration_seconds": info.get("duration_seconds"),
            "stop_reason": info.get("stop_reason"),
            "verification_summary": {"successful_operations": counts.get("successful_operations", 0),
                                     "total_tokens_processed": processed,
                                     "total_fees_paid": fees.get("total_sol_spent", 0),
                                     "pool_verification_passed": totals.get("findings", 0) == 0}}


# ---- snapshot rows (live views: shapes in engine/api/rows.py) -------------------------------

def shard_facts(engine, core_lamports: int) -> ShardFacts:
    """What a shard tells the coordinator about its chain, besides its rows and totals: the
    coordinator renders the engine header from these, the merged totals and the merged rows."""
    return {"url": engine.cluster.url, "program_id": str(engine.cluster.program_id), "core_lamports": core_lamports}


def thread_row(thread: ThreadRecord) -> ThreadRow:
    stats = thread.stats
    wallet = thread.wallet_view
    return {"thread_id": thread.thread_id, "type": thread.thread_type, "pool_id": thread.pool_id,
            "side": thread.token_type or thread.swap_direction, "status": thread.status,
            "status_symbol": STATUS_SYMBOLS[thread.status],
            "balances": wallet.numbers() if wallet is not None else None,
            "ok": stats.successful_operations, "failed": stats.failed_operations,
            "ops_per_minute": _ops_per_minute(stats), "findings": stats.findings,
            "last_error": stats.most_common_error if stats.failed_operations else None,
            "error_reason": error_reason(thread.error_state) if thread.status == ERROR else None,
            "waiting_reason": thread.waiting_reason}


def error_reason(error_state: dict | None) -> str:
    """What put a thread in the error state, in one line: the failed transaction's error (name:
    message) or the crash's exception."""
    error = (error_state or {}).get("error")
    if isinstance(error, dict):
        error = error.get("message") or error.get("name")
    return " ".join(str(error).split()) if error else "error state (no reason recorded)"


def pool_row(pool: PoolRuntime, thread_counts: ThreadKindCounts) -> PoolRow:
    view = pool.last_view
    row: PoolRow = pool.record.summary() | {"thread_counts": thread_counts, "liquidity": None, "lp_supply": None,
                                            "pause_flags": None}
    if view is not None:
        state = view.state
        row.update(liquidity={"token_a": state.total_token_a_liquidity, "token_b": state.total_token_b_liquidity},
                   lp_supply={"lp_token_a": view.lp_supply_a, "lp_token_b": view.lp_supply_b},
                   pause_flags={"liquidity_paused": state.liquidity_paused, "swaps_paused": state.swaps_paused,
                                "system_paused": view.system_paused})
    return row


def thread_summary(thread: ThreadRecord) -> dict:
    """A thread's identity and counters without chain reads (reports)."""
    stats = thread.stats
    return {"thread_id": thread.thread_id, "thread_type": thread.thread_type, "pool_id": thread.pool_id,
            "token_type": thread.token_type, "swap_direction": thread.swap_direction, "status": thread.status,
            "successful_operations": stats.successful_operations, "expected_failures": stats.expected_failures,
            "unexpected_failures": stats.unexpected_failures, "waiting_cycles": stats.waiting_cycles,
            "findings": stats.findings, "times_refilled": stats.times_refilled,
            "errors_by_name": dict(stats.errors_by_name), "error_state": thread.error_state}
