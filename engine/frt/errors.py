"""Errors of FRT v0.17.1070 and the Solana runtime, and how a stress tester judges them.

CONTRACT.md §9. Three things live here:

* `ProgramError` — what the math model and the emulator raise (an instruction error in the
  canonical JSON form the Solana JSON-RPC API uses).
* The tables — FRT custom codes, SPL Token / System / ATA custom codes, builtin instruction
  errors and transaction-level errors.
* `classify` — turns any failed-transaction error (solders object, RPC JSON, ProgramError)
  into a `ClassifiedError` whose category is "expected", "unexpected" or "transient".

Canonical JSON forms (as in `getSignatureStatuses` / `sendTransaction` responses):
    {"InstructionError": [1, {"Custom": 1035}]}   {"InstructionError": [0, "InvalidArgument"]}
    "BlockhashNotFound"   {"InsufficientFundsForRent": {"account_index": 2}}
    {"DuplicateInstruction": 3}   {"ProgramExecutionTemporarilyRestricted": {"account_index": 4}}
Borsh failures are rendered as the unit form "BorshIoError": that is what current clusters
send and the only form solders (hence solana-py) can parse; `{"BorshIoError": "..."}` is
accepted on input and its text kept as the ProgramError message.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Union

from solders.pubkey import Pubkey
from solders.transaction_status import (
    InstructionErrorBorshIO,
    InstructionErrorCustom,
    InstructionErrorFieldless,
    TransactionErrorDuplicateInstruction,
    TransactionErrorFieldless,
    TransactionErrorInstructionError,
    TransactionErrorInsufficientFundsForRent,
    TransactionErrorProgramExecutionTemporarilyRestricted,
)

from engine.frt.constants import (
    ASSOCIATED_TOKEN_PROGRAM_ID,
    COMPUTE_BUDGET_PROGRAM_ID,
    DEVNET_PROGRAM_ID,
    LOCALNET_PROGRAM_ID,
    MAINNET_PROGRAM_ID,
    SYSTEM_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
)

EXPECTED, UNEXPECTED, TRANSIENT = "expected", "unexpected", "transient"

FRT, SPL_TOKEN, SYSTEM, ASSOCIATED_TOKEN, COMPUTE_BUDGET = (
    "frt", "spl-token", "system", "associated-token", "compute-budget",
)

RpcErrorJson = Union[str, dict]
"""Canonical RPC JSON of a transaction error (or, inside it, of an instruction error)."""

SoldersTransactionError = Union[
    TransactionErrorInstructionError,
    TransactionErrorFieldless,
    TransactionErrorInsufficientFundsForRent,
    TransactionErrorDuplicateInstruction,
    TransactionErrorProgramExecutionTemporarilyRestricted,
]

# snake_case names of the FRT instructions, as used for `operation`.
FRT_OPERATIONS = frozenset({
    "initialize_program", "initialize_pool", "deposit", "withdraw", "swap",
    "pause_system", "unpause_system", "withdraw_treasury_fees", "consolidate_pool_fees",
    "pause_pool", "unpause_pool", "set_swap_owner_only", "update_pool_fees", "donate_sol",
    "process_admin_change",
})


# ------------------------------------------------------------------------------------------
# Tables
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ErrorInfo:
    """One custom error code of a program.

    `expected`: True/False = always expected/unexpected for a stress tester (§9.2);
    None = depends on the operation context (see `classify`).
    """

    code: int
    hex: str
    name: str
    emitted: bool
    expected: bool | None
    meaning: str


def _table(rows: Sequence[tuple[int, str, bool, bool | None, str]]) -> dict[int, ErrorInfo]:
    return {code: ErrorInfo(code, hex(code), name, emitted, expected, meaning)
            for code, name, emitted, expected, meaning in rows}


_NEVER = "declared, never emitted by v0.17.1070"

# FRT custom codes (§9.1). Names that collide with builtin instruction errors carry a
# "Custom" prefix so that a name alone identifies the error (1003, 1019).
CUSTOM_ERRORS: dict[int, ErrorInfo] = _table([
    (1001, "InvalidTokenPair", False, False, _NEVER),
    (1002, "InvalidRatio", False, False, _NEVER),
    (1003, "CustomInsufficientFunds", False, False, _NEVER),
    (1004, "InvalidTokenAccount", False, False, _NEVER),
    (1005, "InvalidSwapAmount", False, False, _NEVER),
    (1006, "RentExemptError", False, False, _NEVER),
    (1007, "PoolPaused", False, False, _NEVER),
    (1012, "Unauthorized", False, False, _NEVER),
    (1019, "CustomArithmeticOverflow", True, True, "swap output exceeds u64"),
    (1023, "SystemPaused", True, True, "the system is paused"),
    (1024, "SystemAlreadyPaused", True, True, "PauseSystem while already paused"),
    (1025, "SystemNotPaused", True, True, "UnpauseSystem while not paused"),
    (1026, "UnauthorizedAccess", False, False, _NEVER),
    (1027, "PoolSwapsPaused", True, True, "swaps of this pool are paused"),
    (1028, "SwapAccessRestricted", True, True, "owner-only pool, signer is not pool.owner"),
    (1029, "PoolSwapsAlreadyPaused", False, False, _NEVER),
    (1030, "PoolSwapsNotPaused", False, False, _NEVER),
    (1031, "InsufficientFeeBalance", True, True, "payer has fewer lamports than the SOL fee"),
    (1032, "FeeCollectionFailed", False, False, _NEVER),
    (1033, "FeeValidationFailed", True, False,
     "pool/treasury account not writable, or fee counter overflow"),
    (1034, "TreasuryValidationFailed", True, False,
     "wrong treasury at pool creation, or pool_id differs from the pool account"),
    (1035, "PoolLiquidityPaused", True, True, "deposits/withdrawals of this pool are paused"),
    (1036, "InvalidSystemStateDeserialization", True, False,
     "ConsolidatePoolFees could not decode SystemState"),
    (1037, "ConsolidationFailed", False, False, _NEVER),
    (1038, "InvalidConsolidationBatch", False, False, _NEVER),
    (1039, "PoolNotEligibleForConsolidation", False, False, _NEVER),
    (1040, "ConsolidationRaceCondition", False, False, _NEVER),
    (1041, "NoPoolsEligibleForConsolidation", False, False, _NEVER),
    (1042, "UnauthorizedFeeUpdate", False, False, _NEVER),
    (1043, "InvalidFeeUpdateFlags", True, True, "UpdatePoolFees flags not in {1, 2, 3}"),
    (1044, "InvalidLiquidityFee", True, True, "liquidity fee outside 100,000..100,000,000"),
    (1045, "InvalidSwapFee", True, True, "swap fee outside 10,000..10,000,000"),
    (1046, "FeeUpdateValidationFailed", False, False, _NEVER),
    (1047, "AmountMismatch", True, None,
     "expected_amount_out differs from the output, or exact-mode remainder"),
    (1048, "UnsafeRatioValues", False, False, _NEVER),
    (1049, "UnsupportedRatioType", True, True, "pool ratio classifies as Engineering"),
    (3001, "LpRatioViolation", True, False, "deposit minted a different LP amount (strict 1:1)"),
    (4001, "UserLpAccountMissing", True, False,
     "user LP token account missing or invalid (create the LP ATA first)"),
])

# Classic SPL Token program errors (TokenError enum).
SPL_TOKEN_ERRORS: dict[int, ErrorInfo] = _table([
    (0, "SplNotRentExempt", True, None, "lamport balance below rent-exempt threshold"),
    (1, "SplInsufficientFunds", True, None, "insufficient token balance (burn/transfer)"),
    (2, "SplInvalidMint", True, None, "invalid mint"),
    (3, "SplMintMismatch", True, None, "account not associated with this mint"),
    (4, "SplOwnerMismatch", True, None, "owner does not match"),
    (5, "SplFixedSupply", True, None, "token supply is fixed"),
    (6, "SplAlreadyInUse", True, None, "account or token already in use"),
    (7, "SplInvalidNumberOfProvidedSigners", True, None, "invalid number of provided signers"),
    (8, "SplInvalidNumberOfRequiredSigners", True, None, "invalid number of required signers"),
    (9, "SplUninitializedState", True, None, "state is uninitialized"),
    (10, "SplNativeNotSupported", True, None, "instruction does not support native tokens"),
    (11, "SplNonNativeHasBalance", True, None, "non-native account can only be closed empty"),
    (12, "SplInvalidInstruction", True, None, "invalid instruction"),
    (13, "SplInvalidState", True, None, "state is invalid for requested operation"),
    (14, "SplOverflow", True, None, "operation overflowed"),
    (15, "SplAuthorityTypeNotSupported", True, None, "authority type not supported"),
    (16, "SplMintCannotFreeze", True, None, "this token mint cannot freeze accounts"),
    (17, "SplAccountFrozen", True, None, "account is frozen"),
    (18, "SplMintDecimalsMismatch", True, None, "mint decimals mismatch"),
    (19, "SplNonNativeNotSupported", True, None, "instruction does not support non-native tokens"),
])

# System program errors (SystemError enum).
SYSTEM_ERRORS: dict[int, ErrorInfo] = _table([
    (0, "SystemAccountAlreadyInUse", True, None, "create_account on an address holding lamports"),
    (1, "SystemResultWithNegativeLamports", True, None, "source lacks the lamports to move"),
    (2, "SystemInvalidProgramId", True, None, "cannot assign account to this program id"),
    (3, "SystemInvalidAccountDataLength", True, None, "cannot allocate account data of this length"),
    (4, "SystemMaxSeedLengthExceeded", True, None, "length of requested seed is too long"),
    (5, "SystemAddressWithSeedMismatch", True, None, "address does not match derivation"),
    (6, "SystemNonceNoRecentBlockhashes", True, None, "no recent blockhashes for nonce"),
    (7, "SystemNonceBlockhashNotExpired", True, None, "stored nonce is still in recent_blockhashes"),
    (8, "SystemNonceUnexpectedBlockhashValue", True, None, "nonce does not match"),
])

# Associated Token Account program errors.
ATA_ERRORS: dict[int, ErrorInfo] = _table([
    (0, "AtaInvalidOwner", True, None, "owner does not match the address derivation"),
])

CUSTOM_TABLES: dict[str, dict[int, ErrorInfo]] = {
    FRT: CUSTOM_ERRORS,
    SPL_TOKEN: SPL_TOKEN_ERRORS,
    SYSTEM: SYSTEM_ERRORS,
    ASSOCIATED_TOKEN: ATA_ERRORS,
}

# Builtin instruction errors -> the runtime's display text (also what "Program X failed: ..."
# log lines show).
BUILTIN_ERRORS: dict[str, str] = {
    "GenericError": "generic instruction error",
    "InvalidArgument": "invalid program argument",
    "InvalidInstructionData": "invalid instruction data",
    "InvalidAccountData": "invalid account data for instruction",
    "AccountDataTooSmall": "account data too small for instruction",
    "InsufficientFunds": "insufficient funds for instruction",
    "IncorrectProgramId": "incorrect program id for instruction",
    "MissingRequiredSignature": "missing required signature for instruction",
    "AccountAlreadyInitialized": "instruction requires an uninitialized account",
    "UninitializedAccount": "instruction requires an initialized account",
    "UnbalancedInstruction": "sum of account balances before and after instruction do not match",
    "ModifiedProgramId": "instruction illegally modified the program id of an account",
    "ExternalAccountLamportSpend": "instruction spent from the balance of an account it does not own",
    "ExternalAccountDataModified": "instruction modified data of an account it does not own",
    "ReadonlyLamportChange": "instruction changed the balance of a read-only account",
    "ReadonlyDataModified": "instruction modified data of a read-only account",
    "DuplicateAccountIndex": "instruction contains duplicate accounts",
    "ExecutableModified": "instruction changed executable bit of an account",
    "RentEpochModified": "instruction modified rent epoch of an account",
    "NotEnoughAccountKeys": "insufficient account keys for instruction",
    "AccountDataSizeChanged": "program other than the account's owner changed the size of the account data",
    "AccountNotExecutable": "instruction expected an executable account",
    "AccountBorrowFailed": "instruction tries to borrow reference for an account which is already borrowed",
    "AccountBorrowOutstanding": "instruction left account with an outstanding borrowed reference",
    "DuplicateAccountOutOfSync": "instruction modifications of multiply-passed account differ",
    "InvalidError": "program returned invalid error code",
    "ExecutableDataModified": "instruction changed executable accounts data",
    "ExecutableLamportChange": "instruction changed the balance of an executable account",
    "ExecutableAccountNotRentExempt": "executable accounts must be rent exempt",
    "UnsupportedProgramId": "Unsupported program id",
    "CallDepth": "Cross-program invocation call depth too deep",
    "MissingAccount": "An account required by the instruction is missing",
    "ReentrancyNotAllowed": "Cross-program invocation reentrancy not allowed for this instruction",
    "MaxSeedLengthExceeded": "Length of the seed is too long for address generation",
    "InvalidSeeds": "Provided seeds do not result in a valid address",
    "InvalidRealloc": "Failed to reallocate account data",
    "ComputationalBudgetExceeded": "Computational budget exceeded",
    "PrivilegeEscalation": "Cross-program invocation with unauthorized signer or writable account",
    "ProgramEnvironmentSetupFailure": "Failed to create program execution environment",
    "ProgramFailedToComplete": "Program failed to complete",
    "ProgramFailedToCompile": "Program failed to compile",
    "Immutable": "Account is immutable",
    "IncorrectAuthority": "Incorrect authority provided",
    "BorshIoError": "Failed to serialize or deserialize account data",
    "AccountNotRentExempt": "An account does not have enough lamports to be rent-exempt",
    "InvalidAccountOwner": "Invalid account owner",
    "ArithmeticOverflow": "Program arithmetic overflowed",
    "UnsupportedSysvar": "Unsupported sysvar",
    "IllegalOwner": "Provided owner is not allowed",
    "MaxAccountsDataAllocationsExceeded": "Accounts data allocations exceeded the maximum allowed per transaction",
    "MaxAccountsExceeded": "Max accounts exceeded",
    "MaxInstructionTraceLengthExceeded": "Max instruction trace length exceeded",
    "BuiltinProgramsMustConsumeComputeUnits": "Builtin programs must consume compute units",
}

# Builtin errors the FRT program itself returns (§9.1).
FRT_BUILTIN_ERRORS = frozenset({
    "InvalidArgument", "InvalidInstructionData", "InvalidAccountData", "InsufficientFunds",
    "MissingRequiredSignature", "AccountAlreadyInitialized", "UninitializedAccount",
    "NotEnoughAccountKeys", "IncorrectProgramId", "ArithmeticOverflow", "AccountDataTooSmall",
    "BorshIoError",
})


@dataclass(frozen=True)
class TransactionErrorInfo:
    name: str
    category: str
    meaning: str


def _tx_table(rows: Sequence[tuple[str, str, str]]) -> dict[str, TransactionErrorInfo]:
    return {name: TransactionErrorInfo(name, category, meaning) for name, category, meaning in rows}


# Transaction-level errors (not inside an instruction). "transient" = a backend may retry.
TRANSACTION_ERRORS: dict[str, TransactionErrorInfo] = _tx_table([
    ("AccountInUse", TRANSIENT, "an account is locked by a transaction being processed"),
    ("AccountLoadedTwice", UNEXPECTED, "a pubkey appears twice in the account keys"),
    ("AccountNotFound", EXPECTED, "fee payer has no lamports (never funded or drained to 0)"),
    ("ProgramAccountNotFound", UNEXPECTED, "the invoked program does not exist"),
    ("InsufficientFundsForFee", EXPECTED, "fee payer cannot pay the transaction fee"),
    ("InvalidAccountForFee", UNEXPECTED, "this account may not pay transaction fees"),
    ("AlreadyProcessed", TRANSIENT, "this transaction has already been processed"),
    ("BlockhashNotFound", TRANSIENT, "blockhash not found (expired or not yet seen)"),
    ("CallChainTooDeep", UNEXPECTED, "loader call chain is too deep"),
    ("MissingSignatureForFee", UNEXPECTED, "transaction requires a fee but has no signature"),
    ("InvalidAccountIndex", UNEXPECTED, "transaction contains an invalid account reference"),
    ("SignatureFailure", UNEXPECTED, "transaction did not pass signature verification"),
    ("InvalidProgramForExecution", UNEXPECTED, "this program may not be used for executing instructions"),
    ("SanitizeFailure", UNEXPECTED, "transaction failed to sanitize accounts offsets correctly"),
    ("ClusterMaintenance", TRANSIENT, "transactions are currently disabled due to cluster maintenance"),
    ("AccountBorrowOutstanding", UNEXPECTED, "transaction processing left an account with an outstanding borrowed reference"),
    ("WouldExceedMaxBlockCostLimit", TRANSIENT, "would exceed the block cost limit"),
    ("UnsupportedVersion", UNEXPECTED, "transaction version is unsupported"),
    ("InvalidWritableAccount", UNEXPECTED, "transaction loads a writable account that cannot be written"),
    ("WouldExceedMaxAccountCostLimit", TRANSIENT, "would exceed the account cost limit within the block"),
    ("WouldExceedAccountDataBlockLimit", TRANSIENT, "would exceed the account data limit within the block"),
    ("TooManyAccountLocks", UNEXPECTED, "transaction locked too many accounts"),
    ("AddressLookupTableNotFound", UNEXPECTED, "address lookup table not found"),
    ("InvalidAddressLookupTableOwner", UNEXPECTED, "address lookup table has an invalid owner"),
    ("InvalidAddressLookupTableData", UNEXPECTED, "address lookup table has invalid data"),
    ("InvalidAddressLookupTableIndex", UNEXPECTED, "address lookup table index is invalid"),
    ("InvalidRentPayingAccount", UNEXPECTED, "transaction leaves an account with a lower balance than rent-exempt minimum"),
    ("WouldExceedMaxVoteCostLimit", TRANSIENT, "would exceed the vote cost limit"),
    ("WouldExceedAccountDataTotalLimit", TRANSIENT, "would exceed the total account data limit"),
    ("DuplicateInstruction", UNEXPECTED, "transaction contains a duplicate instruction that is not allowed"),
    ("InsufficientFundsForRent", EXPECTED, "an account would be left with 0 < lamports < rent-exempt minimum (wallet out of SOL)"),
    ("MaxLoadedAccountsDataSizeExceeded", UNEXPECTED, "loaded accounts data size exceeds the limit"),
    ("InvalidLoadedAccountsDataSizeLimit", UNEXPECTED, "invalid loaded accounts data size limit"),
    ("ResanitizationNeeded", TRANSIENT, "sanitized transaction differed before/after feature activation"),
    ("ProgramExecutionTemporarilyRestricted", TRANSIENT, "program execution is temporarily restricted on an account"),
    ("UnbalancedTransaction", UNEXPECTED, "sum of account balances before and after transaction do not match"),
    ("ProgramCacheHitMaxLimit", TRANSIENT, "program cache hit max limit"),
    ("CommitCancelled", TRANSIENT, "commit cancelled internally"),
])

# Transaction errors whose RPC JSON carries a value: name -> field layout.
_TX_ERRORS_WITH_ACCOUNT_INDEX = ("InsufficientFundsForRent", "ProgramExecutionTemporarilyRestricted")
_TX_ERROR_WITH_INSTRUCTION_INDEX = "DuplicateInstruction"
_FIELDLESS_TX_ERRORS = frozenset(TRANSACTION_ERRORS) - {
    *_TX_ERRORS_WITH_ACCOUNT_INDEX, _TX_ERROR_WITH_INSTRUCTION_INDEX}


# ------------------------------------------------------------------------------------------
# Classification rules (§9.2)
# ------------------------------------------------------------------------------------------

ANY_OPERATION = "*"

# Builtin errors returned by the FRT program -> operations where they are business outcomes.
BUILTIN_EXPECTED_IN: dict[str, frozenset[str] | str] = {
    "InvalidArgument": ANY_OPERATION,  # zero amount, dust swap, deliberately bad arguments
    "InsufficientFunds": frozenset({"swap", "deposit", "withdraw_treasury_fees", "donate_sol"}),
    "InvalidAccountData": frozenset({"swap"}),  # user input balance < amount_in (pre-check it)
    "AccountAlreadyInitialized": frozenset({"initialize_pool"}),  # racing creators
    "InvalidInstructionData": frozenset({"withdraw_treasury_fees"}),  # cooldown / limits
}

# Custom codes of CPI'd programs -> operations where they are business outcomes.
CPI_EXPECTED_IN: dict[tuple[str, int], frozenset[str] | str] = {
    (SPL_TOKEN, 1): frozenset({"withdraw"}),  # vault side drained, or user LP short
    (SYSTEM, 1): ANY_OPERATION,  # wallet out of SOL
}

# Which program a small custom code inside an FRT instruction comes from when the logs do
# not say (FRT's own codes are all >= 1001).
CPI_PROGRAM_BY_OPERATION: dict[str, str] = {
    "initialize_program": SYSTEM,
    "initialize_pool": SYSTEM,
    "deposit": SPL_TOKEN,
    "withdraw": SPL_TOKEN,
    "swap": SPL_TOKEN,
    "donate_sol": SYSTEM,
}

_NAMED_PROGRAMS: dict[str, str] = {
    str(SYSTEM_PROGRAM_ID): SYSTEM,
    str(TOKEN_PROGRAM_ID): SPL_TOKEN,
    str(ASSOCIATED_TOKEN_PROGRAM_ID): ASSOCIATED_TOKEN,
    str(COMPUTE_BUDGET_PROGRAM_ID): COMPUTE_BUDGET,
    str(LOCALNET_PROGRAM_ID): FRT,
    str(DEVNET_PROGRAM_ID): FRT,
    str(MAINNET_PROGRAM_ID): FRT,
}


def program_label(program_id: str | Pubkey, frt_program_id: str | Pubkey | None = None) -> str:
    """"frt", "spl-token", "system", ... for known programs, else the base58 id itself."""
    key = str(program_id)
    if frt_program_id is not None and key == str(frt_program_id):
        return FRT
    return _NAMED_PROGRAMS.get(key, key)


# ------------------------------------------------------------------------------------------
# Instruction errors: canonical form, names, display text
# ------------------------------------------------------------------------------------------

def _enum_member_name(value: Any) -> str:
    # solders fieldless enums print as "TransactionErrorFieldless.BlockhashNotFound".
    return str(value).rsplit(".", 1)[-1]


def instruction_error_json(error: Any) -> RpcErrorJson:
    """Canonical JSON of an instruction error given in any supported form.

    Accepts "InvalidArgument", {"Custom": n}, an int n (= Custom(n)), {"BorshIoError": text},
    and the solders InstructionErrorCustom / InstructionErrorFieldless / InstructionErrorBorshIO.
    """
    if isinstance(error, InstructionErrorCustom):
        return {"Custom": error.code}
    if isinstance(error, InstructionErrorFieldless):
        return _enum_member_name(error)
    if isinstance(error, InstructionErrorBorshIO):
        return "BorshIoError"
    if isinstance(error, bool):
        raise ValueError(f"not an instruction error: {error!r}")
    if isinstance(error, int):
        return {"Custom": _u32(error)}
    if isinstance(error, str):
        if error not in BUILTIN_ERRORS:
            raise ValueError(f"unknown builtin instruction error: {error!r}")
        return error
    if isinstance(error, Mapping) and len(error) == 1:
        (key, value), = error.items()
        if key == "Custom":
            return {"Custom": _u32(value)}
        if key == "BorshIoError":
            return "BorshIoError"
    raise ValueError(f"not an instruction error: {error!r}")


def _u32(value: Any) -> int:
    code = int(value)
    if not 0 <= code < 2**32:
        raise ValueError(f"custom error code out of u32 range: {value!r}")
    return code


def custom_code(instruction_error: RpcErrorJson) -> int | None:
    """The n of {"Custom": n}, else None."""
    if isinstance(instruction_error, Mapping):
        return instruction_error.get("Custom")
    return None


def error_name(instruction_error: RpcErrorJson, program: str | None = FRT) -> str:
    """Name of a canonical instruction error, custom codes read in `program`'s table."""
    code = custom_code(instruction_error)
    if code is None:
        return str(instruction_error)
    info = CUSTOM_TABLES.get(program or "", {}).get(code)
    return info.name if info else f"Custom({code})"


