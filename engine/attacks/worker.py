"""The attack thread's loop: take the next attack (a seeded order through the catalogue), hold
its pool's lock (every pool's, for system and treasury attacks), observe, predict, send,
observe, compare, describe it as an intent Action, record the intent findings and book the
outcome through the recorder; undo what a successful attack changed.

A refusal the model predicted is an "expected" outcome, never an error of the thread; a
different outcome than predicted is a `prediction_mismatch` finding (rule
`outcome_as_predicted`, high)."""
from __future__ import annotations

import logging
import time

from engine import intent
from engine.attacks import catalogue, categories_of
from engine.attacks.base import Attack, Context, Expect, Scene, look, same_error
from engine.findings import make_finding, normalised
from engine.frt.errors import TRANSIENT
from engine.invariants import Prediction, compare_changes, expected_changes, pool_invariants
from engine.observe import observe
from engine.operations import Outcome, run_verified
from engine.pools import all_pools_locked
from engine.recorder import transaction_json
from engine.store import utc_now_iso
from engine.workers import Worker

log = logging.getLogger(__name__)
MISMATCH = ("prediction_mismatch", "outcome_as_predicted", "high")


class AttackWorker(Worker):
    """An attack thread's worker: the ordinary worker's loop (run, pacing, stop), a cycle of its own."""

    def __init__(self, host, thread, pool) -> None:
        super().__init__(host, thread, pool)
        self.ctx = Context(host, thread, pool, thread.wallet)
        self._queue: list[Attack] = []

    async def cycle(self) -> Outcome | None:
        await self.host.gate.enter()
        started = time.perf_counter()
        try:
            attack = self.next_attack()
            guard = all_pools_locked(self.host.pools.values()) if attack.scope == "system" else self.pool.lock
            async with guard:
                self.in_operation = True
                try:
                    return await self.attack(attack)
                finally:
                    self.in_operation = False
        finally:
            self.host.gate.record_cycle(time.perf_counter() - started)

    def next_attack(self) -> Attack:
        if not self._queue:
            queue = catalogue(categories_of(self.host, self.thread))
            self.rng.shuffle(queue)
            self._queue = sorted(queue, key=lambda attack: not attack.early)  # stable: the rest keeps its order
        return self._queue.pop(0)

    # ---- one attack ----------------------------------------------------------------------------

    async def attack(self, attack: Attack) -> Outcome | None:
        """Run `attack` (the caller holds the lock its scope needs), then its undo steps."""
        host, thread, pool = self.host, self.thread, self.pool
        view = await observe(host.cluster, pool.addresses, thread.wallet.pubkey)
        if view.pool is None:
            host.enter_error_state(thread, {"error": f"pool {pool.record.pool_id} no longer exists",
                                            "at": utc_now_iso()})
            return None
        if view.wallet.sol < self.config.sol_threshold_lamports:
            await host.treasury.top_up([thread])
        await self._refill(view.wallet)
        if attack.ordinary is not None:
            return await self._run_ordinary(attack)
        outcome, before, after = await self._run(attack)
        if outcome is not None and outcome.ok:
            for step in attack.undo(self.ctx, before, after):
                undone, _, _ = await self._run(step)
                if undone is None or not undone.ok:
                    self._record(make_finding(
                        "attack_undo_failed", "attack_leaves_no_trace", "medium",
                        f"undoing {attack.name} failed: {step.name} "
                        f"{'not applicable' if undone is None else undone.error_name}", attack=attack.name),
                        attack, {"undo": step.name})
        return outcome

    async def _refill(self, wallet) -> None:
        """Keep some of both tokens (boundary attacks spend whole balances)."""
        amount = self.thread.initial_amount
        if amount <= 0:
            return
        for funding_type, held in (("token_a", wallet.token_a), ("token_b", wallet.token_b)):
            if held < amount // 4:
                try:
                    await self.host.treasury.fund(self.thread, self.pool, funding_type, amount)
                except Exception as exc:  # a failed refill only makes later attacks predict a shortfall
                    log.warning("attack thread %s: refill failed: %s", self.thread.thread_id, exc)

    async def _run_ordinary(self, attack: Attack) -> Outcome | None:
        """A deposit / withdraw / swap with an edge amount: engine.operations.run_verified."""
        host, thread, pool, ctx = self.host, self.thread, self.pool, self.ctx
        scene = await look(ctx)
        amount = attack.amount(ctx, scene)
        if amount is None:
            host.recorder.record_wait(thread, f"{attack.name}: not applicable to this pool")
            return None
        operation, token = attack.ordinary
        outcome = await run_verified(host.client, pool, thread.wallet, operation, token, amount, check=True,
                                     before=scene.view)
        thread.wallet_view, pool.last_view = outcome.after.wallet, outcome.after.pool  # what live views show
        raw_findings, outcome.findings = outcome.findings, []
        findings = [normalised(finding) for finding in raw_findings]  # run_verified's checks, as they are
        action = intent.Action(
            name=operation, actor=f"thread:{thread.thread_id}", signer=str(thread.wallet.pubkey),
            signer_is_admin=False, ok=outcome.ok, predicted_ok=outcome.prediction.succeeds,
            pool_id=pool.record.pool_id, params={"attack": attack.name, "category": attack.category,
                                                 "token_type": token, "amount": amount},
            before=outcome.before, after=outcome.after, signature=outcome.result.signature)
        findings += intent.check(action)
        self._book(attack, outcome, findings, {"prediction": outcome.prediction.to_json(), "params": action.params})
        return outcome

    async def _run(self, attack: Attack) -> tuple[Outcome | None, Scene | None, Scene | None]:
        host, thread, pool, ctx = self.host, self.thread, self.pool, self.ctx
        before = await look(ctx, attack.extra_accounts(ctx))
        built = attack.build(ctx, before)
        if built is None:
            host.recorder.record_wait(thread, f"{attack.name}: not applicable now")
            return None, before, None
        expect = attack.predict(ctx, before, built)
        started = time.perf_counter()
        result = await host.client.sender.send(built.instructions, thread.wallet, built.signers)
        latency_ms = (time.perf_counter() - started) * 1000
        attack.booked(ctx, result)
        after = await look(ctx, attack.extra_accounts(ctx))
        thread.wallet_view, pool.last_view = after.view.wallet, after.view.pool  # what live views show
        raw = result.failure.raw if result.failure is not None else None
        if result.ok:
            verdict = "ok"
        else:
            judged = result.judge(operation=attack.action, exact_pool=pool.record.exact)
            verdict = TRANSIENT if judged is not None and judged.category == TRANSIENT else \
                "expected" if same_error(expect.error, raw) else "unexpected"
        findings = [] if verdict == TRANSIENT else self._compare(attack, expect, result, before, after)
        params = {"attack": attack.name, "category": attack.category, **built.params}
        if result.ok and attack.undo_note:
            params["irreversible"] = attack.undo_note
        authority = (built.acting or thread.wallet).pubkey
        action = intent.Action(
            name=attack.action, actor=f"thread:{thread.thread_id}", signer=str(authority),
            signer_is_admin=before.system is not None and authority == before.system.admin_authority,
            ok=result.ok, predicted_ok=expect.ok, pool_id=pool.record.pool_id, params=params,
            before=before.view, after=after.view, signature=result.signature)
        findings += intent.check(action)
        amount = built.params.get("amount", 0) if isinstance(built.params.get("amount", 0), int) else 0
        prediction = expect.ordinary or Prediction(attack.action, amount, built.params.get("token_type", "A"),
                                                   error=expect.error)
        outcome = Outcome(attack.action, built.params.get("token_type", "A"), amount, prediction, result,
                          before.view, after.view, latency_ms, verdict=verdict)
        self._book(attack, outcome, findings, {"prediction": expect.to_json(), "params": _jsonable(params)})
        return outcome, before, after

    # ---- judging ------------------------------------------------------------------------------

    def _compare(self, attack: Attack, expect: Expect, result, before: Scene, after: Scene) -> list[dict]:
        raw = result.failure.raw if result.failure is not None else None
        findings = []
        if expect.ok != result.ok or (not result.ok and not same_error(expect.error, raw)):
            findings.append(make_finding(*MISMATCH, f"{attack.name}: model predicted "
                                         f"{'success' if expect.ok else expect.error} ({expect.why}), chain answered "
                                         f"{'success' if result.ok else raw}", attack=attack.name))
            return findings
        differences = []
        if result.ok:
            for name, value in expect.pool.items():
                if getattr(after.pool, name) != value:
                    differences.append({"quantity": f"pool.{name}", "expected": str(value),
                                        "actual": str(getattr(after.pool, name))})
            for name, value in expect.system.items():
                actual = getattr(after.system, name) if after.system is not None else None
                if actual != value:
                    differences.append({"quantity": f"system.{name}", "expected": str(value), "actual": str(actual)})
            if expect.treasury_lamports_change is not None and \
                    after.treasury_lamports - before.treasury_lamports != expect.treasury_lamports_change:
                differences.append({"quantity": "treasury_lamports", "expected_change": expect.treasury_lamports_change,
                                    "actual_change": after.treasury_lamports - before.treasury_lamports})
            if expect.pool_lamports_change is not None and \
                    after.view.pool.lamports - before.view.pool.lamports != expect.pool_lamports_change:
                differences.append({"quantity": "pool_lamports", "expected_change": expect.pool_lamports_change,
                                    "actual_change": after.view.pool.lamports - before.view.pool.lamports})
            if expect.ordinary is not None:
                differences += compare_changes(before.view, after.view, expected_changes(expect.ordinary, result.fee))
            if expect.view_changes is not None:
                changes = {**expect.view_changes, "sol": expect.view_changes.get("sol", 0) - result.fee}
                differences += compare_changes(before.view, after.view, changes)
        else:  # a refusal changes nothing but the signer's SOL
            if after.pool != before.pool:
                differences.append({"quantity": "pool state", "detail": "changed by a refused transaction"})
            if after.system != before.system:
                differences.append({"quantity": "system state", "detail": "changed by a refused transaction"})
            if after.treasury_lamports != before.treasury_lamports and attack.scope == "system":
                differences.append({"quantity": "treasury_lamports", "expected_change": 0,
                                    "actual_change": after.treasury_lamports - before.treasury_lamports})
        if differences:
            findings.append(make_finding(*MISMATCH, f"{attack.name}: the state moved differently than predicted",
                                         attack=attack.name, differences=differences))
        violations = pool_invariants(before.view, after.view)
        if violations:
            findings.append(make_finding("invariant_violation", "pool_invariants", "high",
                                         f"{attack.name}: " + ", ".join(v["invariant"] for v in violations),
                                         attack=attack.name, violations=violations))
        return findings

    # ---- booking ------------------------------------------------------------------------------

    def _book(self, attack: Attack, outcome: Outcome, findings: list[dict], context: dict) -> None:
        """The outcome into the thread's statistics and the engine totals (an attack's expected
        refusal is not an error of the thread: `empty=True` keeps the error state away), then
        every finding with what was sent, predicted and observed."""
        host, thread, pool = self.host, self.thread, self.pool
        host.recorder.record_outcome(thread, pool, outcome, empty=True)
        outcome.findings = findings
        context = {**context, "transaction": transaction_json(outcome.result),
                   "before": outcome.before.numbers(), "after": outcome.after.numbers()}
        for finding in findings:
            self._record(finding, attack, context)
        log_ = thread.__dict__.setdefault("attack_log", {"by_attack": {}, "last": None})
        counts = log_["by_attack"].setdefault(attack.name, {})
        counts[outcome.verdict] = counts.get(outcome.verdict, 0) + 1
        log_["last"] = {"attack": attack.name, "verdict": outcome.verdict, "error": outcome.error_name,
                        "findings": len(findings), "at": utc_now_iso()}

    def _record(self, finding: dict, attack: Attack, context: dict) -> None:
        self.host.recorder.record_finding(finding, pool_id=self.pool.record.pool_id, operation=attack.action,
                                          summary=f"attack {attack.name}", thread=self.thread, context=context)


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
