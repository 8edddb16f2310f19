"""The checks a Solana validator's runtime applies around any program, applied to the emulated FRT.

A real program can only change accounts through the runtime, which refuses what a program may
not do whatever the program is. The emulator writes accounts directly, so these rules are
applied here, around each emulated instruction and each cross-program invocation it makes:

* a "segment" is a stretch of one program's execution. Each account the program changed is
  compared with its value when the segment began, with the rules of agave's `BorrowedAccount`
  (`set_lamports`, `can_data_be_resized`, `can_data_be_changed`, `set_owner`, `set_executable`),
  in that order: ExternalAccountLamportSpend, ReadonlyLamportChange, AccountDataSizeChanged,
  ReadonlyDataModified, ExternalAccountDataModified, ModifiedProgramId,
  ExecutableAccountNotRentExempt, ExecutableModified (the executable flag itself no longer
  protects an account, SIMD-0162: see `_violation`); of several accounts
  in breach, the first in the instruction's account order is reported. The accounts a caller
  passes to a CPI are checked at the call (agave `update_callee_account`), the others when the
  caller returns; the callee's when it returns;
* at the start of a CPI (agave `prepare_next_instruction`): every account of the callee's
  instruction must be an account of the caller's instruction (MissingAccount), may not be
  writable unless writable in the caller, nor signing unless signing in the caller or a PDA the
  caller signs for with seeds (PrivilegeEscalation); the callee program itself must be an
  account of the caller's instruction ("Unknown program", MissingAccount: SIMD-0163, which
  would have lifted this, was rescinded, agave #6828);
* when an instruction (top level or CPI) returns, the sum of its accounts' lamports must be what
  it was when it began (UnbalancedInstruction);
* a program writing an account that is not one of its instruction's is MissingAccount (a real
  program cannot even reach it);
* (in `emulated_tx._decompile_all`) reserved accounts and invoked programs are read-only.

Only accounts that were written are looked at: an account nobody wrote is unchanged, so the
lamport sums need only the written ones, and the snapshots are the `Account` objects the
environment already holds (no copies). A lookup of a key costs a hash, so a frame's privileges
are hashed once and only for a long account list.
"""
from __future__ import annotations

from solders.account import Account
from solders.pubkey import Pubkey

from engine.frt.constants import SYSTEM_PROGRAM_ID, rent_exempt_minimum
from engine.frt.errors import ProgramError

_ABSENT = Account(0, b"", SYSTEM_PROGRAM_ID)

# agave `ReservedAccountKeys` (builtin programs, sysvars, the native loader): never writable in
# a transaction, whatever its message header says.
RESERVED_ACCOUNT_KEYS = frozenset(Pubkey.from_string(key) for key in (
    "AddressLookupTab1e1111111111111111111111111", "BPFLoader1111111111111111111111111111111111",
    "BPFLoader2111111111111111111111111111111111", "BPFLoaderUpgradeab1e11111111111111111111111",
    "ComputeBudget111111111111111111111111111111", "Config1111111111111111111111111111111111111",
    "Ed25519SigVerify111111111111111111111111111", "Feature111111111111111111111111111111111111",
    "LoaderV411111111111111111111111111111111111", "KeccakSecp256k11111111111111111111111111111",
    "Secp256r1SigVerify1111111111111111111111111", "Stake11111111111111111111111111111111111111",
    "11111111111111111111111111111111", "Vote111111111111111111111111111111111111111",
    "ZkE1Gama1Proof11111111111111111111111111111", "ZkTokenProof1111111111111111111111111111111",
    "SysvarC1ock11111111111111111111111111111111", "SysvarEpochRewards1111111111111111111111111",
    "SysvarEpochSchedu1e111111111111111111111111", "SysvarFees111111111111111111111111111111111",
    "Sysvar1nstructions1111111111111111111111111", "SysvarLastRestartS1ot1111111111111111111111",
    "SysvarRecentB1ockHashes11111111111111111111", "SysvarRent111111111111111111111111111111111",
    "SysvarRewards111111111111111111111111111111", "SysvarS1otHashes111111111111111111111111111",
    "SysvarS1otHistory11111111111111111111111111", "SysvarStakeHistory1111111111111111111111111",
    "NativeLoader1111111111111111111111111111111", "Sysvar1111111111111111111111111111111111111",
))


