"""Detail of one thread: everything get_thread_status returns, its recent transactions, its
errors with their logs and its sessions. Amounts in whole tokens of the pool's decimals with
their base units beside them; directions and states spelled as in the threads table."""
from __future__ import annotations

from typing import Any

from console.formatting import short_id
from console.screens.detail_base import DetailScreen
from console.widgets.detail import (Amount, log_lines, records, section, show_value, signature_cell, sol,
                                    stacked, status_text, time_ms, when)

SESSIONS_SHOWN = 20
_OTHER = {"A": "B", "B": "A"}
_TOP = ("thread_id", "type", "status", "status_symbol", "pool_id", "token_type", "swap_direction", "wallet_address",
        "waiting_reason", "findings")
# the sections shown as they are (amounts converted), in this order
_SECTIONS = (("balances", "Balances"), ("statistics", "Statistics"), ("verification_totals", "Verification totals"),
             ("cost_tracking", "Cost tracking"), ("health_monitoring", "Health monitoring"),
             ("pool_integration", "Pool integration"))
_SHOWN_ELSEWHERE = {*_TOP, *(key for key, _ in _SECTIONS), "thread_identity", "recent_errors", "error_monitoring",
                    "error_state", "recent_transactions"}
_COUNTS = ("successful", "failed", "failure", "count", "cycles", "attempts", "percentage", "times", "recipients",
           "findings", "_ms", "seconds", "operations", "refilled", "topups", "swaps", "deposits", "withdrawals")
_SOL = ("sol", "fee", "lamports")
_OUTPUT = ("out", "sent_to_opposite")
_AMOUNT = ("token", "amount", "volume", "size", "swap", "largest", "smallest", "balance", "lp", "burned", "given",
           "received", "used", "withdrawn", "deposited")


def input_token(status: dict) -> str | None:
    """The token a thread spends: its token for a deposit or withdrawal, a swap's input side."""
    direction = status.get("swap_direction")
    if direction in ("a_to_b", "b_to_a"):
        return "A" if direction == "a_to_b" else "B"
    return status.get("token_type")


def side_of(status: dict) -> str:
    return show_value(status.get("swap_direction") or status.get("token_type"))


class Units:
    """Which amount an integer of a thread's status is, from its key: lamports (SOL), a named
    token (token_a, lp_token_b, ...), the thread's output token (a swap's *_out*), or its input
    token; counts stay counts."""

    def __init__(self, status: dict, pool: dict | None) -> None:
        pool = pool or {}
        self.decimals = {"A": pool.get("token_a_decimals"), "B": pool.get("token_b_decimals")}
        self.input = input_token(status)
        self.output = _OTHER.get(self.input) if status.get("swap_direction") else self.input
        self.lp = status.get("token_type")  # a swap's lp_tokens adds LP A and LP B: base units, no side
        self.spends_lp = status.get("type") == "withdrawal"  # its input is LP tokens

    def token(self, side: str | None, value: int, lp: bool = False) -> Any:
        if side not in ("A", "B"):
            return value
        return Amount(value, self.decimals[side], f"LP {side}" if lp else side)

    def named(self, name: str | None, value: int) -> Any:
        """An amount of a balance name: token_a, token_b, lp_token_a, lp_token_b, lp_tokens."""
        if name in ("token_a", "token_b"):
            return self.token(name[-1].upper(), value)
        if name in ("lp_token_a", "lp_token_b"):
            return self.token(name[-1].upper(), value, lp=True)
        if name == "lp_tokens":
            return self.token(self.lp, value, lp=True)
        return value

    def __call__(self, dotted: str, value: int) -> Any:
        key = dotted.rsplit(".", 1)[-1]
        named = self.named(key, value)
        if named is not value:
            return named
        if any(word in key for word in _COUNTS) and not key.startswith(("tokens_", "total_", "lp_")):
            return value
        if any(word in key for word in _SOL):
            return sol(value)
        if any(word in key for word in _OUTPUT):
            return self.token(self.output, value)
        if any(word in key for word in _AMOUNT):
            return self.token(self.input, value, lp="lp" in dotted or (self.spends_lp and not any(
                word in dotted for word in ("withdrawn", "token_sharing", "tokens_shared"))))
        return value


