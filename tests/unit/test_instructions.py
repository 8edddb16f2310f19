"""Instruction data and account lists against CONTRACT.md §2 and §4."""
import pytest
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from engine.frt import instructions as ix
from engine.frt.constants import (
    COMPUTE_BUDGET_PROGRAM_ID,
    LOCALNET_PROGRAM_ID as PID,
    RENT_SYSVAR_ID,
    SYSTEM_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
)
from engine.frt.instructions import INSTRUCTION_NAMES, InstructionDecodeError, decode_instruction_data
from engine.frt.pda import derive_pool, find_main_treasury, find_program_data, find_system_state

MINT_A = Pubkey(bytes([1] * 32))
MINT_B = Pubkey(bytes([2] * 32))
RATIO_A, RATIO_B = 1_000_000_000, 160_000_000
POOL = derive_pool(PID, MINT_A, MINT_B, RATIO_A, RATIO_B)
USER = Pubkey(bytes([7] * 32))
ADMIN = Pubkey(bytes([8] * 32))
OTHER = Pubkey(bytes([9] * 32))
USER_TOKEN = Pubkey(bytes([10] * 32))
USER_LP = Pubkey(bytes([11] * 32))
SYSTEM_STATE = find_system_state(PID)[0]
TREASURY = find_main_treasury(PID)[0]
PROGRAM_DATA = find_program_data(PID)[0]
CUSTOM_PROGRAM_DATA = Pubkey(bytes([12] * 32))


def signer_writable(key):
    return AccountMeta(key, True, True)


def signer(key):
    return AccountMeta(key, True, False)


def writable(key):
    return AccountMeta(key, False, True)


def readonly(key):
    return AccountMeta(key, False, False)


# One instruction per variant, built with the public builders.
BUILT: dict[str, Instruction] = {
    "initialize_program": ix.initialize_program(PID, USER, ADMIN),
    "initialize_pool": ix.initialize_pool(PID, USER, MINT_A, MINT_B, RATIO_A, RATIO_B, flags=64),
    "deposit": ix.deposit(PID, USER, POOL, MINT_A, 1000, USER_TOKEN, USER_LP),
    "withdraw": ix.withdraw(PID, USER, POOL, MINT_B, 500, USER_LP, USER_TOKEN),
    "swap": ix.swap(PID, USER, POOL, MINT_A, 500_000_000, 80_000_000, USER_TOKEN, USER_LP),
    "get_pool_state_pda": ix.get_pool_state_pda(PID, MINT_A, MINT_B, 160),
    "get_token_vault_pdas": ix.get_token_vault_pdas(PID, POOL.pool_state),
    "get_pool_info": ix.get_pool_info(PID, POOL.pool_state),
    "get_pool_pause_status": ix.get_pool_pause_status(PID, POOL.pool_state),
    "get_liquidity_info": ix.get_liquidity_info(PID, POOL.pool_state),
    "get_fee_info": ix.get_fee_info(PID, POOL.pool_state),
    "get_pool_sol_balance": ix.get_pool_sol_balance(PID, POOL.pool_state),
    "pause_system": ix.pause_system(PID, ADMIN, 3),
    "unpause_system": ix.unpause_system(PID, ADMIN),
    "get_version": ix.get_version(PID),
    "withdraw_treasury_fees": ix.withdraw_treasury_fees(PID, ADMIN, OTHER, 0),
    "get_treasury_info": ix.get_treasury_info(PID),
    "consolidate_pool_fees": ix.consolidate_pool_fees(PID, ADMIN, [POOL.pool_state, OTHER]),
    "get_consolidation_status": ix.get_consolidation_status(PID, [POOL.pool_state]),
    "pause_pool": ix.pause_pool(PID, ADMIN, POOL.pool_state, 3),
    "unpause_pool": ix.unpause_pool(PID, ADMIN, POOL.pool_state, 1),
    "set_swap_owner_only": ix.set_swap_owner_only(PID, ADMIN, POOL.pool_state, True, OTHER),
    "update_pool_fees": ix.update_pool_fees(PID, ADMIN, POOL.pool_state, 3, 1_000_000, 50_000),
    "donate_sol": ix.donate_sol(PID, USER, 100_000_000, "hi"),
    "process_admin_change": ix.process_admin_change(PID, ADMIN, OTHER),
}

