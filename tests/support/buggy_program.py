"""A program with a bug put there on purpose, for the tests of replay, shrink and export: the
built-in emulator, except that a swap whose input is a multiple of 7 pays one unit too much."""
from __future__ import annotations

from engine.frt.emulator import FrtEmulator


class OverpayingEmulator(FrtEmulator):
    def _swap(self, inv, input_token_mint, amount_in, expected_amount_out, pool_id) -> None:
        super()._swap(inv, input_token_mint, amount_in, expected_amount_out, pool_id)
        if amount_in % 7 == 0:
            paid_in = inv.token(inv.key(8)).mint
            vault = inv.key(5) if inv.token(inv.key(5)).mint == paid_in else inv.key(6)
            inv.token_transfer(vault, inv.key(8), 1, pool_id)


def inject(monkeypatch) -> None:
    """Every ledger opened from now on runs the overpaying program."""
    import engine.frt.emulator

    monkeypatch.setattr(engine.frt.emulator, "FrtEmulator", OverpayingEmulator)


async def run_until_it_shows(engine, cycles: int = 30) -> dict:
    """On a new pool: depositors on both sides (LP shared with a withdrawal thread) and a swapper,
    run by hand for `cycles` rounds; the group of the swaps' balance mismatches the bug causes."""
    pool_id = (await engine.create_pool(token_a_decimals=6, token_b_decimals=6, ratio_whole_number=2,
                                        ratio_direction="a_to_b"))["pool_id"]
    threads = [(await engine.create_deposit_thread(pool_id, "B", 10**9))["thread_id"],
               (await engine.create_deposit_thread(pool_id, "A", 10**9))["thread_id"],
               (await engine.create_withdrawal_thread(pool_id, "A"))["thread_id"],
               (await engine.create_swap_thread(pool_id, "a_to_b", 10**9))["thread_id"]]
    for _ in range(cycles):
        for thread_id in threads:
            await engine.run_cycle(thread_id)
    groups = (await engine.get_findings())["groups"]
    return next(group for group in groups if group["rule"] == "balances_move_as_predicted")
