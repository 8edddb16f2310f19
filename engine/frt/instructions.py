"""Instruction builders and the instruction-data codec of FRT (CONTRACT.md §2, §4).

Data = 1-byte Borsh enum tag + the variant's fields. One table (`_LAYOUTS`) drives both the
encoder and the decoder; each public builder spells out its own account list.
"""
from __future__ import annotations

import struct
from typing import Any, Sequence

from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from engine.frt.constants import RENT_SYSVAR_ID, SYSTEM_PROGRAM_ID, TOKEN_PROGRAM_ID
from engine.frt.pda import (
    PoolAddresses,
    derive_pool,
    find_main_treasury,
    find_program_data,
    find_system_state,
    is_sorted,
)

# ---------------------------------------------------------------------------------------------
# Data codec

_FIXED_SIZES = {"u8": 1, "bool": 1, "u64": 8, "pubkey": 32}

# tag -> (snake_case name, ((field, type), ...)) in enum / declaration order.
_LAYOUTS: dict[int, tuple[str, tuple[tuple[str, str], ...]]] = {
    0: ("initialize_program", (("admin_authority", "pubkey"),)),
    1: ("initialize_pool", (("ratio_a_numerator", "u64"), ("ratio_b_denominator", "u64"), ("flags", "u8"))),
    2: ("deposit", (("deposit_token_mint", "pubkey"), ("amount", "u64"), ("pool_id", "pubkey"))),
    3: ("withdraw", (("withdraw_token_mint", "pubkey"), ("lp_amount_to_burn", "u64"), ("pool_id", "pubkey"))),
    4: ("swap", (
        ("input_token_mint", "pubkey"), ("amount_in", "u64"), ("expected_amount_out", "u64"), ("pool_id", "pubkey"),
    )),
    5: ("get_pool_state_pda", (
        ("multiple_token_mint", "pubkey"), ("base_token_mint", "pubkey"), ("multiple_per_base", "u64"),
    )),
    6: ("get_token_vault_pdas", (("pool_state_pda", "pubkey"),)),
    7: ("get_pool_info", ()),
    8: ("get_pool_pause_status", ()),
    9: ("get_liquidity_info", ()),
    10: ("get_fee_info", ()),
    11: ("get_pool_sol_balance", ()),
    12: ("pause_system", (("reason_code", "u8"),)),
    13: ("unpause_system", ()),
    14: ("get_version", ()),
    15: ("withdraw_treasury_fees", (("amount", "u64"),)),
    16: ("get_treasury_info", ()),
    17: ("consolidate_pool_fees", (("pool_count", "u8"),)),
    18: ("get_consolidation_status", (("pool_count", "u8"),)),
    19: ("pause_pool", (("pause_flags", "u8"), ("pool_id", "pubkey"))),
    20: ("unpause_pool", (("unpause_flags", "u8"), ("pool_id", "pubkey"))),
    21: ("set_swap_owner_only", (
        ("enable_restriction", "bool"), ("designated_owner", "pubkey"), ("pool_id", "pubkey"),
    )),
    22: ("update_pool_fees", (
        ("update_flags", "u8"), ("new_liquidity_fee", "u64"), ("new_swap_fee", "u64"), ("pool_id", "pubkey"),
    )),
    23: ("donate_sol", (("amount", "u64"), ("message", "string"))),
    24: ("process_admin_change", (("new_admin", "pubkey"),)),
}

INSTRUCTION_NAMES: dict[int, str] = {tag: name for tag, (name, _) in _LAYOUTS.items()}
INSTRUCTION_TAGS: dict[str, int] = {name: tag for tag, name in INSTRUCTION_NAMES.items()}


class InstructionDecodeError(Exception):
    """The program would reject this data; `.error` is the builtin error name it reports."""

    def __init__(self, error: str, detail: str = "") -> None:
        super().__init__(f"{error}: {detail}" if detail else error)
        self.error = error


def _encode_field(kind: str, value: Any) -> bytes:
    if kind == "u8":
        return struct.pack("<B", value)
    if kind == "bool":
        return struct.pack("<?", bool(value))
    if kind == "u64":
        return struct.pack("<Q", value)
    if kind == "pubkey":
        return bytes(value)
    if kind == "string":
        raw = value.encode("utf-8")
        return struct.pack("<I", len(raw)) + raw
    raise AssertionError(f"unknown field type {kind}")


