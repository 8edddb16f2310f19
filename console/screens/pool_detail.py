"""Detail of one pool: get_pool (registry entry and on-chain state) and its threads."""
from __future__ import annotations

from console.screens.detail_base import DetailScreen
from console.widgets.detail import records, section

_GROUPS = ("liquidity", "vault_balances", "lp_supply", "fees", "pause_flags", "thread_counts")


class PoolDetailScreen(DetailScreen):
    def __init__(self, pool_id: str, threads: list[dict] | None = None) -> None:
        super().__init__(f"Pool {pool_id}")
        self.pool_id = pool_id
        self.threads = threads or []

    async def load(self, gateway) -> list:
        pool = await gateway.get_pool(self.pool_id)
        self.data = pool
        flat = {key: value for key, value in pool.items() if key not in _GROUPS}
        parts = [section("Pool", flat)]
        parts += [section(key.replace("_", " ").capitalize(), pool.get(key)) for key in _GROUPS if key in pool]
        parts.append(records("Threads of this pool (at the last refresh)", self.threads,
                             [("thread_id", "Thread"), ("type", "Type"), ("side", "Side"), ("status", "Status"),
                              ("ok", "OK"), ("failed", "Failed"), ("last_error", "Last error")]))
        return parts

    def status_line(self) -> str:
        pool = self.data or {}
        return f"{pool.get('ratio_display', '')} · flags {pool.get('flags', '')} · Esc back · R reload"