class Frame:
    """One instruction being executed: its program, the privileges of its accounts, and the
    accounts written in its current segment with their values when the segment began."""

    __slots__ = ("program_id", "triples", "flags", "start", "delta")

    def __init__(self, program_id: Pubkey, triples, flags: dict | None = None) -> None:
        """`triples`: (pubkey, is_signer, is_writable) for each account of the instruction.
        `flags` (key -> (is_signer, is_writable)) is built on first use for a long list; a
        key listed twice has the union of its privileges, as in the runtime."""
        self.program_id = program_id
        self.triples = triples
        self.flags = flags
        self.start: dict[Pubkey, tuple] = {}  # key -> (value when first written, writable)
        self.delta = 0  # lamports gained by the instruction's accounts so far (must end at 0)

    def privileges(self, key: Pubkey) -> tuple[bool, bool] | None:
        flags = self.flags
        if flags is None:
            if len(self.triples) <= 4:  # a CPI's few accounts: a scan is cheaper than hashing
                found = None
                for other, signer, writable in self.triples:
                    if other == key:
                        found = (signer, writable) if found is None else (found[0] or signer, found[1] or writable)
                return found
            flags = self.flags = _flags(self.triples)
        return flags.get(key)

    def position(self, key: Pubkey) -> int:
        for index, (other, _, _) in enumerate(self.triples):
            if other == key:
                return index
        return len(self.triples)


def _flags(triples) -> dict:
    flags = {key: (signer, writable) for key, signer, writable in triples}
    if len(flags) != len(triples):  # duplicates: the union of their privileges
        flags = {}
        for key, signer, writable in triples:
            old = flags.get(key)
            flags[key] = (signer, writable) if old is None else (old[0] or signer, old[1] or writable)
    return flags


def triples_of(metas) -> list[tuple[Pubkey, bool, bool]]:
    """(pubkey, is_signer, is_writable) of AccountMeta-like objects."""
    return [(meta.pubkey, meta.is_signer, meta.is_writable) for meta in metas]