def error_text(instruction_error: RpcErrorJson) -> str:
    """The runtime's display text, e.g. "custom program error: 0x40b"."""
    code = custom_code(instruction_error)
    if code is not None:
        return f"custom program error: {hex(code)}"
    return BUILTIN_ERRORS.get(str(instruction_error), str(instruction_error))


def error_meaning(instruction_error: RpcErrorJson, program: str | None = FRT) -> str:
    code = custom_code(instruction_error)
    if code is None:
        return ""
    info = CUSTOM_TABLES.get(program or "", {}).get(code)
    return info.meaning if info else ""


# ------------------------------------------------------------------------------------------
# ProgramError
# ------------------------------------------------------------------------------------------

class ProgramError(Exception):
    """An instruction error raised by the model / emulator.

    `error` is the canonical instruction-error JSON ("InvalidArgument", {"Custom": 1035}, ...).
    `program` names the program that really failed when it is not FRT itself: "spl-token" or
    "system" for failures of FRT's CPIs (e.g. SPL Custom(1) on a withdraw burn).
    """

    def __init__(self, error: Any, message: str = "", *, program: str | None = None):
        if isinstance(error, Mapping) and "BorshIoError" in error and not message:
            message = str(error["BorshIoError"])
        self.error: RpcErrorJson = instruction_error_json(error)
        self.message = message
        self.program = program
        super().__init__(self.error, message)

    @classmethod
    def custom(cls, code: int, message: str = "", *, program: str | None = None) -> "ProgramError":
        return cls({"Custom": code}, message, program=program)

    @property
    def code(self) -> int | None:
        return custom_code(self.error)

    @property
    def name(self) -> str:
        return error_name(self.error, self.program or FRT)

    def __str__(self) -> str:
        text = error_text(self.error)
        if self.code is not None:
            text = f"{text} ({self.name})"
        if self.program and self.program != FRT:
            text = f"{self.program}: {text}"
        return f"{text}: {self.message}" if self.message else text

    def __repr__(self) -> str:
        extra = f", program={self.program!r}" if self.program else ""
        return f"ProgramError({self.error!r}, {self.message!r}{extra})"

    def __reduce__(self):
        return (_rebuild_program_error, (self.error, self.message, self.program))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProgramError):
            return NotImplemented
        return (self.error, self.program) == (other.error, other.program)

    __hash__ = Exception.__hash__


