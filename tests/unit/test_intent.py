"""The intent oracle's rules on hand-built actions: each fires on an action that breaks its
property and stays silent on legitimate ones; as_coded follows the model's prediction."""
from __future__ import annotations

import dataclasses

import pytest
from solders.pubkey import Pubkey

from engine import intent
from engine.frt.state import PoolState
from engine.intent import Action, check, check_created_pool
from engine.observe import PoolView, View, WalletView

ADMIN = str(Pubkey.new_unique())
OWNER = Pubkey.new_unique()
USER = str(Pubkey.new_unique())
RA, RB = 10**9, 160 * 10**6  # 1 A = 160 B


def view(flags: int = 0, wallet=(10**9, 0, 0, 0, 0), owner=OWNER, fees=(13_000_000, 271_500),
         system_paused: bool = False) -> View:
    state = PoolState(owner=owner, ratio_a_numerator=RA, ratio_b_denominator=RB, flags=flags,
                      contract_liquidity_fee=fees[0], swap_contract_fee=fees[1])
    return View(PoolView(state, 3_939_360, 0, 0, 0, 0, system_paused), WalletView(*wallet))


def action(name: str, *, signer: str = USER, admin: bool = False, ok: bool = True, predicted_ok: bool = True,
           before: View | None = None, after: View | None = None, **params) -> Action:
    before = before or view()
    return Action(name=name, actor="thread:t", signer=signer, signer_is_admin=admin, ok=ok,
                  predicted_ok=predicted_ok, pool_id="P", params=params, before=before, after=after or before)


def rules(findings: list[dict]) -> list[str]:
    return [finding["rule"] for finding in findings]


# ---- only_admin_changes_settings ------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(intent.ADMIN_ACTIONS))
def test_an_admin_action_that_succeeds_for_a_non_admin_is_critical(name):
    findings = check(action(name, signer=USER, admin=False, predicted_ok=True))
    assert rules(findings)[0] == "only_admin_changes_settings"  # (a pause_system with no effect is a second one)
    assert findings[0]["severity"] == "critical" and findings[0]["kind"] == "intent_violation"
    assert findings[0]["as_coded"] is True  # the model predicted the success: the program does this as written
    assert findings[0]["evidence"]["signer"] == USER


def test_only_admin_rule_is_silent_for_the_admin_and_for_refusals_and_marks_surprises():
    assert check(action("pause_system", signer=ADMIN, admin=True, after=view(system_paused=True))) == []
    assert check(action("withdraw_treasury_fees", ok=False, predicted_ok=False)) == []
    surprise = check(action("update_pool_fees", predicted_ok=False))  # the model said it would be refused
    assert rules(surprise) == ["only_admin_changes_settings"] and surprise[0]["as_coded"] is False
    assert check(action("deposit")) == []  # not an admin action


# ---- only_owner_swaps_owner_only_pool ----------------------------------------------------------------


def test_a_swap_by_a_non_owner_in_an_owner_only_pool_is_critical():
    findings = check(action("swap", before=view(flags=32)))
    assert rules(findings) == ["only_owner_swaps_owner_only_pool"]
    assert findings[0]["severity"] == "critical"


def test_owner_only_rule_is_silent_for_the_owner_open_pools_and_refusals():
    assert check(action("swap", signer=str(OWNER), before=view(flags=32))) == []
    assert check(action("swap", before=view(flags=64 | 1))) == []
    assert check(action("swap", before=view(flags=32), ok=False, predicted_ok=False)) == []
    assert check(action("deposit", before=view(flags=32))) == []  # deposits are not restricted


# ---- no_value_out_beyond_value_in ---------------------------------------------------------------------


def test_holdings_that_grow_at_the_fixed_ratio_are_high():
    before = view(wallet=(10**9, 100, 0, 0, 0))
    after = view(wallet=(10**9, 99, 17, 0, 0))  # 1 A-unit in, 17 B-units out: 1 A-unit is worth 0.16 B-unit
    findings = check(action("swap", before=before, after=after))
    assert rules(findings) == ["no_value_out_beyond_value_in"]
    assert findings[0]["severity"] == "high"
    assert findings[0]["evidence"]["value_after"] > findings[0]["evidence"]["value_before"]