# §2 "Total bytes" (DonateSol: 13 + len("hi")).
TOTAL_BYTES = {
    "initialize_program": 33, "initialize_pool": 18, "deposit": 73, "withdraw": 73, "swap": 81,
    "get_pool_state_pda": 73, "get_token_vault_pdas": 33, "get_pool_info": 1, "get_pool_pause_status": 1,
    "get_liquidity_info": 1, "get_fee_info": 1, "get_pool_sol_balance": 1, "pause_system": 2,
    "unpause_system": 1, "get_version": 1, "withdraw_treasury_fees": 9, "get_treasury_info": 1,
    "consolidate_pool_fees": 2, "get_consolidation_status": 2, "pause_pool": 34, "unpause_pool": 34,
    "set_swap_owner_only": 66, "update_pool_fees": 50, "donate_sol": 15, "process_admin_change": 33,
}

EXPECTED_FIELDS = {
    "initialize_program": {"admin_authority": ADMIN},
    "initialize_pool": {"ratio_a_numerator": RATIO_A, "ratio_b_denominator": RATIO_B, "flags": 64},
    "deposit": {"deposit_token_mint": MINT_A, "amount": 1000, "pool_id": POOL.pool_state},
    "withdraw": {"withdraw_token_mint": MINT_B, "lp_amount_to_burn": 500, "pool_id": POOL.pool_state},
    "swap": {"input_token_mint": MINT_A, "amount_in": 500_000_000, "expected_amount_out": 80_000_000,
             "pool_id": POOL.pool_state},
    "get_pool_state_pda": {"multiple_token_mint": MINT_A, "base_token_mint": MINT_B, "multiple_per_base": 160},
    "get_token_vault_pdas": {"pool_state_pda": POOL.pool_state},
    "pause_system": {"reason_code": 3},
    "withdraw_treasury_fees": {"amount": 0},
    "consolidate_pool_fees": {"pool_count": 2},
    "get_consolidation_status": {"pool_count": 1},
    "pause_pool": {"pause_flags": 3, "pool_id": POOL.pool_state},
    "unpause_pool": {"unpause_flags": 1, "pool_id": POOL.pool_state},
    "set_swap_owner_only": {"enable_restriction": True, "designated_owner": OTHER, "pool_id": POOL.pool_state},
    "update_pool_fees": {"update_flags": 3, "new_liquidity_fee": 1_000_000, "new_swap_fee": 50_000,
                         "pool_id": POOL.pool_state},
    "donate_sol": {"amount": 100_000_000, "message": "hi"},
    "process_admin_change": {"new_admin": OTHER},
}


def test_every_tag_has_a_builder():
    assert sorted(INSTRUCTION_NAMES) == list(range(25))
    assert set(BUILT) == set(INSTRUCTION_NAMES.values())
    for tag, name in INSTRUCTION_NAMES.items():
        assert BUILT[name].program_id == PID
        assert bytes(BUILT[name].data)[0] == tag


# --- §2 byte vectors ---------------------------------------------------------------------------

def test_initialize_pool_vector():
    data = ix.initialize_pool(PID, USER, MINT_A, MINT_B, RATIO_A, RATIO_B).data
    assert bytes(data).hex() == "0100ca9a3b00000000006889090000000000"


def test_deposit_vector():
    expected = bytes.fromhex("02") + bytes([1] * 32) + bytes.fromhex("e803000000000000") + bytes(POOL.pool_state)
    assert bytes(BUILT["deposit"].data) == expected


def test_swap_vector():
    expected = (bytes.fromhex("04") + bytes([1] * 32) + bytes.fromhex("0065cd1d00000000")
                + bytes.fromhex("00b4c40400000000") + bytes(POOL.pool_state))
    assert bytes(BUILT["swap"].data) == expected


def test_donate_sol_vector():
    assert bytes(BUILT["donate_sol"].data).hex() == "1700e1f50500000000020000006869"


@pytest.mark.parametrize("name", sorted(TOTAL_BYTES))
def test_data_length(name):
    assert len(bytes(BUILT[name].data)) == TOTAL_BYTES[name]


# --- §4 account lists ----------------------------------------------------------------------------

def test_initialize_program_accounts():
    assert BUILT["initialize_program"].accounts == [
        signer_writable(USER), readonly(SYSTEM_PROGRAM_ID), readonly(RENT_SYSVAR_ID),
        writable(SYSTEM_STATE), writable(TREASURY), readonly(PROGRAM_DATA),
    ]
    custom = ix.initialize_program(PID, USER, ADMIN, program_data=CUSTOM_PROGRAM_DATA)
    assert custom.accounts[5] == readonly(CUSTOM_PROGRAM_DATA)


def test_initialize_pool_accounts():
    assert BUILT["initialize_pool"].accounts == [
        signer_writable(USER), readonly(SYSTEM_PROGRAM_ID), readonly(SYSTEM_STATE), writable(POOL.pool_state),
        readonly(TOKEN_PROGRAM_ID), writable(TREASURY), readonly(RENT_SYSVAR_ID),
        readonly(MINT_A), readonly(MINT_B), writable(POOL.token_a_vault), writable(POOL.token_b_vault),
        writable(POOL.lp_token_a_mint), writable(POOL.lp_token_b_mint),
    ]


