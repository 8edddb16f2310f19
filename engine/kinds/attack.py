"""Attack threads: a non-admin wallet that runs the attack catalogue (engine/attacks/) against
its pool and the program — admin instructions through the §13.1 bypass, boundary amounts,
substituted accounts — each predicted by the code-derived model and checked by the intent
oracle. Its worker is engine/attacks/worker.py's AttackWorker."""
from __future__ import annotations

from engine.kinds.base import ThreadKind


class AttackKind(ThreadKind):
    name = "attack"
    operation = "deposit"  # what empty_thread attempts with its token A
    fraction_setting = "deposit_max_fraction"
    refills = False  # the attack worker refills both tokens itself
    success_fields = ("successful_operations", "total_volume_processed", "total_volume_processed")
    share_given_field = "tokens_shared"
    share_received_field = "tokens_from_sharing"

    @property
    def worker(self):
        from engine.attacks.worker import AttackWorker

        return AttackWorker

    def input_token(self, thread) -> str:
        return "A"

    def output_token(self, thread) -> str:
        return "A"

    def shares(self, thread) -> bool:
        return False

    def share_recipients(self, thread, threads):
        return []

    def verification_totals(self, stats) -> dict:
        return {}

    def pool_verification(self, stats) -> dict:
        return {}

    def specific(self, thread, wallet, config, threads) -> dict:
        from engine.attacks import catalogue, categories_of_record

        log = thread.__dict__.get("attack_log", {"by_attack": {}, "last": None})
        categories = categories_of_record(thread)
        return {"attack_stats": {"categories": categories, "catalogue_size": len(catalogue(categories)),
                                 "attacks_run": sum(sum(c.values()) for c in log["by_attack"].values()),
                                 "by_attack": log["by_attack"], "last_attack": log["last"]},
                "funding_info": {"initial_amount": thread.initial_amount,
                                 "tokens_funded_manually": thread.stats.tokens_funded_manually}}

    def empty_figures(self, thread, available: int, received: int) -> dict:
        return {"tokens_used": available, "lp_tokens_received": received, "tokens_burned": available,
                "lp_tokens_burned": received}
