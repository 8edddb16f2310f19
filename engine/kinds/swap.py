"""Swap threads: one direction each, at most one per direction per pool; the output goes to the
opposite direction's thread, so the two keep trading."""
from __future__ import annotations

import math

from engine.exceptions import DuplicateSwapDirection
from engine.kinds.base import ThreadKind, size_stats


def exact_step(pool, input_token: str) -> int:
    """Smallest swap input with no remainder in an exact-exchange pool."""
    ra, rb = pool.record.ratio_a_numerator, pool.record.ratio_b_denominator
    r_in, r_out = (ra, rb) if input_token == "A" else (rb, ra)
    return r_in // math.gcd(r_in, r_out)


class SwapKind(ThreadKind):
    name = "swap"
    operation = "swap"
    fraction_setting = "swap_max_fraction"
    success_fields = ("successful_swaps", "swap_input_total", "swap_output_total")
    share_given_field = "tokens_sent_to_opposite"
    share_received_field = "tokens_received_from_opposite"
    one_per_pool_by = "direction"

    def input_token(self, thread) -> str:
        return "A" if thread.swap_direction == "a_to_b" else "B"

    def output_token(self, thread) -> str:
        return "B" if thread.swap_direction == "a_to_b" else "A"

    def fit_amount(self, pool, thread, amount: int, balance: int) -> int:
        if not pool.record.exact:
            return amount
        step = exact_step(pool, self.input_token(thread))
        return (amount // step) * step or (step if step <= balance else 0)

    def waiting_reason(self, pool, thread) -> str:
        if pool.record.exact:
            return f"waiting for token {self.input_token(thread)} (at least one exact-exchange step)"
        return super().waiting_reason(pool, thread)

    def check_new(self, pool_id, config, threads) -> None:
        direction = config["swap_direction"]
        if any(t.thread_type == self.name and t.pool_id == pool_id and t.swap_direction == direction
               for t in threads):
            raise DuplicateSwapDirection(f"Swap thread for direction '{direction}' already exists for pool {pool_id}")

    def opposite(self, thread, threads):
        return next((t for t in threads if t.thread_type == self.name and t.pool_id == thread.pool_id
                     and t.swap_direction != thread.swap_direction), None)

    def share_recipients(self, thread, threads):
        opposite = self.opposite(thread, threads)
        return [opposite] if opposite is not None and opposite.is_active else []

    def verification_totals(self, stats) -> dict:
        return {"tokens_swapped_in": stats.swap_input_total, "tokens_swapped_out": stats.swap_output_total,
                "tokens_sent_to_opposite": stats.tokens_sent_to_opposite,
                "tokens_received_from_opposite": stats.tokens_received_from_opposite}

    def pool_verification(self, stats) -> dict:
        return {"expected_pool_input_increase": stats.swap_input_total,
                "expected_pool_output_decrease": stats.swap_output_total,
                "expected_pool_fee_accumulation": stats.pool_fees_paid}

    def specific(self, thread, wallet, config, threads) -> dict:
        stats = thread.stats
        sizes = size_stats(stats, stats.swap_input_total, stats.successful_swaps)
        opposite = self.opposite(thread, threads)
        return {
            "swap_stats": {"swap_direction": thread.swap_direction, "total_input_tokens": stats.swap_input_total,
                           "total_output_tokens": stats.swap_output_total,
                           "average_swap_size": sizes["average_size"], "largest_swap": sizes["largest"],
                           "smallest_swap": sizes["smallest"]},
            "token_flow": {"input_token_type": self.input_token(thread), "output_token_type": self.output_token(thread),
                           "tokens_sent_to_opposite_thread": stats.tokens_sent_to_opposite,
                           "opposite_thread_id": opposite.thread_id if opposite is not None else None,
                           "tokens_received_from_opposite": stats.tokens_received_from_opposite,
                           "current_input_balance": wallet.token(self.input_token(thread))},
            "funding_info": {"initial_amount": thread.initial_amount,
                             "tokens_funded_manually": stats.tokens_funded_manually},
        }

    def empty_figures(self, thread, available: int, received: int) -> dict:
        return {"tokens_used": available, "tokens_swapped_in": available, "tokens_swapped_out": received,
                "tokens_burned": available + received, "swap_direction": thread.swap_direction}