@pytest.mark.parametrize("name,before,after", [
    ("deposit", (10**9, 500, 0, 0, 0), (10**9, 400, 0, 100, 0)),  # 100 A -> 100 LP-A
    ("withdraw", (10**9, 0, 0, 0, 70), (10**9, 0, 70, 0, 0)),  # 70 LP-B -> 70 B
    ("swap", (10**9, 1_000, 0, 0, 0), (10**9, 0, 160, 0, 0)),  # 1000 A-units -> exactly 160 B-units
    ("swap", (10**9, 0, 7, 0, 0), (10**9, 43, 0, 0, 0)),  # 7 B-units -> floor(43.75) A-units: dust stays
])
def test_value_rule_is_silent_for_exact_and_floored_operations(name, before, after):
    assert check(action(name, before=view(wallet=before), after=view(wallet=after))) == []


def test_sol_is_not_value_and_a_lost_pool_does_not_hide_a_gain():
    paid_fee = view(wallet=(10**9 - 13_000_000, 400, 0, 100, 0))
    assert check(action("deposit", before=view(wallet=(10**9, 500, 0, 0, 0)), after=paid_fee)) == []
    gone = View(None, WalletView(10**9, 0, 10**6, 0, 0))
    assert rules(check(action("withdraw", before=view(wallet=(10**9, 0, 0, 0, 1)), after=gone))) == [
        "no_value_out_beyond_value_in"]


# ---- admin_action_takes_effect_as_requested ----------------------------------------------------------


@pytest.mark.parametrize("name,params,before,after", [
    ("pause_pool", {"flags": 1}, view(), view(flags=2)),
    ("pause_pool", {"flags": 3}, view(flags=2), view(flags=6)),
    ("unpause_pool", {"flags": 2}, view(flags=6), view(flags=2)),
    ("update_pool_fees", {"update_flags": 2, "liquidity_fee": 1, "swap_fee": 20_000}, view(),
     view(fees=(13_000_000, 20_000))),
    ("set_swap_owner_only", {"enable": True, "designated_owner": USER}, view(),
     view(flags=32, owner=Pubkey.from_string(USER))),
    ("set_swap_owner_only", {"enable": False, "designated_owner": USER}, view(flags=32), view()),
    ("pause_system", {"reason_code": 3}, view(), view(system_paused=True)),
    ("unpause_system", {}, view(system_paused=True), view()),
])
def test_admin_effects_as_requested_are_silent(name, params, before, after):
    assert check(action(name, signer=ADMIN, admin=True, before=before, after=after, **params)) == []


@pytest.mark.parametrize("name,params,before,after,field", [
    ("pause_pool", {"flags": 1}, view(), view(flags=4), "flags"),
    ("update_pool_fees", {"update_flags": 1, "liquidity_fee": 200_000, "swap_fee": 0}, view(),
     view(fees=(13_000_000, 271_500)), "liquidity_fee"),
    ("update_pool_fees", {"update_flags": 1, "liquidity_fee": 200_000, "swap_fee": 50_000}, view(),
     view(fees=(200_000, 50_000)), "swap_fee"),  # the swap fee was not asked for
    ("set_swap_owner_only", {"enable": True, "designated_owner": USER}, view(), view(flags=32), "owner"),
    ("pause_system", {"reason_code": 0}, view(), view(), "system_paused"),
])
def test_admin_effects_that_differ_from_the_request_are_high(name, params, before, after, field):
    findings = check(action(name, signer=ADMIN, admin=True, before=before, after=after, **params))
    assert rules(findings) == ["admin_action_takes_effect_as_requested"]
    assert findings[0]["kind"] == "admin_mismatch" and findings[0]["severity"] == "high"
    assert list(findings[0]["evidence"]["differences"]) == [field]


def test_a_refused_admin_action_must_change_nothing():
    refused = action("pause_pool", signer=ADMIN, admin=True, ok=False, predicted_ok=False, flags=1,
                     before=view(system_paused=True), after=view(system_paused=True))
    assert check(refused) == []
    changed = dataclasses.replace(refused, after=view(flags=2, system_paused=True))
    findings = check(changed)
    assert rules(findings) == ["admin_action_takes_effect_as_requested"]
    assert "refused" in findings[0]["detail"] and findings[0]["as_coded"] is True


