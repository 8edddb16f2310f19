"""A built-in emulator of FRT v0.17.1070, used on the embedded chain when no `.so` is loaded.

It executes one FRT instruction against real ledger accounts: the same account checks in the
same order as the program (shared/frt/CONTRACT.md §4), the same errors, the same state layouts,
the same SOL fees (to the pool account) and the same token movements in real SPL token
accounts, with SPL Token / System semantics for the CPIs the program makes. The business rules
come from `engine.frt.model`; this module adds the account plumbing around them.

Roll-back on failure is the caller's job (the embedded ledger restores every account of the
transaction), exactly as the runtime discards a failed instruction's writes.
"""
from __future__ import annotations

import copy
import dataclasses
import struct
from dataclasses import dataclass
from functools import lru_cache

from solders.account import Account
from solders.pubkey import Pubkey

from engine.frt import model
from engine.frt.constants import (
    BPF_LOADER_UPGRADEABLE_ID,
    DEFAULT_LIQUIDITY_FEE,
    DEFAULT_SWAP_FEE,
    FLAG_EXACT_EXCHANGE_REQUIRED,
    FLAG_LIQUIDITY_PAUSED,
    FLAG_SWAP_FOR_OWNERS_ONLY,
    FLAG_SWAPS_PAUSED,
    MAIN_TREASURY_SIZE,
    MINT_SIZE,
    POOL_STATE_SIZE,
    REGISTRATION_FEE,
    RESTART_PENALTY_SECONDS,
    RENT_SYSVAR_ID,
    SYSTEM_PROGRAM_ID,
    SYSTEM_STATE_SIZE,
    TOKEN_ACCOUNT_SIZE,
    TOKEN_PROGRAM_ID,
    VERSION,
    rent_exempt_minimum,
)
from engine.frt.errors import ProgramError
from engine.frt.spl import NATIVE_MINT
from engine.frt.instructions import InstructionDecodeError, decode_instruction_data
from engine.frt.pda import (
    find_lp_token_a_mint,
    find_lp_token_b_mint,
    find_main_treasury,
    find_pool_state,
    find_program_data,
    find_system_state,
    find_token_a_vault,
    find_token_b_vault,
    sort_mints,
)
from engine.frt.state import MainTreasuryState, Mint, PoolState, ProgramData, SystemState, TokenAccount

U64_MAX = 2**64 - 1
DEFAULT_PUBKEY = Pubkey.default()
TOKEN_AMOUNT_OFFSET = 64
MINT_SUPPLY_OFFSET = 36
_U64 = struct.Struct("<Q")

# Account data recurs (the same vault or wallet state is read several times per instruction),
# and the decoded states are immutable, so decoding is memoised on the raw bytes.
decode_token_account = lru_cache(maxsize=8192)(TokenAccount.decode)
decode_mint = lru_cache(maxsize=2048)(Mint.decode)
decode_pool_state = lru_cache(maxsize=2048)(PoolState.decode)
decode_system_state = lru_cache(maxsize=16)(SystemState.decode)

# Compute units charged per instruction: the figures observed in the program's documentation
# (§11), so a client that forgets SetComputeUnitLimit fails here as it would on a validator.
COMPUTE_UNITS = {
    "initialize_program": 25_000,
    "initialize_pool": 400_000,
    "deposit": 249_000,
    "withdraw": 227_000,
    "swap": 202_000,
    "pause_pool": 12_000,
    "unpause_pool": 12_000,
    "set_swap_owner_only": 15_000,
    "update_pool_fees": 15_000,
    "pause_system": 10_000,
    "unpause_system": 15_000,
    "process_admin_change": 15_000,
    "withdraw_treasury_fees": 80_000,
    "donate_sol": 5_000,
    "consolidate_pool_fees": 12_000,  # + CONSOLIDATION_UNITS_PER_POOL per pool
}
CONSOLIDATION_UNITS_PER_POOL = 9_000
VIEW_COMPUTE_UNITS = 5_000

EXACT_ACCOUNT_COUNTS = {
    "initialize_program": 6, "initialize_pool": 13, "deposit": 11, "withdraw": 11, "swap": 11,
    "pause_pool": 4, "unpause_pool": 4, "set_swap_owner_only": 4, "donate_sol": 4,
    "process_admin_change": 3,
}
MINIMUM_ACCOUNT_COUNTS = {  # fewer accounts: the program panics while indexing
    "pause_system": 3, "withdraw_treasury_fees": 6,
}
# Fewer accounts than these: `next_account_info` returns NotEnoughAccountKeys
# (pool.rs:916-919 for UpdatePoolFees, utilities.rs:310 / 368 for the two views).
ITERATED_ACCOUNT_COUNTS = {"update_pool_fees": 4, "get_fee_info": 1, "get_pool_sol_balance": 1}


def _fail(error, message: str = "", program: str | None = None) -> ProgramError:
    if program is None:
        return ProgramError(error, message)
    return ProgramError(error, message, program=program)


def _spl_error(code: int, message: str) -> ProgramError:
    return ProgramError.custom(code, message, program="spl-token")


def _system_error(code: int, message: str) -> ProgramError:
    return ProgramError.custom(code, message, program="system")