def _rebuild_program_error(error: RpcErrorJson, message: str, program: str | None) -> ProgramError:
    return ProgramError(error, message, program=program)


# ------------------------------------------------------------------------------------------
# Transaction errors: solders <-> canonical RPC JSON
# ------------------------------------------------------------------------------------------

def to_rpc_json(err: Any, instruction_index: int | None = None) -> RpcErrorJson:
    """Canonical RPC JSON of a transaction error.

    `err`: a solders TransactionError object, an RPC JSON form (normalised), or a
    `ProgramError` (wrapped as an InstructionError at `instruction_index`, default 0).
    """
    if isinstance(err, ProgramError):
        return {"InstructionError": [instruction_index or 0, err.error]}
    if isinstance(err, TransactionErrorInstructionError):
        return {"InstructionError": [err.index, instruction_error_json(err.err)]}
    if isinstance(err, TransactionErrorFieldless):
        return _enum_member_name(err)
    if isinstance(err, TransactionErrorInsufficientFundsForRent):
        return {"InsufficientFundsForRent": {"account_index": err.account_index}}
    if isinstance(err, TransactionErrorProgramExecutionTemporarilyRestricted):
        return {"ProgramExecutionTemporarilyRestricted": {"account_index": err.account_index}}
    if isinstance(err, TransactionErrorDuplicateInstruction):
        return {_TX_ERROR_WITH_INSTRUCTION_INDEX: err.index}
    return _normalise_rpc_json(err)


