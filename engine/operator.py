"""The operator: an admin who changes the rules mid-run.

At random moments (exponential gaps, mean `engine.operator_interval_s`, seeded) the operator, as
the program's admin (the core wallet, with the real ProgramData account), does one of: pause or
unpause a pool's liquidity or swaps (and later undoes it), pause the system briefly and unpause
it, change a pool's fees within the valid ranges (and later puts them back), toggle owner-only
swaps (and later toggles back), consolidate pool fees, withdraw treasury fees.

Each action: observe before, predict with the code-derived model (engine/frt/model.py), send,
observe after, then
  * a different outcome than predicted is a `prediction_mismatch` finding;
  * a stored effect different from the request is an `admin_mismatch` finding (rule
    admin_action_takes_effect_as_requested: the intent oracle for flags, fees, owner and the
    system pause; here for what a View does not show: the treasury and consolidation);
  * the intent oracle's other rules run on the action (engine/intent.py).
Pool actions hold the pool's lock; system, treasury and consolidation actions hold every pool's
lock, so ordinary threads observe either the state before an action or the state after it, and
keep predicting exactly (a paused pool's refusals are expected errors).

Only while some thread runs does the background loop act (it changes the rules of a run, not
its setup); `act()` performs one action now, whatever runs (tests, the API).
"""
from __future__ import annotations

import asyncio
import logging
import random
import struct
import time
from dataclasses import dataclass, field

from solders.pubkey import Pubkey

from engine import intent
from engine.chain.base import ChainError, TxResult
from engine.findings import make_finding
from engine.frt import instructions as ix
from engine.frt import model
from engine.frt.constants import (
    CU_LIMITS,
    FLAG_LIQUIDITY_PAUSED,
    FLAG_SWAP_FOR_OWNERS_ONLY,
    FLAG_SWAPS_PAUSED,
    MAIN_TREASURY_SIZE,
    MAX_LIQUIDITY_FEE,
    MAX_SWAP_FEE,
    MIN_LIQUIDITY_FEE,
    MIN_SWAP_FEE,
    MIN_TREASURY_WITHDRAWAL,
    rent_exempt_minimum,
)
from engine.frt.errors import ProgramError
from engine.frt.pda import find_main_treasury, find_system_state
from engine.frt.state import MainTreasuryState, SystemState
from engine.observe import View, observe
from engine.pools import PoolRuntime, all_pools_locked
from engine.recorder import transaction_json

log = logging.getLogger(__name__)
CLOCK_SYSVAR = Pubkey.from_string("SysvarC1ock11111111111111111111111111111111")
POOL_ACTIONS = ("pause_pool", "unpause_pool", "update_pool_fees", "set_swap_owner_only")
ACTIONS = (*POOL_ACTIONS, "pause_system", "unpause_system", "consolidate_pool_fees", "withdraw_treasury_fees")
# How often each action is drawn (undoing what was done is drawn separately).
_WEIGHTS = {"pause_pool": 4, "unpause_pool": 1, "update_pool_fees": 3, "set_swap_owner_only": 2,
            "pause_system": 1, "consolidate_pool_fees": 2, "withdraw_treasury_fees": 1}
MAX_CONSOLIDATED_POOLS = 20


@dataclass
class _Undo:
    name: str
    pool_id: str | None
    params: dict


@dataclass
class _Facts:
    """What one admin action can change, read in one round trip."""

    system: SystemState | None
    treasury: MainTreasuryState | None
    treasury_lamports: int
    destination_lamports: int
    now: int
    pools: dict[str, View] = field(default_factory=dict)