def test_initialize_pool_rejects_unsorted_mints():
    with pytest.raises(ValueError):
        ix.initialize_pool(PID, USER, MINT_B, MINT_A, RATIO_B, RATIO_A)


def _liquidity_prefix():
    return [
        signer_writable(USER), readonly(SYSTEM_PROGRAM_ID), readonly(SYSTEM_STATE), writable(POOL.pool_state),
        readonly(TOKEN_PROGRAM_ID), writable(POOL.token_a_vault), writable(POOL.token_b_vault),
    ]


def test_deposit_accounts():
    assert BUILT["deposit"].accounts == _liquidity_prefix() + [
        writable(USER_TOKEN), writable(USER_LP), writable(POOL.lp_token_a_mint), writable(POOL.lp_token_b_mint),
    ]


def test_withdraw_accounts():
    assert BUILT["withdraw"].accounts == _liquidity_prefix() + [
        writable(USER_LP), writable(USER_TOKEN), writable(POOL.lp_token_a_mint), writable(POOL.lp_token_b_mint),
    ]


def test_swap_accounts_both_directions():
    assert BUILT["swap"].accounts == _liquidity_prefix() + [
        writable(USER_TOKEN), writable(USER_LP), readonly(MINT_A), readonly(MINT_B),
    ]
    b_to_a = ix.swap(PID, USER, POOL, MINT_B, 80_000_000, 500_000_000, USER_LP, USER_TOKEN)
    assert b_to_a.accounts[7:] == [writable(USER_LP), writable(USER_TOKEN), readonly(MINT_B), readonly(MINT_A)]


def test_swap_rejects_foreign_input_mint():
    with pytest.raises(ValueError):
        ix.swap(PID, USER, POOL, OTHER, 1, 1, USER_TOKEN, USER_LP)


@pytest.mark.parametrize("name", ["pause_pool", "unpause_pool", "set_swap_owner_only", "update_pool_fees"])
def test_admin_pool_accounts(name):
    assert BUILT[name].accounts == [
        signer(ADMIN), readonly(SYSTEM_STATE), writable(POOL.pool_state), readonly(PROGRAM_DATA),
    ]


def test_admin_builders_take_custom_program_data():
    built = [
        ix.pause_pool(PID, ADMIN, POOL.pool_state, 1, program_data=CUSTOM_PROGRAM_DATA),
        ix.unpause_pool(PID, ADMIN, POOL.pool_state, 1, program_data=CUSTOM_PROGRAM_DATA),
        ix.set_swap_owner_only(PID, ADMIN, POOL.pool_state, False, OTHER, program_data=CUSTOM_PROGRAM_DATA),
        ix.update_pool_fees(PID, ADMIN, POOL.pool_state, 1, 1, 1, program_data=CUSTOM_PROGRAM_DATA),
        ix.pause_system(PID, ADMIN, 1, program_data=CUSTOM_PROGRAM_DATA),
        ix.unpause_system(PID, ADMIN, program_data=CUSTOM_PROGRAM_DATA),
        ix.withdraw_treasury_fees(PID, ADMIN, OTHER, 1, program_data=CUSTOM_PROGRAM_DATA),
        ix.consolidate_pool_fees(PID, ADMIN, [OTHER], program_data=CUSTOM_PROGRAM_DATA),
        ix.process_admin_change(PID, ADMIN, OTHER, program_data=CUSTOM_PROGRAM_DATA),
    ]
    for instruction in built:
        assert readonly(CUSTOM_PROGRAM_DATA) in instruction.accounts
        assert readonly(PROGRAM_DATA) not in instruction.accounts


def test_pause_system_accounts():
    assert BUILT["pause_system"].accounts == [signer(ADMIN), writable(SYSTEM_STATE), readonly(PROGRAM_DATA)]


def test_unpause_system_accounts():
    assert BUILT["unpause_system"].accounts == [
        signer(ADMIN), writable(SYSTEM_STATE), writable(TREASURY), readonly(PROGRAM_DATA),
    ]


def test_withdraw_treasury_fees_accounts():
    assert BUILT["withdraw_treasury_fees"].accounts == [
        signer(ADMIN), writable(TREASURY), readonly(RENT_SYSVAR_ID), writable(OTHER),
        readonly(SYSTEM_STATE), readonly(PROGRAM_DATA),
    ]