def _normalise_rpc_json(obj: Any) -> RpcErrorJson:
    if isinstance(obj, str):
        if obj not in _FIELDLESS_TX_ERRORS:
            raise ValueError(f"unknown transaction error: {obj!r}")
        return obj
    if isinstance(obj, Mapping) and len(obj) == 1:
        (key, value), = obj.items()
        if key == "InstructionError":
            index, instruction_error = value
            return {"InstructionError": [int(index), instruction_error_json(instruction_error)]}
        if key in _TX_ERRORS_WITH_ACCOUNT_INDEX:
            return {key: {"account_index": int(value["account_index"])}}
        if key == _TX_ERROR_WITH_INSTRUCTION_INDEX:
            return {key: int(value)}
    raise ValueError(f"not a transaction error: {obj!r}")


def from_rpc_json(obj: Any) -> SoldersTransactionError:
    """The solders TransactionError object for an RPC JSON form (inverse of `to_rpc_json`)."""
    canonical = _normalise_rpc_json(obj)
    if isinstance(canonical, str):
        return getattr(TransactionErrorFieldless, canonical)
    (key, value), = canonical.items()
    if key == "InstructionError":
        index, instruction_error = value
        return TransactionErrorInstructionError(index, _solders_instruction_error(instruction_error))
    if key == "InsufficientFundsForRent":
        return TransactionErrorInsufficientFundsForRent(value["account_index"])
    if key == "ProgramExecutionTemporarilyRestricted":
        return TransactionErrorProgramExecutionTemporarilyRestricted(value["account_index"])
    return TransactionErrorDuplicateInstruction(value)


