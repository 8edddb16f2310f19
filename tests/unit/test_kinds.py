"""Thread kinds as strategies, and the one status transition."""
from __future__ import annotations

import pytest
from solders.pubkey import Pubkey

from engine.exceptions import DuplicateSwapDirection
from engine.frt.constants import FLAG_EXACT_EXCHANGE_REQUIRED
from engine.kinds import KINDS, kind_of
from engine.kinds.attack import AttackKind
from engine.kinds.deposit import DepositKind
from engine.kinds.swap import SwapKind
from engine.kinds.withdrawal import WithdrawalKind
from engine.observe import WalletView
from engine.pools import PoolRecord, PoolRuntime
from engine.threads import (
    CREATED,
    ERROR,
    RUNNING,
    STOPPED,
    THREAD_TYPES,
    IllegalTransition,
    ThreadRecord,
    ThreadStatus,
    set_status,
)
from engine.wallet import Wallet

PROGRAM = Pubkey.from_string("quXSYkeZ8ByTCtYY1J1S9MS4UW4GMg9NmmN1bnuNNAb")
MINT_A, MINT_B = str(Pubkey.new_unique()), str(Pubkey.new_unique())
WALLET = WalletView(sol=1, token_a=10, token_b=20, lp_a=30, lp_b=40)


def pool(ratio_a: int = 6, ratio_b: int = 4, flags: int = 0) -> PoolRuntime:
    return PoolRuntime(PoolRecord("pool", MINT_A, 0, MINT_B, 0, ratio_a, ratio_b, flags), PROGRAM)


def thread(kind: str, status=CREATED, pool_id: str = "pool", **config) -> ThreadRecord:
    record = ThreadRecord(thread_id=f"{kind}_{Pubkey.new_unique()}", thread_type=kind, pool_id=pool_id,
                          wallet=Wallet.generate(), seed=1, **config)
    record.status = status
    return record


def test_the_four_kinds_are_registered_in_the_order_answers_list_them():
    assert list(KINDS) == list(THREAD_TYPES) == ["deposit", "withdrawal", "swap", "attack"]
    assert isinstance(kind_of("deposit"), DepositKind) and isinstance(kind_of("withdrawal"), WithdrawalKind)
    assert isinstance(kind_of("swap"), SwapKind) and isinstance(kind_of("attack"), AttackKind)
    assert [kind_of(name).operation for name in KINDS] == ["deposit", "withdraw", "swap", "deposit"]
    assert kind_of("attack").worker.__name__ == "AttackWorker"  # the runner starts the kind's own worker
    with pytest.raises(ValueError, match="sniper"):
        kind_of("sniper")


def test_each_kind_spends_and_receives_its_own_balance_and_mints():
    p = pool()
    deposit, withdrawal = thread("deposit", token_type="B"), thread("withdrawal", token_type="A")
    swap = thread("swap", swap_direction="b_to_a")
    assert [t.kind.input_balance(t, WALLET) for t in (deposit, withdrawal, swap)] == [20, 30, 20]
    assert (deposit.input_token, deposit.output_token) == ("B", "B")
    assert (swap.input_token, swap.output_token) == ("B", "A")
    assert deposit.kind.spend_mint(p, deposit) == p.mint("B")
    assert deposit.kind.receive_mint(p, deposit) == p.lp_mint("B")
    assert withdrawal.kind.spend_mint(p, withdrawal) == p.lp_mint("A")
    assert withdrawal.kind.receive_mint(p, withdrawal) == p.mint("A")
    assert (swap.kind.spend_mint(p, swap), swap.kind.receive_mint(p, swap)) == (p.mint("B"), p.mint("A"))


def test_only_token_spending_kinds_refill():
    assert kind_of("deposit").refills and kind_of("swap").refills and not kind_of("withdrawal").refills


def test_amount_fraction_comes_from_the_kinds_own_setting():
    class Config:
        deposit_max_fraction, withdrawal_max_fraction, swap_max_fraction = 0.1, 0.2, 0.3

    assert [kind_of(name).max_fraction(Config) for name in ("deposit", "withdrawal", "swap")] == [0.1, 0.2, 0.3]


