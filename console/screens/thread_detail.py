"""Detail of one thread: everything get_thread_status returns, its sessions, its recent
transactions (signatures) and its errors with their logs."""
from __future__ import annotations

from console.screens.detail_base import DetailScreen
from console.widgets.detail import log_lines, records, section

SESSIONS_SHOWN = 20
_SECTIONS = ("thread_identity", "balances", "statistics", "verification_totals", "cost_tracking",
             "health_monitoring", "pool_integration")


def transactions_of(status: dict) -> list[dict]:
    """Signatures the status names: the engine's recent_transactions if it reports them, else
    those of its recent errors and of its error state."""
    if status.get("recent_transactions"):
        return list(status["recent_transactions"])
    found = []
    for error in (status.get("error_monitoring") or {}).get("recent_errors") or []:
        if error.get("transaction_signature"):
            found.append({"timestamp": error.get("timestamp"), "operation": error.get("operation_type"),
                          "ok": False, "result": error.get("error_name") or error.get("category"),
                          "signature": error["transaction_signature"]})
    state = status.get("error_state") or {}
    if state.get("transaction_signature"):
        found.append({"timestamp": state.get("at"), "operation": state.get("operation"), "ok": False,
                      "result": "error state", "signature": state["transaction_signature"]})
    return found[::-1]


class ThreadDetailScreen(DetailScreen):
    def __init__(self, thread_id: str) -> None:
        super().__init__(f"Thread {thread_id}")
        self.thread_id = thread_id

    async def load(self, gateway) -> list:
        status = await gateway.get_thread_status(self.thread_id)
        sessions = await gateway.get_thread_sessions(self.thread_id, SESSIONS_SHOWN)
        self.data = {"status": status, "sessions": sessions}
        top = {key: status.get(key) for key in ("status", "status_symbol", "type", "pool_id", "token_type",
                                                 "swap_direction", "wallet_address", "waiting_reason", "findings")}
        parts = [section("Thread", top)]
        parts += [section(key.replace("_", " ").capitalize(), status.get(key)) for key in _SECTIONS
                  if key in status]
        specific = f"{status.get('type')}_specific"
        if specific in status:
            parts.append(section(specific.replace("_", " ").capitalize(), status[specific]))
        known = {"status", "status_symbol", "type", "pool_id", "token_type", "swap_direction", "wallet_address",
                 "waiting_reason", "findings", "thread_id", "recent_errors", "error_monitoring", "error_state",
                 "recent_transactions", specific, *_SECTIONS}
        rest = {key: value for key, value in status.items() if key not in known}
        if rest:
            parts.append(section("Other", rest))
        parts.append(records("Recent transactions", transactions_of(status),
                             [("timestamp", "When"), ("operation", "Operation"), ("ok", "OK"),
                              ("result", "Result"), ("signature", "Signature")]))
        monitoring = status.get("error_monitoring") or {}
        errors = monitoring.get("recent_errors") or status.get("recent_errors") or []
        parts.append(records("Recent errors", errors[::-1],
                             [("timestamp", "When"), ("operation_type", "Operation"), ("category", "Category"),
                              ("error_name", "Error"), ("error_message", "Message"),
                              ("operation_details.attempted_amount", "Amount"),
                              ("recovery_action", "Recovery")]))
        parts.append(section("Error trends", monitoring.get("error_trends")))
        for error in errors[::-1]:
            if error.get("logs"):
                parts.append(log_lines(f"Logs of {error.get('transaction_signature') or 'an error'}", error["logs"]))
        state = status.get("error_state")
        if state:
            parts.append(section("Error state", {k: v for k, v in state.items() if k != "logs"}))
            parts.append(log_lines("Error state logs", state.get("logs")))
        parts.append(records(f"Sessions (newest first, at most {SESSIONS_SHOWN})", sessions.get("sessions") or [],
                             [("start_time", "Start"), ("end_time", "End"), ("duration_seconds", "Seconds"),
                              ("stop_reason", "Stop reason"),
                              ("verification_summary.successful_operations", "OK ops"),
                              ("verification_summary.total_tokens_processed", "Tokens"),
                              ("verification_summary.total_fees_paid", "Fees"),
                              ("verification_summary.pool_verification_passed", "Verified"),
                              ("session_file", "File")]))
        return parts

    def status_line(self) -> str:
        status = (self.data or {}).get("status") or {}
        return (f"{status.get('status_symbol', '')} {status.get('status', '')} · {status.get('type', '')} · "
                f"pool {status.get('pool_id', '')} · Esc back · R reload")