def _solders_instruction_error(instruction_error: RpcErrorJson):
    code = custom_code(instruction_error)
    if code is not None:
        return InstructionErrorCustom(code)
    return getattr(InstructionErrorFieldless, str(instruction_error))


# ------------------------------------------------------------------------------------------
# Classification
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClassifiedError:
    """A failed transaction (or a failed attempt to send one), judged for a stress tester."""

    raw: Any  # canonical RPC JSON of the transaction error; None for client-side exceptions
    instruction_index: int | None
    program: str | None  # "frt", "spl-token", "system", ..., base58 id, or None
    name: str
    code: int | None
    category: str  # EXPECTED | UNEXPECTED | TRANSIENT
    message: str

    @property
    def is_expected(self) -> bool:
        return self.category == EXPECTED

    @property
    def is_transient(self) -> bool:
        return self.category == TRANSIENT

    @property
    def is_unexpected(self) -> bool:
        return self.category == UNEXPECTED

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_FAILED_LOG_LINE = re.compile(r"^Program (\w+) failed: (.*)$")


def failing_program_from_logs(logs: Sequence[str]) -> str | None:
    """Base58 id of the program where the failure originated.

    A failing CPI aborts the whole transaction, so the first "Program <id> failed: ..." line
    belongs to the innermost (originating) program; the lines after it are its callers.
    """
    for line in logs or ():
        match = _FAILED_LOG_LINE.match(line)
        if match:
            return match.group(1)
    return None


