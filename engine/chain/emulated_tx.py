"""Runs one transaction that calls the FRT program through the built-in emulator.

The runtime steps a validator performs are reproduced here in order: signature verification,
compute budget, fee, execution instruction by instruction (FRT by the emulator, everything
else by LiteSVM), rent-state check, and all-or-nothing roll-back apart from the fee.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from solders.instruction import AccountMeta, Instruction
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction, VersionedTransaction
from solders.transaction_status import (
    TransactionErrorFieldless,
    TransactionErrorInstructionError,
    TransactionErrorInsufficientFundsForRent,
)

from engine.chain.runtime_rules import RESERVED_ACCOUNT_KEYS, RuntimeFrames, triples_of
from engine.chain.processed import (
    DEFAULT_CU_PER_INSTRUCTION,
    MAX_CU_PER_TRANSACTION,
    Processed,
    with_lamports,
)
from engine.frt.constants import (
    BPF_LOADER_UPGRADEABLE_ID,
    COMPUTE_BUDGET_PROGRAM_ID,
    LAMPORTS_PER_SIGNATURE,
    rent_exempt_minimum,
)
from engine.frt.errors import ProgramError, from_rpc_json


@dataclass
class _Budget:
    limit: int
    price_micro_lamports: int = 0

    @property
    def priority_fee(self) -> int:
        return -(-self.limit * self.price_micro_lamports // 1_000_000)


_UNREAD = object()


class EmulatorEnv:
    """What the emulator sees of the ledger while one instruction runs.

    Every write goes through `put`, which first hands the account's current value to the
    runtime frames (`engine.chain.runtime_rules`): the runtime's rules are checked when the
    program calls another program (`frames.enter` / `frames.leave`, made by the emulator's CPI
    helpers) and when it returns (`finish`). Writes stay here until `finish` has checked them."""

    def __init__(self, ledger, accounts: list[AccountMeta], logs: list[str], written: dict,
                 program_id: Pubkey | None = None, triples=None):
        """`written` collects, over the whole transaction, [value before the emulator first
        wrote it, last value written] of each account the emulator wrote; `triples` are
        (key, is_signer, is_writable) of `accounts`."""
        self.ledger = ledger
        self.accounts = accounts
        self.logs = logs
        self.written = written
        self._cache: dict[Pubkey, object] = {}
        self._dirty: dict[Pubkey, object] = {}  # written here, reaching the ledger at `finish`
        self._read = ledger.svm.get_account
        if triples is None:
            triples = triples_of(accounts)
        self.keys = [key for key, _, _ in triples]
        self.frames = RuntimeFrames(program_id if program_id is not None else ledger.program_id,
                                    triples, self._cache)

    @property
    def now(self) -> int:
        return self.ledger.unix_timestamp

    def get(self, key: Pubkey):
        try:
            return self._cache[key]
        except KeyError:
            account = self._cache[key] = self._read(key)
            return account

    def put(self, key: Pubkey, account) -> None:
        cache = self._cache
        before = cache.get(key, _UNREAD)
        if before is _UNREAD:
            before = self.get(key)
        self.frames.record(key, before)
        cache[key] = account
        self._dirty[key] = account
        entry = self.written.get(key)
        if entry is None:
            self.written[key] = [before, account]
        else:
            entry[1] = account

    def finish(self) -> None:
        """The program returned: the runtime's checks on the whole instruction, then its
        writes reach the ledger (a refused instruction never wrote anything there)."""
        self.frames.finish()
        write = self.ledger.svm.set_account
        for key, account in self._dirty.items():
            try:
                write(key, account)
            except Exception as exc:  # LiteSVM refuses what no runtime would store
                raise ProgramError("InvalidAccountData", f"the ledger refused {key}: {exc}") from None

    def log(self, line: str) -> None:
        self.logs.append(f"Program log: {line}")


def run_emulated_transaction(ledger, tx: Transaction | VersionedTransaction,
                             message: Message, keys: list[Pubkey]) -> Processed:
    signature = tx.signatures[0]
    slot = ledger.slot
    if isinstance(tx, VersionedTransaction):
        if not isinstance(message, Message):
            return Processed(signature, TransactionErrorFieldless.UnsupportedVersion, slot=slot)
        tx = Transaction.populate(message, list(tx.signatures))
    if not all(tx.verify_with_results()):
        return Processed(signature, TransactionErrorFieldless.SignatureFailure, slot=slot)

    instructions, triples = _decompile_all(message, keys)
    budget = _compute_budget(instructions)
    if budget is None:
        return Processed(signature, TransactionErrorFieldless.SanitizeFailure, slot=slot)
    fee = message.header.num_required_signatures * LAMPORTS_PER_SIGNATURE + budget.priority_fee
    payer = keys[0]
    payer_account = ledger.get_account(payer)
    if payer_account is None:
        return Processed(signature, TransactionErrorFieldless.AccountNotFound, slot=slot)
    if payer_account.lamports < fee:
        return Processed(signature, TransactionErrorFieldless.InsufficientFundsForFee, slot=slot)
    ledger.svm.set_account(payer, with_lamports(payer_account, payer_account.lamports - fee))

    # When only the emulator runs, what it writes is all that changes, and `written` keeps each
    # such account before and after: no snapshot of the transaction's accounts is needed.
    # When LiteSVM runs some instructions too, every account is saved and read back.
    program_id = ledger.program_id
    only_emulated = all(ix.program_id in (program_id, COMPUTE_BUDGET_PROGRAM_ID) for ix in instructions)
    if only_emulated:
        saved = None
    else:
        read = ledger.svm.get_account
        saved = [(key, read(key)) for key in keys]
    logs: list[str] = []
    written: dict[Pubkey, list] = {}
    error, units = _execute(ledger, keys, instructions, triples, budget, logs, written)
    if error is None:
        error = _after_execution_error(ledger, saved, written, keys)
    if error is not None:
        ledger.restore_accounts(saved if saved is not None
                                else [(key, first) for key, (first, _) in written.items()])
    return Processed(signature, error, logs, fee, units, slot)


def _execute(ledger, keys, instructions, triples, budget, logs, written):
    """Returns (solders transaction error or None, compute units consumed)."""
    emulator = ledger.emulator
    program_id = ledger.program_id
    remaining = budget.limit
    index = 0
    while index < len(instructions):
        ix = instructions[index]
        if ix.program_id == COMPUTE_BUDGET_PROGRAM_ID:
            index += 1
            continue
        if ix.program_id == program_id:
            logs.append(f"Program {program_id} invoke [1]")
            env = EmulatorEnv(ledger, ix.accounts, logs, written, program_id, triples[index])
            try:
                cost = emulator.execute(ix.accounts, ix.data, env)
                env.finish()
                if cost > remaining:
                    logs.append(f"Program {program_id} consumed {remaining} of {remaining} compute units")
                    raise ProgramError("ComputationalBudgetExceeded")
            except ProgramError as exc:
                logs.append(f"Program {program_id} failed: {exc}")
                return from_rpc_json({"InstructionError": [index, exc.error]}), budget.limit - remaining
            remaining -= cost
            logs.append(f"Program {program_id} consumed {cost} of {remaining + cost} compute units")
            logs.append(f"Program {program_id} success")
            index += 1
            continue
        group = [index]
        while (group[-1] + 1 < len(instructions)
               and instructions[group[-1] + 1].program_id not in (program_id, COMPUTE_BUDGET_PROGRAM_ID)):
            group.append(group[-1] + 1)
        sub_message = Message.new_with_blockhash(
            [Instruction(instructions[i].program_id, instructions[i].data, instructions[i].accounts) for i in group],
            keys[0], ledger.svm.latest_blockhash())
        result = ledger.send_unsigned(sub_message)
        logs.extend(result.logs)
        remaining -= result.compute_units
        if result.err is not None:
            return _map_sub_error(result.err, group, sub_message, keys), budget.limit - remaining
        index = group[-1] + 1
    return None, budget.limit - remaining


def _map_sub_error(err, group, sub_message: Message, keys: list[Pubkey]):
    if isinstance(err, TransactionErrorInstructionError):
        return TransactionErrorInstructionError(group[err.index], err.err)
    if isinstance(err, TransactionErrorInsufficientFundsForRent):
        key = sub_message.account_keys[err.account_index]
        return TransactionErrorInsufficientFundsForRent(keys.index(key))
    return err


def _after_execution_error(ledger, saved, written, keys):
    """What the runtime checks once every instruction has run, in its order (agave
    `execute_loaded_transaction`):

    * rent state: an account the emulator wrote may not be left with 0 < lamports < its
      rent-exempt minimum unless it already was (LiteSVM checks the accounts of the
      instructions it runs itself) -> InsufficientFundsForRent;
    * the lamports of all the transaction's accounts sum to what they did after the fee was
      charged -> UnbalancedTransaction.

    Without `saved` (only the emulator ran) only the accounts it wrote can have changed, and
    `written` holds each before and after; otherwise the ledger is read back."""
    if saved is None:
        changes = written.items()
    else:
        changes = [(key, (before, ledger.get_account(key))) for key, before in saved]
    for key, (before, after) in changes:
        if key in written and _rent_state_broken(before, after):
            return TransactionErrorInsufficientFundsForRent(keys.index(key))
    if sum(_lamports_of(before) for _, (before, _) in changes) != sum(_lamports_of(after) for _, (_, after) in changes):
        return TransactionErrorFieldless.UnbalancedTransaction
    return None


def _lamports_of(account) -> int:
    return account.lamports if account is not None else 0


def _rent_state_broken(before, after) -> bool:
    """Left with 0 < lamports < its rent-exempt minimum by this transaction (not already so)."""
    before_lamports, after_lamports = _lamports_of(before), _lamports_of(after)
    if after_lamports == 0 or before_lamports == after_lamports:
        return False
    minimum = rent_exempt_minimum(len(after.data))
    return after_lamports < minimum and not 0 < before_lamports < minimum


class _Ix:
    """A decompiled instruction (a solders Instruction is built only for LiteSVM: its
    properties build new objects on every access)."""

    __slots__ = ("program_id", "data", "accounts")

    def __init__(self, program_id: Pubkey, data: bytes, accounts: list[AccountMeta]) -> None:
        self.program_id = program_id
        self.data = data
        self.accounts = accounts


def _decompile_all(message: Message, keys: list[Pubkey]):
    """The instructions, and for each the (key, is_signer, is_writable) of its accounts.

    Writable as the runtime sees it (agave `SanitizedMessage::is_writable`): a reserved account
    (builtin program, sysvar) or a program the message invokes is read-only whatever the
    header says, unless the upgradeable loader is in the message (it may write programs)."""
    header = message.header
    signed = header.num_required_signatures
    compiled_instructions = message.instructions
    flags = [
        (key, i < signed,
         i < signed - header.num_readonly_signed_accounts if i < signed
         else i < len(keys) - header.num_readonly_unsigned_accounts)
        for i, key in enumerate(keys)
    ]
    invoked = {compiled.program_id_index for compiled in compiled_instructions}
    demote_invoked = BPF_LOADER_UPGRADEABLE_ID not in keys
    for i, (key, signer, writable) in enumerate(flags):
        if writable and (key in RESERVED_ACCOUNT_KEYS or (demote_invoked and i in invoked)):
            flags[i] = (key, signer, False)
    metas = [AccountMeta(*triple) for triple in flags]
    instructions, triples = [], []
    for compiled in compiled_instructions:
        indices = compiled.accounts
        instructions.append(_Ix(keys[compiled.program_id_index], bytes(compiled.data),
                                [metas[i] for i in indices]))
        triples.append([flags[i] for i in indices])
    return instructions, triples


def _compute_budget(instructions: list[_Ix]) -> _Budget | None:
    """SetComputeUnitLimit (tag 2, u32) and SetComputeUnitPrice (tag 3, u64); None if malformed."""
    others = sum(1 for ix in instructions if ix.program_id != COMPUTE_BUDGET_PROGRAM_ID)
    budget = _Budget(min(DEFAULT_CU_PER_INSTRUCTION * others, MAX_CU_PER_TRANSACTION))
    for ix in instructions:
        if ix.program_id != COMPUTE_BUDGET_PROGRAM_ID:
            continue
        data = bytes(ix.data)
        if data[:1] == b"\x02" and len(data) == 5:
            budget.limit = min(struct.unpack_from("<I", data, 1)[0], MAX_CU_PER_TRANSACTION)
        elif data[:1] == b"\x03" and len(data) == 9:
            budget.price_micro_lamports = struct.unpack_from("<Q", data, 1)[0]
        elif data[:1] in (b"\x01", b"\x04") and len(data) == 5:
            pass  # heap frame / loaded-accounts limit: accepted, no effect here
        else:
            return None
    return budget


__all__ = ["run_emulated_transaction", "EmulatorEnv"]
