"""The checks a Solana validator's runtime applies around any program, applied to the emulated FRT.

A real program can only change accounts through the runtime, which refuses what a program may
not do whatever the program is. The emulator writes accounts directly, so these rules are
applied here, around each emulated instruction and each cross-program invocation it makes:

* a "segment" is the stretch of one program's execution between CPI boundaries. At the end of
  a segment every account the program changed is compared with its value at the segment's start,
  with the rules of agave's `BorrowedAccount` (`set_lamports`, `can_data_be_resized`,
  `can_data_be_changed`, `set_owner`), in that order and in the instruction's account order:
  ExternalAccountLamportSpend, ReadonlyLamportChange, ExecutableLamportChange,
  AccountDataSizeChanged, ExecutableDataModified, ReadonlyDataModified,
  ExternalAccountDataModified, ModifiedProgramId, ExecutableModified;
* at the start of a CPI (agave `prepare_next_instruction`): every account of the callee's
  instruction must be an account of the caller's instruction (MissingAccount), may not be
  writable unless writable in the caller, nor signing unless signing in the caller or a PDA the
  caller signs for with seeds (PrivilegeEscalation); the callee program itself must be an
  account of the caller's instruction ("Unknown program", MissingAccount: the rule that would
  have lifted this, SIMD-0163, was rescinded);
* when an instruction (top level or CPI) returns, the sum of its accounts' lamports must be what
  it was when it began (UnbalancedInstruction).

Only accounts that were written are looked at: an account nobody wrote is unchanged, so the
lamport sums need only the written ones, and the snapshots are the `Account` objects the
environment already holds (no copies).
"""
from __future__ import annotations

from solders.account import Account
from solders.pubkey import Pubkey

from engine.frt.constants import SYSTEM_PROGRAM_ID
from engine.frt.errors import ProgramError

_ABSENT = Account(0, b"", SYSTEM_PROGRAM_ID)


class Frame:
    """One instruction being executed: the program and the privileges of its accounts."""

    __slots__ = ("program_id", "order", "keys", "writable", "signers", "start", "entry")

    def __init__(self, program_id: Pubkey, metas) -> None:
        """`metas`: (pubkey, is_signer, is_writable) triples or AccountMeta-like objects;
        a key listed twice has the union of its privileges, as in the runtime."""
        self.program_id = program_id
        self.order: list[Pubkey] = []
        self.keys: set[Pubkey] = set()
        self.writable: set[Pubkey] = set()
        self.signers: set[Pubkey] = set()
        for meta in metas:
            key, signer, writable = _triple(meta)
            if key not in self.keys:
                self.keys.add(key)
                self.order.append(key)
            if signer:
                self.signers.add(key)
            if writable:
                self.writable.add(key)
        self.start: dict[Pubkey, Account | None] = {}   # values when this segment first wrote them
        self.entry: dict[Pubkey, Account | None] = {}   # values when this instruction first wrote them


def _triple(meta) -> tuple[Pubkey, bool, bool]:
    if isinstance(meta, tuple):
        return meta
    return meta.pubkey, meta.is_signer, meta.is_writable


class RuntimeFrames:
    """The stack of instructions in progress for one top-level emulated instruction."""

    __slots__ = ("read", "stack")

    def __init__(self, program_id: Pubkey, metas, read) -> None:
        self.read = read  # key -> current Account | None
        self.stack: list[Frame] = [Frame(program_id, metas)]

    @property
    def current(self) -> Frame:
        return self.stack[-1]

    def record(self, key: Pubkey, before: Account | None) -> None:
        """Called before every write. A program can only reach the accounts of its instruction."""
        frame = self.stack[-1]
        if key not in frame.keys:
            raise ProgramError("MissingAccount", f"{key} is not an account of the instruction")
        if key not in frame.start:
            frame.start[key] = before
        for outer in self.stack:
            if key not in outer.entry:
                outer.entry[key] = before

    # ---- cross-program invocations --------------------------------------------------------

    def enter(self, program_id: Pubkey, metas, pda_signers=()) -> None:
        """Begin a CPI into `program_id` with the callee instruction's `metas`."""
        caller = self.stack[-1]
        callee = Frame(program_id, metas)
        for key in callee.order:
            if key not in caller.keys:
                raise ProgramError("MissingAccount", f"Instruction references an unknown account {key}")
        for key in callee.order:
            if key in callee.writable and key not in caller.writable:
                raise ProgramError("PrivilegeEscalation", f"{key}'s writable privilege escalated")
            if key in callee.signers and key not in caller.signers and key not in pda_signers:
                raise ProgramError("PrivilegeEscalation", f"{key}'s signer privilege escalated")
        if program_id not in caller.keys:
            raise ProgramError("MissingAccount", f"Unknown program {program_id}")
        # The caller's changes so far are handed to the runtime at the call.
        self._check_segment(caller)
        caller.start = {}
        self.stack.append(callee)

    def leave(self) -> None:
        """The callee returned successfully: its changes and its balance are checked."""
        callee = self.stack.pop()
        self._check_segment(callee)
        self._check_balance(callee)

    def abandon(self) -> None:
        """The callee failed: its error propagates and the transaction is rolled back."""
        self.stack.pop()

    def finish(self) -> None:
        """The top-level instruction returned successfully."""
        frame = self.stack[0]
        self._check_segment(frame)
        self._check_balance(frame)

    # ---- the rules ------------------------------------------------------------------------

    def _check_segment(self, frame: Frame) -> None:
        if not frame.start:
            return
        read = self.read
        program_id = frame.program_id
        for key in frame.order:
            if key not in frame.start:
                continue
            before = frame.start[key] or _ABSENT
            after = read(key) or _ABSENT
            if after is before:
                continue
            writable = key in frame.writable
            owned = before.owner == program_id
            if after.lamports != before.lamports:
                if not owned and after.lamports < before.lamports:
                    raise ProgramError("ExternalAccountLamportSpend", f"{key}: debited by a program that does not own it")
                if not writable:
                    raise ProgramError("ReadonlyLamportChange", f"{key}: balance of a read-only account changed")
                if before.executable:
                    raise ProgramError("ExecutableLamportChange", f"{key}: balance of an executable account changed")
            before_data, after_data = before.data, after.data
            if len(after_data) != len(before_data) or bytes(after_data) != bytes(before_data):
                if len(after_data) != len(before_data) and not owned:
                    raise ProgramError("AccountDataSizeChanged", f"{key}: resized by a program that does not own it")
                if before.executable:
                    raise ProgramError("ExecutableDataModified", f"{key}: data of an executable account changed")
                if not writable:
                    raise ProgramError("ReadonlyDataModified", f"{key}: data of a read-only account changed")
                if not owned:
                    raise ProgramError("ExternalAccountDataModified", f"{key}: data changed by a program that does not own it")
            if after.owner != before.owner:
                if not owned or not writable or before.executable or any(bytes(after_data)):
                    raise ProgramError("ModifiedProgramId", f"{key}: owner changed illegally")
            if after.executable != before.executable:
                raise ProgramError("ExecutableModified", f"{key}: executable flag changed")

    def _check_balance(self, frame: Frame) -> None:
        if not frame.entry:
            return
        read = self.read
        before = sum(account.lamports for account in frame.entry.values() if account is not None)
        after = 0
        for key in frame.entry:
            account = read(key)
            if account is not None:
                after += account.lamports
        if before != after:
            raise ProgramError("UnbalancedInstruction",
                               f"accounts of the instruction held {before} lamports before, {after} after")


__all__ = ["Frame", "RuntimeFrames"]