def transactions_of(status: dict) -> list[dict]:
    """The engine's recent transactions (newest first); from an engine that does not report
    them, the signatures of its recent errors and of its error state."""
    if "recent_transactions" in status:
        return list(status["recent_transactions"] or [])
    found = []
    for error in (status.get("error_monitoring") or {}).get("recent_errors") or []:
        if error.get("transaction_signature"):
            found.append({"timestamp": error.get("timestamp"), "operation": error.get("operation_type"),
                          "ok": False, "outcome": error.get("category"), "error_name": error.get("error_name"),
                          "signature": error["transaction_signature"]})
    state = status.get("error_state") or {}
    if state.get("transaction_signature"):
        found.append({"timestamp": state.get("at"), "operation": state.get("operation"), "ok": False,
                      "outcome": "error state", "signature": state["transaction_signature"]})
    return found[::-1]


def outcome_text(transaction: dict) -> str:
    """'ok', or 'expected: InsufficientFunds (code 1)'."""
    if transaction.get("ok"):
        return "ok"
    name = transaction.get("error_name") or "failed"
    code = transaction.get("error_code")
    category = transaction.get("error_category")
    verdict = transaction.get("outcome") or category or "failed"
    extra = f" (code {code})" if code is not None else ""
    if category and category != verdict:
        extra += f", {category}"
    return f"{verdict}: {name}{extra}"