def classify(
    err: Any,
    *,
    instruction_index: int | None = None,
    logs: Sequence[str] = (),
    operation: str | None = None,
    program_ids: Sequence[str | Pubkey] | None = None,
    frt_program_id: str | Pubkey | None = None,
    exact_pool: bool = False,
) -> ClassifiedError:
    """Judge one transaction error.

    err: solders TransactionError, its RPC JSON form, or a ProgramError (then
        `instruction_index` says which top-level instruction raised it; default 0).
    logs: the transaction's log messages, used to find which program really failed.
    operation: snake_case FRT instruction the transaction performs ("swap", ...).
    program_ids: base58 program id of each top-level instruction.
    exact_pool: the pool has EXACT_EXCHANGE_REQUIRED (makes 1047 an expected outcome).
    """
    raw = to_rpc_json(err, instruction_index)
    if not (isinstance(raw, dict) and "InstructionError" in raw):
        return _classify_transaction_error(raw)
    index, instruction_error = raw["InstructionError"]
    declared = (err.program or FRT) if isinstance(err, ProgramError) else None
    program = declared or _failing_program(
        index, instruction_error, logs, program_ids, frt_program_id, operation)
    return _classified_instruction_error(
        raw, index, instruction_error, program, operation, exact_pool,
        detail=err.message if isinstance(err, ProgramError) else "")


