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
