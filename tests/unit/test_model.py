"""The FRT math model against the worked examples and rules of CONTRACT.md."""
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction

import pytest

from engine.frt import model
from engine.frt.constants import (
    FLAG_EXACT_EXCHANGE_REQUIRED,
    FLAG_LIQUIDITY_PAUSED,
    FLAG_SIMPLE_RATIO,
    FLAG_SWAP_FOR_OWNERS_ONLY,
    FLAG_SWAPS_PAUSED,
    FLAG_WITHDRAWAL_PROTECTION,
    REGISTRATION_FEE,
)
from engine.frt.errors import ProgramError

P1 = dict(ratio_a=1_000_000_000, ratio_b=160_000_000)  # 1 A (9 dec) = 160 B (6 dec)


@contextmanager
def raises(error, program=None):
    """Expect a ProgramError with this canonical error (int = Custom code) and program."""
    with pytest.raises(ProgramError) as info:
        yield info
    expected = {"Custom": error} if isinstance(error, int) else error
    assert info.value.error == expected
    assert info.value.program == program


# ---------------------------------------------------------------------------- §6 ratios

@pytest.mark.parametrize("ra, rb, dec_a, dec_b, kind", [
    (1_000_000_000, 160_000_000, 9, 6, "Simple"),
    (1_000_000_000, 160_550_000, 9, 6, "Decimal"),
    (2_000_000_000, 3_000_000, 9, 6, "Engineering"),
    (500_000_000, 1_000_000, 9, 6, "Simple"),  # 0.5:1, sub-unit value rescaled
    (1_500_000_000, 3_000_000, 9, 6, "Decimal"),  # floor(1.5) == 1
    (2, 1, 9, 9, "Simple"),
    (3, 2, 0, 0, "Engineering"),
    (1, 3, 0, 0, "Simple"),
])
def test_ratio_type_examples(ra, rb, dec_a, dec_b, kind):
    assert model.ratio_type(ra, rb, dec_a, dec_b) == kind


def test_ratio_type_panics_for_64_decimals():
    with raises("ProgramFailedToComplete"):
        model.ratio_type(1, 1, 64, 6)


def test_ratio_type_wraps_for_20_decimals():
    # 10**20 wraps in u64; classification still runs (no panic).
    assert model.ratio_type(1, 1, 20, 0) in ("Simple", "Decimal", "Engineering")


def test_creation_flags_keeps_only_owner_only_and_exact_bits():
    every_bit = 0xFF
    flags = model.creation_flags(1_000_000_000, 160_000_000, 9, 6, every_bit)
    assert flags == FLAG_SIMPLE_RATIO | FLAG_SWAP_FOR_OWNERS_ONLY | FLAG_EXACT_EXCHANGE_REQUIRED
    assert model.creation_flags(1_000_000_000, 160_550_000, 9, 6, FLAG_WITHDRAWAL_PROTECTION) == 0


def test_creation_flags_rejects_engineering():
    with raises(1049):
        model.creation_flags(2_000_000_000, 3_000_000, 9, 6, 0)


def test_ratio_from_human():
    assert model.ratio_from_human(160, 9, 6, "a_to_b") == (1_000_000_000, 160_000_000)
    assert model.ratio_from_human(2, 0, 0, "b_to_a") == (2, 1)
    assert model.ratio_from_human("160.55", 9, 6, "a_to_b") == (1_000_000_000, 160_550_000)
    with pytest.raises(ValueError):
        model.ratio_from_human("0.0000001", 9, 6, "a_to_b")
    with pytest.raises(ValueError):
        model.ratio_from_human(1, 9, 6, "sideways")


def test_ratio_display():
    assert model.ratio_display(1_000_000_000, 160_000_000, 9, 6) == "1 Token A = 160 Token B"
    assert model.ratio_display(1_000_000_000, 160_550_000, 9, 6) == "1 Token A = 160.55 Token B"
    assert model.ratio_display(2, 1, 0, 0) == "1 Token B = 2 Token A"
    assert model.ratio_display(1, 2, 0, 0, "SOL", "USDC") == "1 SOL = 2 USDC"
    assert model.ratio_display(3, 7, 0, 0).startswith("1 Token A = ≈2.3333")


