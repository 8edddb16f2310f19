"""The intent oracle: rules that hold for any correct fixed-ratio pool whatever its code, kept
apart from the code-derived model (engine/frt/model.py, engine/invariants.py). A violation is a
finding even when the model predicted it (then it is marked as_coded).

Every executed action — an ordinary operation, an attack, an operator's admin action — is
described by an `Action` and checked by `check(action)`. One rule per property; CONTRACT.md §13
is what the rules are measured against, never special-cased here. The rules read only the
action (no chain reads): they run after every operation.

Rules:
    only_admin_changes_settings (critical)      an admin instruction succeeded for a signer who
                                                is not the program's admin
    only_owner_swaps_owner_only_pool (critical) a swap succeeded in an owner-only pool (flag 32
                                                before it) for a signer who is not the pool owner
    no_value_out_beyond_value_in (high)         after a deposit / withdrawal / swap the signer's
                                                holdings, valued at the pool's fixed ratio, grew
    admin_action_takes_effect_as_requested (high) an admin action's stored effect (flags, fees,
                                                owner, system pause) differs from the request;
                                                a refused one changed them anyway
    created_pool_matches_request (high)         the PoolState a creation stored differs from the
                                                request (`check_created_pool`, called by
                                                engine/creation.py with what it read)
    third_party_cannot_block_others (medium)    an action was refused while accounts it needs were
                                                occupied by another signer (params
                                                "preoccupied_by_others", "blocked_by")
    lp_holders_can_redeem (info)                a holder's withdrawal of LP it holds was refused,
                                                nothing paused, because the pool no longer holds
                                                that much of the LP's side: the finding says so
"""
from __future__ import annotations

from dataclasses import dataclass, field

from engine.findings import make_finding
from engine.frt.constants import FLAG_LIQUIDITY_PAUSED, FLAG_SWAP_FOR_OWNERS_ONLY, FLAG_SWAPS_PAUSED
from engine.observe import View

ADMIN_ACTIONS = frozenset({"pause_pool", "unpause_pool", "pause_system", "unpause_system", "update_pool_fees",
                           "set_swap_owner_only", "withdraw_treasury_fees", "consolidate_pool_fees",
                           "process_admin_change"})
VALUE_ACTIONS = frozenset({"deposit", "withdraw", "swap"})
_PAUSE_BITS = {1: FLAG_LIQUIDITY_PAUSED, 2: FLAG_SWAPS_PAUSED}  # instruction bit -> state bit (§4.6)
_SETTINGS_BITS = FLAG_LIQUIDITY_PAUSED | FLAG_SWAPS_PAUSED | FLAG_SWAP_FOR_OWNERS_ONLY


@dataclass(frozen=True)
class Action:
    name: str  # "deposit", "withdraw", "swap", "pause_pool", "update_pool_fees", "withdraw_treasury_fees", ...
    actor: str  # "thread:<id>" or "operator"
    signer: str  # base58 of the transaction's signer (the fee payer and authority)
    signer_is_admin: bool  # the signer is the program's admin (the core wallet)
    ok: bool  # the transaction succeeded
    predicted_ok: bool  # the code-derived model said it would succeed
    pool_id: str | None = None
    params: dict = field(default_factory=dict)  # what was requested: amounts, flags, fees, owner, accounts
    before: View | None = None  # the pool and the signer's wallet before, where observed
    after: View | None = None
    signature: str | None = None


def check(action: Action) -> list[dict]:
    """The findings (engine/findings.py shape) the intent rules raise for this action."""
    findings: list[dict] = []
    for rule in _RULES:
        finding = rule(action)
        if finding is not None:
            findings.append(finding)
    return findings


def _as_coded(action: Action) -> bool:
    """The code-derived model predicted this outcome: the program does it as written."""
    return action.predicted_ok == action.ok


def _evidence(action: Action) -> dict:
    return {"action": action.name, "actor": action.actor, "signer": action.signer,
            "signer_is_admin": action.signer_is_admin, "ok": action.ok, "predicted_ok": action.predicted_ok,
            "pool_id": action.pool_id, "params": _plain(action.params), "signature": action.signature}


def _plain(value):
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


# ---------------------------------------------------------------------------------------- rules