class RuntimeFrames:
    """The stack of instructions in progress for one top-level emulated instruction.

    `accounts` is the environment's dict of current values: every account written is in it.
    The lamport balance of an instruction is kept as the sum of its segments' lamport changes
    (each account changes only inside segments that wrote it, so the sum telescopes to the
    change over the whole instruction)."""

    __slots__ = ("accounts", "stack")

    def __init__(self, program_id: Pubkey, triples, accounts: dict) -> None:
        self.accounts = accounts
        self.stack: list[Frame] = [Frame(program_id, triples)]

    def record(self, key: Pubkey, before: Account | None) -> None:
        """Called before every write. A program can only reach the accounts of its instruction."""
        frame = self.stack[-1]
        start = frame.start
        if key in start:
            return
        flags = frame.flags
        privileges = flags.get(key) if flags is not None else frame.privileges(key)
        if privileges is None:
            raise ProgramError("MissingAccount", f"{key} is not an account of the instruction")
        start[key] = (before, privileges[1])

    # ---- cross-program invocations --------------------------------------------------------

    def enter(self, program_id: Pubkey, triples, pda_signers=()) -> None:
        """Begin a CPI into `program_id`; `triples` are the callee instruction's accounts."""
        caller = self.stack[-1]
        flags = caller.flags
        if flags is None:
            flags = caller.flags = _flags(caller.triples)
        found = [flags.get(key) for key, _, _ in triples]
        if None in found:
            key = triples[found.index(None)][0]
            raise ProgramError("MissingAccount", f"Instruction references an unknown account {key}")
        for (key, signer, writable), (caller_signer, caller_writable) in zip(triples, found):
            if writable and not caller_writable:
                raise ProgramError("PrivilegeEscalation", f"{key}'s writable privilege escalated")
            if signer and not caller_signer and key not in pda_signers:
                raise ProgramError("PrivilegeEscalation", f"{key}'s signer privilege escalated")
        if program_id not in flags:
            raise ProgramError("MissingAccount", f"Unknown program {program_id}")
        # The caller's changes to the accounts it passes are handed to the runtime at the call
        # (agave `update_callee_account`); its changes to other accounts stay pending until it
        # returns.
        start = caller.start
        if start:
            passed = {key: start.pop(key) for key, _, _ in triples if key in start}
            if passed:
                pending, caller.start = start, passed
                try:
                    caller.delta += self._check_segment(caller)
                finally:
                    caller.start = pending
        self.stack.append(Frame(program_id, triples))

    def leave(self) -> None:
        """The callee returned successfully: its changes and its balance are checked."""
        callee = self.stack.pop()
        if self._check_segment(callee):
            raise ProgramError("UnbalancedInstruction", f"{callee.program_id}: lamports created or destroyed")

    def abandon(self) -> None:
        """The callee failed: its error propagates and the transaction is rolled back."""
        self.stack.pop()

    def finish(self) -> None:
        """The top-level instruction returned successfully."""
        frame = self.stack[0]
        delta = frame.delta + self._check_segment(frame)
        if delta:
            raise ProgramError("UnbalancedInstruction",
                               f"the instruction's accounts gained {delta} lamports")

    # ---- the rules ------------------------------------------------------------------------

    def _check_segment(self, frame: Frame) -> int:
        """Checks the segment's writes; returns the lamports its accounts gained."""
        accounts = self.accounts
        program_id = frame.program_id
        delta = 0
        found = None
        for key, (before, writable) in frame.start.items():
            after = accounts[key]
            if after is before:
                continue
            if before is None:
                before = _ABSENT
            if after is None:
                after = _ABSENT
            delta += after.lamports - before.lamports
            if (writable and before.owner == program_id and after.owner == before.owner
                    and after.executable == before.executable):
                continue  # the owner changing its writable account: nothing to refuse
            error = _violation(key, before, after, writable, program_id)
            if error is not None and (found is None or frame.position(key) < frame.position(found[0])):
                found = error
        if found is not None:  # the first in the instruction's account order, as the runtime finds it
            raise ProgramError(found[1], found[2])
        return delta


def _violation(key: Pubkey, before: Account, after: Account, writable: bool, program_id: Pubkey):
    """The first rule of agave's `BorrowedAccount` that the change breaks: (key, name, text).

    The executable flag no longer protects an account's lamports, data or owner (SIMD-0162,
    `remove_accounts_executable_flag_checks`, active on mainnet since epoch 811): a program
    account is protected by its owner, the loader, like any other. Setting the flag remains
    the owner's, on a writable, rent-exempt account, and it can never be cleared."""
    owned = before.owner == program_id
    if after.lamports != before.lamports:
        if not owned and after.lamports < before.lamports:
            return key, "ExternalAccountLamportSpend", f"{key}: debited by a program that does not own it"
        if not writable:
            return key, "ReadonlyLamportChange", f"{key}: balance of a read-only account changed"
    before_data, after_data = before.data, after.data
    if before_data != after_data:
        if len(after_data) != len(before_data) and not owned:
            return key, "AccountDataSizeChanged", f"{key}: resized by a program that does not own it"
        if not writable:
            return key, "ReadonlyDataModified", f"{key}: data of a read-only account changed"
        if not owned:
            return key, "ExternalAccountDataModified", f"{key}: data changed by a program that does not own it"
    if after.owner != before.owner:
        if not owned or not writable or any(after_data):
            return key, "ModifiedProgramId", f"{key}: owner changed by a program that may not"
    if after.executable != before.executable:
        if after.executable and after.lamports < rent_exempt_minimum(len(after_data)):
            return key, "ExecutableAccountNotRentExempt", f"{key}: executable but not rent-exempt"
        if not owned or not writable or before.executable:
            return key, "ExecutableModified", f"{key}: executable flag changed by a program that may not"
    return None


__all__ = ["Frame", "RESERVED_ACCOUNT_KEYS", "RuntimeFrames", "triples_of"]