def test_ratio_round_trip_through_display():
    ra, rb = model.ratio_from_human(42, 6, 9, "b_to_a")
    assert model.ratio_display(ra, rb, 6, 9) == "1 Token B = 42 Token A"


def test_format_decimal():
    assert model.format_decimal(Fraction(1, 8)) == "0.125"
    assert model.format_decimal(Fraction(5)) == "5"
    assert model.format_decimal(Fraction(1, 3), 4) == "≈0.3333"


# ---------------------------------------------------------------------------- §7.3 / §7.4 P1

@dataclass(frozen=True)
class Fails:
    error: str | int


@pytest.mark.parametrize("a_to_b, amount_in, normal, exact", [
    (True, 500_000_000, 80_000_000, 80_000_000),
    (True, 1_234_567, 197_530, Fails(1047)),
    (True, 7, 1, Fails(1047)),
    (True, 6, Fails("InvalidArgument"), Fails(1047)),
    (False, 1, 6, Fails(1047)),
    (False, 3, 18, Fails(1047)),
    (False, 80_000_000, 500_000_000, 500_000_000),
])
def test_p1_swap_table(a_to_b, amount_in, normal, exact):
    for exact_mode, outcome in ((False, normal), (True, exact)):
        if isinstance(outcome, Fails):
            with raises(outcome.error):
                model.swap_output(amount_in, **P1, a_to_b=a_to_b, exact=exact_mode)
        else:
            assert model.swap_output(amount_in, **P1, a_to_b=a_to_b, exact=exact_mode) == outcome


def test_swap_overflow_in_high_ratio_pool():
    for exact in (False, True):
        with raises(1019):
            model.swap_output(2**63, 1, 4, a_to_b=True, exact=exact)


def test_swap_zero_input():
    with raises("InvalidArgument"):
        model.swap_output(0, **P1, a_to_b=True, exact=False)


def swap_kwargs(**overrides):
    base = dict(
        amount_in=500_000_000, expected_amount_out=80_000_000, **P1, a_to_b=True, flags=1,
        user_is_owner=False, system_paused=False, user_input_balance=10**12,
        output_liquidity=10**12, payer_lamports=10**9, swap_fee=271_500,
    )
    base.update(overrides)
    return base


def test_check_swap_success_and_prediction_mode():
    assert model.check_swap(**swap_kwargs()) == 80_000_000
    assert model.check_swap(**swap_kwargs(expected_amount_out=None, amount_in=7)) == 1


@pytest.mark.parametrize("overrides, error", [
    # amount 0 is checked before the system pause
    (dict(amount_in=0, system_paused=True, flags=FLAG_SWAPS_PAUSED), "InvalidArgument"),
    (dict(system_paused=True, flags=FLAG_SWAPS_PAUSED), 1023),
    (dict(flags=FLAG_SWAPS_PAUSED | FLAG_SWAP_FOR_OWNERS_ONLY), 1027),
    (dict(flags=FLAG_SWAP_FOR_OWNERS_ONLY, user_input_balance=0), 1028),
    (dict(user_input_balance=499_999_999, expected_amount_out=1), "InvalidAccountData"),
    (dict(amount_in=6, expected_amount_out=0), "InvalidArgument"),
    (dict(amount_in=7, flags=FLAG_EXACT_EXCHANGE_REQUIRED, expected_amount_out=1), 1047),
    (dict(expected_amount_out=79_999_999, output_liquidity=0), 1047),
    (dict(output_liquidity=79_999_999, payer_lamports=0), "InsufficientFunds"),
    (dict(payer_lamports=271_499), 1031),
])
def test_check_swap_error_order(overrides, error):
    with raises(error):
        model.check_swap(**swap_kwargs(**overrides))


def test_check_swap_owner_may_swap_owner_only_pool():
    assert model.check_swap(**swap_kwargs(flags=FLAG_SWAP_FOR_OWNERS_ONLY, user_is_owner=True))


def test_check_swap_exact_argument_overrides_flags():
    with raises(1047):
        model.check_swap(**swap_kwargs(amount_in=7, expected_amount_out=1, exact=True))


def deposit_kwargs(**overrides):
    base = dict(amount=1000, system_paused=False, flags=0, user_token_balance=1000,
                payer_lamports=13_000_000, liquidity_fee=13_000_000, side_liquidity=0)
    base.update(overrides)
    return base


