"""The pools panel: ratio, liquidity per side, LP supplies, pause flags and thread counts."""
from __future__ import annotations

from textual.widgets.data_table import ColumnKey

from console import formatting as fmt
from console.widgets.diff_table import Cell, DiffTable, cell
from console.widgets.palette import Styles
from console.widgets.cut_values import HidesCutValues


def pause_label(flags: dict | None) -> str:
    """Words, not colour: 'liq swp sys' for what is paused, '–' when nothing is, '?' unknown."""
    if flags is None:
        return "?"
    paused = [word for key, word in (("liquidity_paused", "liq"), ("swaps_paused", "swp"),
                                     ("system_paused", "sys")) if flags.get(key)]
    return "⏸" + " ".join(paused) if paused else "–"


def ratio_label(pool: dict) -> str:
    display = pool.get("ratio_display") or ""
    return display.replace("Token ", "").replace(" = ", "=")


class PoolsPanel(HidesCutValues, DiffTable):
    # What an operator looks for first comes first: a panel 60 columns wide (120-column screen)
    # shows the liquidity, the pause flags and the thread counts; LP supplies and decimals follow.
    COLUMNS = [("pool", "Pool", 9), ("ratio", "Ratio", 12), ("liq_a", "Liq A", 7), ("liq_b", "Liq B", 7),
               ("paused", "Paused", 6), ("threads", "D/W/S", 7), ("lp_a", "LP A", 7), ("lp_b", "LP B", 7),
               ("dec", "Dec", 4)]
    AMOUNTS = ("liq_a", "liq_b", "lp_a", "lp_b")

    def __init__(self, **kwargs) -> None:
        super().__init__(fixed_columns=1, **kwargs)
        self.pools: dict[str, dict] = {}
        self.units = "tokens"

    def apply(self, pools: list[dict]) -> None:
        self.pools = {pool["pool_id"]: pool for pool in pools}
        styles = Styles.of(self.app)
        by_id = self.pools
        self.set_keys([pool["pool_id"] for pool in pools], lambda key: self._row_cells(by_id[key], styles))
        self.border_title = f"Pools {len(pools):,} · {fmt.UNIT_LABELS[self.units]}"

    def set_units(self, units: str) -> None:
        self.units = units
        for key in self.AMOUNTS:
            self.columns[ColumnKey(key)].width = fmt.AMOUNT_WIDTHS[units]
        self._require_update_dimensions = True
        self.apply(list(self.pools.values()))

    def _row_cells(self, pool: dict, styles: Styles) -> tuple[Cell, ...]:
        a, b = pool.get("token_a_decimals"), pool.get("token_b_decimals")
        liquidity = pool.get("liquidity") or {}
        supply = pool.get("lp_supply") or {}
        counts = pool.get("thread_counts") or {}
        paused = pause_label(pool.get("pause_flags"))
        return (
            cell(fmt.short_id(pool["pool_id"])),
            cell(ratio_label(pool)),
            cell(fmt.tokens(liquidity.get("token_a"), a, self.units)),
            cell(fmt.tokens(liquidity.get("token_b"), b, self.units)),
            cell(paused, styles.warning if paused.startswith("⏸") else styles.muted),
            cell(f"{counts.get('deposit', 0)}/{counts.get('withdrawal', 0)}/{counts.get('swap', 0)}"),
            cell(fmt.tokens(supply.get("lp_token_a"), a, self.units)),
            cell(fmt.tokens(supply.get("lp_token_b"), b, self.units)),
            cell(f"{a}/{b}"),
        )