def encode_instruction_data(name: str, **fields: Any) -> bytes:
    """Borsh bytes of the variant `name` (snake_case) with the given fields."""
    tag = INSTRUCTION_TAGS[name]
    layout = _LAYOUTS[tag][1]
    if set(fields) != {field for field, _ in layout}:
        raise TypeError(f"{name} takes fields {[f for f, _ in layout]}, got {sorted(fields)}")
    return bytes([tag]) + b"".join(_encode_field(kind, fields[field]) for field, kind in layout)


def _borsh_error(detail: str) -> InstructionDecodeError:
    return InstructionDecodeError("BorshIoError", detail)


def _take(data: bytes, offset: int, size: int) -> bytes:
    if offset + size > len(data):
        raise _borsh_error("unexpected end of data")
    return data[offset:offset + size]


def _decode_field(kind: str, data: bytes, offset: int) -> tuple[Any, int]:
    if kind == "string":
        (length,) = struct.unpack("<I", _take(data, offset, 4))
        raw = _take(data, offset + 4, length)
        try:
            return raw.decode("utf-8"), offset + 4 + length
        except UnicodeDecodeError as exc:
            raise _borsh_error("invalid UTF-8") from exc
    size = _FIXED_SIZES[kind]
    raw = _take(data, offset, size)
    if kind == "u8":
        value: Any = raw[0]
    elif kind == "bool":
        if raw[0] > 1:
            raise _borsh_error(f"invalid bool {raw[0]}")
        value = raw[0] == 1
    elif kind == "u64":
        (value,) = struct.unpack("<Q", raw)
    else:
        value = Pubkey.from_bytes(raw)
    return value, offset + size


def decode_instruction_data(data: bytes) -> tuple[str, dict[str, Any]]:
    """Parse like the program's `try_from_slice`: all of `data`, nothing more, nothing less."""
    if not data:
        raise InstructionDecodeError("InvalidInstructionData", "empty instruction data")
    tag = data[0]
    if tag not in _LAYOUTS:
        raise _borsh_error(f"unknown variant {tag}")
    name, layout = _LAYOUTS[tag]
    fields: dict[str, Any] = {}
    offset = 1
    for field, kind in layout:
        fields[field], offset = _decode_field(kind, data, offset)
    if offset != len(data):
        raise _borsh_error(f"{len(data) - offset} trailing bytes")
    return name, fields


# ---------------------------------------------------------------------------------------------
# Account helpers


def _signer(key: Pubkey, writable: bool = False) -> AccountMeta:
    return AccountMeta(key, is_signer=True, is_writable=writable)


def _writable(key: Pubkey) -> AccountMeta:
    return AccountMeta(key, is_signer=False, is_writable=True)


def _readonly(key: Pubkey) -> AccountMeta:
    return AccountMeta(key, is_signer=False, is_writable=False)


def _instruction(program_id: Pubkey, accounts: Sequence[AccountMeta], name: str, **fields: Any) -> Instruction:
    return Instruction(program_id, encode_instruction_data(name, **fields), list(accounts))


def _system_state(program_id: Pubkey) -> Pubkey:
    return find_system_state(program_id)[0]


def _treasury(program_id: Pubkey) -> Pubkey:
    return find_main_treasury(program_id)[0]


def _program_data_or_default(program_id: Pubkey, program_data: Pubkey | None) -> Pubkey:
    return find_program_data(program_id)[0] if program_data is None else program_data


def _admin_pool_accounts(
    program_id: Pubkey, admin: Pubkey, pool_state: Pubkey, program_data: Pubkey | None
) -> list[AccountMeta]:
    """The 4-account list shared by PausePool, UnpausePool, SetSwapOwnerOnly, UpdatePoolFees (§4.6)."""
    return [
        _signer(admin),
        _readonly(_system_state(program_id)),
        _writable(pool_state),
        _readonly(_program_data_or_default(program_id, program_data)),
    ]


# ---------------------------------------------------------------------------------------------
# Compute budget


def compute_unit_limit(units: int) -> Instruction:
    return set_compute_unit_limit(units)


def compute_unit_price(micro_lamports: int) -> Instruction:
    return set_compute_unit_price(micro_lamports)


# ---------------------------------------------------------------------------------------------
# State-changing instructions