def test_check_deposit_mints_one_to_one():
    assert model.check_deposit(**deposit_kwargs()) == 1000


@pytest.mark.parametrize("overrides, error", [
    (dict(amount=0, system_paused=True), 1023),  # SP precedes the amount check in Deposit
    (dict(amount=0, flags=FLAG_LIQUIDITY_PAUSED), "InvalidArgument"),
    (dict(flags=FLAG_LIQUIDITY_PAUSED, user_token_balance=0), 1035),
    (dict(user_token_balance=999, payer_lamports=0), "InsufficientFunds"),
    (dict(payer_lamports=12_999_999), 1031),
    (dict(side_liquidity=model.U64_MAX - 999), "ArithmeticOverflow"),
])
def test_check_deposit_error_order(overrides, error):
    with raises(error):
        model.check_deposit(**deposit_kwargs(**overrides))


def withdraw_kwargs(**overrides):
    base = dict(lp_amount=500, system_paused=False, flags=0, user_lp_balance=500,
                vault_balance=500, side_liquidity=500, payer_lamports=13_000_000,
                liquidity_fee=13_000_000)
    base.update(overrides)
    return base


@pytest.mark.parametrize("overrides, error, program", [
    (dict(lp_amount=0, system_paused=True), "InvalidArgument", None),
    (dict(system_paused=True, flags=FLAG_LIQUIDITY_PAUSED), 1023, None),
    (dict(flags=FLAG_LIQUIDITY_PAUSED, payer_lamports=0), 1035, None),
    (dict(payer_lamports=0, user_lp_balance=0), 1031, None),
    (dict(user_lp_balance=499, vault_balance=0), 1, "spl-token"),
    (dict(vault_balance=499, side_liquidity=0), 1, "spl-token"),
    (dict(side_liquidity=499), "ArithmeticOverflow", None),
])
def test_check_withdraw_error_order(overrides, error, program):
    with raises(error, program):
        model.check_withdraw(**withdraw_kwargs(**overrides))


# ---------------------------------------------------------------------------- §7.4 P2

def test_p2_sequence_and_value_check():
    ra, rb = 1, 2
    assert model.ratio_type(ra, rb, 0, 0) == "Simple"
    pool = dict(A=0, B=0, SA=0, SB=0)
    fee = 13_000_000

    def deposit(side, amount):
        minted = model.check_deposit(amount=amount, system_paused=False, flags=1,
                                     user_token_balance=amount, payer_lamports=fee,
                                     liquidity_fee=fee, side_liquidity=pool[side])
        pool[side] += amount
        pool["S" + side] += minted

    def swap(a_to_b, amount_in, expected=None):
        out_side, in_side = ("B", "A") if a_to_b else ("A", "B")
        out = model.check_swap(amount_in=amount_in, expected_amount_out=expected,
                               ratio_a=ra, ratio_b=rb, a_to_b=a_to_b, flags=1,
                               user_is_owner=False, system_paused=False,
                               user_input_balance=amount_in, output_liquidity=pool[out_side],
                               payer_lamports=10**9, swap_fee=271_500)
        pool[in_side] += amount_in
        pool[out_side] -= out
        return out

    deposit("A", 1000)  # 1 Alice
    deposit("B", 500)  # 2 Bob
    assert swap(True, 100) == 200  # 3 Carol
    assert swap(False, 7) == 3  # 4 Dave
    assert pool == dict(A=1097, B=307, SA=1000, SB=500)

    # 5: Bob withdraws 500 LP-B; vault B (== tracked) has only 307 -> SPL Custom(1).
    with raises(1, "spl-token"):
        model.check_withdraw(lp_amount=500, system_paused=False, flags=1, user_lp_balance=500,
                             vault_balance=pool["B"], side_liquidity=pool["B"],
                             payer_lamports=fee, liquidity_fee=fee)
    assert model.check_withdraw(lp_amount=307, system_paused=False, flags=1,
                                user_lp_balance=500, vault_balance=307, side_liquidity=307,
                                payer_lamports=fee, liquidity_fee=fee) == 307

    # 6: Eve swaps 3000 B->A expecting 1500 > 1097 tracked A -> InsufficientFunds.
    with raises("InsufficientFunds"):
        swap(False, 3000, expected=1500)

    # Value check after step 4: surplus of 1 (Dave's swap dust).
    assert model.value_surplus(1097, 307, 1000, 500, ra, rb) == 1
    assert model.pool_value_surplus is model.value_surplus