def only_admin_changes_settings(action: Action) -> dict | None:
    if action.name not in ADMIN_ACTIONS or not action.ok or action.signer_is_admin:
        return None
    return make_finding("intent_violation", "only_admin_changes_settings", "critical",
                        f"{action.name} succeeded for {action.signer}, who is not the program's admin",
                        as_coded=_as_coded(action), **_evidence(action))


def only_owner_swaps_owner_only_pool(action: Action) -> dict | None:
    if action.name != "swap" or not action.ok or action.before is None or action.before.pool is None:
        return None
    state = action.before.pool.state
    if not state.flags & FLAG_SWAP_FOR_OWNERS_ONLY or str(state.owner) == action.signer:
        return None
    return make_finding("intent_violation", "only_owner_swaps_owner_only_pool", "critical",
                        f"a swap by {action.signer} succeeded in an owner-only pool owned by {state.owner}",
                        as_coded=_as_coded(action), pool_owner=str(state.owner), flags=state.flags,
                        **_evidence(action))


def holdings_value(view: View) -> int:
    """The wallet's pool tokens and LP valued at the pool's fixed ratio, in units of 1/ra B
    (x A is worth x·rb/ra B; 1 LP-X redeems 1 X): A·rb + B·ra + LP-A·rb + LP-B·ra."""
    state, wallet = view.pool.state, view.wallet
    ra, rb = state.ratio_a_numerator, state.ratio_b_denominator
    return (wallet.token_a + wallet.lp_a) * rb + (wallet.token_b + wallet.lp_b) * ra


def no_value_out_beyond_value_in(action: Action) -> dict | None:
    if action.name not in VALUE_ACTIONS or action.before is None or action.after is None \
            or action.before.pool is None:
        return None
    before, after = holdings_value(action.before), holdings_value(_with_pool(action.after, action.before))
    if after <= before:
        return None
    state = action.before.pool.state
    return make_finding("intent_violation", "no_value_out_beyond_value_in", "high",
                        f"{action.name}: the signer's holdings at the fixed ratio grew by {after - before} "
                        f"(units of 1/{state.ratio_a_numerator} B)",
                        as_coded=_as_coded(action), value_before=before, value_after=after,
                        wallet_before=action.before.wallet.numbers(), wallet_after=action.after.wallet.numbers(),
                        ratio_a=state.ratio_a_numerator, ratio_b=state.ratio_b_denominator, **_evidence(action))


def _with_pool(view: View, fallback: View) -> View:
    """Value the after-wallet at the ratio seen before (ratios are immutable; a pool gone after
    the action must not hide the gain)."""
    return View(fallback.pool, view.wallet)


def expected_settings(action: Action) -> dict | None:
    """What the stored settings must be after the action as requested — {"flags", "liquidity_fee",
    "swap_fee", "owner", "system_paused"}, None where the request does not say (or the action is
    not one that changes these settings). A refused action must leave them as they were."""
    if action.before is None or action.before.pool is None:
        return None
    state, params = action.before.pool.state, action.params
    current = {"flags": state.flags & _SETTINGS_BITS, "liquidity_fee": state.contract_liquidity_fee,
               "swap_fee": state.swap_contract_fee, "owner": str(state.owner),
               "system_paused": action.before.pool.system_paused}
    if not action.ok:
        return current
    name = action.name
    if name in ("pause_pool", "unpause_pool"):
        bits = sum(state_bit for ix_bit, state_bit in _PAUSE_BITS.items() if params.get("flags", 0) & ix_bit)
        flags = current["flags"] | bits if name == "pause_pool" else current["flags"] & ~bits
        return current | {"flags": flags}
    if name == "update_pool_fees":
        changed = {}
        if params.get("update_flags", 0) & 1:
            changed["liquidity_fee"] = params["liquidity_fee"]
        if params.get("update_flags", 0) & 2:
            changed["swap_fee"] = params["swap_fee"]
        return current | changed
    if name == "set_swap_owner_only":
        if params.get("enable"):
            return current | {"flags": current["flags"] | FLAG_SWAP_FOR_OWNERS_ONLY,
                              "owner": str(params["designated_owner"])}
        return current | {"flags": current["flags"] & ~FLAG_SWAP_FOR_OWNERS_ONLY}
    if name == "pause_system":
        return current | {"system_paused": True}
    if name == "unpause_system":
        return current | {"system_paused": False}
    return None  # treasury, consolidation, admin change: their effects are not in a View


