"""Fixed facts of FRT v0.17.1070 (shared/frt/CONTRACT.md §1, §5, §8)."""
from solders.pubkey import Pubkey

VERSION = "0.17.1070"

LOCALNET_PROGRAM_ID = Pubkey.from_string("4aeVqtWhrUh6wpX8acNj2hpWXKEQwxjA3PYb2sHhNyCn")
DEVNET_PROGRAM_ID = Pubkey.from_string("9iqh69RqeG3RRrFBNZVoE77TMRvYboFUtC2sykaFVzB7")
MAINNET_PROGRAM_ID = Pubkey.from_string("quXSYkeZ8ByTCtYY1J1uxQmE36UZ3LmNGgE3CYMFixD")

SYSTEM_PROGRAM_ID = Pubkey.from_string("11111111111111111111111111111111")
TOKEN_PROGRAM_ID = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
ASSOCIATED_TOKEN_PROGRAM_ID = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
RENT_SYSVAR_ID = Pubkey.from_string("SysvarRent111111111111111111111111111111111")
COMPUTE_BUDGET_PROGRAM_ID = Pubkey.from_string("ComputeBudget111111111111111111111111111111")
BPF_LOADER_UPGRADEABLE_ID = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")

# Account sizes (bytes).
POOL_STATE_SIZE = 438
POOL_STATE_MEMORY_SIZE = 440  # what ConsolidatePoolFees uses for rent (§13 #3)
SYSTEM_STATE_SIZE = 83
MAIN_TREASURY_SIZE = 136
TOKEN_ACCOUNT_SIZE = 165
MINT_SIZE = 82

# Fees and limits (lamports unless noted).
REGISTRATION_FEE = 1_150_000_000
DEFAULT_LIQUIDITY_FEE = 13_000_000
DEFAULT_SWAP_FEE = 271_500
MIN_LIQUIDITY_FEE, MAX_LIQUIDITY_FEE = 100_000, 100_000_000
MIN_SWAP_FEE, MAX_SWAP_FEE = 10_000, 10_000_000
MIN_DONATION = 100_000_000
MIN_TREASURY_WITHDRAWAL = 10_000_000
RESTART_PENALTY_SECONDS = 255_600
ADMIN_CHANGE_DELAY_SECONDS = 259_200
LAMPORTS_PER_SIGNATURE = 5_000

# Pool state flag bits (§5.1).
FLAG_SIMPLE_RATIO = 1
FLAG_LIQUIDITY_PAUSED = 2
FLAG_SWAPS_PAUSED = 4
FLAG_WITHDRAWAL_PROTECTION = 8
FLAG_SINGLE_LP_TOKEN = 16
FLAG_SWAP_FOR_OWNERS_ONLY = 32
FLAG_EXACT_EXCHANGE_REQUIRED = 64
CREATION_FLAGS_HONOURED = FLAG_SWAP_FOR_OWNERS_ONLY | FLAG_EXACT_EXCHANGE_REQUIRED

# PausePool / UnpausePool instruction bits (they map to different state bits, §4.6).
PAUSE_IX_LIQUIDITY = 1
PAUSE_IX_SWAPS = 2

# Compute-unit limits to request per instruction (§11, with headroom).
CU_LIMITS = {
    "initialize_program": 200_000,
    "initialize_pool": 500_000,
    "deposit": 400_000,
    "withdraw": 400_000,
    "swap": 350_000,
    "admin": 150_000,
}


def rent_exempt_minimum(data_len: int) -> int:
    """Default Solana rent for an account of `data_len` bytes."""
    return (128 + data_len) * 3480 * 2