# ---------------------------------------------------------------------------- §4.2 creation

def init_kwargs(**overrides):
    base = dict(ratio_a=1_000_000_000, ratio_b=160_000_000, mint_a=b"\x01" * 32,
                mint_b=b"\x02" * 32, dec_a=9, dec_b=6, flags_arg=0,
                creator_lamports=model.pool_creation_cost(), system_paused=False)
    base.update(overrides)
    return base


def test_pool_creation_cost():
    assert model.pool_creation_cost() == 1_160_941_120
    breakdown = model.pool_creation_cost_breakdown()
    assert breakdown["registration_fee"] == REGISTRATION_FEE
    assert breakdown["pool_state_rent"] == 3_939_360
    assert breakdown["token_a_vault_rent"] == breakdown["token_b_vault_rent"] == 2_039_280
    assert breakdown["lp_token_a_mint_rent"] == breakdown["lp_token_b_mint_rent"] == 1_461_600


def test_check_initialize_pool_returns_flags():
    assert model.check_initialize_pool(**init_kwargs(flags_arg=0xFF)) == 1 | 32 | 64


@pytest.mark.parametrize("overrides, error, program", [
    (dict(system_paused=True, ratio_a=0), 1023, None),
    (dict(ratio_b=0, mint_b=b"\x01" * 32), "InvalidArgument", None),
    (dict(mint_b=b"\x01" * 32, creator_lamports=0), "InvalidArgument", None),
    (dict(creator_lamports=REGISTRATION_FEE - 1), 1031, None),
    (dict(creator_lamports=REGISTRATION_FEE), 1, "system"),
    (dict(creator_lamports=model.pool_creation_cost() - 1, ratio_a=2_000_000_000,
          ratio_b=3_000_000), 1, "system"),
    (dict(pool_exists=True, creator_lamports=REGISTRATION_FEE), "AccountAlreadyInitialized", None),
    (dict(prefunded={"token_b_vault"}), 0, "system"),
    (dict(ratio_a=2_000_000_000, ratio_b=3_000_000), 1049, None),
    (dict(dec_a=64), "ProgramFailedToComplete", None),
])
def test_check_initialize_pool_error_order(overrides, error, program):
    with raises(error, program):
        model.check_initialize_pool(**init_kwargs(**overrides))


# ---------------------------------------------------------------------------- admin controls

def test_update_pool_fees():
    assert model.check_update_pool_fees(1, 100_000, 0) == (100_000, None)
    assert model.check_update_pool_fees(2, 0, 10_000_000) == (None, 10_000_000)
    assert model.check_update_pool_fees(3, 100_000_000, 10_000) == (100_000_000, 10_000)
    for flags in (0, 4, 7):
        with raises(1043):
            model.check_update_pool_fees(flags, 0, 0)
    with raises(1044):
        model.check_update_pool_fees(3, 99_999, 0)  # liquidity checked first
    with raises(1045):
        model.check_update_pool_fees(3, 100_000, 10_000_001)


def test_pause_bits_map_to_state_bits():
    assert model.pause_flags_to_state(1) == FLAG_LIQUIDITY_PAUSED
    assert model.pause_flags_to_state(2) == FLAG_SWAPS_PAUSED
    assert model.pause_flags_to_state(3) == FLAG_LIQUIDITY_PAUSED | FLAG_SWAPS_PAUSED
    assert model.pause_flags_to_state(0) == model.pause_flags_to_state(0xFC) == 0
    paused = model.apply_pause(FLAG_SIMPLE_RATIO, 3)
    assert paused == 7
    assert model.apply_pause(paused, 3) == paused  # idempotent
    assert model.apply_unpause(paused, 2) == FLAG_SIMPLE_RATIO | FLAG_LIQUIDITY_PAUSED
    assert model.apply_unpause(paused, 3) == FLAG_SIMPLE_RATIO
    assert model.apply_swap_owner_only(1, True) == 33
    assert model.apply_swap_owner_only(33, False) == 1


