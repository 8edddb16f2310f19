"""Exact math and business rules of FRT v0.17.1070 — pure functions, no I/O.

CONTRACT.md §4, §6, §7, §8, §12. All arithmetic uses Python ints; u64/u128 behaviour is
emulated where the program relies on it. The `check_*` functions raise `ProgramError` with
the error the program returns, testing conditions in the program's order, so the emulator can
use them as its business-rule core and the engine as its oracle. Account-shape validation
(signers, PDAs, token-account checks) is the emulator's job and is not repeated here; where it
sits between two business checks the docstrings say so.

Lamport amounts passed as `payer_lamports` / `creator_lamports` / `donor_lamports` are the
balances the program sees, i.e. after the transaction fee has been charged.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Collection, Literal

from engine.frt.constants import (
    DEFAULT_LIQUIDITY_FEE,
    DEFAULT_SWAP_FEE,
    FLAG_EXACT_EXCHANGE_REQUIRED,
    FLAG_LIQUIDITY_PAUSED,
    FLAG_SIMPLE_RATIO,
    FLAG_SWAP_FOR_OWNERS_ONLY,
    FLAG_SWAPS_PAUSED,
    CREATION_FLAGS_HONOURED,
    MAIN_TREASURY_SIZE,
    MAX_LIQUIDITY_FEE,
    MAX_SWAP_FEE,
    MIN_DONATION,
    MIN_LIQUIDITY_FEE,
    MIN_SWAP_FEE,
    MIN_TREASURY_WITHDRAWAL,
    MINT_SIZE,
    PAUSE_IX_LIQUIDITY,
    PAUSE_IX_SWAPS,
    POOL_STATE_MEMORY_SIZE,
    POOL_STATE_SIZE,
    REGISTRATION_FEE,
    RESTART_PENALTY_SECONDS,
    ADMIN_CHANGE_DELAY_SECONDS,
    TOKEN_ACCOUNT_SIZE,
    rent_exempt_minimum,
)
from engine.frt.errors import SPL_TOKEN, SYSTEM, ProgramError

U64_MAX = 2**64 - 1
_U64_MODULUS = 2**64

RatioType = Literal["Simple", "Decimal", "Engineering"]

# Custom codes raised here (CONTRACT §9.1).
ERR_SWAP_OVERFLOW = 1019
ERR_SYSTEM_PAUSED = 1023
ERR_SYSTEM_ALREADY_PAUSED = 1024
ERR_SYSTEM_NOT_PAUSED = 1025
ERR_POOL_SWAPS_PAUSED = 1027
ERR_SWAP_ACCESS_RESTRICTED = 1028
ERR_INSUFFICIENT_FEE_BALANCE = 1031
ERR_POOL_LIQUIDITY_PAUSED = 1035
ERR_INVALID_FEE_UPDATE_FLAGS = 1043
ERR_INVALID_LIQUIDITY_FEE = 1044
ERR_INVALID_SWAP_FEE = 1045
ERR_AMOUNT_MISMATCH = 1047
ERR_UNSUPPORTED_RATIO_TYPE = 1049
SPL_ERR_INSUFFICIENT_FUNDS = 1
SYSTEM_ERR_ACCOUNT_ALREADY_IN_USE = 0
SYSTEM_ERR_RESULT_WITH_NEGATIVE_LAMPORTS = 1


def _fail(error: str | int, message: str = "", *, program: str | None = None) -> ProgramError:
    if isinstance(error, int):
        return ProgramError.custom(error, message, program=program)
    return ProgramError(error, message, program=program)


def _require_system_active(system_paused: bool) -> None:
    if system_paused:
        raise _fail(ERR_SYSTEM_PAUSED)


def _collect_fee(payer_lamports: int, fee: int) -> None:
    """The `FC` routine's business check (the writable check, 1033, is the emulator's)."""
    if payer_lamports < fee:
        raise _fail(ERR_INSUFFICIENT_FEE_BALANCE, f"need {fee} lamports, have {payer_lamports}")


# ------------------------------------------------------------------------------------------
# §6 Ratios
# ------------------------------------------------------------------------------------------

def ratio_type(ra: int, rb: int, dec_a: int, dec_b: int) -> RatioType:
    """Classification of a pool ratio (decides SIMPLE_RATIO and whether creation is allowed).

    10**decimals is computed in wrapping u64 like the program; decimals >= 64 make it 0 and
    the program panics on `% 0` (ProgramFailedToComplete).
    """
    fa, fb = pow(10, dec_a, _U64_MODULUS), pow(10, dec_b, _U64_MODULUS)
    if fa == 0 or fb == 0:
        raise _fail("ProgramFailedToComplete", "ratio classification divides by 10**decimals == 0")
    a, b = _rescue_sub_unit(ra, fa), _rescue_sub_unit(rb, fb)
    equals_one = a // fa == 1 or b // fb == 1  # floor of the display value
    if not equals_one:
        return "Engineering"
    return "Simple" if (a % fa == 0 and b % fb == 0) else "Decimal"


def _rescue_sub_unit(ratio: int, factor: int) -> int:
    # A value below one display unit is read as "legacy display units": saturating r * 10**dec.
    if factor > 1 and ratio < factor:
        return min(ratio * factor, U64_MAX)
    return ratio


def creation_flags(ra: int, rb: int, dec_a: int, dec_b: int, flags_arg: int) -> int:
    """PoolState.flags right after InitializePool (raises 1049 for an Engineering ratio)."""
    kind = ratio_type(ra, rb, dec_a, dec_b)
    if kind == "Engineering":
        raise _fail(ERR_UNSUPPORTED_RATIO_TYPE, f"ratio {ra}:{rb} is Engineering")
    simple = FLAG_SIMPLE_RATIO if kind == "Simple" else 0
    return simple | (flags_arg & CREATION_FLAGS_HONOURED)


def _exact_fraction(value: int | Fraction | Decimal | str | float) -> Fraction:
    if isinstance(value, float):
        return Fraction(repr(value))  # the decimal the user typed, not the binary float
    return Fraction(value)


def ratio_from_human(
    whole_number: int | Fraction | Decimal | str | float,
    dec_a: int,
    dec_b: int,
    direction: Literal["a_to_b", "b_to_a"],
) -> tuple[int, int]:
    """(ratio_a, ratio_b) in base units for "1 A = N B" ("a_to_b") or "1 B = N A" ("b_to_a").

    N may be fractional (e.g. "160.55") as long as it is exact in the other token's decimals.
    """
    amount = _exact_fraction(whole_number)
    if amount <= 0:
        raise ValueError(f"ratio must be positive: {whole_number!r}")
    if direction == "a_to_b":
        ra, rb = Fraction(10**dec_a), amount * 10**dec_b
    elif direction == "b_to_a":
        ra, rb = amount * 10**dec_a, Fraction(10**dec_b)
    else:
        raise ValueError(f"direction must be 'a_to_b' or 'b_to_a', not {direction!r}")
    if ra.denominator != 1 or rb.denominator != 1:
        raise ValueError(f"{whole_number!r} is not representable in base units")
    return int(ra), int(rb)


def format_decimal(value: Fraction, max_places: int = 12) -> str:
    """Exact decimal text with trailing zeros trimmed; "≈" + rounded if it does not terminate."""
    scaled = value * 10**max_places
    approximate = scaled.denominator != 1
    units = round(scaled)
    whole, frac = divmod(abs(units), 10**max_places)
    text = str(whole)
    if frac:
        text += "." + str(frac).rjust(max_places, "0").rstrip("0")
    if units < 0:
        text = "-" + text
    return ("≈" if approximate else "") + text


def ratio_display(
    ra: int, rb: int, dec_a: int, dec_b: int, name_a: str = "Token A", name_b: str = "Token B",
) -> str:
    """Human form, e.g. "1 Token A = 160 Token B"; the side worth more is the "1"."""
    b_per_a = Fraction(rb, 10**dec_b) / Fraction(ra, 10**dec_a)
    if b_per_a >= 1:
        return f"1 {name_a} = {format_decimal(b_per_a)} {name_b}"
    return f"1 {name_b} = {format_decimal(1 / b_per_a)} {name_a}"


# ------------------------------------------------------------------------------------------
# §7 Swap, deposit, withdraw
# ------------------------------------------------------------------------------------------

def lp_minted(amount: int) -> int:
    """LP-X minted for a deposit of `amount` token X (§7.1: always 1:1)."""
    return amount


def withdrawal_output(lp_amount: int) -> int:
    """Token X returned for burning `lp_amount` LP-X (§7.2: always 1:1)."""
    return lp_amount


def swap_output(amount_in: int, ratio_a: int, ratio_b: int, a_to_b: bool, exact: bool) -> int:
    """Output of a swap (§7.3): floor(amount_in * r_out / r_in)."""
    if amount_in == 0:
        raise _fail("InvalidArgument", "amount_in is 0")
    r_in, r_out = (ratio_a, ratio_b) if a_to_b else (ratio_b, ratio_a)
    numerator = amount_in * r_out  # u128 in the program: cannot overflow for u64 inputs
    if exact and numerator % r_in:
        raise _fail(ERR_AMOUNT_MISMATCH, "exact-exchange pool: input leaves a remainder")
    out = numerator // r_in
    if out > U64_MAX:
        raise _fail(ERR_SWAP_OVERFLOW, f"output {out} exceeds u64")
    if out == 0:
        raise _fail("InvalidArgument", "output floors to 0")
    return out


def check_swap(
    *,
    amount_in: int,
    expected_amount_out: int | None,
    ratio_a: int,
    ratio_b: int,
    a_to_b: bool,
    flags: int,
    exact: bool | None = None,
    user_is_owner: bool,
    system_paused: bool,
    user_input_balance: int,
    output_liquidity: int,
    payer_lamports: int,
    swap_fee: int,
) -> int:
    """Swap (§4.5): returns the output amount or raises in the program's order.

    `exact` defaults to the pool's EXACT_EXCHANGE_REQUIRED flag. `expected_amount_out=None`
    skips the 1047 comparison (for callers that only want the prediction). The token-account
    checks (InvalidAccountData) sit between 1028 and the balance check.
    """
    if amount_in == 0:
        raise _fail("InvalidArgument", "amount_in is 0")  # before the signer / pause checks
    _require_system_active(system_paused)
    if flags & FLAG_SWAPS_PAUSED:
        raise _fail(ERR_POOL_SWAPS_PAUSED)
    if flags & FLAG_SWAP_FOR_OWNERS_ONLY and not user_is_owner:
        raise _fail(ERR_SWAP_ACCESS_RESTRICTED)
    if user_input_balance < amount_in:
        raise _fail("InvalidAccountData", "user input balance below amount_in")
    if exact is None:
        exact = bool(flags & FLAG_EXACT_EXCHANGE_REQUIRED)
    out = swap_output(amount_in, ratio_a, ratio_b, a_to_b, exact)
    if expected_amount_out is not None and out != expected_amount_out:
        raise _fail(ERR_AMOUNT_MISMATCH, f"expected {expected_amount_out}, output {out}")
    if out > output_liquidity:
        raise _fail("InsufficientFunds", f"output {out} > tracked liquidity {output_liquidity}")
    _collect_fee(payer_lamports, swap_fee)
    return out


def check_deposit(
    *,
    amount: int,
    system_paused: bool,
    flags: int,
    user_token_balance: int,
    payer_lamports: int,
    liquidity_fee: int,
    side_liquidity: int,
) -> int:
    """Deposit (§4.3): returns the LP amount minted (== amount) or raises in order.

    Order: SP (1023) -> amount > 0 -> pool load -> 1035 -> account checks (emulator) ->
    balance -> fee (1031) -> tracked liquidity overflow.
    """
    _require_system_active(system_paused)
    if amount == 0:
        raise _fail("InvalidArgument", "amount is 0")
    if flags & FLAG_LIQUIDITY_PAUSED:
        raise _fail(ERR_POOL_LIQUIDITY_PAUSED)
    if user_token_balance < amount:
        raise _fail("InsufficientFunds", f"user has {user_token_balance}, deposits {amount}")
    _collect_fee(payer_lamports, liquidity_fee)
    if side_liquidity + amount > U64_MAX:
        raise _fail("ArithmeticOverflow", "tracked liquidity overflows u64")
    return lp_minted(amount)


def check_withdraw(
    *,
    lp_amount: int,
    system_paused: bool,
    flags: int,
    user_lp_balance: int,
    vault_balance: int,
    side_liquidity: int,
    payer_lamports: int,
    liquidity_fee: int,
) -> int:
    """Withdraw (§4.4): returns the tokens paid out (== lp_amount) or raises in order.

    The two shortfalls surface from SPL Token CPIs (burn, then vault transfer) as SPL
    Custom(1); tracked liquidity is only checked afterwards (builtin ArithmeticOverflow).
    """
    if lp_amount == 0:
        raise _fail("InvalidArgument", "lp_amount is 0")  # before the signer check
    _require_system_active(system_paused)
    if flags & FLAG_LIQUIDITY_PAUSED:
        raise _fail(ERR_POOL_LIQUIDITY_PAUSED)
    _collect_fee(payer_lamports, liquidity_fee)
    if user_lp_balance < lp_amount:
        raise _fail(SPL_ERR_INSUFFICIENT_FUNDS, "burn: user LP balance too low", program=SPL_TOKEN)
    if vault_balance < lp_amount:
        raise _fail(SPL_ERR_INSUFFICIENT_FUNDS, "transfer: vault balance too low", program=SPL_TOKEN)
    if side_liquidity < lp_amount:
        raise _fail("ArithmeticOverflow", "tracked liquidity below the withdrawal")
    return withdrawal_output(lp_amount)


# ------------------------------------------------------------------------------------------
# §4.2 Pool creation
# ------------------------------------------------------------------------------------------

# Accounts InitializePool creates, in creation order, with their sizes.
POOL_ACCOUNTS_CREATED: tuple[tuple[str, int], ...] = (
    ("pool_state", POOL_STATE_SIZE),
    ("token_a_vault", TOKEN_ACCOUNT_SIZE),
    ("token_b_vault", TOKEN_ACCOUNT_SIZE),
    ("lp_token_a_mint", MINT_SIZE),
    ("lp_token_b_mint", MINT_SIZE),
)


def pool_creation_cost_breakdown() -> dict[str, int]:
    """Lamports a creator pays for InitializePool (excluding the transaction fee)."""
    costs = {"registration_fee": REGISTRATION_FEE}
    costs.update({f"{name}_rent": rent_exempt_minimum(size) for name, size in POOL_ACCOUNTS_CREATED})
    return costs


def pool_creation_cost() -> int:
    """1,160,941,120 lamports."""
    return sum(pool_creation_cost_breakdown().values())


def check_initialize_pool(
    *,
    ratio_a: int,
    ratio_b: int,
    mint_a: object,
    mint_b: object,
    dec_a: int,
    dec_b: int,
    flags_arg: int,
    creator_lamports: int,
    system_paused: bool,
    pool_exists: bool = False,
    prefunded: Collection[str] = (),
) -> int:
    """InitializePool (§4.2): returns the new pool's flags or raises in order.

    dec_a/dec_b are the decimals of the sorted tokens A/B (what the classification uses).
    `pool_exists`: the pool PDA is already initialized. `prefunded`: names from
    POOL_ACCOUNTS_CREATED whose address already holds lamports (System Custom(0), §13 #2).
    """
    _require_system_active(system_paused)
    if ratio_a == 0 or ratio_b == 0:
        raise _fail("InvalidArgument", "ratios must be > 0")
    if mint_a == mint_b:
        raise _fail("InvalidArgument", "token A and token B are the same mint")
    if creator_lamports < REGISTRATION_FEE:
        raise _fail(ERR_INSUFFICIENT_FEE_BALANCE, f"need {REGISTRATION_FEE} lamports")
    if pool_exists:
        raise _fail("AccountAlreadyInitialized", "pool already exists")
    remaining = creator_lamports - REGISTRATION_FEE
    for name, size in POOL_ACCOUNTS_CREATED:
        if name in prefunded:
            raise _fail(SYSTEM_ERR_ACCOUNT_ALREADY_IN_USE, f"{name} already holds lamports",
                        program=SYSTEM)
        rent = rent_exempt_minimum(size)
        if remaining < rent:
            raise _fail(SYSTEM_ERR_RESULT_WITH_NEGATIVE_LAMPORTS, f"creator cannot fund {name}",
                        program=SYSTEM)
        remaining -= rent
    return creation_flags(ratio_a, ratio_b, dec_a, dec_b, flags_arg)


# ------------------------------------------------------------------------------------------
# §4.6–§4.9 Admin controls
# ------------------------------------------------------------------------------------------

def check_update_pool_fees(
    update_flags: int, liquidity_fee: int, swap_fee: int,
) -> tuple[int | None, int | None]:
    """UpdatePoolFees (§4.8): (new liquidity fee or None, new swap fee or None)."""
    if update_flags not in (1, 2, 3):
        raise _fail(ERR_INVALID_FEE_UPDATE_FLAGS, f"flags {update_flags}")
    new_liquidity = liquidity_fee if update_flags & 1 else None
    new_swap = swap_fee if update_flags & 2 else None
    if new_liquidity is not None and not MIN_LIQUIDITY_FEE <= new_liquidity <= MAX_LIQUIDITY_FEE:
        raise _fail(ERR_INVALID_LIQUIDITY_FEE, f"liquidity fee {new_liquidity}")
    if new_swap is not None and not MIN_SWAP_FEE <= new_swap <= MAX_SWAP_FEE:
        raise _fail(ERR_INVALID_SWAP_FEE, f"swap fee {new_swap}")
    return new_liquidity, new_swap


_PAUSE_IX_TO_STATE = ((PAUSE_IX_LIQUIDITY, FLAG_LIQUIDITY_PAUSED), (PAUSE_IX_SWAPS, FLAG_SWAPS_PAUSED))


def pause_flags_to_state(ix_flags: int) -> int:
    """PausePool/UnpausePool instruction bits -> PoolState flag bits (1 -> 2, 2 -> 4)."""
    return sum(state_bit for ix_bit, state_bit in _PAUSE_IX_TO_STATE if ix_flags & ix_bit)


def apply_pause(flags: int, ix_flags: int) -> int:
    return flags | pause_flags_to_state(ix_flags)


def apply_unpause(flags: int, ix_flags: int) -> int:
    return flags & ~pause_flags_to_state(ix_flags) & 0xFF


def apply_swap_owner_only(flags: int, enable: bool) -> int:
    """SetSwapOwnerOnly's flag effect (enable also makes designated_owner the pool owner)."""
    if enable:
        return flags | FLAG_SWAP_FOR_OWNERS_ONLY
    return flags & ~FLAG_SWAP_FOR_OWNERS_ONLY & 0xFF


def check_pause_system(is_paused: bool) -> None:
    if is_paused:
        raise _fail(ERR_SYSTEM_ALREADY_PAUSED)


def check_unpause_system(is_paused: bool) -> None:
    if not is_paused:
        raise _fail(ERR_SYSTEM_NOT_PAUSED)


def restart_penalty_until(now: int) -> int:
    """treasury.last_withdrawal_timestamp written by UnpauseSystem (blocks withdrawals)."""
    return now + RESTART_PENALTY_SECONDS


# ------------------------------------------------------------------------------------------
# §4.10 Treasury withdrawal, §4.11 donation
# ------------------------------------------------------------------------------------------

HOURLY_WITHDRAWAL_BASE_LIMIT = 10 * 10**9
WITHDRAWAL_WINDOW_SECONDS = 3600


def treasury_withdrawal_limit(stored_available: int) -> int:
    """Hourly limit: 10 SOL, times 10 while stored_available > 48 x limit."""
    limit = HOURLY_WITHDRAWAL_BASE_LIMIT
    while stored_available > 48 * limit:
        limit *= 10
    return limit


def check_treasury_withdrawal(
    *,
    amount: int,
    treasury_lamports: int,
    stored_total_balance: int,
    last_withdrawal_timestamp: int,
    now: int,
    stored_rent_exempt_minimum: int = 0,
    system_paused: bool = False,
) -> int:
    """WithdrawTreasuryFees (§4.10): returns the lamports withdrawn or raises in order.

    `stored_*` are the (possibly stale) MainTreasuryState fields, not live lamports.
    """
    _require_system_active(system_paused)
    available = max(treasury_lamports - rent_exempt_minimum(MAIN_TREASURY_SIZE), 0)
    withdrawal = available if amount == 0 else amount
    if withdrawal == 0:
        raise _fail("InsufficientFunds", "nothing available")
    if amount != 0 and withdrawal < MIN_TREASURY_WITHDRAWAL:
        raise _fail("InvalidInstructionData", f"below minimum {MIN_TREASURY_WITHDRAWAL}")
    if withdrawal > available:
        raise _fail("InsufficientFunds", f"{withdrawal} > available {available}")
    if last_withdrawal_timestamp > now:
        raise _fail("InvalidInstructionData", "restart penalty active")
    stored_available = max(stored_total_balance - stored_rent_exempt_minimum, 0)
    window_open = (last_withdrawal_timestamp == 0
                   or now - last_withdrawal_timestamp >= WITHDRAWAL_WINDOW_SECONDS)
    if not window_open:
        raise _fail("InvalidInstructionData", "hourly rate limit: window not open")
    limit = treasury_withdrawal_limit(stored_available)
    if withdrawal > limit:
        raise _fail("InvalidInstructionData", f"{withdrawal} exceeds hourly limit {limit}")
    return withdrawal


def check_donation(amount: int, donor_lamports: int, *, system_paused: bool = False) -> int:
    """DonateSol (§4.11): returns the donated amount or raises (SP is the last check)."""
    if amount < MIN_DONATION:
        raise _fail("InvalidArgument", f"donation below {MIN_DONATION}")
    if donor_lamports < amount:
        raise _fail("InsufficientFunds", "donor balance below amount")
    _require_system_active(system_paused)
    return amount


# ------------------------------------------------------------------------------------------
# §4.12 Fee consolidation
# ------------------------------------------------------------------------------------------

CONSOLIDATION_RESERVE = rent_exempt_minimum(POOL_STATE_MEMORY_SIZE)  # 3,953,280 (not rent(438))


@dataclass(frozen=True)
class Consolidation:
    """What ConsolidatePoolFees does to one pool (a == 0: pool skipped, nothing changes)."""

    a: int  # lamports moved pool -> treasury
    l: int  # part counted as liquidity fees
    r: int  # part counted as swap fees
    full: bool  # counters reset (all pending fees moved)
    liquidity_ops: int
    swap_ops: int
    liquidity_fees_after: int  # pool.collected_liquidity_fees afterwards
    swap_fees_after: int  # pool.collected_swap_contract_fees afterwards
    consolidated: int  # added to pool.total_fees_consolidated

    @property
    def skipped(self) -> bool:
        return self.a == 0


def consolidation(pool_lamports: int, liq: int, swp: int) -> Consolidation:
    """Per-pool arithmetic of ConsolidatePoolFees for an eligible pool (§4.12)."""
    pending = liq + swp
    a = min(max(pool_lamports - CONSOLIDATION_RESERVE, 0), pending)
    if pending == 0 or a == 0:
        return Consolidation(0, 0, 0, False, 0, 0, liq, swp, 0)
    l, r = _split_consolidated(a, liq, swp)
    # The program decides "full" with an f64 ratio; reproduce its rounding.
    full = float(a) / float(pending) >= 1.0
    return Consolidation(
        a=a, l=l, r=r, full=full,
        liquidity_ops=l // DEFAULT_LIQUIDITY_FEE,  # constants, not the pool's current fees
        swap_ops=r // DEFAULT_SWAP_FEE,
        liquidity_fees_after=0 if full else liq - l,
        swap_fees_after=0 if full else swp - r,
        consolidated=pending if full else a,
    )


def _split_consolidated(a: int, liq: int, swp: int) -> tuple[int, int]:
    """Split `a` into liquidity/swap parts proportionally, floors plus remainder rule."""
    s = liq + swp
    l, r = a * liq // s, a * swp // s
    remainder = a - l - r
    if remainder == 0:
        return l, r
    # First to the side with the larger fractional part (ties -> liquidity), within capacity.
    if (a * liq) % s >= (a * swp) % s:
        give = min(remainder, liq - l)
        l += give
    else:
        give = min(remainder, swp - r)
        r += give
    remainder -= give
    if remainder == 0:
        return l, r
    # Leftover: swap side if it can take all of it, else liquidity side, else split.
    if swp - r >= remainder:
        return l, r + remainder
    if liq - l >= remainder:
        return l + remainder, r
    to_liquidity = min(remainder, liq - l)
    return l + to_liquidity, r + min(remainder - to_liquidity, swp - r)


# ------------------------------------------------------------------------------------------
# §4.13 Admin change
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AdminChange:
    """SystemState admin fields after ProcessAdminChange, and what happened."""

    admin: object
    pending: object | None
    change_timestamp: int
    outcome: Literal["Completed", "Cancelled", "Started"]


def admin_change(
    *,
    admin: object,
    pending: object | None,
    change_timestamp: int,
    new_admin: object,
    now: int,
    system_paused: bool = False,
) -> AdminChange:
    """ProcessAdminChange state machine (code behaviour, §4.13; authorization is separate)."""
    _require_system_active(system_paused)
    timer_elapsed = now - change_timestamp >= ADMIN_CHANGE_DELAY_SECONDS
    if pending is not None and pending == new_admin and timer_elapsed:
        if pending != admin:
            return AdminChange(pending, None, 0, "Completed")
        return AdminChange(admin, None, 0, "Cancelled")
    return AdminChange(admin, new_admin, now, "Started")


# ------------------------------------------------------------------------------------------
# §12 Invariant helpers
# ------------------------------------------------------------------------------------------

def value_surplus(A: int, B: int, SA: int, SB: int, ra: int, rb: int) -> int:  # noqa: N803
    """(A·rb + B·ra) − (SA·rb + SB·ra): value held beyond LP claims; never negative, never
    decreasing (swap dust only adds to it)."""
    return (A * rb + B * ra) - (SA * rb + SB * ra)


pool_value_surplus = value_surplus


def pending_sol_fees(total_sol_fees_collected: int, total_fees_consolidated: int) -> int:
    return total_sol_fees_collected - total_fees_consolidated


def fee_bookkeeping_holds(
    collected_liquidity_fees: int,
    collected_swap_contract_fees: int,
    total_sol_fees_collected: int,
    total_fees_consolidated: int,
) -> bool:
    """§12 #5: liq + swp == total_sol_fees_collected − total_fees_consolidated."""
    pending = pending_sol_fees(total_sol_fees_collected, total_fees_consolidated)
    return collected_liquidity_fees + collected_swap_contract_fees == pending


def expected_pool_lamports(pending_fees: int) -> int:
    """§12 #6: pool_state lamports with no external SOL sent to it."""
    return rent_exempt_minimum(POOL_STATE_SIZE) + pending_fees
