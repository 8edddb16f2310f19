"""Detail of one pool: everything get_pool returns (registry entry and on-chain state), grouped:
the pool, its two tokens, its liquidity, vaults, LP supply, fees, flags; and its threads, read
live from the engine's snapshot (each swap thread with its direction). Amounts in whole tokens
with their base units beside them."""
from __future__ import annotations

from typing import Any

from console.gateway import GatewayError
from console.screens.detail_base import DetailScreen
from console.widgets.detail import Amount, records, section, show_value, sol, status_text

_GROUPS = (("liquidity", "Liquidity"), ("vault_balances", "Vault balances"), ("lp_supply", "LP supply"),
           ("fees", "Fees"), ("pause_flags", "Pause flags"), ("thread_counts", "Thread counts"))
_TOKEN_KEYS = {"A": ("token_a_mint", "token_a_decimals", "token_a_vault", "lp_token_a_mint"),
               "B": ("token_b_mint", "token_b_decimals", "token_b_vault", "lp_token_b_mint")}
_AMOUNTS = {"token_a": "A", "token_b": "B", "lp_token_a": "A", "lp_token_b": "B", "ratio_a_numerator": "A",
            "ratio_b_denominator": "B"}


class PoolDetailScreen(DetailScreen):
    def __init__(self, pool_id: str, threads: list[dict] | None = None) -> None:
        super().__init__(f"Pool {pool_id}")
        self.pool_id = pool_id
        self.threads = threads or []  # the main screen's rows until the first snapshot read here

    async def load(self, gateway) -> list:
        pool = await gateway.get_pool(self.pool_id)
        self.data = pool
        try:
            snapshot = await gateway.snapshot(feed_limit=0)
            self.threads = [row for row in snapshot.get("threads") or [] if row.get("pool_id") == self.pool_id]
        except GatewayError:
            pass  # the rows of the last refresh stay
        decimals = {"A": pool.get("token_a_decimals"), "B": pool.get("token_b_decimals")}

        def units(dotted: str, value: int) -> Any:
            key = dotted.rsplit(".", 1)[-1]
            if key in _AMOUNTS:
                side = _AMOUNTS[key]
                return Amount(value, decimals[side], f"LP {side}" if key.startswith("lp_") else side)
            if "lamports" in key:
                return sol(value)
            return value

        def fees(dotted: str, value: int) -> Any:
            return sol(value)  # the pool's fees are SOL (contract §fees)

        grouped = {key for keys in _TOKEN_KEYS.values() for key in keys} | {key for key, _ in _GROUPS}
        flat = {key: value for key, value in pool.items() if key not in grouped}
        parts = [section("Pool", flat, units=units)]
        for side, keys in _TOKEN_KEYS.items():
            parts.append(section(f"Token {side}", {key: pool.get(key) for key in keys if key in pool}))
        parts += [section(title, pool.get(key), units=fees if key == "fees" else units)
                  for key, title in _GROUPS if key in pool]
        threads = sorted(self.threads, key=lambda row: (row.get("type") or "", _number(row.get("thread_id"))))
        parts.append(records(f"Threads of this pool ({len(threads)})", threads,
                             [("thread_id", "Thread"), ("type", "Type"),
                              ("side", "Side", lambda v, r: show_value(v)),
                              ("status", "Status", lambda v, r: status_text(v, r.get("status_symbol"))),
                              ("ok", "OK"), ("failed", "Failed"), ("ops_per_minute", "Ops/min"),
                              ("findings", "Findings"), ("last_error", "Last error"),
                              ("waiting_reason", "Waiting for")], wrap=("Last error", "Waiting for")))
        return parts

    def status_line(self) -> str:
        pool = self.data or {}
        return f"{pool.get('ratio_display', '')} · flags {pool.get('flags', '')} · Esc back · R reload"


def _number(thread_id: str | None) -> tuple:
    """'swap_10' after 'swap_9'."""
    name, _, number = (thread_id or "").rpartition("_")
    return (name, int(number)) if number.isdigit() else (thread_id or "", 0)