def test_system_pause_checks():
    model.check_pause_system(False)
    with raises(1024):
        model.check_pause_system(True)
    model.check_unpause_system(True)
    with raises(1025):
        model.check_unpause_system(False)
    assert model.restart_penalty_until(1000) == 1000 + 255_600


def test_donation():
    assert model.check_donation(100_000_000, 100_000_000) == 100_000_000
    with raises("InvalidArgument"):
        model.check_donation(0, 10**9)
    with raises("InvalidArgument"):
        model.check_donation(99_999_999, 10**9, system_paused=True)
    with raises("InsufficientFunds"):
        model.check_donation(200_000_000, 199_999_999, system_paused=True)
    with raises(1023):
        model.check_donation(200_000_000, 10**9, system_paused=True)


# ---------------------------------------------------------------------------- §4.10 treasury

TREASURY_RENT = 1_837_440


def treasury_kwargs(**overrides):
    base = dict(amount=0, treasury_lamports=TREASURY_RENT + 5 * 10**9,
                stored_total_balance=TREASURY_RENT + 5 * 10**9, last_withdrawal_timestamp=0,
                now=1_000_000)
    base.update(overrides)
    return base


def test_treasury_withdrawal_limit_tiers():
    assert model.treasury_withdrawal_limit(0) == 10 * 10**9
    assert model.treasury_withdrawal_limit(480 * 10**9) == 10 * 10**9
    assert model.treasury_withdrawal_limit(480 * 10**9 + 1) == 100 * 10**9
    assert model.treasury_withdrawal_limit(4800 * 10**9 + 1) == 1000 * 10**9


def test_treasury_withdrawal_all_available():
    assert model.check_treasury_withdrawal(**treasury_kwargs()) == 5 * 10**9
    # amount == 0 may withdraw less than the 0.01 SOL minimum
    assert model.check_treasury_withdrawal(
        **treasury_kwargs(treasury_lamports=TREASURY_RENT + 5)) == 5


@pytest.mark.parametrize("overrides, error", [
    (dict(system_paused=True), 1023),
    (dict(treasury_lamports=TREASURY_RENT), "InsufficientFunds"),
    (dict(amount=9_999_999), "InvalidInstructionData"),
    (dict(amount=5 * 10**9 + 1), "InsufficientFunds"),
    (dict(last_withdrawal_timestamp=1_000_001), "InvalidInstructionData"),  # restart penalty
    (dict(last_withdrawal_timestamp=1_000_000 - 3599), "InvalidInstructionData"),  # cooldown
    (dict(treasury_lamports=TREASURY_RENT + 11 * 10**9, amount=11 * 10**9),
     "InvalidInstructionData"),  # over the 10 SOL tier (stale stored balance)
])
def test_treasury_withdrawal_errors(overrides, error):
    with raises(error):
        model.check_treasury_withdrawal(**treasury_kwargs(**overrides))


def test_treasury_window_reopens_after_an_hour():
    assert model.check_treasury_withdrawal(
        **treasury_kwargs(last_withdrawal_timestamp=1_000_000 - 3600, amount=10**9)) == 10**9


# ---------------------------------------------------------------------------- §4.12 consolidation

def test_consolidation_contract_example():
    result = model.consolidation(30_753_860, 26_000_000, 814_500)
    assert (result.a, result.l, result.r) == (26_800_580, 25_986_503, 814_077)
    assert not result.full
    assert (result.liquidity_ops, result.swap_ops) == (1, 2)
    assert (result.liquidity_fees_after, result.swap_fees_after) == (13_497, 423)
    assert result.liquidity_fees_after + result.swap_fees_after == 13_920
    assert result.consolidated == 26_800_580


def test_consolidation_full_when_pool_holds_extra_lamports():
    result = model.consolidation(3_953_280 + 30_000_000, 26_000_000, 814_500)
    assert result.full and result.a == 26_814_500
    assert (result.l, result.r) == (26_000_000, 814_500)
    assert (result.liquidity_fees_after, result.swap_fees_after) == (0, 0)
    assert result.consolidated == 26_814_500


def test_consolidation_skips():
    assert model.consolidation(10**9, 0, 0).skipped
    assert model.consolidation(3_953_280, 13_000_000, 0).skipped