def test_donate_sol_accounts():
    assert BUILT["donate_sol"].accounts == [
        signer_writable(USER), writable(TREASURY), readonly(SYSTEM_STATE), readonly(SYSTEM_PROGRAM_ID),
    ]


def test_consolidate_pool_fees_accounts():
    assert BUILT["consolidate_pool_fees"].accounts == [
        signer(ADMIN), readonly(SYSTEM_STATE), writable(TREASURY), readonly(PROGRAM_DATA),
        writable(POOL.pool_state), writable(OTHER),
    ]


def test_process_admin_change_accounts():
    assert BUILT["process_admin_change"].accounts == [signer(ADMIN), writable(SYSTEM_STATE), readonly(PROGRAM_DATA)]


def test_view_accounts():
    pool = POOL.pool_state
    assert BUILT["get_pool_info"].accounts[2] == readonly(pool)
    assert len(BUILT["get_pool_info"].accounts) == 4
    for name in ("get_pool_pause_status", "get_liquidity_info", "get_fee_info", "get_pool_sol_balance"):
        assert BUILT[name].accounts == [readonly(pool)]
    assert BUILT["get_treasury_info"].accounts == [readonly(TREASURY)]
    assert BUILT["get_consolidation_status"].accounts == [readonly(pool)]
    for name in ("get_pool_state_pda", "get_token_vault_pdas", "get_version"):
        assert BUILT[name].accounts == []
    for instruction in BUILT.values():
        if bytes(instruction.data)[0] in (5, 6, 7, 8, 9, 10, 11, 14, 16, 18):
            assert not any(meta.is_writable or meta.is_signer for meta in instruction.accounts)


def test_compute_budget_instructions():
    limit = ix.compute_unit_limit(400_000)
    price = ix.compute_unit_price(1_000)
    assert limit.program_id == COMPUTE_BUDGET_PROGRAM_ID == price.program_id
    assert bytes(limit.data) == bytes([2]) + (400_000).to_bytes(4, "little")
    assert bytes(price.data) == bytes([3]) + (1_000).to_bytes(8, "little")


# --- decoding ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(BUILT))
def test_decode_round_trip(name):
    data = bytes(BUILT[name].data)
    decoded_name, fields = decode_instruction_data(data)
    assert decoded_name == name
    assert fields == EXPECTED_FIELDS.get(name, {})
    assert ix.encode_instruction_data(name, **fields) == data


def test_decode_pubkeys_are_solders_pubkeys():
    _, fields = decode_instruction_data(bytes(BUILT["deposit"].data))
    assert isinstance(fields["deposit_token_mint"], Pubkey)


def _decode_error(data: bytes) -> str:
    with pytest.raises(InstructionDecodeError) as info:
        decode_instruction_data(data)
    return info.value.error


def test_decode_empty_is_invalid_instruction_data():
    assert _decode_error(b"") == "InvalidInstructionData"


def test_decode_unknown_tag():
    assert _decode_error(bytes([25])) == "BorshIoError"
    assert _decode_error(bytes([255]) + bytes(40)) == "BorshIoError"


@pytest.mark.parametrize("name", sorted(BUILT))
def test_decode_short_and_trailing(name):
    data = bytes(BUILT[name].data)
    assert _decode_error(data + b"\x00") == "BorshIoError"
    if len(data) > 1:
        assert _decode_error(data[:-1]) == "BorshIoError"


def test_decode_bad_bool():
    data = bytearray(BUILT["set_swap_owner_only"].data)
    data[1] = 2
    assert _decode_error(bytes(data)) == "BorshIoError"
    data[1] = 0
    assert decode_instruction_data(bytes(data))[1]["enable_restriction"] is False


def test_decode_donate_sol_string_errors():
    head = bytes([23]) + (100_000_000).to_bytes(8, "little")
    assert _decode_error(head + (3).to_bytes(4, "little") + b"hi") == "BorshIoError"  # length beyond data
    assert _decode_error(head + (2).to_bytes(4, "little") + b"\xff\xfe") == "BorshIoError"  # not UTF-8
    assert _decode_error(head + (3).to_bytes(4, "little") + b"\xed\xa0\x80") == "BorshIoError"  # surrogate
    assert decode_instruction_data(head + (0).to_bytes(4, "little")) == ("donate_sol", {
        "amount": 100_000_000, "message": ""})
    utf8 = "héllo ✓".encode()
    assert decode_instruction_data(head + len(utf8).to_bytes(4, "little") + utf8)[1]["message"] == "héllo ✓"


def test_decode_error_is_an_exception_with_message():
    error = InstructionDecodeError("BorshIoError", "detail")
    assert error.error == "BorshIoError"
    assert "detail" in str(error)
