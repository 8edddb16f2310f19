"""Program-derived addresses of FRT and token-pair normalization (CONTRACT.md §1, §3, §6)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from solders.pubkey import Pubkey

from engine.frt.constants import BPF_LOADER_UPGRADEABLE_ID

SYSTEM_STATE_SEED = b"system_state"
MAIN_TREASURY_SEED = b"main_treasury"
POOL_STATE_SEED = b"pool_state"
TOKEN_A_VAULT_SEED = b"token_a_vault"
TOKEN_B_VAULT_SEED = b"token_b_vault"
LP_TOKEN_A_MINT_SEED = b"lp_token_a_mint"
LP_TOKEN_B_MINT_SEED = b"lp_token_b_mint"

# find_program_address is a bump search costing up to 255 hashes; every address here is a pure
# function of its inputs, so a process-wide cache is safe.
_CACHE_SIZE = 65_536


def _u64_le(value: int) -> bytes:
    return value.to_bytes(8, "little")


@lru_cache(maxsize=_CACHE_SIZE)
def _find(seeds: tuple[bytes, ...], program_id: Pubkey) -> tuple[Pubkey, int]:
    return Pubkey.find_program_address(list(seeds), program_id)


def find_system_state(program_id: Pubkey) -> tuple[Pubkey, int]:
    return _find((SYSTEM_STATE_SEED,), program_id)


def find_main_treasury(program_id: Pubkey) -> tuple[Pubkey, int]:
    return _find((MAIN_TREASURY_SEED,), program_id)


def find_program_data(program_id: Pubkey) -> tuple[Pubkey, int]:
    """The ProgramData account of an upgradeable program (derived under the loader)."""
    return _find((bytes(program_id),), BPF_LOADER_UPGRADEABLE_ID)


def find_pool_state(
    program_id: Pubkey, token_a_mint: Pubkey, token_b_mint: Pubkey, ratio_a: int, ratio_b: int
) -> tuple[Pubkey, int]:
    """Pool PDA; the mints must already be sorted and the ratios are used exactly as given."""
    seeds = (POOL_STATE_SEED, bytes(token_a_mint), bytes(token_b_mint), _u64_le(ratio_a), _u64_le(ratio_b))
    return _find(seeds, program_id)


def find_token_a_vault(program_id: Pubkey, pool: Pubkey) -> tuple[Pubkey, int]:
    return _find((TOKEN_A_VAULT_SEED, bytes(pool)), program_id)


def find_token_b_vault(program_id: Pubkey, pool: Pubkey) -> tuple[Pubkey, int]:
    return _find((TOKEN_B_VAULT_SEED, bytes(pool)), program_id)


def find_lp_token_a_mint(program_id: Pubkey, pool: Pubkey) -> tuple[Pubkey, int]:
    return _find((LP_TOKEN_A_MINT_SEED, bytes(pool)), program_id)


def find_lp_token_b_mint(program_id: Pubkey, pool: Pubkey) -> tuple[Pubkey, int]:
    return _find((LP_TOKEN_B_MINT_SEED, bytes(pool)), program_id)


def is_sorted(first: Pubkey, second: Pubkey) -> bool:
    """True when `first` may be token A and `second` token B (equal mints count as sorted)."""
    return bytes(first) <= bytes(second)


def sort_mints(m1: Pubkey, m2: Pubkey) -> tuple[Pubkey, Pubkey]:
    """(token A, token B): the mint with the lower raw bytes comes first, like Rust's Pubkey Ord."""
    return (m1, m2) if bytes(m1) < bytes(m2) else (m2, m1)


@dataclass(frozen=True)
class NormalizedPair:
    token_a_mint: Pubkey
    token_b_mint: Pubkey
    ratio_a: int
    ratio_b: int
    swapped: bool  # True when the caller's first token became token B


def normalize_pair(mint_x: Pubkey, mint_y: Pubkey, ratio_x: int, ratio_y: int) -> NormalizedPair:
    """Orient "ratio_x units of X are worth ratio_y units of Y" onto the sorted (A, B) pair."""
    if bytes(mint_x) <= bytes(mint_y):
        return NormalizedPair(mint_x, mint_y, ratio_x, ratio_y, swapped=False)
    return NormalizedPair(mint_y, mint_x, ratio_y, ratio_x, swapped=True)


@dataclass(frozen=True)
class PoolAddresses:
    """Every address of one pool, as InitializePool derives them."""

    pool_state: Pubkey
    token_a_mint: Pubkey
    token_b_mint: Pubkey
    token_a_vault: Pubkey
    token_b_vault: Pubkey
    lp_token_a_mint: Pubkey
    lp_token_b_mint: Pubkey
    ratio_a: int
    ratio_b: int
    pool_bump: int
    token_a_vault_bump: int
    token_b_vault_bump: int
    lp_token_a_mint_bump: int
    lp_token_b_mint_bump: int

    def _is_token_a(self, mint: Pubkey) -> bool:
        if mint == self.token_a_mint:
            return True
        if mint == self.token_b_mint:
            return False
        raise ValueError(f"{mint} is not a token of pool {self.pool_state}")

    def vault_for(self, mint: Pubkey) -> Pubkey:
        return self.token_a_vault if self._is_token_a(mint) else self.token_b_vault

    def lp_mint_for(self, mint: Pubkey) -> Pubkey:
        return self.lp_token_a_mint if self._is_token_a(mint) else self.lp_token_b_mint

    def other_mint(self, mint: Pubkey) -> Pubkey:
        """The pool's other token (the output mint of a swap whose input is `mint`)."""
        return self.token_b_mint if self._is_token_a(mint) else self.token_a_mint


@lru_cache(maxsize=_CACHE_SIZE)
def derive_pool(
    program_id: Pubkey, token_a_mint: Pubkey, token_b_mint: Pubkey, ratio_a: int, ratio_b: int
) -> PoolAddresses:
    if not is_sorted(token_a_mint, token_b_mint):
        raise ValueError("token_a_mint must sort before token_b_mint (use sort_mints / normalize_pair)")
    pool, pool_bump = find_pool_state(program_id, token_a_mint, token_b_mint, ratio_a, ratio_b)
    vault_a, vault_a_bump = find_token_a_vault(program_id, pool)
    vault_b, vault_b_bump = find_token_b_vault(program_id, pool)
    lp_a, lp_a_bump = find_lp_token_a_mint(program_id, pool)
    lp_b, lp_b_bump = find_lp_token_b_mint(program_id, pool)
    return PoolAddresses(
        pool_state=pool,
        token_a_mint=token_a_mint,
        token_b_mint=token_b_mint,
        token_a_vault=vault_a,
        token_b_vault=vault_b,
        lp_token_a_mint=lp_a,
        lp_token_b_mint=lp_b,
        ratio_a=ratio_a,
        ratio_b=ratio_b,
        pool_bump=pool_bump,
        token_a_vault_bump=vault_a_bump,
        token_b_vault_bump=vault_b_bump,
        lp_token_a_mint_bump=lp_a_bump,
        lp_token_b_mint_bump=lp_b_bump,
    )