class _Invocation:
    """One instruction's accounts plus the ledger environment."""

    def __init__(self, program_id: Pubkey, accounts, env) -> None:
        self.program_id = program_id
        self.accounts = accounts
        self.env = env
        # The keys once (AccountMeta.pubkey builds a new Pubkey on every access).
        self.keys = getattr(env, "keys", None) or [meta.pubkey for meta in accounts]

    def ref(self, index: int):
        if index >= len(self.accounts):
            raise _fail("ProgramFailedToComplete", "account index out of bounds (panic)")
        return self.accounts[index]

    def key(self, index: int) -> Pubkey:
        try:
            return self.keys[index]
        except IndexError:
            raise _fail("ProgramFailedToComplete", "account index out of bounds (panic)") from None

    def account(self, index: int) -> Account | None:
        return self.env.get(self.key(index))

    def data(self, index: int) -> bytes:
        account = self.account(index)
        return bytes(account.data) if account is not None else b""

    def lamports(self, index: int) -> int:
        account = self.account(index)
        return account.lamports if account is not None else 0

    def log(self, line: str) -> None:
        self.env.log(line)

    # -- writes -------------------------------------------------------------------------

    def write_data(self, key: Pubkey, data: bytes) -> None:
        account = self.env.get(key)
        self.env.put(key, Account(account.lamports, data, account.owner, account.executable,
                                  account.rent_epoch))

    def patch_u64(self, key: Pubkey, offset: int, value: int) -> None:
        """Change one u64 of an SPL account in place (amount or supply); every other byte stays
        as the token program would leave it."""
        data = bytearray(self.env.get(key).data)
        _U64.pack_into(data, offset, value)
        self.write_data(key, bytes(data))

    def move_lamports(self, source: Pubkey, destination: Pubkey, lamports: int) -> None:
        """`**source.lamports -= n; **destination.lamports += n`. With source == destination both
        sides are one account (the runtime hands a program one AccountInfo for a duplicated
        account), so the balance is unchanged: the destination is read after the debit."""
        src = self.env.get(source)
        self.env.put(source, _lamports(src, src.lamports - lamports))
        dst = self.env.get(destination)
        if dst is None:
            dst = Account(0, b"", SYSTEM_PROGRAM_ID)
        self.env.put(destination, _lamports(dst, dst.lamports + lamports))

    # -- CPIs the program makes ------------------------------------------------------------
    # Each runs inside `_Cpi`, which hands the call to the runtime's rules (privileges of the
    # accounts passed, the callee among the caller's accounts, and on return the callee's
    # writes and lamport balance). The bodies follow the System and SPL Token processors.

    def system_transfer(self, source: Pubkey, destination: Pubkey, lamports: int) -> None:
        """`system_instruction::transfer`: [from (signer, writable), to (writable)]."""
        with _Cpi(self.env, SYSTEM_PROGRAM_ID, ((source, True, True), (destination, False, True))):
            self._system_debitable(source, lamports)
            self.move_lamports(source, destination, lamports)

    def _system_debitable(self, key: Pubkey, lamports: int):
        """The System program's checks on a transfer's `from`: no data, enough lamports."""
        account = self.env.get(key)
        if account is not None and len(account.data):
            self.env.logs.append("Transfer: `from` must not carry data")
            raise _fail("InvalidArgument", "Transfer: `from` must not carry data", program="system")
        if account is None or account.lamports < lamports:
            have = account.lamports if account else 0
            self.env.logs.append(f"Transfer: insufficient lamports {have}, need {lamports}")
            raise _system_error(1, "ResultWithNegativeLamports")
        return account

    def create_account(self, payer: Pubkey, address: Pubkey, space: int, owner: Pubkey) -> None:
        """`system_instruction::create_account` signed for the PDA `address`: the new account
        holds `space` zero bytes; its owner initialises it afterwards."""
        with _Cpi(self.env, SYSTEM_PROGRAM_ID, ((payer, True, True), (address, True, True)), (address,)):
            existing = self.env.get(address)
            if existing is not None and (existing.lamports > 0 or len(existing.data)
                                         or existing.owner != SYSTEM_PROGRAM_ID):
                self.env.logs.append(f"Create Account: account Address {{ address: {address}, base: None }} already in use")
                raise _system_error(0, "AccountAlreadyInUse")
            lamports = rent_exempt_minimum(space)
            funder = self._system_debitable(payer, lamports)
            self.env.put(payer, _lamports(funder, funder.lamports - lamports))
            self.env.put(address, Account(lamports, bytes(space), owner, False, 0))

    def token_transfer(self, source: Pubkey, destination: Pubkey, amount: int, authority: Pubkey,
                       pda_signers: tuple | None = None, token_program: Pubkey = TOKEN_PROGRAM_ID) -> None:
        """`spl_token::instruction::transfer` through invoke (pda_signers empty) or invoke_signed."""
        metas = ((source, False, True), (destination, False, True), (authority, True, False))
        with self._token_call(token_program, "Transfer", metas, self._signers(pda_signers, authority)):
            src, dst = self.token(source), self.token(destination)
            if src.state == 2 or dst.state == 2:
                raise _spl_error(0x11, "AccountFrozen")
            if src.amount < amount:
                raise _spl_error(1, "InsufficientFunds")
            if src.mint != dst.mint:
                raise _spl_error(3, "MintMismatch")
            if src.owner != authority:
                raise _spl_error(4, "OwnerMismatch")
            if source == destination:
                return
            if dst.amount + amount > U64_MAX:
                raise _spl_error(0xE, "Overflow")
            self.patch_u64(source, TOKEN_AMOUNT_OFFSET, src.amount - amount)
            self.patch_u64(destination, TOKEN_AMOUNT_OFFSET, dst.amount + amount)
            if src.is_native is not None:  # wrapped SOL: the lamports move with the amount
                self.move_lamports(source, destination, amount)

    def token_mint_to(self, mint_key: Pubkey, destination: Pubkey, amount: int, authority: Pubkey,
                      pda_signers: tuple | None = None, token_program: Pubkey = TOKEN_PROGRAM_ID) -> None:
        metas = ((mint_key, False, True), (destination, False, True), (authority, True, False))
        with self._token_call(token_program, "MintTo", metas, self._signers(pda_signers, authority)):
            dst = self.token(destination)
            if dst.state == 2:
                raise _spl_error(0x11, "AccountFrozen")
            if dst.is_native is not None:
                raise _spl_error(0xA, "NativeNotSupported")
            if dst.mint != mint_key:
                raise _spl_error(3, "MintMismatch")
            mint = self.mint(mint_key)
            if mint.mint_authority is None:
                raise _spl_error(5, "FixedSupply")
            if mint.mint_authority != authority:
                raise _spl_error(4, "OwnerMismatch")
            if dst.amount + amount > U64_MAX or mint.supply + amount > U64_MAX:
                raise _spl_error(0xE, "Overflow")
            self.patch_u64(destination, TOKEN_AMOUNT_OFFSET, dst.amount + amount)
            self.patch_u64(mint_key, MINT_SUPPLY_OFFSET, mint.supply + amount)

    def token_burn(self, source: Pubkey, mint_key: Pubkey, amount: int, authority: Pubkey,
                   token_program: Pubkey = TOKEN_PROGRAM_ID) -> None:
        metas = ((source, False, True), (mint_key, False, True), (authority, True, False))
        with self._token_call(token_program, "Burn", metas):
            src = self.token(source)
            mint = self.mint(mint_key)
            if src.state == 2:
                raise _spl_error(0x11, "AccountFrozen")
            if src.is_native is not None:
                raise _spl_error(0xA, "NativeNotSupported")
            if src.amount < amount:
                raise _spl_error(1, "InsufficientFunds")
            if src.mint != mint_key:
                raise _spl_error(3, "MintMismatch")
            if src.owner != authority:
                raise _spl_error(4, "OwnerMismatch")
            self.patch_u64(source, TOKEN_AMOUNT_OFFSET, src.amount - amount)
            self.patch_u64(mint_key, MINT_SUPPLY_OFFSET, mint.supply - amount)

    def token_initialize_account(self, account_key: Pubkey, mint_key: Pubkey, owner: Pubkey, rent_sysvar: Pubkey,
                                 token_program: Pubkey = TOKEN_PROGRAM_ID) -> None:
        """SPL Token InitializeAccount: [account (writable), mint, owner, rent sysvar]. For the
        native mint the account is native: is_native = its rent-exempt reserve and amount = the
        lamports above it."""
        metas = ((account_key, False, True), (mint_key, False, False), (owner, False, False),
                 (rent_sysvar, False, False))
        with self._token_call(token_program, "InitializeAccount", metas):
            if rent_sysvar != RENT_SYSVAR_ID:
                raise _fail("InvalidArgument", "not the rent sysvar", program="spl-token")
            account = self.env.get(account_key)
            data = bytes(account.data) if account is not None else b""
            if len(data) != TOKEN_ACCOUNT_SIZE:
                raise _fail("InvalidAccountData", "account is not 165 bytes", program="spl-token")
            if data[108] != 0:
                raise _spl_error(6, "AlreadyInUse")
            reserve = rent_exempt_minimum(TOKEN_ACCOUNT_SIZE)
            if account.lamports < reserve:
                raise _spl_error(0, "NotRentExempt")
            native = mint_key == NATIVE_MINT
            if not native:
                mint_account = self.env.get(mint_key)
                if mint_account is None or mint_account.owner != TOKEN_PROGRAM_ID:
                    raise _fail("IncorrectProgramId", "mint not owned by SPL Token", program="spl-token")
                try:
                    if not decode_mint(bytes(mint_account.data)).is_initialized:
                        raise ValueError("uninitialized mint")
                except ValueError:
                    raise _spl_error(2, "InvalidMint") from None
            token = TokenAccount(mint=mint_key, owner=owner, amount=account.lamports - reserve if native else 0,
                                 delegate=None, state=1, is_native=reserve if native else None,
                                 delegated_amount=0, close_authority=None)
            self.write_data(account_key, token.encode_into(data))

    def token_initialize_mint(self, mint_key: Pubkey, authority: Pubkey, decimals: int, rent_sysvar: Pubkey,
                              token_program: Pubkey = TOKEN_PROGRAM_ID) -> None:
        """SPL Token InitializeMint: [mint (writable), rent sysvar]."""
        with self._token_call(token_program, "InitializeMint", ((mint_key, False, True), (rent_sysvar, False, False))):
            if rent_sysvar != RENT_SYSVAR_ID:
                raise _fail("InvalidArgument", "not the rent sysvar", program="spl-token")
            account = self.env.get(mint_key)
            data = bytes(account.data) if account is not None else b""
            if len(data) != MINT_SIZE:
                raise _fail("InvalidAccountData", "mint is not 82 bytes", program="spl-token")
            if data[45] != 0:
                raise _spl_error(6, "AlreadyInUse")
            if account.lamports < rent_exempt_minimum(MINT_SIZE):
                raise _spl_error(0, "NotRentExempt")
            mint = Mint(mint_authority=authority, supply=0, decimals=decimals, is_initialized=True,
                        freeze_authority=None)
            self.write_data(mint_key, mint.encode_into(data))

    def _token_call(self, token_program: Pubkey, name: str, metas, pda_signers: tuple = ()) -> _Cpi:
        """A call into SPL Token; the `spl_token::instruction::*` builder refuses any other
        program id before anything is invoked."""
        _check_token_program(token_program)
        return _Cpi(self.env, TOKEN_PROGRAM_ID, metas, pda_signers, name)

    def _signers(self, pda_signers: tuple | None, authority: Pubkey) -> tuple:
        """For a caller that does not say: the program signs (invoke_signed) for an authority
        it owns, i.e. one of its PDAs such as a pool; a wallet must sign the transaction."""
        if pda_signers is not None:
            return pda_signers
        account = self.env.get(authority)
        return (authority,) if account is not None and account.owner == self.program_id else ()

    def token(self, key: Pubkey) -> TokenAccount:
        """`Account::unpack` in the token program: 165 bytes (else InvalidAccountData) and
        initialised (else UninitializedAccount). Whose account it is the runtime judges when the
        token program writes it (ExternalAccountDataModified)."""
        account = self.env.get(key)
        if account is None or len(account.data) != TOKEN_ACCOUNT_SIZE:
            raise _fail("InvalidAccountData", f"{key} is not a token account", program="spl-token")
        try:
            token = decode_token_account(bytes(account.data))
        except ValueError:
            raise _fail("InvalidAccountData", f"{key} does not unpack", program="spl-token") from None
        if token.state == 0:
            raise _fail("UninitializedAccount", f"{key} is not initialized", program="spl-token")
        return token

    def mint(self, key: Pubkey) -> Mint:
        account = self.env.get(key)
        if account is None or len(account.data) != MINT_SIZE:
            raise _fail("InvalidAccountData", f"{key} is not a mint", program="spl-token")
        try:
            mint = decode_mint(bytes(account.data))
        except ValueError:
            raise _fail("InvalidAccountData", f"{key} does not unpack", program="spl-token") from None
        if not mint.is_initialized:
            raise _fail("UninitializedAccount", f"{key} is not initialized", program="spl-token")
        return mint


