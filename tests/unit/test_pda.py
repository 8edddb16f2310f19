"""PDAs and pair normalization against CONTRACT.md §1 and the §2 test vectors."""
import pytest
from solders.pubkey import Pubkey

from engine.frt.constants import DEVNET_PROGRAM_ID, LOCALNET_PROGRAM_ID, MAINNET_PROGRAM_ID
from engine.frt.pda import (
    NormalizedPair,
    derive_pool,
    find_lp_token_a_mint,
    find_lp_token_b_mint,
    find_main_treasury,
    find_pool_state,
    find_program_data,
    find_system_state,
    find_token_a_vault,
    find_token_b_vault,
    normalize_pair,
    sort_mints,
)

MINT_1 = Pubkey(bytes([1] * 32))
MINT_2 = Pubkey(bytes([2] * 32))
RATIO_A, RATIO_B = 1_000_000_000, 160_000_000


def key(text: str) -> Pubkey:
    return Pubkey.from_string(text)


FIXED_PDAS = [
    (LOCALNET_PROGRAM_ID, "7mJQU5YkXBeeYR44TFosU4YhCciRC5ierTN29fa7ia3D",
     "HBffTYMVJHgRYNCQ4opHrAVVeT1QPDtJLLDKki7mUp43", "2FXQ9r1d1bdhdUVTh735CeUEBEhQbZvCoTfdoyFVyrqD"),
    (DEVNET_PROGRAM_ID, "3oh6Ryf8QerWPyM3C1GEA4jAQKBdSik2iy93NjqtkygG",
     "2Lgqn5GJBeRCveUybftTGt8cJdhqbrV9JUXFrVejzFa6", "6Ahzj8CBzfKxtSvmmxnTM4HJZi8mdTNSU2mh5Zm74qjP"),
    (MAINNET_PROGRAM_ID, "Dkjm34MNnR7z8mZ1hohMu2D9WxePyjnJ58gahG8CthqL",
     "4LwioejiK9ML57kqm6K7b4FHtPAGz88to3b9j1cPiEeN", "3ZCrRh4nzEbn2Pww2hcB8W5rj2auCY1L7Sce83tH9QsK"),
]


@pytest.mark.parametrize("program_id,system_state,treasury,program_data", FIXED_PDAS)
def test_fixed_pdas(program_id, system_state, treasury, program_data):
    assert find_system_state(program_id)[0] == key(system_state)
    assert find_main_treasury(program_id)[0] == key(treasury)
    assert find_program_data(program_id)[0] == key(program_data)


def test_localnet_fixed_bumps():
    assert find_system_state(LOCALNET_PROGRAM_ID)[1] == 255
    assert find_main_treasury(LOCALNET_PROGRAM_ID)[1] == 255


def test_vector_mints_are_the_documented_keys():
    assert MINT_1 == key("4vJ9JU1bJJE96FWSJKvHsmmFADCg4gpZQff4P3bkLKi")
    assert MINT_2 == key("8qbHbw2BbbTHBW1sbeqakYXVKRQM8Ne7pLK7m6CVfeR")


def test_sort_mints_by_raw_bytes():
    assert sort_mints(MINT_2, MINT_1) == (MINT_1, MINT_2)
    assert sort_mints(MINT_1, MINT_2) == (MINT_1, MINT_2)
    # Base58 text order can disagree with byte order; bytes decide.
    low = Pubkey(bytes([0] * 31 + [57]))   # "1...1z"
    high = Pubkey(bytes([0] * 31 + [58]))  # "1...121" sorts first as text
    assert str(high) < str(low)
    assert sort_mints(high, low) == (low, high)


def test_pool_state_vector():
    assert find_pool_state(LOCALNET_PROGRAM_ID, MINT_1, MINT_2, RATIO_A, RATIO_B) == (
        key("4EzXgF5BfXERPs5uSm9Vo8mDy1UQSJfzoJ4JhbDadKZe"), 253)