class Operator:
    def __init__(self, engine) -> None:
        self.engine = engine
        settings = engine.settings.engine
        self.enabled = settings.operator_enabled
        self.interval_s = settings.operator_interval_s
        self.rng = random.Random(f"operator:{settings.seed}:{settings.key_namespace}")
        self.actions = 0
        self.by_action: dict[str, dict[str, int]] = {}  # name -> {"ok": n, "refused": n}
        self.findings = 0
        self.last: dict | None = None
        self.undo: list[_Undo] = []
        self._wake = asyncio.Event()
        self._system_paused_by_me = False

    # ---- settings and status ----------------------------------------------------------------------

    def configure(self, enabled: bool | None = None, interval_s: float | None = None) -> dict:
        if enabled is not None:
            self.enabled = enabled
        if interval_s is not None:
            self.interval_s = interval_s
        self._wake.set()
        return self.status()

    def status(self) -> dict:
        return {"enabled": self.enabled, "interval_s": self.interval_s, "actions": self.actions,
                "by_action": {name: dict(counts) for name, counts in self.by_action.items()},
                "findings": self.findings, "pending_undo": len(self.undo), "last": self.last}

    # ---- the background loop ------------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            if not self.enabled:
                self._wake.clear()
                await self._wake.wait()
                continue
            delay = self.rng.expovariate(1.0 / self.interval_s)
            if self._system_paused_by_me:
                delay = min(delay, 1.0)  # a system pause is brief
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), delay)
                continue  # reconfigured: draw the next moment with the new settings
            except asyncio.TimeoutError:
                pass
            if not self.enabled or not self.engine.runner.running:
                continue
            try:
                await self.act()
            except ChainError as exc:
                log.warning("operator action failed on the chain: %s", exc)
            except Exception:  # the operator must not take the shard down; the error is in the log
                log.exception("operator action crashed")

    # ---- one action ------------------------------------------------------------------------------------

    async def act(self, name: str | None = None, pool_id: str | None = None, **params) -> dict:
        """Perform one admin action now: `name` (one of ACTIONS) or a random one; returns what was
        done, predicted and found."""
        pools = self.engine.pools
        if name is None:
            name, pool_id, params = self._draw()
        if name is None:
            return {"action": None, "reason": "no pool"}
        if name in POOL_ACTIONS:
            pool = pools[pool_id] if pool_id else self.rng.choice(list(pools.values())) if pools else None
            if pool is None:
                return {"action": None, "reason": "no pool"}
            async with pool.lock:
                return await self._pool_action(name, pool, params)
        async with all_pools_locked(pools.values()):
            return await self._global_action(name, params)

    def _draw(self) -> tuple[str | None, str | None, dict]:
        if self._system_paused_by_me or any(
                pool.last_view is not None and pool.last_view.system_paused for pool in self.engine.pools.values()):
            return "unpause_system", None, {}  # also a pause left by an earlier run (the undo list is not kept)
        if self.undo and self.rng.random() < 0.5:
            undo = self.undo.pop(self.rng.randrange(len(self.undo)))
            if undo.pool_id is None or undo.pool_id in self.engine.pools:
                return undo.name, undo.pool_id, dict(undo.params, undo=True)
        if not self.engine.pools:
            return None, None, {}
        names = list(_WEIGHTS)
        name = self.rng.choices(names, weights=[_WEIGHTS[n] for n in names])[0]
        pool_id = self.rng.choice(sorted(self.engine.pools)) if name in POOL_ACTIONS else None
        return name, pool_id, {}

    # ---- pool actions -------------------------------------------------------------------------------

    async def _pool_action(self, name: str, pool: PoolRuntime, params: dict) -> dict:
        engine, core = self.engine, self.engine.core
        before = await observe(engine.cluster, pool.addresses, core.pubkey)
        if before.pool is None:
            return {"action": name, "pool_id": pool.record.pool_id, "reason": "pool gone"}
        state, undo = before.pool.state, params.pop("undo", False)
        program_id, address = engine.client.program_id, pool.addresses.pool_state
        error, redo = None, None
        if name in ("pause_pool", "unpause_pool"):
            flags = params.setdefault("flags", self.rng.choice((1, 2, 3)))
            build = ix.pause_pool if name == "pause_pool" else ix.unpause_pool
            instruction = build(program_id, core.pubkey, address, flags)
            if name == "pause_pool":
                redo = _Undo("unpause_pool", pool.record.pool_id, {"flags": flags})
        elif name == "update_pool_fees":
            params.setdefault("update_flags", self.rng.choice((1, 2, 3)))
            params.setdefault("liquidity_fee", self.rng.randint(MIN_LIQUIDITY_FEE, MAX_LIQUIDITY_FEE // 10))
            params.setdefault("swap_fee", self.rng.randint(MIN_SWAP_FEE, MAX_SWAP_FEE // 10))
            instruction = ix.update_pool_fees(program_id, core.pubkey, address, params["update_flags"],
                                              params["liquidity_fee"], params["swap_fee"])
            try:
                model.check_update_pool_fees(params["update_flags"], params["liquidity_fee"], params["swap_fee"])
            except ProgramError as exc:
                error = exc.error
            if not undo:
                redo = _Undo("update_pool_fees", pool.record.pool_id,
                             {"update_flags": 3, "liquidity_fee": state.contract_liquidity_fee,
                              "swap_fee": state.swap_contract_fee})
        else:  # set_swap_owner_only: toggles
            enable = params.setdefault("enable", not state.flags & FLAG_SWAP_FOR_OWNERS_ONLY)
            owner = params.get("designated_owner") or self._designated_owner(pool, state.owner)
            params["designated_owner"] = str(owner)
            instruction = ix.set_swap_owner_only(program_id, core.pubkey, address, enable,
                                                 Pubkey.from_string(str(owner)))
            if not undo:
                redo = _Undo("set_swap_owner_only", pool.record.pool_id,
                             {"enable": not enable, "designated_owner": str(state.owner)})
        if before.pool.system_paused:  # §4.6-4.8: SP comes first
            error = ProgramError.custom(model.ERR_SYSTEM_PAUSED).error
        result = await self._send(instruction)
        after = await observe(engine.cluster, pool.addresses, core.pubkey)
        pool.last_view = after.pool if after.pool is not None else pool.last_view
        findings = self._judge(name, error, result)
        action = self._action(name, pool.record.pool_id, params, error is None, result, before, after)
        findings += intent.check(action)
        if redo is not None and result.ok:
            self.undo.append(redo)
        elif undo and not result.ok:
            self.undo.append(_Undo(name, pool.record.pool_id, params))  # try again later
        return self._finish(action, error, result, findings, pool_id=pool.record.pool_id, before=before,
                            after=after)

    def _designated_owner(self, pool: PoolRuntime, current: Pubkey) -> Pubkey:
        """Usually the current owner; sometimes one of the pool's swap threads (then its swaps
        are the only ones that pass)."""
        swappers = [t.wallet.pubkey for t in self.engine.threads.values()
                    if t.pool_id == pool.record.pool_id and t.thread_type == "swap"]
        if swappers and self.rng.random() < 0.5:
            return self.rng.choice(swappers)
        return current

    # ---- system, treasury, consolidation ---------------------------------------------------------

    async def _global_action(self, name: str, params: dict) -> dict:
        engine, core = self.engine, self.engine.core
        params.pop("undo", None)
        pools = [engine.pools[pool_id] for pool_id in sorted(engine.pools)][:MAX_CONSOLIDATED_POOLS]
        first = pools[0] if pools else None
        before = await self._facts(pools)
        program_id = engine.client.program_id
        paused = bool(before.system and before.system.is_paused)
        error = None
        expected: dict = {}
        if name == "pause_system":
            params.setdefault("reason_code", self.rng.choice((1, 2, 3, 4, 5, 15, 255)))
            instruction = ix.pause_system(program_id, core.pubkey, params["reason_code"])
            error = _predicted(model.check_pause_system, paused)
        elif name == "unpause_system":
            instruction = ix.unpause_system(program_id, core.pubkey)
            error = _predicted(model.check_unpause_system, paused)
        elif name == "withdraw_treasury_fees":
            amount = params.setdefault("amount", self.rng.choice((0, MIN_TREASURY_WITHDRAWAL, 100_000_000,
                                                                  self.rng.randint(1, MIN_TREASURY_WITHDRAWAL))))
            instruction = ix.withdraw_treasury_fees(program_id, core.pubkey, core.pubkey, amount)
            treasury = before.treasury or MainTreasuryState()
            try:
                expected["withdrawn"] = model.check_treasury_withdrawal(
                    amount=amount, treasury_lamports=before.treasury_lamports,
                    stored_total_balance=treasury.total_balance,
                    stored_rent_exempt_minimum=treasury.rent_exempt_minimum,
                    last_withdrawal_timestamp=treasury.last_withdrawal_timestamp, now=before.now,
                    system_paused=paused)
            except ProgramError as exc:
                error = exc.error
        elif name == "consolidate_pool_fees":
            if not pools:
                return {"action": name, "reason": "no pool"}
            params["pools"] = [pool.record.pool_id for pool in pools]
            instruction = ix.consolidate_pool_fees(program_id, core.pubkey, [p.addresses.pool_state for p in pools])
            expected = self._expected_consolidation(before, paused)
        else:
            raise ValueError(f"unknown operator action {name!r}")
        result = await self._send(instruction)
        after = await self._facts(pools)
        for pool in pools:
            if pool.record.pool_id in after.pools:
                pool.last_view = after.pools[pool.record.pool_id].pool
        findings = self._judge(name, error, result)
        view_before, view_after = (before.pools.get(first.record.pool_id), after.pools.get(first.record.pool_id)) \
            if first is not None else (None, None)
        action = self._action(name, None, params, error is None, result, view_before, view_after)
        findings += intent.check(action)
        findings += self._global_effects(action, before, after, expected)
        if name == "pause_system" and result.ok:
            self._system_paused_by_me = True
        if name == "unpause_system" and (result.ok or not paused):
            self._system_paused_by_me = False
        return self._finish(action, error, result, findings, pool_id=None, before=view_before, after=view_after,
                            extra={"treasury_lamports_before": before.treasury_lamports,
                                   "treasury_lamports_after": after.treasury_lamports, "expected": expected})

    def _expected_consolidation(self, before: _Facts, paused: bool) -> dict:
        expected = {"moved": 0, "pools": {}}
        for pool_id, view in before.pools.items():
            state = view.pool.state
            eligible = paused or (state.flags & FLAG_LIQUIDITY_PAUSED and state.flags & FLAG_SWAPS_PAUSED)
            if not eligible or state.pending_sol_fees == 0:
                continue
            result = model.consolidation(view.pool.lamports, state.collected_liquidity_fees,
                                         state.collected_swap_contract_fees)
            if result.skipped:
                continue
            expected["moved"] += result.a
            expected["pools"][pool_id] = {"pending_before": state.pending_sol_fees, "moved": result.a,
                                          "liquidity_fees_after": result.liquidity_fees_after,
                                          "swap_fees_after": result.swap_fees_after}
        return expected

    def _global_effects(self, action: intent.Action, before: _Facts, after: _Facts, expected: dict) -> list[dict]:
        """admin_action_takes_effect_as_requested for what a View does not show, and the model's
        exact prediction of the same numbers."""
        findings = []
        moved = after.treasury_lamports - before.treasury_lamports
        if action.name == "withdraw_treasury_fees":
            requested = action.params["amount"] or max(before.treasury_lamports
                                                       - rent_exempt_minimum(MAIN_TREASURY_SIZE), 0)
            if action.ok and -moved != requested:
                findings.append(intent.admin_mismatch(
                    action, f"withdraw_treasury_fees moved {-moved} lamports, {requested} requested",
                    requested=requested, moved=-moved))
            model_moved = expected.get("withdrawn", 0) if action.ok else 0
            if action.ok == action.predicted_ok and -moved != model_moved:
                findings.append(self._mismatch(action, f"the treasury lost {-moved}, the model said {model_moved}"))
        elif action.name == "consolidate_pool_fees":
            if action.ok:  # requested: every eligible pool's pending fees, all of them, into the treasury
                lost = 0
                for pool_id, planned in expected.get("pools", {}).items():
                    view = after.pools.get(pool_id)
                    if view is None:
                        continue
                    lost += before.pools[pool_id].pool.lamports - view.pool.lamports
                    left = view.pool.state.pending_sol_fees
                    if left:
                        # Fees left behind stay in the pool, nobody takes them: bookkeeping (low).
                        findings.append(intent.admin_mismatch(
                            action, f"consolidate_pool_fees left {left} of {planned['pending_before']} lamports of "
                                    f"pending fees in the pool", severity="low", pool=pool_id, pending_before=planned["pending_before"],
                            pending_left=left))
                if moved != lost:
                    findings.append(intent.admin_mismatch(
                        action, f"consolidate_pool_fees: the pools lost {lost} lamports, the treasury received {moved}",
                        pools_lost=lost, treasury_received=moved))
            model_moved = expected.get("moved", 0) if action.ok else 0
            if action.ok == action.predicted_ok and moved != model_moved:
                findings.append(self._mismatch(action, f"the treasury received {moved}, the model said {model_moved}"))
        elif action.name in ("pause_system", "unpause_system") and action.after is None and after.system is not None:
            # (with a pool's View the intent oracle checks the pause itself)
            wanted = action.name == "pause_system" if action.ok else before.system.is_paused
            if after.system.is_paused != wanted:
                findings.append(intent.admin_mismatch(
                    action, f"{action.name}: the system is {'paused' if after.system.is_paused else 'active'}",
                    requested_paused=wanted, stored_paused=after.system.is_paused))
        return findings

    # ---- shared steps ------------------------------------------------------------------------------

    async def _send(self, instruction) -> TxResult:
        client = self.engine.client
        return await client.sender.send([ix.compute_unit_limit(CU_LIMITS["admin"] + 200_000), instruction],
                                        self.engine.core)

    async def _facts(self, pools: list[PoolRuntime]) -> _Facts:
        cluster, program_id, core = self.engine.cluster, self.engine.client.program_id, self.engine.core
        system_key, treasury_key = find_system_state(program_id)[0], find_main_treasury(program_id)[0]
        system, treasury, clock, wallet = await cluster.get_multiple_accounts(
            [system_key, treasury_key, CLOCK_SYSVAR, core.pubkey])
        facts = _Facts(
            system=SystemState.decode(bytes(system.data)) if system is not None else None,
            treasury=MainTreasuryState.decode(bytes(treasury.data)) if treasury is not None else None,
            treasury_lamports=treasury.lamports if treasury is not None else 0,
            destination_lamports=wallet.lamports if wallet is not None else 0,
            now=struct.unpack_from("<q", bytes(clock.data), 32)[0] if clock is not None else int(time.time()))
        for pool in pools:
            view = await observe(cluster, pool.addresses, core.pubkey)
            if view.pool is not None:
                facts.pools[pool.record.pool_id] = view
        return facts

    def _judge(self, name: str, error, result: TxResult) -> list[dict]:
        from engine.operations import _same_error  # the one comparison of a predicted and a chain error

        raw = result.failure.raw if result.failure is not None else None
        if (error is None) == result.ok and (result.ok or _same_error(error, raw)):
            return []
        return [make_finding("prediction_mismatch", "outcome_as_predicted", "high",
                             f"{name}: model predicted {'success' if error is None else error}, "
                             f"chain answered {'success' if result.ok else raw}",
                             predicted_error=error, actual_error=raw, action=name, actor="operator")]

    def _mismatch(self, action: intent.Action, detail: str) -> dict:
        return make_finding("prediction_mismatch", "outcome_as_predicted", "high", f"{action.name}: {detail}",
                            action=action.name, actor="operator")

    def _action(self, name: str, pool_id: str | None, params: dict, predicted_ok: bool, result: TxResult,
                before: View | None, after: View | None) -> intent.Action:
        return intent.Action(name=name, actor="operator", signer=str(self.engine.core.pubkey), signer_is_admin=True,
                             ok=result.ok, predicted_ok=predicted_ok, pool_id=pool_id, params=dict(params),
                             before=before, after=after, signature=result.signature)

    def _finish(self, action: intent.Action, error, result: TxResult, findings: list[dict], *, pool_id: str | None,
                before: View | None, after: View | None, extra: dict | None = None) -> dict:
        recorder = self.engine.recorder
        self.actions += 1
        counts = self.by_action.setdefault(action.name, {"ok": 0, "refused": 0})
        counts["ok" if result.ok else "refused"] += 1
        summary = f"operator {action.name}" + (f" {_brief(action.params)}" if action.params else "")
        context = {"actor": "operator", "params": intent._plain(action.params), "predicted_error": error,
                   "transaction": transaction_json(result), "before": _view_json(before),
                   "after": _view_json(after), **(extra or {})}
        for finding in findings:
            recorder.record_finding(finding, pool_id=finding["evidence"].get("pool") or pool_id,
                                    operation=action.name, summary=summary, context=context)
        self.findings += len(findings)
        self.last = {"action": action.name, "pool_id": pool_id, "params": intent._plain(action.params),
                     "ok": result.ok, "predicted_error": error, "error": result.error.name if result.error else None,
                     "findings": len(findings)}
        recorder.dirty = True
        return {**self.last, "finding_kinds": [f["kind"] for f in findings]}


def _predicted(check, *args):
    try:
        check(*args)
    except ProgramError as exc:
        return exc.error
    return None


def _brief(params: dict) -> str:
    return " ".join(f"{key}={value}" for key, value in params.items() if key != "pools")


def _view_json(view: View | None) -> dict | None:
    if view is None or view.pool is None:
        return None
    state = view.pool.state
    return {"flags": state.flags, "owner": str(state.owner), "liquidity_fee": state.contract_liquidity_fee,
            "swap_fee": state.swap_contract_fee, "system_paused": view.pool.system_paused,
            "pool_lamports": view.pool.lamports, "pending_fees": state.pending_sol_fees}