def reclassify(
    classified: ClassifiedError, *, operation: str | None, exact_pool: bool = False,
) -> ClassifiedError:
    """The same error judged again with operation context a backend did not have."""
    raw = classified.raw
    if not (isinstance(raw, dict) and "InstructionError" in raw):
        return classified
    if classified.program is None:
        return classify(raw, operation=operation, exact_pool=exact_pool)
    _, instruction_error = raw["InstructionError"]
    category = _instruction_error_category(
        classified.program, instruction_error, operation, exact_pool)
    return replace(classified, category=category)


def _failing_program(
    index: int,
    instruction_error: RpcErrorJson,
    logs: Sequence[str],
    program_ids: Sequence[str | Pubkey] | None,
    frt_program_id: str | Pubkey | None,
    operation: str | None,
) -> str | None:
    from_logs = failing_program_from_logs(logs)
    if from_logs:
        return program_label(from_logs, frt_program_id)
    top_level = None
    if program_ids is not None and 0 <= index < len(program_ids):
        top_level = program_label(program_ids[index], frt_program_id)
    if top_level not in (None, FRT):
        return top_level
    return _guess_program_inside_frt(instruction_error, top_level, operation)


def _guess_program_inside_frt(
    instruction_error: RpcErrorJson, top_level: str | None, operation: str | None,
) -> str | None:
    """Best guess without logs: FRT emits only codes >= 1001, smaller ones come from its CPIs."""
    code = custom_code(instruction_error)
    inside_frt = top_level == FRT or operation in FRT_OPERATIONS
    if code is not None and code in CUSTOM_ERRORS:
        return FRT
    if not inside_frt:
        return None
    if code is None:
        return FRT
    return CPI_PROGRAM_BY_OPERATION.get(operation or "")