def initialize_program(
    program_id: Pubkey, authority: Pubkey, admin_authority: Pubkey, program_data: Pubkey | None = None
) -> Instruction:
    """Tag 0 (§4.1); `authority` is the upgrade authority and pays both PDAs' rent."""
    accounts = [
        _signer(authority, writable=True),
        _readonly(SYSTEM_PROGRAM_ID),
        _readonly(RENT_SYSVAR_ID),
        _writable(_system_state(program_id)),
        _writable(_treasury(program_id)),
        _readonly(_program_data_or_default(program_id, program_data)),
    ]
    return _instruction(program_id, accounts, "initialize_program", admin_authority=admin_authority)


def initialize_pool(
    program_id: Pubkey,
    creator: Pubkey,
    token_a_mint: Pubkey,
    token_b_mint: Pubkey,
    ratio_a: int,
    ratio_b: int,
    flags: int = 0,
) -> Instruction:
    """Tag 1 (§4.2). Mints must be sorted so that LP-X decimals follow token X (§13 #4)."""
    if not is_sorted(token_a_mint, token_b_mint):
        raise ValueError("initialize_pool needs sorted mints (token_a_mint first); see normalize_pair")
    pool = derive_pool(program_id, token_a_mint, token_b_mint, ratio_a, ratio_b)
    accounts = [
        _signer(creator, writable=True),
        _readonly(SYSTEM_PROGRAM_ID),
        _readonly(_system_state(program_id)),
        _writable(pool.pool_state),
        _readonly(TOKEN_PROGRAM_ID),
        _writable(_treasury(program_id)),
        _readonly(RENT_SYSVAR_ID),
        _readonly(pool.token_a_mint),
        _readonly(pool.token_b_mint),
        _writable(pool.token_a_vault),
        _writable(pool.token_b_vault),
        _writable(pool.lp_token_a_mint),
        _writable(pool.lp_token_b_mint),
    ]
    return _instruction(
        program_id, accounts, "initialize_pool", ratio_a_numerator=ratio_a, ratio_b_denominator=ratio_b, flags=flags
    )


def deposit(
    program_id: Pubkey,
    user: Pubkey,
    pool: PoolAddresses,
    deposit_mint: Pubkey,
    amount: int,
    user_token_account: Pubkey,
    user_lp_account: Pubkey,
) -> Instruction:
    """Tag 2 (§4.3). `user_lp_account` must hold the LP mint of the deposited side."""
    accounts = [
        _signer(user, writable=True),
        _readonly(SYSTEM_PROGRAM_ID),
        _readonly(_system_state(program_id)),
        _writable(pool.pool_state),
        _readonly(TOKEN_PROGRAM_ID),
        _writable(pool.token_a_vault),
        _writable(pool.token_b_vault),
        _writable(user_token_account),
        _writable(user_lp_account),
        _writable(pool.lp_token_a_mint),
        _writable(pool.lp_token_b_mint),
    ]
    return _instruction(
        program_id, accounts, "deposit", deposit_token_mint=deposit_mint, amount=amount, pool_id=pool.pool_state
    )


def withdraw(
    program_id: Pubkey,
    user: Pubkey,
    pool: PoolAddresses,
    withdraw_mint: Pubkey,
    lp_amount: int,
    user_lp_account: Pubkey,
    user_token_account: Pubkey,
) -> Instruction:
    """Tag 3 (§4.4): burn `lp_amount` LP-X, receive the same amount of token X."""
    accounts = [
        _signer(user, writable=True),
        _readonly(SYSTEM_PROGRAM_ID),
        _readonly(_system_state(program_id)),
        _writable(pool.pool_state),
        _readonly(TOKEN_PROGRAM_ID),
        _writable(pool.token_a_vault),
        _writable(pool.token_b_vault),
        _writable(user_lp_account),
        _writable(user_token_account),
        _writable(pool.lp_token_a_mint),
        _writable(pool.lp_token_b_mint),
    ]
    return _instruction(
        program_id,
        accounts,
        "withdraw",
        withdraw_token_mint=withdraw_mint,
        lp_amount_to_burn=lp_amount,
        pool_id=pool.pool_state,
    )


