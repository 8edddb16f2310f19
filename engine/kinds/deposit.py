"""Deposit threads: tokens in, LP out; the LP goes to the pool's withdrawal threads."""
from __future__ import annotations

from engine.kinds.base import ThreadKind, active_peers, size_stats


class DepositKind(ThreadKind):
    name = "deposit"
    operation = "deposit"
    fraction_setting = "deposit_max_fraction"
    success_fields = ("successful_deposits", "tokens_deposited", "lp_tokens_received")
    share_given_field = "lp_tokens_shared"
    share_received_field = "lp_tokens_from_deposits"

    def receive_mint(self, pool, thread):
        return pool.lp_mint(thread.token_type)

    def shares(self, thread) -> bool:
        return thread.share_lp_tokens

    def share_recipients(self, thread, threads):
        return active_peers(thread, threads, "withdrawal")

    def verification_totals(self, stats) -> dict:
        return {"tokens_deposited": stats.tokens_deposited, "lp_tokens_received": stats.lp_tokens_received,
                "lp_tokens_shared": stats.lp_tokens_shared}

    def pool_verification(self, stats) -> dict:
        return {"expected_pool_token_increase": stats.tokens_deposited,
                "expected_pool_lp_increase": stats.lp_tokens_received,
                "expected_pool_fee_accumulation": stats.pool_fees_paid}

    def specific(self, thread, wallet, config, threads) -> dict:
        stats = thread.stats
        sizes = size_stats(stats, stats.tokens_deposited, stats.successful_deposits)
        return {
            "deposit_stats": {"total_tokens_deposited": stats.tokens_deposited,
                              "total_lp_tokens_received": stats.lp_tokens_received,
                              "average_deposit_size": sizes["average_size"], "largest_deposit": sizes["largest"],
                              "smallest_deposit": sizes["smallest"]},
            "funding_info": {"initial_amount": thread.initial_amount, "auto_refill_enabled": thread.auto_refill,
                             "refill_threshold_amount": int(thread.initial_amount * config.refill_threshold_fraction),
                             "times_refilled": stats.times_refilled, "tokens_from_refills": stats.tokens_from_refills,
                             "tokens_from_sharing": stats.tokens_from_sharing,
                             "tokens_funded_manually": stats.tokens_funded_manually},
            "lp_sharing": {"share_lp_tokens_enabled": thread.share_lp_tokens,
                           "total_lp_tokens_shared": stats.lp_tokens_shared,
                           "sharing_recipients_count": stats.sharing_recipients_count,
                           "last_sharing_amount": stats.last_sharing_amount,
                           "last_sharing_timestamp": stats.last_sharing_at},
        }

    def empty_figures(self, thread, available: int, received: int) -> dict:
        return {"tokens_used": available, "lp_tokens_received": received, "tokens_burned": available,
                "lp_tokens_burned": received}