def _check_token_program(key: Pubkey) -> None:
    """`spl_token::instruction::*` builders refuse any other program id (`check_program_account`)."""
    if key != TOKEN_PROGRAM_ID:
        raise _fail("IncorrectProgramId", f"{key} is not the SPL Token program")


class _Cpi:
    """One cross-program invocation: the runtime's checks on entry and return, and its logs."""

    __slots__ = ("env", "program_id", "metas", "signers", "name")

    def __init__(self, env, program_id: Pubkey, metas, pda_signers=(), name: str | None = None) -> None:
        self.env = env
        self.program_id = program_id
        self.metas = metas
        self.signers = pda_signers
        self.name = name

    def __enter__(self):
        self.env.frames.enter(self.program_id, self.metas, self.signers)
        self.env.logs.append(f"Program {self.program_id} invoke [2]")
        if self.name is not None:
            self.env.logs.append(f"Program log: Instruction: {self.name}")

    def __exit__(self, exc_type, exc, tb):
        logs = self.env.logs
        if exc is None:
            try:
                self.env.frames.leave()
            except ProgramError as failure:
                logs.append(f"Program {self.program_id} failed: {failure.message}")
                raise
            logs.append(f"Program {self.program_id} success")
            return False
        self.env.frames.abandon()
        if isinstance(exc, ProgramError):
            if exc.code is not None:
                if self.name is not None:
                    logs.append(f"Program log: Error: {exc.message}")
                logs.append(f"Program {self.program_id} failed: custom program error: {exc.code:#x}")
            else:
                logs.append(f"Program {self.program_id} failed: {exc.message or exc.error}")
        return False


def unpack_token_from_slice(data, what: str) -> TokenAccount:
    """spl-token 3.5 `Account::unpack_from_slice`: `array_ref![src, 0, 165]` panics on a shorter
    slice (ProgramFailedToComplete); a longer one is read from its first 165 bytes; a bad state
    byte or COption tag is InvalidAccountData."""
    if len(data) < TOKEN_ACCOUNT_SIZE:
        raise _fail("ProgramFailedToComplete", f"{what}: {len(data)} bytes, unpack_from_slice panics")
    try:
        return decode_token_account(bytes(data) if len(data) == TOKEN_ACCOUNT_SIZE else bytes(data[:TOKEN_ACCOUNT_SIZE]))
    except ValueError:
        raise _fail("InvalidAccountData", f"{what} does not unpack") from None


def unpack_mint_from_slice(data, what: str) -> Mint:
    """spl-token 3.5 `Mint::unpack_from_slice`: as above with 82 bytes."""
    if len(data) < MINT_SIZE:
        raise _fail("ProgramFailedToComplete", f"{what}: {len(data)} bytes, unpack_from_slice panics")
    try:
        return decode_mint(bytes(data) if len(data) == MINT_SIZE else bytes(data[:MINT_SIZE]))
    except ValueError:
        raise _fail("InvalidAccountData", f"{what} is not a mint") from None


def _lamports(account: Account, lamports: int) -> Account:
    return Account(lamports, account.data, account.owner, account.executable, account.rent_epoch)