# ---- created_pool_matches_request --------------------------------------------------------------------


def _created(**changes) -> dict:
    base = {"token_a_mint": "A", "token_b_mint": "B", "ratio_a": RA, "ratio_b": RB, "flags": 64, "owner": ADMIN,
            "lp_a_decimals": 9, "lp_b_decimals": 6}
    return base | changes


def test_a_created_pool_as_requested_is_silent_and_each_difference_is_named():
    assert check_created_pool(_created(), _created()) == []
    findings = check_created_pool(_created(), _created(lp_a_decimals=6, lp_b_decimals=9, as_coded=True))
    assert len(findings) == 1 and findings[0]["kind"] == "creation_mismatch"
    assert findings[0]["rule"] == "created_pool_matches_request" and findings[0]["as_coded"] is True
    assert set(findings[0]["evidence"]["differences"]) == {"lp_a_decimals", "lp_b_decimals"}
    swapped = check_created_pool(_created(), _created(ratio_a=RB, ratio_b=RA, owner=USER))
    assert set(swapped[0]["evidence"]["differences"]) == {"ratio_a", "ratio_b", "owner"}
    assert swapped[0]["as_coded"] is False


# ---- lp_holders_can_redeem ----------------------------------------------------------------------------


def _drained(flags: int = 0, system_paused: bool = False, liquidity_a: int = 10) -> View:
    state = PoolState(owner=OWNER, ratio_a_numerator=RA, ratio_b_denominator=RB, flags=flags,
                      total_token_a_liquidity=liquidity_a)
    return View(PoolView(state, 3_939_360, liquidity_a, 0, 500, 0, system_paused), WalletView(10**9, 0, 0, 100, 0))


def test_a_holder_refused_because_its_side_ran_short_is_told_why():
    findings = check(action("withdraw", ok=False, predicted_ok=False, before=_drained(), token_type="A", amount=50))
    assert rules(findings) == ["lp_holders_can_redeem"]
    assert findings[0]["severity"] == "info" and findings[0]["as_coded"] is True
    assert "holds only 10 A against an LP-A supply of 500" in findings[0]["detail"]


def test_redeem_rule_is_silent_on_pauses_on_amounts_not_held_on_enough_liquidity_and_on_success():
    refused = {"ok": False, "predicted_ok": False, "token_type": "A"}
    assert check(action("withdraw", before=_drained(flags=2), amount=50, **refused)) == []  # liquidity paused
    assert check(action("withdraw", before=_drained(system_paused=True), amount=50, **refused)) == []
    assert check(action("withdraw", before=_drained(), amount=101, **refused)) == []  # more than it holds
    assert check(action("withdraw", before=_drained(liquidity_a=60), amount=50, **refused)) == []  # another reason
    assert check(action("withdraw", before=_drained(), token_type="A", amount=5)) == []  # it succeeded


# ---- third_party_cannot_block_others ----------------------------------------------------------------


def test_an_action_refused_because_another_signer_occupied_its_accounts_is_medium():
    blocked = action("initialize_pool", signer=ADMIN, admin=True, ok=False, predicted_ok=False,
                     preoccupied_by_others=["pool_state"], blocked_by=USER)
    findings = check(blocked)
    assert rules(findings) == ["third_party_cannot_block_others"]
    assert findings[0]["severity"] == "medium" and findings[0]["as_coded"] is True


def test_block_rule_is_silent_on_success_on_self_inflicted_and_on_ordinary_refusals():
    params = {"preoccupied_by_others": ["pool_state"], "blocked_by": USER}
    assert check(action("initialize_pool", signer=ADMIN, admin=True, **params)) == []  # it succeeded
    assert check(action("initialize_pool", ok=False, predicted_ok=False, **params)) == []  # the signer did it
    assert check(action("initialize_pool", signer=ADMIN, admin=True, ok=False, predicted_ok=False)) == []
