"""Withdrawal threads: LP in, tokens out; the tokens go back to the pool's deposit threads."""
from __future__ import annotations

from engine.kinds.base import ThreadKind, active_peers, size_stats


class WithdrawalKind(ThreadKind):
    name = "withdrawal"
    operation = "withdraw"
    fraction_setting = "withdrawal_max_fraction"
    refills = False  # its input is LP, which only deposits create
    success_fields = ("successful_withdrawals", "lp_tokens_used", "tokens_withdrawn")
    share_given_field = "tokens_shared"
    share_received_field = "tokens_from_sharing"

    def input_balance(self, thread, wallet) -> int:
        return wallet.lp(thread.token_type)

    def spend_mint(self, pool, thread):
        return pool.lp_mint(thread.token_type)

    def waiting_reason(self, pool, thread) -> str:
        return f"waiting for LP-{thread.token_type} tokens"

    def share_recipients(self, thread, threads):
        return active_peers(thread, threads, "deposit")

    def verification_totals(self, stats) -> dict:
        return {"lp_tokens_used": stats.lp_tokens_used, "tokens_withdrawn": stats.tokens_withdrawn,
                "tokens_received": stats.lp_tokens_from_deposits, "tokens_shared": stats.tokens_shared}

    def pool_verification(self, stats) -> dict:
        return {"expected_pool_token_decrease": stats.tokens_withdrawn,
                "expected_pool_lp_decrease": stats.lp_tokens_used,
                "expected_pool_fee_accumulation": stats.pool_fees_paid}

    def specific(self, thread, wallet, config, threads) -> dict:
        stats = thread.stats
        sizes = size_stats(stats, stats.lp_tokens_used, stats.successful_withdrawals)
        return {
            "withdrawal_stats": {"total_lp_tokens_used": stats.lp_tokens_used,
                                 "total_tokens_withdrawn": stats.tokens_withdrawn,
                                 "average_withdrawal_size": sizes["average_size"],
                                 "largest_withdrawal": sizes["largest"], "smallest_withdrawal": sizes["smallest"]},
            "lp_token_sources": {"lp_tokens_from_deposits": stats.lp_tokens_from_deposits,
                                 "current_lp_balance": wallet.lp(thread.token_type),
                                 "lp_sharing_sources": [{"source_thread_id": source, "tokens_received": amount}
                                                        for source, amount in stats.sharing_sources.items()]},
            "token_sharing": {"total_tokens_shared": stats.tokens_shared,
                              "sharing_recipients_count": stats.sharing_recipients_count,
                              "last_sharing_amount": stats.last_sharing_amount,
                              "last_sharing_timestamp": stats.last_sharing_at},
        }

    def empty_figures(self, thread, available: int, received: int) -> dict:
        return {"lp_tokens_used": available, "lp_tokens_burned": available, "tokens_withdrawn": received,
                "tokens_burned": received}