def _expected_in(operations: frozenset[str] | str | None, operation: str | None) -> str:
    if operations is None:
        return UNEXPECTED
    if operations == ANY_OPERATION or operation in operations:
        return EXPECTED
    return UNEXPECTED


def _instruction_error_category(
    program: str | None, instruction_error: RpcErrorJson, operation: str | None, exact_pool: bool,
) -> str:
    code = custom_code(instruction_error)
    if code is None:
        if program not in (FRT, None):
            return UNEXPECTED
        return _expected_in(BUILTIN_EXPECTED_IN.get(str(instruction_error)), operation)
    if program != FRT:
        return _expected_in(CPI_EXPECTED_IN.get((program or "", code)), operation)
    info = CUSTOM_ERRORS.get(code)
    if info is None:
        return UNEXPECTED
    expected = exact_pool if info.expected is None else info.expected  # None only for 1047
    return EXPECTED if expected else UNEXPECTED


def _classified_instruction_error(
    raw: dict, index: int, instruction_error: RpcErrorJson, program: str | None,
    operation: str | None, exact_pool: bool, detail: str,
) -> ClassifiedError:
    name = error_name(instruction_error, program)
    parts = [f"Instruction {index} ({program or 'unknown program'}) failed: "
             f"{error_text(instruction_error)} [{name}]"]
    meaning = error_meaning(instruction_error, program)
    if meaning:
        parts.append(meaning)
    if detail:
        parts.append(detail)
    return ClassifiedError(
        raw=raw,
        instruction_index=index,
        program=program,
        name=name,
        code=custom_code(instruction_error),
        category=_instruction_error_category(program, instruction_error, operation, exact_pool),
        message=" — ".join(parts),
    )


def _classify_transaction_error(raw: RpcErrorJson) -> ClassifiedError:
    name = raw if isinstance(raw, str) else next(iter(raw))
    info = TRANSACTION_ERRORS[name]
    message = f"{name}: {info.meaning}"
    if isinstance(raw, dict):
        message = f"{message} ({raw[name]})"
    return ClassifiedError(raw, None, None, name, None, info.category, message)


# ------------------------------------------------------------------------------------------
# Exceptions raised while talking to a cluster
# ------------------------------------------------------------------------------------------

_NETWORK_MODULES = frozenset({"aiohttp", "httpx", "httpx2", "httpcore", "websockets", "h11"})
_TRANSIENT_EXCEPTION_NAMES = frozenset({
    "SolanaRpcException",  # solana-py wrapper around transport errors
    "UnconfirmedTxError",
    "TransactionExpiredBlockheightExceededError",
    "ChainError",
})
_TRANSIENT_RPC_MESSAGES = frozenset({
    "NodeUnhealthyMessage", "MinContextSlotNotReachedMessage", "BlockNotAvailableMessage",
    "BlockStatusNotAvailableYetMessage", "SlotSkippedMessage", "InternalErrorMessage",
})
_TRANSIENT_TEXT = ("blockhash not found", "node is behind", "unhealthy", "too many requests",
                   "429", "timed out", "timeout", "connection")


def _is_network_exception(exc: BaseException) -> bool:
    if isinstance(exc, (OSError, TimeoutError)):
        return True
    for cls in type(exc).__mro__:
        if cls.__name__ == "AirdropUnavailable":
            return False
        if cls.__name__ in _TRANSIENT_EXCEPTION_NAMES:
            return True
        if cls.__module__.split(".", 1)[0] in _NETWORK_MODULES:
            return True
    return False


def classify_exception(
    exc: BaseException,
    *,
    operation: str | None = None,
    instruction_index: int | None = None,
    exact_pool: bool = False,
    frt_program_id: str | Pubkey | None = None,
) -> ClassifiedError:
    """Judge an exception raised while sending / confirming a transaction.

    Network failures and confirmation timeouts are transient. A ProgramError, or a solana-py
    RPCException carrying a preflight simulation failure, is classified as the program error
    it contains. Anything else is unexpected.
    """
    if isinstance(exc, ProgramError):
        return classify(exc, instruction_index=instruction_index, operation=operation,
                        exact_pool=exact_pool)
    payload = exc.args[0] if exc.args else None
    simulation = getattr(payload, "data", None)
    tx_error = getattr(simulation, "err", None)
    if tx_error is not None:
        return classify(tx_error, logs=tuple(getattr(simulation, "logs", None) or ()),
                        operation=operation, exact_pool=exact_pool,
                        frt_program_id=frt_program_id)
    transient = (_is_network_exception(exc)
                 or type(payload).__name__ in _TRANSIENT_RPC_MESSAGES
                 or (type(exc).__name__ == "RPCException"
                     and any(text in str(exc).lower() for text in _TRANSIENT_TEXT)))
    return ClassifiedError(
        raw=None,
        instruction_index=None,
        program=None,
        name=type(exc).__name__,
        code=None,
        category=TRANSIENT if transient else UNEXPECTED,
        message=str(exc) or repr(exc),
    )
