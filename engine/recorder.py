"""The one writer of statistics: every outcome, wait, share, refill, top-up, funding and finding
arrives here as an event and is booked on the thread's ThreadStats and the EngineTotals."""
from __future__ import annotations

import logging
from collections import deque

from engine.chain.base import TxResult
from engine.feed import EventFeed
from engine.findings import normalised
from engine.kinds import ThreadKind
from engine.operations import Outcome
from engine.pools import PoolRuntime
from engine.stats import EngineTotals, ThreadStats
from engine.store import StateStore, utc_now_iso
from engine.threads import ThreadRecord

log = logging.getLogger(__name__)
ERRORS_KEPT = 10
TRANSACTIONS_KEPT = 10  # a thread's recent transactions (get_thread_status "recent_transactions")


class Recorder:
    def __init__(self, store: StateStore, feed: EventFeed, totals: EngineTotals | None = None) -> None:
        self.store = store
        self.feed = feed
        self.totals = totals or EngineTotals()
        self.dirty = False  # statistics changed since the last flush
        self._recent_errors: dict[str, deque] = {}  # thread -> last 10 errors, flushed to errors/
        self._errors_dirty: set[str] = set()
        # thread -> its last operations' transactions, successes and failures, newest first (memory only)
        self._recent_transactions: dict[str, deque] = {}
        # Called when a finding opens a new group, whose example replay will look for: the engine
        # writes the pool histories out then (engine/history/log.py buffers up to half a second).
        self.on_new_group = lambda: None

    # ---- sessions ------------------------------------------------------------------------------

    def begin_session(self, thread: ThreadRecord, reason: str, balances: dict) -> None:
        thread.stats = ThreadStats(session_started_at=utc_now_iso(), session_start_reason=reason,
                                   starting_balances=balances)
        self.dirty = True

    # ---- operations ------------------------------------------------------------------------------

    def record_outcome(self, thread: ThreadRecord, pool: PoolRuntime, outcome: Outcome, *, empty: bool = False,
                       now: str | None = None) -> None:
        stats = thread.stats
        now = now or utc_now_iso()
        thread.last_operation_at = stats.last_operation_at = now
        thread.waiting_reason = None
        stats.last_operation_duration_ms = round(outcome.latency_ms, 3)
        pool_fee = outcome.prediction.pool_fee if outcome.ok else 0
        stats.record_fee(outcome.result.fee, pool_fee)
        self.totals.record(outcome.operation, outcome.verdict, outcome.latency_ms, outcome.error_name,
                           outcome.result.fee, pool_fee)
        ring = self._recent_transactions.get(thread.thread_id)
        if ring is None:
            ring = self._recent_transactions[thread.thread_id] = deque(maxlen=TRANSACTIONS_KEPT)
        ring.appendleft(transaction_entry(outcome, now, pool_fee))
        if outcome.ok:
            stats.successful_operations += 1
            stats.consecutive_failures = 0
            stats.last_success_at = now
            if not empty:
                stats.record_amount(outcome.amount)
                self._book_success(stats, thread.kind, outcome)
        else:
            stats.failed_operations += 1
            stats.consecutive_failures += 1
            stats.record_error(outcome.error_name or "unknown")
            if outcome.verdict == "unexpected":
                stats.unexpected_failures += 1
            else:
                stats.expected_failures += 1
            available = thread.kind.input_balance(thread, outcome.before.wallet)
            self._add_error(thread.thread_id, _error_entry(outcome, now, available))
            error = outcome.result.error
            self.feed.add(outcome.verdict, f"{outcome.operation}: {outcome.error_name}",
                          error.message if error else "failed", now, thread_id=thread.thread_id,
                          pool_id=pool.record.pool_id)
        for finding in outcome.findings:
            self._record_finding(thread, pool, outcome, finding)
        self.dirty = True

    @staticmethod
    def _book_success(stats: ThreadStats, kind: ThreadKind, outcome: Outcome) -> None:
        count, spent, received = kind.success_fields
        setattr(stats, count, getattr(stats, count) + 1)
        setattr(stats, spent, getattr(stats, spent) + outcome.amount)
        setattr(stats, received, getattr(stats, received) + outcome.output)

    def record_wait(self, thread: ThreadRecord, reason: str) -> None:
        thread.stats.waiting_cycles += 1
        thread.waiting_reason = reason
        self.totals.waits += 1

    def record_empty(self, thread: ThreadRecord, ok: bool, burned: int) -> None:
        stats = thread.stats
        stats.empty_operations += 1
        stats.empty_operations_failed += 0 if ok else 1
        stats.tokens_burned += burned
        self.dirty = True

    # ---- the economy around operations ----------------------------------------------------------------

    def record_share_recipients(self, giver: ThreadRecord, count: int) -> None:
        giver.stats.sharing_recipients_count = count

    def record_share(self, giver: ThreadRecord, batches: list[tuple[list[ThreadRecord], TxResult]], each: int) -> int:
        """One share split into transactions of `batches` recipients; returns what was sent."""
        kind = giver.kind
        sent = 0
        for recipients, result in batches:
            giver.stats.network_fees_paid += result.fee
            if result.ok:
                sent += each * len(recipients)
                for recipient in recipients:
                    stats = recipient.stats
                    setattr(stats, kind.share_received_field, getattr(stats, kind.share_received_field) + each)
                    stats.sharing_sources[giver.thread_id] = stats.sharing_sources.get(giver.thread_id, 0) + each
            else:
                self.record_side_error(giver, "share", result)
        if sent:
            stats = giver.stats
            stats.last_sharing_amount, stats.last_sharing_at = sent, utc_now_iso()
            setattr(stats, kind.share_given_field, getattr(stats, kind.share_given_field) + sent)
        return sent

    def record_refill(self, thread: ThreadRecord, amount: int) -> None:
        thread.stats.times_refilled += 1
        thread.stats.tokens_from_refills += amount

    def record_top_up(self, threads: list[ThreadRecord], lamports: int) -> None:
        for thread in threads:
            thread.stats.sol_topups += 1
            thread.stats.sol_from_topups += lamports

    def record_funding(self, thread: ThreadRecord, funding_type: str, amount: int) -> None:
        if funding_type == "sol":
            thread.stats.sol_from_topups += amount
        else:
            thread.stats.tokens_funded_manually += amount
        self.dirty = True

    # ---- errors and findings --------------------------------------------------------------------

    def record_side_error(self, thread: ThreadRecord, what: str, result: TxResult) -> None:
        """A supporting transaction (sharing, refill, top-up) failed; logged, the thread goes on."""
        thread.stats.record_error(result.error.name if result.error else "unknown")
        self._add_error(thread.thread_id, {
            "timestamp": utc_now_iso(), "operation_type": what, "error_message": result.error.message
            if result.error else "failed", "error": result.error.to_dict() if result.error else None,
            "transaction_signature": result.signature})

    def record_error_state(self, thread: ThreadRecord, evidence: dict) -> None:
        at = evidence.get("at", utc_now_iso())
        self._add_error(thread.thread_id, {"timestamp": at, "operation_type": evidence.get("operation", "thread"),
                                           "error_message": str(evidence.get("error")),
                                           "recovery_action": "thread stopped (error state)"})
        self.feed.add("unexpected", "thread stopped in error state", f"{thread.thread_id}: {evidence.get('error')}",
                      at, thread_id=thread.thread_id, pool_id=thread.pool_id)
        log.warning("thread %s entered the error state: %s", thread.thread_id, evidence.get("error"))

    def _record_finding(self, thread: ThreadRecord, pool: PoolRuntime, outcome: Outcome, finding: dict) -> None:
        result = outcome.result
        self.record_finding(finding, pool_id=pool.record.pool_id, operation=outcome.operation,
                            summary=f"{outcome.operation} {outcome.amount}", thread=thread, context={
                                "token_type": outcome.token_type, "amount": outcome.amount,
                                "prediction": outcome.prediction.to_json(), "actual_output": outcome.output,
                                "transaction": transaction_json(result),
                                "before": _view_json(outcome.before), "after": _view_json(outcome.after)})

    def record_late_landing(self, result) -> None:
        """A transaction whose operation was counted a transient "Unconfirmed" landed afterwards:
        its operation stays counted as it was (its effect was never verified), and this says so."""
        self.totals.late_landings += 1
        self.dirty = True
        outcome = "ran" if result.ok else f"failed ({result.error_name})"
        self.feed.add("transient", "landed late", f"transaction {result.signature[:16]}… counted Unconfirmed "
                      f"{outcome} after its operation's deadline", utc_now_iso())

    def record_finding(self, finding: dict, *, pool_id: str | None, operation: str, summary: str,
                       thread: ThreadRecord | None = None, context: dict | None = None) -> None:
        """Any detector's finding (engine/findings.py shape): counted by kind and severity, counted
        in its group (kind, rule, pool, operation) with the first few written whole with their
        context (what was sent, predicted and observed), shown in the feed once per group and
        logged. `operation` names what was executed ("deposit", "pause_pool", ...), `summary`
        says it in a few words."""
        finding = normalised(finding)
        self.dirty = True  # the next statistics flush saves the groups' counts too
        if thread is not None:
            thread.stats.findings += 1
        self.totals.record_finding(finding["kind"], finding["severity"])
        now = utc_now_iso()
        group, written = self.store.record_finding({
            **finding, "detected_at": now, "thread_id": thread.thread_id if thread else None, "pool_id": pool_id,
            "operation": operation, **(context or {})})
        self.feed.add("finding", f"{finding['severity']} · {finding['rule']}", f"{summary}: {finding['detail']}", now,
                      thread_id=thread.thread_id if thread else None, pool_id=pool_id, key=f"finding|{group['id']}")
        if group["count"] == 1:
            self.on_new_group()
            log.error("FINDING %s %s/%s on %s (%s): %s [group %s, %s]", finding["severity"], finding["kind"],
                      finding["rule"], pool_id, summary, finding["detail"], group["id"], written)
        else:
            log.debug("finding %s again (%d): %s", group["id"], group["count"], finding["detail"])

    def recent_transactions(self, thread_id: str) -> list[dict]:
        """The thread's last operations' transactions (at most 10), newest first."""
        return list(self._recent_transactions.get(thread_id, ()))

    # ---- recent errors (errors/<thread>.json) -----------------------------------------------------

    def recent_errors(self, thread_id: str) -> list[dict]:
        """The thread's last errors (at most 10), newest last."""
        return list(self._errors_of(thread_id))

    def _errors_of(self, thread_id: str) -> deque:
        errors = self._recent_errors.get(thread_id)
        if errors is None:
            errors = self._recent_errors[thread_id] = deque(self.store.load_errors(thread_id), maxlen=ERRORS_KEPT)
        return errors

    def _add_error(self, thread_id: str, entry: dict) -> None:
        self._errors_of(thread_id).append(entry)
        self._errors_dirty.add(thread_id)

    def flush_errors(self, known_threads) -> None:
        for thread_id in self._errors_dirty:
            if thread_id in known_threads:
                self.store.save_errors(thread_id, self._recent_errors[thread_id])
        self._errors_dirty.clear()

    def forget(self, thread_id: str) -> None:
        self._recent_errors.pop(thread_id, None)
        self._recent_transactions.pop(thread_id, None)
        self._errors_dirty.discard(thread_id)