def swap(
    program_id: Pubkey,
    user: Pubkey,
    pool: PoolAddresses,
    input_mint: Pubkey,
    amount_in: int,
    expected_amount_out: int,
    user_input_account: Pubkey,
    user_output_account: Pubkey,
) -> Instruction:
    """Tag 4 (§4.5). The program takes the direction from the input account's mint, not the data."""
    output_mint = pool.other_mint(input_mint)
    accounts = [
        _signer(user, writable=True),
        _readonly(SYSTEM_PROGRAM_ID),
        _readonly(_system_state(program_id)),
        _writable(pool.pool_state),
        _readonly(TOKEN_PROGRAM_ID),
        _writable(pool.token_a_vault),
        _writable(pool.token_b_vault),
        _writable(user_input_account),
        _writable(user_output_account),
        _readonly(input_mint),
        _readonly(output_mint),
    ]
    return _instruction(
        program_id,
        accounts,
        "swap",
        input_token_mint=input_mint,
        amount_in=amount_in,
        expected_amount_out=expected_amount_out,
        pool_id=pool.pool_state,
    )


def pause_system(
    program_id: Pubkey, admin: Pubkey, reason_code: int, program_data: Pubkey | None = None
) -> Instruction:
    """Tag 12 (§4.9)."""
    accounts = [
        _signer(admin),
        _writable(_system_state(program_id)),
        _readonly(_program_data_or_default(program_id, program_data)),
    ]
    return _instruction(program_id, accounts, "pause_system", reason_code=reason_code)


def unpause_system(program_id: Pubkey, admin: Pubkey, program_data: Pubkey | None = None) -> Instruction:
    """Tag 13 (§4.9); also starts the treasury's 71 h withdrawal penalty."""
    accounts = [
        _signer(admin),
        _writable(_system_state(program_id)),
        _writable(_treasury(program_id)),
        _readonly(_program_data_or_default(program_id, program_data)),
    ]
    return _instruction(program_id, accounts, "unpause_system")


def withdraw_treasury_fees(
    program_id: Pubkey, admin: Pubkey, destination: Pubkey, amount: int, program_data: Pubkey | None = None
) -> Instruction:
    """Tag 15 (§4.10); amount 0 means "everything available"."""
    accounts = [
        _signer(admin),
        _writable(_treasury(program_id)),
        _readonly(RENT_SYSVAR_ID),
        _writable(destination),
        _readonly(_system_state(program_id)),
        _readonly(_program_data_or_default(program_id, program_data)),
    ]
    return _instruction(program_id, accounts, "withdraw_treasury_fees", amount=amount)


def consolidate_pool_fees(
    program_id: Pubkey, admin: Pubkey, pools: Sequence[Pubkey], program_data: Pubkey | None = None
) -> Instruction:
    """Tag 17 (§4.12); pool_count = len(pools) (the program accepts 1..20)."""
    accounts = [
        _signer(admin),
        _readonly(_system_state(program_id)),
        _writable(_treasury(program_id)),
        _readonly(_program_data_or_default(program_id, program_data)),
        *(_writable(pool) for pool in pools),
    ]
    return _instruction(program_id, accounts, "consolidate_pool_fees", pool_count=len(pools))


def pause_pool(
    program_id: Pubkey, admin: Pubkey, pool_state: Pubkey, pause_flags: int, program_data: Pubkey | None = None
) -> Instruction:
    """Tag 19 (§4.6); flags use the instruction bits PAUSE_IX_LIQUIDITY / PAUSE_IX_SWAPS."""
    accounts = _admin_pool_accounts(program_id, admin, pool_state, program_data)
    return _instruction(program_id, accounts, "pause_pool", pause_flags=pause_flags, pool_id=pool_state)


def unpause_pool(
    program_id: Pubkey, admin: Pubkey, pool_state: Pubkey, unpause_flags: int, program_data: Pubkey | None = None
) -> Instruction:
    """Tag 20 (§4.6)."""
    accounts = _admin_pool_accounts(program_id, admin, pool_state, program_data)
    return _instruction(program_id, accounts, "unpause_pool", unpause_flags=unpause_flags, pool_id=pool_state)


def set_swap_owner_only(
    program_id: Pubkey,
    admin: Pubkey,
    pool_state: Pubkey,
    enable: bool,
    designated_owner: Pubkey,
    program_data: Pubkey | None = None,
) -> Instruction:
    """Tag 21 (§4.7); enabling also makes `designated_owner` the pool owner."""
    accounts = _admin_pool_accounts(program_id, admin, pool_state, program_data)
    return _instruction(
        program_id,
        accounts,
        "set_swap_owner_only",
        enable_restriction=enable,
        designated_owner=designated_owner,
        pool_id=pool_state,
    )