def test_pool_children_vectors():
    pool = key("4EzXgF5BfXERPs5uSm9Vo8mDy1UQSJfzoJ4JhbDadKZe")
    assert find_token_a_vault(LOCALNET_PROGRAM_ID, pool) == (key("FBKBtkfwV39vLpgxDdmCwsGib7Wg56fYyGrKKjENFvtb"), 251)
    assert find_token_b_vault(LOCALNET_PROGRAM_ID, pool) == (key("E9T1LVeqaqwHSXwJkrbbxk421WXGSudEwqCSE7mbjNXc"), 252)
    assert find_lp_token_a_mint(LOCALNET_PROGRAM_ID, pool) == (
        key("5vVqmNJAQUwGyAGwnpLCbRonctwkXQrbcGpUCGXPEMRL"), 252)
    assert find_lp_token_b_mint(LOCALNET_PROGRAM_ID, pool) == (
        key("FFW6CJALMomLb1tsojiMb991KAquQ1Jf9pyDLd5F3Vom"), 255)


def test_derive_pool_vector():
    pool = derive_pool(LOCALNET_PROGRAM_ID, MINT_1, MINT_2, RATIO_A, RATIO_B)
    assert pool.pool_state == key("4EzXgF5BfXERPs5uSm9Vo8mDy1UQSJfzoJ4JhbDadKZe")
    assert (pool.token_a_mint, pool.token_b_mint) == (MINT_1, MINT_2)
    assert pool.token_a_vault == key("FBKBtkfwV39vLpgxDdmCwsGib7Wg56fYyGrKKjENFvtb")
    assert pool.token_b_vault == key("E9T1LVeqaqwHSXwJkrbbxk421WXGSudEwqCSE7mbjNXc")
    assert pool.lp_token_a_mint == key("5vVqmNJAQUwGyAGwnpLCbRonctwkXQrbcGpUCGXPEMRL")
    assert pool.lp_token_b_mint == key("FFW6CJALMomLb1tsojiMb991KAquQ1Jf9pyDLd5F3Vom")
    assert (pool.ratio_a, pool.ratio_b) == (RATIO_A, RATIO_B)
    bumps = (pool.pool_bump, pool.token_a_vault_bump, pool.token_b_vault_bump,
             pool.lp_token_a_mint_bump, pool.lp_token_b_mint_bump)
    assert bumps == (253, 251, 252, 252, 255)


def test_derive_pool_rejects_unsorted_mints():
    with pytest.raises(ValueError):
        derive_pool(LOCALNET_PROGRAM_ID, MINT_2, MINT_1, RATIO_B, RATIO_A)


def test_pool_addresses_side_helpers():
    pool = derive_pool(LOCALNET_PROGRAM_ID, MINT_1, MINT_2, RATIO_A, RATIO_B)
    assert pool.vault_for(MINT_1) == pool.token_a_vault
    assert pool.vault_for(MINT_2) == pool.token_b_vault
    assert pool.lp_mint_for(MINT_1) == pool.lp_token_a_mint
    assert pool.lp_mint_for(MINT_2) == pool.lp_token_b_mint
    assert pool.other_mint(MINT_1) == MINT_2
    assert pool.other_mint(MINT_2) == MINT_1
    stranger = Pubkey(bytes([3] * 32))
    for helper in (pool.vault_for, pool.lp_mint_for, pool.other_mint):
        with pytest.raises(ValueError):
            helper(stranger)


def test_normalize_pair_already_sorted():
    assert normalize_pair(MINT_1, MINT_2, RATIO_A, RATIO_B) == NormalizedPair(
        MINT_1, MINT_2, RATIO_A, RATIO_B, swapped=False)


def test_normalize_pair_swaps_ratios_with_mints():
    # "160e6 units of MINT_2 are worth 1e9 units of MINT_1" is the same pool as the vector.
    pair = normalize_pair(MINT_2, MINT_1, RATIO_B, RATIO_A)
    assert pair == NormalizedPair(MINT_1, MINT_2, RATIO_A, RATIO_B, swapped=True)
    pool = derive_pool(LOCALNET_PROGRAM_ID, pair.token_a_mint, pair.token_b_mint, pair.ratio_a, pair.ratio_b)
    assert pool.pool_state == key("4EzXgF5BfXERPs5uSm9Vo8mDy1UQSJfzoJ4JhbDadKZe")


def test_ratio_orientation_changes_the_pool():
    straight = find_pool_state(LOCALNET_PROGRAM_ID, MINT_1, MINT_2, RATIO_A, RATIO_B)[0]
    reversed_ratio = find_pool_state(LOCALNET_PROGRAM_ID, MINT_1, MINT_2, RATIO_B, RATIO_A)[0]
    assert straight != reversed_ratio