def stored_settings(view: View) -> dict:
    state = view.pool.state
    return {"flags": state.flags & _SETTINGS_BITS, "liquidity_fee": state.contract_liquidity_fee,
            "swap_fee": state.swap_contract_fee, "owner": str(state.owner), "system_paused": view.pool.system_paused}


def admin_action_takes_effect_as_requested(action: Action) -> dict | None:
    if action.name not in ADMIN_ACTIONS or action.after is None or action.after.pool is None:
        return None
    expected = expected_settings(action)
    if expected is None:
        return None
    actual = stored_settings(action.after)
    differences = {key: {"requested": expected[key], "stored": actual[key]}
                   for key in expected if expected[key] != actual[key]}
    if not differences:
        return None
    what = "took effect differently than requested" if action.ok else "was refused but changed the settings"
    return admin_mismatch(action, f"{action.name} {what}: {', '.join(sorted(differences))}",
                          differences=differences)


def admin_mismatch(action: Action, detail: str, *, severity: str = "high", **evidence) -> dict:
    """A finding of the rule admin_action_takes_effect_as_requested (also raised by the operator
    for effects a View does not show: treasury and consolidation)."""
    return make_finding("admin_mismatch", "admin_action_takes_effect_as_requested", severity, detail,
                        as_coded=_as_coded(action), **evidence, **_evidence(action))


def lp_holders_can_redeem(action: Action) -> dict | None:
    """LP tokens are a claim on the pool: a holder who asks to redeem what it holds, while nothing
    is paused, should get it. Where the pool's side ran short, say why not (a design property:
    LP-X redeems only X, and swaps can drain X below the LP-X supply)."""
    before = action.before
    if action.name != "withdraw" or action.ok or before is None or before.pool is None:
        return None
    side, amount = action.params.get("token_type"), action.params.get("amount")
    if side not in ("A", "B") or not isinstance(amount, int) or amount <= 0 or amount > before.wallet.lp(side):
        return None
    state = before.pool.state
    if before.pool.system_paused or state.flags & FLAG_LIQUIDITY_PAUSED:
        return None  # an admin's pause: a legitimate refusal
    held = state.total_token_a_liquidity if side == "A" else state.total_token_b_liquidity
    if held >= amount:
        return None
    supply = before.pool.lp_supply_a if side == "A" else before.pool.lp_supply_b
    return make_finding("intent_violation", "lp_holders_can_redeem", "info",
                        f"a holder could not redeem {amount} LP-{side} it holds: the pool holds only {held} "
                        f"{side} against an LP-{side} supply of {supply} (the side was swapped out)",
                        as_coded=_as_coded(action), liquidity=held, lp_supply=supply, **_evidence(action))


def third_party_cannot_block_others(action: Action) -> dict | None:
    """Nobody may stop someone else from using the program (creating a pool, depositing,
    withdrawing) by what they do to accounts they do not own."""
    occupied = action.params.get("preoccupied_by_others")
    blocker = action.params.get("blocked_by")
    if action.ok or not occupied or blocker in (None, action.signer):
        return None
    return make_finding("intent_violation", "third_party_cannot_block_others", "medium",
                        f"{action.name} was refused: {', '.join(occupied)} held lamports {blocker} had sent there",
                        as_coded=_as_coded(action), **_evidence(action))


_RULES = (only_admin_changes_settings, only_owner_swaps_owner_only_pool, no_value_out_beyond_value_in,
          admin_action_takes_effect_as_requested, third_party_cannot_block_others, lp_holders_can_redeem)


# ------------------------------------------------------------------------ creation (engine/creation.py)


def check_created_pool(requested: dict, stored: dict) -> list[dict]:
    """created_pool_matches_request: compare what a creation asked for with what it stored.

    `requested` and `stored` have the keys token_a_mint, token_b_mint (the sorted order the
    request means), ratio_a, ratio_b, flags (creation flags: 32 / 64), owner, lp_a_decimals,
    lp_b_decimals (the request: the decimals of tokens A and B), and optionally as_coded (the
    model predicted the stored value)."""
    differences = {key: {"requested": requested[key], "stored": stored.get(key)}
                   for key in requested if key != "as_coded" and requested[key] != stored.get(key)}
    if not differences:
        return []
    return [make_finding("creation_mismatch", "created_pool_matches_request", "high",
                         f"the created pool differs from the request: {', '.join(sorted(differences))}",
                         as_coded=bool(stored.get("as_coded", False)), differences=_plain(differences),
                         requested=_plain(requested))]