def test_swaps_in_an_exact_pool_step_in_whole_exchange_units_others_do_not():
    exact, loose = pool(6, 4, FLAG_EXACT_EXCHANGE_REQUIRED), pool(6, 4)
    swap, deposit = thread("swap", swap_direction="a_to_b"), thread("deposit", token_type="A")
    assert SwapKind().fit_amount(exact, swap, 7, 100) == 6  # 6 A buy exactly 4 B: steps of 3 A
    assert SwapKind().fit_amount(exact, swap, 2, 100) == 3  # below one step: one step, if affordable
    assert SwapKind().fit_amount(exact, swap, 2, 2) == 0  # cannot afford one step: wait
    assert SwapKind().fit_amount(loose, swap, 7, 100) == 7
    assert DepositKind().fit_amount(exact, deposit, 7, 100) == 7
    assert "exact-exchange step" in SwapKind().waiting_reason(exact, swap)
    assert SwapKind().waiting_reason(loose, swap) == "waiting for token A"
    assert WithdrawalKind().waiting_reason(loose, thread("withdrawal", token_type="B")) == "waiting for LP-B tokens"


def test_shares_go_to_running_peers_of_the_same_pool_and_side_only():
    giver = thread("deposit", RUNNING, token_type="A")
    takers = [thread("withdrawal", RUNNING, token_type="A"), thread("withdrawal", RUNNING, token_type="A")]
    others = [thread("withdrawal", STOPPED, token_type="A"), thread("withdrawal", RUNNING, token_type="B"),
              thread("withdrawal", RUNNING, pool_id="other", token_type="A"), thread("deposit", RUNNING, token_type="A")]
    everyone = [giver, *takers, *others]
    assert giver.kind.share_recipients(giver, everyone) == takers
    back = takers[0].kind.share_recipients(takers[0], everyone)
    assert back == [giver, others[-1]]
    assert not thread("deposit", token_type="A", share_lp_tokens=False).kind.shares(
        thread("deposit", token_type="A", share_lp_tokens=False))


def test_a_swap_shares_with_the_opposite_direction_only_while_it_runs():
    a_to_b, b_to_a = thread("swap", RUNNING, swap_direction="a_to_b"), thread("swap", STOPPED, swap_direction="b_to_a")
    assert SwapKind().share_recipients(a_to_b, [a_to_b, b_to_a]) == []
    b_to_a.status = RUNNING
    assert SwapKind().share_recipients(a_to_b, [a_to_b, b_to_a]) == [b_to_a]
    assert SwapKind().opposite(b_to_a, [a_to_b, b_to_a]) is a_to_b


def test_one_swap_thread_per_direction_per_pool():
    existing = [thread("swap", swap_direction="a_to_b")]
    with pytest.raises(DuplicateSwapDirection):
        SwapKind().check_new("pool", {"swap_direction": "a_to_b"}, existing)
    SwapKind().check_new("pool", {"swap_direction": "b_to_a"}, existing)
    SwapKind().check_new("other", {"swap_direction": "a_to_b"}, existing)
    DepositKind().check_new("pool", {"token_type": "A"}, existing + [thread("deposit", token_type="A")])


def test_status_transitions():
    record = thread("deposit", token_type="A")
    assert record.status is CREATED and record.to_json("x")["status"] == "created"
    with pytest.raises(IllegalTransition):
        set_status(record, STOPPED)  # never ran
    set_status(record, RUNNING)
    set_status(record, STOPPED)
    with pytest.raises(IllegalTransition):
        set_status(record, STOPPED)
    with pytest.raises(IllegalTransition):
        set_status(record, CREATED)
    set_status(record, ERROR, evidence={"error": "boom"})
    assert record.status is ERROR and record.error_state == {"error": "boom"}
    set_status(record, "running")  # restart after an error; plain strings are the same states
    assert record.status is ThreadStatus.RUNNING and record.status == "running"


def test_status_survives_threads_json_as_the_plain_string():
    import json

    record = thread("swap", swap_direction="a_to_b")
    set_status(record, RUNNING)
    data = json.loads(json.dumps(record.to_json("sealed")))
    assert data["status"] == "running"
    assert ThreadRecord.from_json(data, record.wallet).status is RUNNING