@pytest.mark.parametrize("a_target, liq, swp", [
    (1, 1, 1), (2, 1, 2), (5, 3, 4), (7, 13_000_000, 271_500), (999, 1000, 1), (10, 0, 11),
])
def test_consolidation_split_sums_and_caps(a_target, liq, swp):
    result = model.consolidation(3_953_280 + a_target, liq, swp)
    assert result.a == min(a_target, liq + swp)
    assert result.l + result.r == result.a
    assert 0 <= result.l <= liq and 0 <= result.r <= swp


def test_consolidation_remainder_goes_to_larger_fraction_ties_to_liquidity():
    # a=1, liq=swp=1: both fractions 1/2 -> tie -> liquidity gets the unit.
    result = model.consolidation(3_953_280 + 1, 1, 1)
    assert (result.l, result.r) == (1, 0)
    # a=2, liq=1, swp=2: l=floor(2/3)=0 frac 2, r=floor(4/3)=1 frac 1 -> liquidity.
    result = model.consolidation(3_953_280 + 2, 1, 2)
    assert (result.l, result.r) == (1, 1)


# ---------------------------------------------------------------------------- §4.13 admin change

def test_admin_change_state_machine():
    start = model.admin_change(admin="A", pending=None, change_timestamp=0, new_admin="B", now=10)
    assert (start.admin, start.pending, start.change_timestamp, start.outcome) == ("A", "B", 10, "Started")
    early = model.admin_change(admin="A", pending="B", change_timestamp=10, new_admin="B",
                               now=10 + 259_199)
    assert early.outcome == "Started" and early.change_timestamp == 10 + 259_199  # timer restarts
    done = model.admin_change(admin="A", pending="B", change_timestamp=10, new_admin="B",
                              now=10 + 259_200)
    assert (done.admin, done.pending, done.change_timestamp, done.outcome) == ("B", None, 0, "Completed")
    # Right after InitializeProgram pending == admin: re-proposing it after 72 h cancels.
    cancel = model.admin_change(admin="A", pending="A", change_timestamp=0, new_admin="A",
                                now=259_200)
    assert (cancel.admin, cancel.pending, cancel.outcome) == ("A", None, "Cancelled")
    # Proposing the current admin does not cancel immediately.
    assert model.admin_change(admin="A", pending="B", change_timestamp=0, new_admin="A",
                              now=1).pending == "A"
    with raises(1023):
        model.admin_change(admin="A", pending=None, change_timestamp=0, new_admin="B", now=1,
                           system_paused=True)


# ---------------------------------------------------------------------------- §12 helpers

def test_fee_bookkeeping_and_pool_lamports():
    assert model.fee_bookkeeping_holds(13_497, 423, 26_814_500, 26_800_580)
    assert not model.fee_bookkeeping_holds(13_497, 424, 26_814_500, 26_800_580)
    assert model.pending_sol_fees(26_814_500, 26_800_580) == 13_920
    assert model.expected_pool_lamports(13_920) == 3_939_360 + 13_920
    assert model.expected_pool_lamports(26_814_500) == 30_753_860  # the §7.4 example pool


# ---------------------------------------------------------------------------- properties

def test_random_swaps_match_exact_fractions_and_never_lower_the_surplus():
    import random

    rng = random.Random(1070)
    for _ in range(2000):
        ra, rb = rng.randint(1, 10**12), rng.randint(1, 10**12)
        a_to_b = rng.random() < 0.5
        amount_in = rng.randint(1, 10**12)
        r_in, r_out = (ra, rb) if a_to_b else (rb, ra)
        exact_out = Fraction(amount_in * r_out, r_in)
        try:
            out = model.swap_output(amount_in, ra, rb, a_to_b, exact=False)
        except ProgramError as error:
            assert error.error == "InvalidArgument" and exact_out < 1
            continue
        assert out == int(exact_out)  # floor
        A, B = 10**13, 10**13  # tracked liquidity, LP supplies equal to it
        A2, B2 = (A + amount_in, B - out) if a_to_b else (A - out, B + amount_in)
        before = model.value_surplus(A, B, A, B, ra, rb)
        assert model.value_surplus(A2, B2, A, B, ra, rb) >= before