def error_evidence(outcome: Outcome, now: str) -> dict:
    """What an unexpected failure leaves in the thread's error_state."""
    return {"error": outcome.result.error.to_dict() if outcome.result.error else None,
            "transaction_signature": outcome.result.signature, "logs": list(outcome.result.logs),
            "balances_before": outcome.before.wallet.to_json(), "balances_after": outcome.after.wallet.to_json(),
            "operation": outcome.operation, "amount": outcome.amount, "at": now}


_LP = {"A": "lp_token_a", "B": "lp_token_b"}
_TOKEN = {"A": "token_a", "B": "token_b"}


def transaction_entry(outcome: Outcome, now: str, pool_fee: int) -> dict:
    """One operation's transaction as get_thread_status lists it: what went in and came out (in
    base units of `token_in` / `token_out`, balance names) and how it ended."""
    side = outcome.token_type
    if outcome.operation == "deposit":
        token_in, token_out = _TOKEN.get(side), _LP.get(side)
    elif outcome.operation == "withdraw":
        token_in, token_out = _LP.get(side), _TOKEN.get(side)
    else:
        token_in, token_out = _TOKEN.get(side), _TOKEN.get("B" if side == "A" else "A")
    error = outcome.result.error if not outcome.ok else None
    return {"timestamp": now, "operation": outcome.operation, "token_type": side,
            "amount_in": outcome.amount, "token_in": token_in, "amount_out": outcome.output, "token_out": token_out,
            "ok": outcome.ok, "outcome": outcome.verdict,
            "error_name": error.name if error else None, "error_code": error.code if error else None,
            "error_category": error.category if error else None,
            "signature": outcome.result.signature, "latency_ms": round(outcome.latency_ms, 3),
            "network_fee": outcome.result.fee, "pool_fee": pool_fee}


def _error_entry(outcome: Outcome, now: str, available: int) -> dict:
    error = outcome.result.error
    return {"timestamp": now, "error_message": error.message if error else "failed",
            "error_name": outcome.error_name, "category": outcome.verdict, "operation_type": outcome.operation,
            "operation_details": {"attempted_amount": outcome.amount,
                                  "available_balance": available, "operation_type": outcome.operation},
            "transaction_signature": outcome.result.signature,
            "recovery_action": "thread stopped (error state)" if outcome.verdict == "unexpected" else "continue"}


def transaction_json(result: TxResult) -> dict:
    """A transaction as a finding's evidence keeps it."""
    return {"signature": result.signature, "ok": result.ok, "fee": result.fee, "compute_units": result.compute_units,
            "error": result.error.to_dict() if result.error else None, "logs": list(result.logs)}


def _view_json(view) -> dict:
    pool = view.pool
    data = {"wallet": view.wallet.numbers()}
    if pool is not None:
        data["pool"] = pool.numbers() | {"flags": pool.state.flags, "system_paused": pool.system_paused}
    return data