class FrtEmulator:
    def __init__(self, program_id: Pubkey) -> None:
        self.program_id = program_id
        self.system_state_key = find_system_state(program_id)[0]
        self.treasury_key = find_main_treasury(program_id)[0]
        self.program_data_key = find_program_data(program_id)[0]

    def execute(self, accounts, data: bytes, env) -> int:
        """Run one instruction; returns compute units consumed, raises ProgramError."""
        try:
            name, fields = decode_instruction_data(data)
        except InstructionDecodeError as exc:
            if exc.error == "BorshIoError":
                raise ProgramError({"BorshIoError": "Unknown"}, "failed to deserialize instruction") from None
            raise ProgramError(exc.error, "invalid instruction data") from None
        count = len(accounts)
        if name in EXACT_ACCOUNT_COUNTS and count != EXACT_ACCOUNT_COUNTS[name]:
            raise _fail("InvalidAccountData", f"{name} expects {EXACT_ACCOUNT_COUNTS[name]} accounts")
        if name in MINIMUM_ACCOUNT_COUNTS and count < MINIMUM_ACCOUNT_COUNTS[name]:
            raise _fail("ProgramFailedToComplete", "account index out of bounds (panic)")
        if name in ITERATED_ACCOUNT_COUNTS and count < ITERATED_ACCOUNT_COUNTS[name]:
            raise _fail("NotEnoughAccountKeys", f"{name} reads {ITERATED_ACCOUNT_COUNTS[name]} accounts in turn")
        handler = getattr(self, f"_{name}", None)
        invocation = _Invocation(self.program_id, accounts, env)
        if handler is None:
            return self._view(invocation, name, fields)
        env.log(f"Instruction: {name}")
        units = handler(invocation, **fields)
        return units if units is not None else COMPUTE_UNITS[name]

    # ---- shared validation routines (§4.0) -------------------------------------------------

    def _system_state(self, inv: _Invocation, index: int, *, check_paused: bool = True) -> SystemState:
        if inv.key(index) != self.system_state_key:
            raise _fail("InvalidAccountData", "wrong system state account")
        data = inv.data(index)
        if not data:
            raise _fail("UninitializedAccount", "system state not initialized")
        try:
            state = decode_system_state(data)
        except ValueError:
            raise _fail("InvalidAccountData", "system state does not decode") from None
        if check_paused and state.is_paused:
            raise ProgramError.custom(1023, "SystemPaused")
        return state

    def _pool(self, inv: _Invocation, index: int, pool_id: Pubkey) -> PoolState:
        account = inv.account(index)
        if account is None or account.owner != self.program_id:
            raise _fail("IncorrectProgramId", "pool account not owned by the program")
        if inv.key(index) != pool_id:
            raise ProgramError.custom(1034, "TreasuryValidationFailed (pool id mismatch)")
        try:
            pool = decode_pool_state(bytes(account.data))
        except ValueError:
            raise _fail("InvalidAccountData", "pool state does not decode") from None
        if (pool.token_a_mint == DEFAULT_PUBKEY or pool.token_b_mint == DEFAULT_PUBKEY
                or pool.ratio_a_numerator == 0 or pool.ratio_b_denominator == 0):
            raise _fail("InvalidAccountData", "pool state invalid")
        return pool

    def _token_account(self, inv: _Invocation, index: int, *, owner: Pubkey | None = None,
                       mint: Pubkey | None = None, user: bool = False) -> TokenAccount:
        account = inv.account(index)
        if account is None or not account.data:
            raise _fail("UninitializedAccount", f"account {index} is empty")
        if account.owner != TOKEN_PROGRAM_ID:
            raise _fail("IncorrectProgramId", f"account {index} is not an SPL token account")
        # token_validation.rs:33: `TokenAccount::unpack_from_slice` (no length or state check;
        # a short slice panics in `array_ref!`).
        token = unpack_token_from_slice(account.data, f"account {index}")
        if token.state == 2:
            raise _fail("InvalidAccountData", f"account {index} is frozen")
        if user and token.delegated_amount > 0:
            raise _fail("InvalidAccountData", f"account {index} has an active delegate")
        if owner is not None and token.owner != owner:
            raise _fail("InvalidAccountData", f"account {index} has the wrong owner")
        if mint is not None and token.mint != mint:
            raise _fail("InvalidAccountData", f"account {index} has the wrong mint")
        return token

    def _require_signer(self, inv: _Invocation, index: int) -> None:
        if not inv.ref(index).is_signer:
            raise _fail("MissingRequiredSignature", f"account {index} must sign")

    def _upgrade_authority_check(self, inv: _Invocation, signer: Pubkey, program_data_index: int) -> None:
        account = inv.account(program_data_index)
        if account is None or account.owner != BPF_LOADER_UPGRADEABLE_ID:
            inv.log("Program data account not owned by the upgradeable loader: test environment path")
            return  # the program's "test environment" shortcut (§13 #1): any signer passes
        if inv.key(program_data_index) != self.program_data_key:
            raise _fail("InvalidAccountData", "wrong program data account")
        try:
            program_data = ProgramData.decode(bytes(account.data))
        except ValueError:
            raise _fail("InvalidAccountData", "program data does not decode") from None
        if program_data.upgrade_authority_address != signer:
            raise _fail("InvalidAccountData", "signer is not the upgrade authority")

    def _admin_check(self, inv: _Invocation, admin: int, system: int, program_data: int) -> None:
        self._require_signer(inv, admin)
        if inv.key(system) != self.system_state_key:
            raise _fail("InvalidAccountData", "wrong system state account")
        try:
            state = decode_system_state(inv.data(system))
        except ValueError:
            raise _fail("InvalidAccountData", "system state does not decode") from None
        if inv.key(admin) == state.admin_authority:
            return
        self._upgrade_authority_check(inv, inv.key(admin), program_data)

    def _collect_fee(self, inv: _Invocation, payer: int, pool_index: int, pool_id: Pubkey,
                     fee: int, counter: str) -> PoolState:
        if inv.lamports(payer) < fee:
            raise ProgramError.custom(1031, "InsufficientFeeBalance")
        if not inv.ref(pool_index).is_writable:
            raise ProgramError.custom(1033, "FeeValidationFailed: pool not writable")
        pool = self._pool(inv, pool_index, pool_id)
        inv.system_transfer(inv.key(payer), inv.key(pool_index), fee)
        collected = getattr(pool, counter) + fee
        total = pool.total_sol_fees_collected + fee
        if collected > U64_MAX or total > U64_MAX:
            raise ProgramError.custom(1033, "FeeValidationFailed: fee counter overflow")
        self._patch_pool(inv, pool_id, **{counter: collected, "total_sol_fees_collected": total})
        # The state as re-read (the program reloads it, fee_validation.rs:339): only the two
        # patched counters differ, so a copy with them set saves a decode.
        fresh = copy.copy(pool)
        object.__setattr__(fresh, counter, collected)
        object.__setattr__(fresh, "total_sol_fees_collected", total)
        return fresh

    @staticmethod
    def _patch_pool(inv: _Invocation, pool_id: Pubkey, **u64_fields: int) -> None:
        inv.write_data(pool_id, PoolState.patch(bytes(inv.env.get(pool_id).data), **u64_fields))

    # ---- instructions ------------------------------------------------------------------------

    def _initialize_program(self, inv: _Invocation, admin_authority: Pubkey) -> None:
        authority = inv.key(0)
        # system.rs:80: `Rent::from_account_info(rent_sysvar_account)?` comes first.
        if inv.key(2) != RENT_SYSVAR_ID:
            raise _fail("InvalidArgument", "wrong rent sysvar")
        self._require_signer(inv, 0)
        self._upgrade_authority_check(inv, authority, 5)
        if inv.key(3) != self.system_state_key:
            raise _fail("InvalidAccountData", "wrong system state account")
        if inv.data(3):
            raise _fail("AccountAlreadyInitialized", "system already initialized")
        if inv.key(4) != self.treasury_key:
            raise _fail("InvalidAccountData", "wrong main treasury account")
        now = inv.env.now
        state = SystemState(is_paused=False, pause_timestamp=0, pause_reason_code=0,
                            admin_authority=admin_authority, pending_admin_authority=admin_authority,
                            admin_change_timestamp=now)
        inv.create_account(authority, self.system_state_key, SYSTEM_STATE_SIZE, self.program_id)
        inv.write_data(self.system_state_key, state.encode().ljust(SYSTEM_STATE_SIZE, b"\0"))
        inv.create_account(authority, self.treasury_key, MAIN_TREASURY_SIZE, self.program_id)
        inv.write_data(self.treasury_key, MainTreasuryState().encode().ljust(MAIN_TREASURY_SIZE, b"\0"))

    def _initialize_pool(self, inv: _Invocation, ratio_a_numerator: int, ratio_b_denominator: int,
                         flags: int) -> None:
        creator = inv.key(0)
        self._require_signer(inv, 0)
        self._system_state(inv, 2)
        if inv.key(6) != RENT_SYSVAR_ID:
            raise _fail("InvalidArgument", "wrong rent sysvar")
        mint_x, mint_y = self._unpack_mint(inv, 7), self._unpack_mint(inv, 8)
        if ratio_a_numerator == 0 or ratio_b_denominator == 0:
            raise _fail("InvalidArgument", "ratios must be non-zero")
        if inv.key(7) == inv.key(8):
            raise _fail("InvalidArgument", "the two mints must differ")
        if inv.account(7).owner != TOKEN_PROGRAM_ID or inv.account(8).owner != TOKEN_PROGRAM_ID:
            raise _fail("IncorrectProgramId", "mints must belong to SPL Token")
        if inv.key(4) != TOKEN_PROGRAM_ID:
            raise _fail("IncorrectProgramId", "wrong token program")
        if inv.lamports(0) < REGISTRATION_FEE:
            raise ProgramError.custom(1031, "InsufficientFeeBalance")
        if inv.key(5) != self.treasury_key:
            raise ProgramError.custom(1034, "TreasuryValidationFailed")
        if not inv.ref(5).is_writable:
            raise ProgramError.custom(1033, "FeeValidationFailed: treasury not writable")
        inv.system_transfer(creator, self.treasury_key, REGISTRATION_FEE)
        treasury = self._treasury(inv, 5)
        treasury = dataclasses.replace(
            treasury,
            pool_creation_count=treasury.pool_creation_count + 1,
            total_pool_creation_fees=treasury.total_pool_creation_fees + REGISTRATION_FEE,
            last_update_timestamp=inv.env.now,
            total_balance=inv.lamports(5),
        )
        inv.write_data(self.treasury_key, treasury.encode())

        token_a, token_b = sort_mints(inv.key(7), inv.key(8))
        pool_key, pool_bump = find_pool_state(self.program_id, token_a, token_b,
                                              ratio_a_numerator, ratio_b_denominator)
        if inv.key(3) != pool_key:
            raise _fail("InvalidAccountData", "wrong pool state PDA")
        if inv.data(3):
            raise _fail("AccountAlreadyInitialized", "pool already exists")
        derived = [find_token_a_vault(self.program_id, pool_key), find_token_b_vault(self.program_id, pool_key),
                   find_lp_token_a_mint(self.program_id, pool_key), find_lp_token_b_mint(self.program_id, pool_key)]
        for index, (address, _) in zip((9, 10, 11, 12), derived):
            if inv.key(index) != address:
                raise _fail("InvalidAccountData", f"account {index} is not the expected PDA")
        (vault_a, vault_a_bump), (vault_b, vault_b_bump), (lp_a, lp_a_bump), (lp_b, lp_b_bump) = derived

        # pool.rs:400-571: create the pool (signed by its PDA), then each vault is created and
        # initialised by SPL Token (InitializeAccount with the rent sysvar [6]), then each LP mint.
        token_program, rent_sysvar = inv.key(4), inv.key(6)
        inv.create_account(creator, pool_key, POOL_STATE_SIZE, self.program_id)
        for vault, mint in ((vault_a, token_a), (vault_b, token_b)):
            inv.create_account(creator, vault, TOKEN_ACCOUNT_SIZE, TOKEN_PROGRAM_ID)
            inv.token_initialize_account(vault, mint, pool_key, rent_sysvar, token_program)
        # LP decimals come from accounts [7]/[8] as passed, not from the sorted mints (§13 #4).
        for lp_mint, source in ((lp_a, mint_x), (lp_b, mint_y)):
            inv.create_account(creator, lp_mint, MINT_SIZE, TOKEN_PROGRAM_ID)
            inv.token_initialize_mint(lp_mint, pool_key, source.decimals, rent_sysvar, token_program)
        # pool.rs:575/579: `Mint::unpack` (exact length, initialised) of both mints.
        for index in (7, 8):
            self._unpack_mint_strict(inv, index)
        decimals = {inv.key(7): mint_x.decimals, inv.key(8): mint_y.decimals}
        state_flags = model.creation_flags(ratio_a_numerator, ratio_b_denominator,
                                           decimals[token_a], decimals[token_b], flags)
        pool = PoolState(
            owner=creator, token_a_mint=token_a, token_b_mint=token_b,
            token_a_vault=vault_a, token_b_vault=vault_b, lp_token_a_mint=lp_a, lp_token_b_mint=lp_b,
            ratio_a_numerator=ratio_a_numerator, ratio_b_denominator=ratio_b_denominator,
            pool_authority_bump_seed=pool_bump, token_a_vault_bump_seed=vault_a_bump,
            token_b_vault_bump_seed=vault_b_bump, lp_token_a_mint_bump_seed=lp_a_bump,
            lp_token_b_mint_bump_seed=lp_b_bump, flags=state_flags,
            contract_liquidity_fee=DEFAULT_LIQUIDITY_FEE, swap_contract_fee=DEFAULT_SWAP_FEE,
        )
        inv.write_data(pool_key, pool.encode())

    def _unpack_mint(self, inv: _Invocation, index: int) -> Mint:
        """`Mint::unpack_from_slice` (pool.rs:159-160, swap.rs:325/331)."""
        return unpack_mint_from_slice(inv.data(index), f"account {index}")

    def _unpack_mint_strict(self, inv: _Invocation, index: int) -> Mint:
        """`Mint::unpack`: exactly 82 bytes (else InvalidAccountData) and initialised."""
        data = inv.data(index)
        if len(data) != MINT_SIZE:
            raise _fail("InvalidAccountData", f"account {index} is not {MINT_SIZE} bytes")
        mint = unpack_mint_from_slice(data, f"account {index}")
        if not mint.is_initialized:
            raise _fail("UninitializedAccount", f"account {index} is an uninitialized mint")
        return mint

    def _treasury(self, inv: _Invocation, index: int) -> MainTreasuryState:
        try:
            return MainTreasuryState.decode(inv.data(index))
        except ValueError:
            return MainTreasuryState()

    def _deposit(self, inv: _Invocation, deposit_token_mint: Pubkey, amount: int, pool_id: Pubkey) -> None:
        user = inv.key(0)
        self._require_signer(inv, 0)
        self._system_state(inv, 2)
        if amount == 0:
            raise _fail("InvalidArgument", "amount must be positive")
        pool = self._pool(inv, 3, pool_id)
        if pool.flags & FLAG_LIQUIDITY_PAUSED:
            raise ProgramError.custom(1035, "PoolLiquidityPaused")
        side = self._side(pool, deposit_token_mint, "InvalidInstructionData")
        lp_mint, vault = side.lp_mint, side.vault
        if inv.key(9 if side.is_a else 10) != lp_mint:
            raise _fail("InvalidAccountData", "wrong LP mint account")
        user_token = self._token_account(inv, 7, owner=user, user=True)
        lp_account_problem = self._inspect_user_lp(inv, 8, user)
        if user_token.mint != deposit_token_mint:
            raise _fail("InvalidInstructionData", "user token account mint differs from the deposit mint")
        if inv.key(5 if side.is_a else 6) != vault:
            raise _fail("InvalidAccountData", "wrong vault account")
        self._token_account(inv, 5 if side.is_a else 6, owner=pool_id, mint=deposit_token_mint)
        self._check_lp_mint_authority(inv, lp_mint, pool_id)
        if lp_account_problem:
            raise ProgramError.custom(4001, f"user LP account invalid: {lp_account_problem}")
        lp_before = self._token_account(inv, 8)
        if lp_before.mint != lp_mint:
            raise _fail("InvalidAccountData", "user LP account has the wrong mint")
        if user_token.amount < amount:
            raise _fail("InsufficientFunds", "token balance below the deposit amount")
        pool = self._collect_fee(inv, 0, 3, pool_id, pool.contract_liquidity_fee, "collected_liquidity_fees")
        inv.token_transfer(inv.key(7), vault, amount, user, (), inv.key(4))
        liquidity = side.liquidity(pool) + amount
        if liquidity > U64_MAX:
            raise _fail("ArithmeticOverflow", "tracked liquidity overflows")
        self._patch_pool(inv, pool_id, **{side.liquidity_field: liquidity})
        inv.token_mint_to(lp_mint, inv.key(8), amount, pool_id, (pool_id,), inv.key(4))
        if self._token_account(inv, 8).amount - lp_before.amount != amount:
            raise ProgramError.custom(3001, "strict 1:1 LP violation")
        inv.log(f"Deposit: {amount} in, {amount} LP out")

    def _inspect_user_lp(self, inv: _Invocation, index: int, user: Pubkey) -> str | None:
        """liquidity.rs:271-289: any error of `safe_unpack_and_validate_token_account` (owner,
        frozen, active delegate, foreign account, bad bytes) only marks the LP account as
        unusable, answered later with Custom(4001); a panic (short data) is not an error."""
        account = inv.account(index)
        if account is None or not account.data:
            return "missing"
        try:
            self._token_account(inv, index, owner=user, user=True)
        except ProgramError as exc:
            if exc.error == "ProgramFailedToComplete":
                raise
            return exc.message
        return None

    def _check_lp_mint_authority(self, inv: _Invocation, lp_mint: Pubkey, pool_id: Pubkey) -> None:
        """validation.rs:121-158 (`validate_lp_mint_authority`)."""
        account = inv.env.get(lp_mint)
        if account is None or account.owner != TOKEN_PROGRAM_ID:
            raise _fail("IncorrectProgramId", "LP mint not owned by SPL Token")
        mint = unpack_mint_from_slice(account.data, "LP mint")
        if mint.mint_authority != pool_id:
            raise _fail("InvalidAccountData", "LP mint authority is not the pool")

    def _withdraw(self, inv: _Invocation, withdraw_token_mint: Pubkey, lp_amount_to_burn: int,
                  pool_id: Pubkey) -> None:
        amount = lp_amount_to_burn
        if amount == 0:
            raise _fail("InvalidArgument", "LP amount must be positive")
        user = inv.key(0)
        self._require_signer(inv, 0)
        self._system_state(inv, 2)
        pool = self._pool(inv, 3, pool_id)
        if pool.flags & FLAG_LIQUIDITY_PAUSED:
            raise ProgramError.custom(1035, "PoolLiquidityPaused")
        if inv.key(9) != pool.lp_token_a_mint or inv.key(10) != pool.lp_token_b_mint:
            raise _fail("InvalidAccountData", "wrong LP mint accounts")
        user_token = self._token_account(inv, 8, owner=user, user=True)
        user_lp = self._token_account(inv, 7, owner=user, user=True)
        if user_token.mint != withdraw_token_mint:
            raise _fail("InvalidInstructionData", "receiving account mint differs from the withdrawn mint")
        side = self._side(pool, withdraw_token_mint, "InvalidArgument")
        if user_lp.mint != side.lp_mint:
            raise _fail("InvalidAccountData", "LP account is not of the withdrawn side")
        vault_index = 5 if side.is_a else 6
        if inv.key(vault_index) != side.vault:
            raise _fail("InvalidAccountData", "wrong vault account")
        self._token_account(inv, vault_index, owner=pool_id, mint=withdraw_token_mint)
        self._check_lp_mint_authority(inv, side.lp_mint, pool_id)
        pool = self._collect_fee(inv, 0, 3, pool_id, pool.contract_liquidity_fee, "collected_liquidity_fees")
        inv.token_burn(inv.key(7), side.lp_mint, amount, user, inv.key(4))
        inv.token_transfer(side.vault, inv.key(8), amount, pool_id, (pool_id,), inv.key(4))
        liquidity = side.liquidity(pool)
        if liquidity < amount:
            raise _fail("ArithmeticOverflow", "tracked liquidity below the withdrawal")
        self._patch_pool(inv, pool_id, **{side.liquidity_field: liquidity - amount})
        inv.log(f"Withdraw: {amount} LP burned, {amount} out")

    def _swap(self, inv: _Invocation, input_token_mint: Pubkey, amount_in: int, expected_amount_out: int,
              pool_id: Pubkey) -> None:
        del input_token_mint  # the program ignores it: the direction comes from account [7]
        if amount_in == 0:
            raise _fail("InvalidArgument", "amount_in must be positive")
        user = inv.key(0)
        self._require_signer(inv, 0)
        self._system_state(inv, 2)
        pool = self._pool(inv, 3, pool_id)
        if pool.flags & FLAG_SWAPS_PAUSED:
            raise ProgramError.custom(1027, "PoolSwapsPaused")
        if pool.flags & FLAG_SWAP_FOR_OWNERS_ONLY and user != pool.owner:
            raise ProgramError.custom(1028, "SwapAccessRestricted")
        user_in = self._token_account(inv, 7, owner=user, user=True)
        self._token_account(inv, 8, owner=user, user=True)
        if user_in.mint == pool.token_a_mint:
            a_to_b = True
        elif user_in.mint == pool.token_b_mint:
            a_to_b = False
        else:
            raise _fail("InvalidArgument", "input account mint is not in the pool")
        if inv.key(5) != pool.token_a_vault or inv.key(6) != pool.token_b_vault:
            raise _fail("InvalidAccountData", "wrong vault accounts")
        self._token_account(inv, 5, owner=pool_id, mint=pool.token_a_mint)
        self._token_account(inv, 6, owner=pool_id, mint=pool.token_b_mint)
        in_mint, out_mint = (pool.token_a_mint, pool.token_b_mint) if a_to_b else (pool.token_b_mint, pool.token_a_mint)
        user_out = self._token_account(inv, 8)
        if user_in.amount < amount_in:
            raise _fail("InvalidAccountData", "input balance below amount_in")
        if user_out.mint != out_mint:
            raise _fail("InvalidAccountData", "output account has the wrong mint")
        if inv.key(4) != TOKEN_PROGRAM_ID:
            raise _fail("IncorrectProgramId", "wrong token program")
        if inv.key(9) != in_mint or inv.key(10) != out_mint:
            raise _fail("InvalidAccountData", "wrong mint accounts")
        self._unpack_mint(inv, 9)
        self._unpack_mint(inv, 10)
        amount_out = model.swap_output(amount_in, pool.ratio_a_numerator, pool.ratio_b_denominator,
                                       a_to_b, bool(pool.flags & FLAG_EXACT_EXCHANGE_REQUIRED))
        if amount_out != expected_amount_out:
            raise ProgramError.custom(1047, f"AmountMismatch: output {amount_out}, expected {expected_amount_out}")
        out_liquidity = pool.total_token_b_liquidity if a_to_b else pool.total_token_a_liquidity
        if amount_out > out_liquidity:
            raise _fail("InsufficientFunds", f"output {amount_out} exceeds liquidity {out_liquidity}")
        pool = self._collect_fee(inv, 0, 3, pool_id, pool.swap_contract_fee, "collected_swap_contract_fees")
        vault_in, vault_out = (pool.token_a_vault, pool.token_b_vault) if a_to_b else (pool.token_b_vault, pool.token_a_vault)
        inv.token_transfer(inv.key(7), vault_in, amount_in, user, (), inv.key(4))
        inv.token_transfer(vault_out, inv.key(8), amount_out, pool_id, (pool_id,), inv.key(4))
        if a_to_b:
            a, b = pool.total_token_a_liquidity + amount_in, pool.total_token_b_liquidity - amount_out
        else:
            a, b = pool.total_token_a_liquidity - amount_out, pool.total_token_b_liquidity + amount_in
        if a > U64_MAX or b > U64_MAX or a < 0 or b < 0:
            raise _fail("ArithmeticOverflow", "tracked liquidity out of range")
        self._patch_pool(inv, pool_id, total_token_a_liquidity=a, total_token_b_liquidity=b)
        inv.log(f"Swap: {amount_in} in, {amount_out} out")

    @staticmethod
    def _side(pool: PoolState, mint: Pubkey, error: str) -> "_Side":
        if mint == pool.token_a_mint:
            return _Side(True, pool.token_a_vault, pool.lp_token_a_mint)
        if mint == pool.token_b_mint:
            return _Side(False, pool.token_b_vault, pool.lp_token_b_mint)
        raise _fail(error, "mint is not one of the pool's tokens")

    # ---- pool administration ------------------------------------------------------------------

    def _pool_admin(self, inv: _Invocation, pool_id: Pubkey) -> PoolState:
        self._system_state(inv, 1)
        self._admin_check(inv, 0, 1, 3)
        return self._pool(inv, 2, pool_id)

    def _pause_pool(self, inv: _Invocation, pause_flags: int, pool_id: Pubkey) -> None:
        pool = self._pool_admin(inv, pool_id)
        self._write_pool_flags(inv, pool, model.apply_pause(pool.flags, pause_flags))

    def _unpause_pool(self, inv: _Invocation, unpause_flags: int, pool_id: Pubkey) -> None:
        pool = self._pool_admin(inv, pool_id)
        self._write_pool_flags(inv, pool, model.apply_unpause(pool.flags, unpause_flags))

    def _write_pool_flags(self, inv: _Invocation, pool: PoolState, flags: int, **changes) -> None:
        updated = dataclasses.replace(pool, flags=flags, **changes).encode()
        pool_key = inv.key(2)
        if inv.data(2) != updated or inv.ref(2).is_writable:
            inv.write_data(pool_key, updated)

    def _set_swap_owner_only(self, inv: _Invocation, enable_restriction: bool, designated_owner: Pubkey,
                             pool_id: Pubkey) -> None:
        pool = self._pool_admin(inv, pool_id)
        if enable_restriction:
            self._write_pool_flags(inv, pool, pool.flags | FLAG_SWAP_FOR_OWNERS_ONLY, owner=designated_owner)
        else:
            self._write_pool_flags(inv, pool, pool.flags & ~FLAG_SWAP_FOR_OWNERS_ONLY)

    def _update_pool_fees(self, inv: _Invocation, update_flags: int, new_liquidity_fee: int,
                          new_swap_fee: int, pool_id: Pubkey) -> None:
        self._system_state(inv, 1)
        self._admin_check(inv, 0, 1, 3)
        liquidity_fee, swap_fee = model.check_update_pool_fees(update_flags, new_liquidity_fee, new_swap_fee)
        pool = self._pool(inv, 2, pool_id)
        changes = {}
        if liquidity_fee is not None:
            changes["contract_liquidity_fee"] = liquidity_fee
        if swap_fee is not None:
            changes["swap_contract_fee"] = swap_fee
        inv.write_data(pool_id, dataclasses.replace(pool, **changes).encode())

    # ---- system administration ----------------------------------------------------------------

    def _pause_system(self, inv: _Invocation, reason_code: int) -> None:
        if not inv.ref(1).is_writable:
            raise _fail("InvalidAccountData", "system state must be writable")
        self._admin_check(inv, 0, 1, 2)
        state = SystemState.decode(inv.data(1))
        if state.is_paused:
            raise ProgramError.custom(1024, "SystemAlreadyPaused")
        state = dataclasses.replace(state, is_paused=True, pause_timestamp=inv.env.now, pause_reason_code=reason_code)
        inv.write_data(self.system_state_key, state.encode_into(inv.data(1)))

    def _unpause_system(self, inv: _Invocation) -> None:
        if len(inv.accounts) < 4:
            raise _fail("NotEnoughAccountKeys", "UnpauseSystem needs 4 accounts")
        if not inv.ref(1).is_writable or not inv.ref(2).is_writable:
            raise _fail("InvalidAccountData", "system state and treasury must be writable")
        self._admin_check(inv, 0, 1, 3)
        if inv.key(2) != self.treasury_key:
            raise _fail("InvalidAccountData", "wrong main treasury account")
        state = SystemState.decode(inv.data(1))
        if not state.is_paused:
            raise ProgramError.custom(1025, "SystemNotPaused")
        now = inv.env.now
        state = dataclasses.replace(state, is_paused=False, pause_timestamp=0, pause_reason_code=0)
        inv.write_data(self.system_state_key, state.encode_into(inv.data(1)))
        treasury = dataclasses.replace(self._treasury(inv, 2), last_withdrawal_timestamp=now + RESTART_PENALTY_SECONDS,
                                       last_update_timestamp=now)
        inv.write_data(self.treasury_key, treasury.encode())

    def _withdraw_treasury_fees(self, inv: _Invocation, amount: int) -> None:
        if not inv.ref(1).is_writable or not inv.ref(3).is_writable:
            raise _fail("InvalidAccountData", "treasury and destination must be writable")
        if inv.key(1) != self.treasury_key:
            raise _fail("InvalidAccountData", "wrong main treasury account")
        self._system_state(inv, 4)
        self._admin_check(inv, 0, 4, 5)
        treasury = self._treasury(inv, 1)
        # treasury.rs:144: `Rent::from_account_info(rent_sysvar_account)?` after the admin check.
        if inv.key(2) != RENT_SYSVAR_ID:
            raise _fail("InvalidArgument", "wrong rent sysvar")
        withdrawn = model.check_treasury_withdrawal(
            amount=amount, treasury_lamports=inv.lamports(1), stored_total_balance=treasury.total_balance,
            stored_rent_exempt_minimum=treasury.rent_exempt_minimum,
            last_withdrawal_timestamp=treasury.last_withdrawal_timestamp, now=inv.env.now)
        inv.move_lamports(self.treasury_key, inv.key(3), withdrawn)
        now = inv.env.now
        treasury = dataclasses.replace(
            treasury, treasury_withdrawal_count=treasury.treasury_withdrawal_count + 1,
            total_withdrawn=treasury.total_withdrawn + withdrawn, last_update_timestamp=now,
            last_withdrawal_timestamp=now, total_balance=inv.lamports(1))
        inv.write_data(self.treasury_key, treasury.encode())

    def _donate_sol(self, inv: _Invocation, amount: int, message: str) -> None:
        self._require_signer(inv, 0)
        if not inv.ref(0).is_writable or not inv.ref(1).is_writable:
            raise _fail("InvalidAccountData", "donor and treasury must be writable")
        if inv.key(3) != SYSTEM_PROGRAM_ID:
            raise _fail("IncorrectProgramId", "wrong system program")
        model.check_donation(amount, inv.lamports(0))
        if inv.key(1) != self.treasury_key:
            raise _fail("InvalidAccountData", "wrong main treasury account")
        self._system_state(inv, 2)
        inv.system_transfer(inv.key(0), self.treasury_key, amount)
        treasury = self._treasury(inv, 1)
        treasury = dataclasses.replace(
            treasury, donation_count=treasury.donation_count + 1,
            total_donations=treasury.total_donations + amount, last_update_timestamp=inv.env.now,
            total_balance=inv.lamports(1))
        inv.write_data(self.treasury_key, treasury.encode())
        inv.log(f"Donation of {amount} lamports: {message}")

    def _consolidate_pool_fees(self, inv: _Invocation, pool_count: int) -> int:
        if not 1 <= pool_count <= 20:
            raise _fail("InvalidArgument", "pool_count must be 1..20")
        if len(inv.accounts) < 4 + pool_count:
            raise _fail("ProgramFailedToComplete", "too few pool accounts (panic)")
        if len(inv.accounts) > 4 + pool_count:
            raise _fail("NotEnoughAccountKeys", "more accounts than pool_count")
        self._admin_check(inv, 0, 1, 3)
        system_account = inv.account(1)
        if system_account is None or system_account.owner != self.program_id:
            raise _fail("IncorrectProgramId", "system state not owned by the program")
        try:
            system = SystemState.decode(bytes(system_account.data))
        except ValueError:
            raise ProgramError.custom(1036, "InvalidSystemStateDeserialization") from None
        treasury = self._treasury(inv, 2)
        totals = {"liquidity": 0, "swap": 0, "liquidity_ops": 0, "swap_ops": 0}
        now = inv.env.now
        for index in range(4, 4 + pool_count):
            pool = self._pool(inv, index, inv.key(index))
            both_paused = pool.flags & FLAG_LIQUIDITY_PAUSED and pool.flags & FLAG_SWAPS_PAUSED
            if not system.is_paused and not both_paused:
                continue
            pending = pool.total_sol_fees_collected - pool.total_fees_consolidated
            if pending == 0:
                continue
            result = model.consolidation(inv.lamports(index), pool.collected_liquidity_fees,
                                         pool.collected_swap_contract_fees)
            if result.skipped:
                continue
            for key, value in (("liquidity", result.l), ("swap", result.r),
                               ("liquidity_ops", result.liquidity_ops), ("swap_ops", result.swap_ops)):
                totals[key] += value
            pool = dataclasses.replace(
                pool, collected_liquidity_fees=result.liquidity_fees_after,
                collected_swap_contract_fees=result.swap_fees_after,
                total_fees_consolidated=pool.total_fees_consolidated + result.consolidated,
                last_consolidation_timestamp=now, total_consolidations=pool.total_consolidations + 1)
            inv.write_data(inv.key(index), pool.encode())
            inv.move_lamports(inv.key(index), self.treasury_key, result.a)
        treasury = dataclasses.replace(
            treasury,
            total_liquidity_fees=treasury.total_liquidity_fees + totals["liquidity"],
            total_regular_swap_fees=treasury.total_regular_swap_fees + totals["swap"],
            total_swap_contract_fees=treasury.total_swap_contract_fees + totals["swap"],
            liquidity_operation_count=treasury.liquidity_operation_count + totals["liquidity_ops"],
            regular_swap_count=treasury.regular_swap_count + totals["swap_ops"],
            total_consolidations_performed=treasury.total_consolidations_performed + 1,
            last_update_timestamp=now, total_balance=inv.lamports(2))
        inv.write_data(self.treasury_key, treasury.encode())
        return COMPUTE_UNITS["consolidate_pool_fees"] + CONSOLIDATION_UNITS_PER_POOL * pool_count

    def _process_admin_change(self, inv: _Invocation, new_admin: Pubkey) -> None:
        if inv.key(1) != self.system_state_key:
            raise _fail("InvalidAccountData", "wrong system state account")
        try:
            state = SystemState.decode(inv.data(1))
        except ValueError:
            raise _fail("InvalidAccountData", "system state does not decode") from None
        if state.is_paused:
            raise ProgramError.custom(1023, "SystemPaused")
        signer = inv.key(0)
        if signer != state.admin_authority:
            self._upgrade_authority_check(inv, signer, 2)
        self._require_signer(inv, 0)
        change = model.admin_change(admin=state.admin_authority, pending=state.pending_admin_authority,
                                    change_timestamp=state.admin_change_timestamp, new_admin=new_admin,
                                    now=inv.env.now)
        inv.log(f"Admin change: {change.outcome}")
        state = dataclasses.replace(state, admin_authority=change.admin, pending_admin_authority=change.pending,
                                    admin_change_timestamp=change.change_timestamp)
        inv.write_data(self.system_state_key, state.encode_into(inv.data(1)))

    # ---- views: no state change, results in the logs ---------------------------------------------

    def _view(self, inv: _Invocation, name: str, fields: dict) -> int:
        inv.log(f"Instruction: {name}")
        if name == "get_version":
            inv.log(f"Contract Version: {VERSION}")
        elif name == "get_pool_sol_balance":
            # utilities.rs:366-385: the first account's lamports, whatever the account.
            inv.log(f"Pool {inv.key(0)}: lamports {inv.lamports(0)}")
        elif name == "get_pool_pause_status":
            # utilities.rs:235-240: `PoolState::try_from_slice(&accounts[0].data)?`: no owner or
            # key check, and the data must be one PoolState exactly (else BorshIoError).
            try:
                pool = PoolState.decode(inv.data(0))
            except ValueError:
                raise ProgramError({"BorshIoError": "Unknown"}, "pool state does not deserialize") from None
            inv.log(f"Swaps: {'PAUSED' if pool.swaps_paused else 'ENABLED'}")
        elif name in ("get_pool_info", "get_liquidity_info", "get_fee_info"):
            if name == "get_pool_info":
                inv.key(3)  # utilities.rs:182-185 index accounts [0] to [3]: fewer panic
            index = 2 if name == "get_pool_info" else 0
            # utilities.rs:187, 275, 313: validate_and_deserialize_pool_state_secure with the
            # account's own key (validation.rs:187-243): owner, decode, mints and ratios.
            pool = self._pool(inv, index, inv.key(index))
            inv.log(f"Pool {inv.key(index)}: ratio {pool.ratio_a_numerator}:{pool.ratio_b_denominator}, "
                    f"liquidity A {pool.total_token_a_liquidity}, B {pool.total_token_b_liquidity}, "
                    f"flags {pool.flags}, lamports {inv.lamports(index)}")
        elif name == "get_treasury_info":
            treasury = self._treasury(inv, 0)
            inv.log(f"Treasury: lamports {inv.lamports(0)}, pools created {treasury.pool_creation_count}")
        elif name == "get_consolidation_status":
            count = fields["pool_count"]
            if count:
                inv.key(count - 1)  # lib.rs:332-334 slices `accounts[..pool_count]`: more than passed panics
            for index in range(count):  # consolidation.rs:467: each validated as a pool, with its own key
                pool = self._pool(inv, index, inv.key(index))
                inv.log(f"Pool {inv.key(index)}: pending {pool.pending_sol_fees}")
        return VIEW_COMPUTE_UNITS


@dataclass(frozen=True)
class _Side:
    is_a: bool
    vault: Pubkey
    lp_mint: Pubkey

    @property
    def liquidity_field(self) -> str:
        return "total_token_a_liquidity" if self.is_a else "total_token_b_liquidity"

    def liquidity(self, pool: PoolState) -> int:
        return getattr(pool, self.liquidity_field)