class ThreadDetailScreen(DetailScreen):
    def __init__(self, thread_id: str) -> None:
        super().__init__(f"Thread {thread_id}")
        self.thread_id = thread_id

    async def load(self, gateway) -> list:
        status = await gateway.get_thread_status(self.thread_id)
        sessions = await gateway.get_thread_sessions(self.thread_id, SESSIONS_SHOWN)
        pool = await self.pool_of(gateway, status.get("pool_id"))
        self.data = {"status": status, "sessions": sessions}
        units = Units(status, pool)
        identity = status.get("thread_identity") or {}
        top = {"thread_id": status.get("thread_id"), "type": status.get("type"),
               "status": status_text(status.get("status"), status.get("status_symbol")),
               "pool_id": status.get("pool_id"),
               "token_type": status.get("token_type"), "swap_direction": status.get("swap_direction"),
               "wallet_address": status.get("wallet_address"), "waiting_reason": status.get("waiting_reason"),
               "findings": status.get("findings"),
               **{key: value for key, value in identity.items()
                  if key not in ("thread_id", "thread_type", "pool_id", "token_type", "status")}}
        parts = [section("Thread", top, units=units)]
        parts += [section(title, status.get(key), units=units) for key, title in _SECTIONS if key in status]
        specific = f"{status.get('type')}_specific"
        if specific in status:
            parts.append(section(specific.replace("_", " ").capitalize(), status[specific], units=units))
        rest = {key: value for key, value in status.items() if key not in _SHOWN_ELSEWHERE and key != specific}
        if rest:
            parts.append(section("Other", rest, units=units))
        transactions = transactions_of(status)
        parts.append(records("Recent transactions", transactions,
                             [("timestamp", "When", lambda v, r: time_ms(v)),
                              ("operation", "Operation", lambda v, r: operation_text(r, status)),
                              ("amount_in", "In", lambda v, r: stacked(amount_of(units, v, r.get("token_in")))),
                              ("amount_out", "Out", lambda v, r: stacked(amount_of(units, v, r.get("token_out")))),
                              ("outcome", "Outcome", lambda v, r: outcome_text(r)),
                              ("latency_ms", "ms"),
                              ("signature", "Signature", signature_cell)], wrap=("Outcome",)))
        if transactions:
            parts.append(section("Transactions, whole (newest first)", {
                f"{time_ms(t.get('timestamp'))} {t.get('operation') or ''}": t.get("signature")
                for t in transactions}))
            latest = transactions[0]
            parts.append(section("Latest transaction", {
                **latest, "token_type": latest.get("token_type"),
                "amount_in": amount_of(units, latest.get("amount_in"), latest.get("token_in")),
                "amount_out": amount_of(units, latest.get("amount_out"), latest.get("token_out")),
                "timestamp": when(latest.get("timestamp"))}, units=lambda key, value: sol(value)
                if key in ("network_fee", "pool_fee") else value))
        monitoring = status.get("error_monitoring") or {}
        errors = monitoring.get("recent_errors") or status.get("recent_errors") or []
        amount = lambda v, r: units.token(units.input, v) if isinstance(v, int) and not isinstance(v, bool) else v
        parts.append(records("Recent errors", errors[::-1],
                             [("timestamp", "When", lambda v, r: time_ms(v)), ("operation_type", "Operation"),
                              ("error_name", "Error", lambda v, r: f"{r.get('category') or '–'}: {v or '–'}"),
                              ("error_message", "Message"),
                              ("operation_details.attempted_amount", "Amount", lambda v, r: stacked(amount(v, r))),
                              ("transaction_signature", "Signature", signature_cell)],
                             wrap=("Error", "Message")))
        if errors:
            latest = errors[-1]
            details = latest.get("operation_details") or {}
            parts.append(section("Latest error", {
                **latest, "timestamp": when(latest.get("timestamp")),
                "operation_details": {**details, **{key: amount(details[key], latest) for key in
                                                    ("attempted_amount", "available_balance") if key in details}}},
                units=units))
        parts.append(section("Error trends", monitoring.get("error_trends")))
        for error in errors[::-1]:
            if error.get("logs"):
                parts.append(log_lines(f"Logs of {error.get('transaction_signature') or 'an error'}", error["logs"]))
        state = status.get("error_state")
        if state:
            parts.append(section("Error state", {k: v for k, v in state.items() if k != "logs"}, units=units))
            parts.append(log_lines("Error state logs", state.get("logs")))
        parts.append(records(f"Sessions (newest first, at most {SESSIONS_SHOWN}; each in the thread's "
                             f"session_<start>.json)", sessions.get("sessions") or [],
                             [("start_time", "Start", lambda v, r: when(v)[5:19] if v else "–"),  # MM-DD HH:MM:SS
                              ("end_time", "End", lambda v, r: when(v)[5:19] if v else "–"),
                              ("duration_seconds", "Seconds"), ("stop_reason", "Stop reason"),
                              ("verification_summary.successful_operations", "OK ops"),
                              ("verification_summary.total_tokens_processed", "Tokens",
                               lambda v, r: stacked(units.token(units.input, v)) if isinstance(v, int) else v),
                              ("verification_summary.total_fees_paid", "Fees",
                               lambda v, r: stacked(sol(v)) if isinstance(v, int) else v),
                              ("verification_summary.pool_verification_passed", "Verified")]))
        return parts

    def status_line(self) -> str:
        status = (self.data or {}).get("status") or {}
        return (f"{status_text(status.get('status'), status.get('status_symbol'))} · {status.get('type', '')} "
                f"{side_of(status)} · pool {short_id(status.get('pool_id'))} · Esc back · R reload")


def amount_of(units: Units, value: Any, token: str | None) -> Any:
    if not isinstance(value, int) or isinstance(value, bool):
        return value
    return units.named(token, value)


def operation_text(transaction: dict, status: dict) -> str:
    """'swap A→B', 'deposit A', 'withdraw B'."""
    operation = transaction.get("operation") or "–"
    side = transaction.get("token_type")
    if operation == "swap" and side in _OTHER:
        return f"swap {side}→{_OTHER[side]}"
    return f"{operation} {side}" if side else operation