def update_pool_fees(
    program_id: Pubkey,
    admin: Pubkey,
    pool_state: Pubkey,
    update_flags: int,
    new_liquidity_fee: int,
    new_swap_fee: int,
    program_data: Pubkey | None = None,
) -> Instruction:
    """Tag 22 (§4.8); update_flags bit 1 = liquidity fee, bit 2 = swap fee."""
    accounts = _admin_pool_accounts(program_id, admin, pool_state, program_data)
    return _instruction(
        program_id,
        accounts,
        "update_pool_fees",
        update_flags=update_flags,
        new_liquidity_fee=new_liquidity_fee,
        new_swap_fee=new_swap_fee,
        pool_id=pool_state,
    )


def donate_sol(program_id: Pubkey, donor: Pubkey, amount: int, message: str) -> Instruction:
    """Tag 23 (§4.11)."""
    accounts = [
        _signer(donor, writable=True),
        _writable(_treasury(program_id)),
        _readonly(_system_state(program_id)),
        _readonly(SYSTEM_PROGRAM_ID),
    ]
    return _instruction(program_id, accounts, "donate_sol", amount=amount, message=message)


def process_admin_change(
    program_id: Pubkey, admin: Pubkey, new_admin: Pubkey, program_data: Pubkey | None = None
) -> Instruction:
    """Tag 24 (§4.13): propose, re-propose (restarts the timer) or complete an admin change."""
    accounts = [
        _signer(admin),
        _writable(_system_state(program_id)),
        _readonly(_program_data_or_default(program_id, program_data)),
    ]
    return _instruction(program_id, accounts, "process_admin_change", new_admin=new_admin)


# ---------------------------------------------------------------------------------------------
# Views (§4.14): no state change; results are in the simulation logs.


def get_pool_state_pda(
    program_id: Pubkey, multiple_token_mint: Pubkey, base_token_mint: Pubkey, multiple_per_base: int
) -> Instruction:
    """Tag 5. Note: derives with (N,1)/(1,N) ratios, not how InitializePool derives general pools."""
    return _instruction(
        program_id,
        [],
        "get_pool_state_pda",
        multiple_token_mint=multiple_token_mint,
        base_token_mint=base_token_mint,
        multiple_per_base=multiple_per_base,
    )


def get_token_vault_pdas(program_id: Pubkey, pool_state: Pubkey) -> Instruction:
    """Tag 6."""
    return _instruction(program_id, [], "get_token_vault_pdas", pool_state_pda=pool_state)


def get_pool_info(program_id: Pubkey, pool_state: Pubkey) -> Instruction:
    """Tag 7. Only slot [2] is read; the other three slots take any account (System program here)."""
    filler = _readonly(SYSTEM_PROGRAM_ID)
    return _instruction(program_id, [filler, filler, _readonly(pool_state), filler], "get_pool_info")


def get_pool_pause_status(program_id: Pubkey, pool_state: Pubkey) -> Instruction:
    """Tag 8."""
    return _instruction(program_id, [_readonly(pool_state)], "get_pool_pause_status")


def get_liquidity_info(program_id: Pubkey, pool_state: Pubkey) -> Instruction:
    """Tag 9."""
    return _instruction(program_id, [_readonly(pool_state)], "get_liquidity_info")


def get_fee_info(program_id: Pubkey, pool_state: Pubkey) -> Instruction:
    """Tag 10."""
    return _instruction(program_id, [_readonly(pool_state)], "get_fee_info")


def get_pool_sol_balance(program_id: Pubkey, pool_state: Pubkey) -> Instruction:
    """Tag 11."""
    return _instruction(program_id, [_readonly(pool_state)], "get_pool_sol_balance")


def get_version(program_id: Pubkey) -> Instruction:
    """Tag 14."""
    return _instruction(program_id, [], "get_version")


def get_treasury_info(program_id: Pubkey) -> Instruction:
    """Tag 16."""
    return _instruction(program_id, [_readonly(_treasury(program_id))], "get_treasury_info")


def get_consolidation_status(program_id: Pubkey, pools: Sequence[Pubkey]) -> Instruction:
    """Tag 18; pool_count = len(pools)."""
    accounts = [_readonly(pool) for pool in pools]
    return _instruction(program_id, accounts, "get_consolidation_status", pool_count=len(pools))
