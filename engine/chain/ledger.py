"""The embedded ledger: LiteSVM plus what a real cluster adds around it.

LiteSVM executes System, SPL Token, ATA (and the FRT `.so` when one is loaded: deployed as the
upgradeable loader leaves a program on a validator, see `_deploy_program`). Around it this
module keeps what a validator would: a sliding window of recent blockhashes (150 blocks, one
block per `slot_time_ms`), a signature-status cache that also rejects duplicates, a wall clock
in the Clock sysvar, and the set of accounts transactions have touched, which can be saved to
disk and restored on the next start.

When no FRT `.so` is loaded, transactions that call the FRT program are run by the built-in
emulator: signatures are verified here, the fee is charged, FRT instructions are executed by
`FrtEmulator`, the other instructions of the same transaction by LiteSVM, and every account the
transaction touched is rolled back if any instruction fails (the fee stays charged).
"""
from __future__ import annotations

import time
from collections import OrderedDict
from pathlib import Path
from typing import Callable

from solders.account import Account
from solders.clock import Clock
from solders.hash import Hash
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import Transaction, VersionedTransaction
from solders.transaction_status import TransactionErrorFieldless

from engine.chain.emulated_tx import run_emulated_transaction
from engine.chain.processed import Processed, with_lamports
from engine.chain.snapshot import read_snapshot, write_snapshot
from engine.config import ConfigError
from engine.frt.constants import BPF_LOADER_UPGRADEABLE_ID, LAMPORTS_PER_SIGNATURE, TOKEN_PROGRAM_ID

MAX_PROCESSING_AGE = 150  # blocks a blockhash stays valid, as on a real cluster
_NOT_SNAPSHOTTED_OWNERS = {
    Pubkey.from_string("Sysvar1111111111111111111111111111111111111"),
    Pubkey.from_string("NativeLoader1111111111111111111111111111111"),
    Pubkey.from_string("BPFLoader2111111111111111111111111111111111"),
    BPF_LOADER_UPGRADEABLE_ID,
}


UPGRADEABLE_PROGRAM_TAG = (2).to_bytes(4, "little")  # UpgradeableLoaderState::Program
_ELF_MAGIC = b"\x7fELF"
_SBF_MACHINES = (247, 263)  # e_machine of `cargo build-sbf` output: EM_BPF (older toolchains), EM_SBF


class ProgramLoadError(ConfigError):
    """`program.program_so` names a file that cannot be deployed: missing, unreadable, or no SBF
    program. A configuration error: the CLI prints it and exits 2, `run` names it."""


def read_program_so(path: Path) -> bytes:
    """The ELF at `path`, after the checks that catch the usual mistakes with a clear message
    (LiteSVM's own are terse): a wrong path, a directory, a file that is no ELF, or a program
    built for the host (`cargo build`) instead of for SBF (`cargo build-sbf`)."""
    try:
        elf = Path(path).read_bytes()
    except FileNotFoundError:
        raise ProgramLoadError(f"program.program_so: {path}: no such file") from None
    except OSError as exc:
        raise ProgramLoadError(f"program.program_so: {path}: cannot be read ({exc.strerror or exc})") from None
    if elf[:4] != _ELF_MAGIC:
        raise ProgramLoadError(
            f"program.program_so: {path}: not an ELF file ({len(elf)} bytes), so no compiled program "
            "(build one with `cargo build-sbf`)")
    machine = int.from_bytes(elf[18:20], "little") if len(elf) >= 20 else None
    if machine not in _SBF_MACHINES:
        raise ProgramLoadError(
            f"program.program_so: {path}: an ELF file for machine {machine}, not an SBF program "
            f"(e_machine {' or '.join(map(str, _SBF_MACHINES))}): build it with `cargo build-sbf`, "
            "not `cargo build`")
    return elf


class EmbeddedLedger:
    def __init__(
        self,
        program_id: Pubkey,
        *,
        program_so: Path | None = None,
        upgrade_authority: Pubkey | None = None,
        emulator_factory: Callable[[Pubkey], object] | None = None,
        snapshot_path: Path | None = None,
        snapshot_interval_s: float | None = 30.0,
        slot_time_ms: int = 400,
        status_capacity: int = 200_000,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.program_id = program_id
        self.svm = LiteSVM().with_blockhash_check(False).with_transaction_history(0)
        self._install_native_mint()
        self.program_so = Path(program_so) if program_so else None
        # With an upgrade authority, the ProgramData account exists in both modes, as on a
        # validator that deployed the program with the upgradeable loader: without it, the
        # program's admin check takes its "not owned by the loader" path and accepts any signer
        # even with the real address. (No authority: a bare test ledger, as before.)
        if self.program_so:
            self._deploy_program(read_program_so(self.program_so), upgrade_authority)
            self.emulator = None
        else:
            if upgrade_authority is not None:
                self._install_program_data(upgrade_authority)
            if emulator_factory is None:
                from engine.frt.emulator import FrtEmulator as emulator_factory
            self.emulator = emulator_factory(program_id)
        self.mode = "embedded-so" if self.program_so else "embedded-emulated"
        self._wall_clock = wall_clock
        self._slot_seconds = slot_time_ms / 1000.0
        self._statuses: OrderedDict[Signature, Processed] = OrderedDict()
        self._status_capacity = status_capacity
        self._recent_blockhashes: OrderedDict[Hash, int] = OrderedDict()
        self._block_height = 0
        self._last_tick = wall_clock()
        self._touched: set[Pubkey] = set()
        self.snapshot_path = Path(snapshot_path) if snapshot_path else None
        self._snapshot_interval = snapshot_interval_s
        self._last_snapshot = self._last_tick
        self.restored_books: dict | None = None  # the books saved with the restored snapshot
        self.restored_accounts = self._restore() if self.snapshot_path else 0
        self._start_block()

    def _install_native_mint(self) -> None:
        """Wrapped SOL's mint exists on every validator (LiteSVM does not create it): without it a
        pool of wrapped SOL could not be created here."""
        from engine.frt.spl import NATIVE_MINT
        from engine.frt.state import Mint

        data = Mint(mint_authority=None, supply=0, decimals=9).encode()
        self.svm.set_account(NATIVE_MINT, Account(
            lamports=self.svm.minimum_balance_for_rent_exemption(len(data)), data=data, owner=TOKEN_PROGRAM_ID,
            executable=False))

    def _install_program_data(self, upgrade_authority: Pubkey | None) -> None:
        """Emulated mode: the FRT admin check reads the upgrade authority from the ProgramData PDA,
        and no program is deployed, so write its header the way the upgradeable loader would."""
        from engine.frt.pda import find_program_data
        from engine.frt.state import ProgramData

        address, _ = find_program_data(self.program_id)
        data = ProgramData(slot=0, upgrade_authority_address=upgrade_authority).encode()
        self.svm.set_account(address, Account(
            lamports=self.svm.minimum_balance_for_rent_exemption(len(data)), data=data,
            owner=BPF_LOADER_UPGRADEABLE_ID, executable=False))

    def _deploy_program(self, elf: bytes, upgrade_authority: Pubkey | None) -> None:
        """Deploy `elf` as `solana program deploy` leaves a program on a validator: a ProgramData
        account (owned by the upgradeable loader, not executable) holding the deployment slot,
        the upgrade authority (None: a final, immutable program) and the ELF; and the program
        account, owned by the loader, executable, whose data points at that ProgramData. LiteSVM
        compiles the program from these accounts when the program account is written, as a
        validator loads it from them.

        (LiteSVM's `add_program` writes the same two accounts but with no upgrade authority, and
        ran after the ProgramData written here, so it used to erase the authority the FRT admin
        checks read.)"""
        from engine.frt.pda import find_program_data
        from engine.frt.state import ProgramData

        program_data_address, _ = find_program_data(self.program_id)
        header = ProgramData(slot=self.svm.get_clock().slot, upgrade_authority_address=upgrade_authority)
        program_data = header.encode() + elf
        self.svm.set_account(program_data_address, Account(
            lamports=self.svm.minimum_balance_for_rent_exemption(len(program_data)), data=program_data,
            owner=BPF_LOADER_UPGRADEABLE_ID, executable=False))
        program = UPGRADEABLE_PROGRAM_TAG + bytes(program_data_address)
        try:
            self.svm.set_account(self.program_id, Account(
                lamports=self.svm.minimum_balance_for_rent_exemption(len(program)), data=program,
                owner=BPF_LOADER_UPGRADEABLE_ID, executable=True))
        except Exception as exc:  # LiteSVM says only "invalid account data for instruction" here
            reason = str(exc)
            try:
                self.svm.add_program(self.program_id, elf)  # only to learn why: its loader names the cause
            except Exception as detailed:
                reason = str(detailed)
            raise ProgramLoadError(
                f"program.program_so: {self.program_so}: LiteSVM cannot load this program: {reason}") from exc

    # ---- time, slots and blockhashes ------------------------------------------------------

    @property
    def slot(self) -> int:
        return self._slot

    @property
    def block_height(self) -> int:
        return self._block_height

    @property
    def unix_timestamp(self) -> int:
        return self._unix_timestamp

    def tick(self) -> None:
        """Advance slots to match wall time; each new block gets a new blockhash."""
        now = self._wall_clock()
        elapsed_blocks = int((now - self._last_tick) / self._slot_seconds)
        if elapsed_blocks <= 0:
            return
        self._last_tick += elapsed_blocks * self._slot_seconds
        self._start_block(advance=elapsed_blocks)
        if (self.snapshot_path and self._snapshot_interval is not None
                and now - self._last_snapshot >= self._snapshot_interval):
            self.save_snapshot()

    def _start_block(self, advance: int = 0) -> None:
        clock = self.svm.get_clock()
        slot = clock.slot + advance
        if advance:
            self.svm.warp_to_slot(slot)
            self.svm.expire_blockhash()
        self._unix_timestamp = int(self._wall_clock())
        self._slot = slot
        self.svm.set_clock(Clock(slot, clock.epoch_start_timestamp, clock.epoch,
                                 clock.leader_schedule_epoch, self._unix_timestamp))
        self._block_height += advance
        self._recent_blockhashes[self.svm.latest_blockhash()] = self._block_height
        oldest_valid = self._block_height - MAX_PROCESSING_AGE
        while next(iter(self._recent_blockhashes.values())) < oldest_valid:
            self._recent_blockhashes.popitem(last=False)

    def latest_blockhash(self) -> tuple[Hash, int]:
        self.tick()
        blockhash = self.svm.latest_blockhash()
        return blockhash, self._recent_blockhashes[blockhash] + MAX_PROCESSING_AGE

    def is_blockhash_valid(self, blockhash: Hash) -> bool:
        self.tick()
        return blockhash in self._recent_blockhashes

    # ---- accounts ---------------------------------------------------------------------------

    def get_account(self, address: Pubkey) -> Account | None:
        return self.svm.get_account(address)

    def set_account(self, address: Pubkey, account: Account) -> None:
        self.svm.set_account(address, account)
        self._touched.add(address)

    def get_balance(self, address: Pubkey) -> int:
        account = self.svm.get_account(address)
        return account.lamports if account else 0

    def minimum_balance_for_rent_exemption(self, data_len: int) -> int:
        return self.svm.minimum_balance_for_rent_exemption(data_len)

    def airdrop(self, address: Pubkey, lamports: int) -> Processed:
        self.tick()
        result = self.svm.airdrop(address, lamports)
        self._touched.add(address)
        return self._record(self._from_litesvm(result))

    # ---- transactions -----------------------------------------------------------------------

    def signature_status(self, signature: Signature) -> Processed | None:
        return self._statuses.get(signature)

    def process(self, tx: Transaction | VersionedTransaction) -> Processed:
        self.tick()
        signature = tx.signatures[0]
        if signature in self._statuses:
            return Processed(signature, TransactionErrorFieldless.AlreadyProcessed, slot=self._slot)
        message = tx.message
        if message.recent_blockhash not in self._recent_blockhashes:
            return Processed(signature, TransactionErrorFieldless.BlockhashNotFound, slot=self._slot)
        keys = message.account_keys
        if self.emulator is not None and self.program_id in keys:
            processed = run_emulated_transaction(self, tx, message, keys)
        else:
            processed = self._from_litesvm(self.svm.send_transaction(tx))
        if processed.fee or processed.ok:
            self._touched.update(keys)
            return self._record(processed)
        return processed  # rejected before execution: nothing recorded, may be re-sent

    def simulate(self, tx: Transaction | VersionedTransaction) -> Processed:
        """Run a transaction and undo every effect; nothing is recorded."""
        keys = list(tx.message.account_keys)
        saved = [(key, self.svm.get_account(key)) for key in keys]
        statuses_before = len(self._statuses)
        processed = self.process(tx)
        if len(self._statuses) != statuses_before:
            self._statuses.pop(processed.signature, None)
        self.restore_accounts(saved)
        return processed

    def restore_accounts(self, saved: list[tuple[Pubkey, Account | None]]) -> None:
        for key, account in saved:
            self.svm.set_account(key, account if account is not None else _EMPTY_ACCOUNT)

    def _record(self, processed: Processed) -> Processed:
        self._statuses[processed.signature] = processed
        if len(self._statuses) > self._status_capacity:
            self._statuses.popitem(last=False)
        return processed

    def _from_litesvm(self, result) -> Processed:
        slot = self.slot
        if hasattr(result, "err"):
            meta = result.meta()
            return Processed(meta.signature(), result.err(), list(meta.logs()), meta.fee(),
                             meta.compute_units_consumed(), slot)
        return Processed(result.signature(), None, list(result.logs()), result.fee(),
                         result.compute_units_consumed(), slot)

    def send_unsigned(self, message: Message) -> Processed:
        """Execute a message in LiteSVM without signature checks (used inside an emulated
        transaction whose signatures were already verified). The fee LiteSVM charges is
        refunded so the outer transaction pays exactly one fee."""
        signers = message.header.num_required_signatures
        payer = message.account_keys[0]
        refund = signers * LAMPORTS_PER_SIGNATURE
        payer_account = self.svm.get_account(payer)
        self.svm.set_account(payer, with_lamports(payer_account, payer_account.lamports + refund))
        self.svm.with_sigverify(False)
        try:
            tx = Transaction.populate(message, [Signature.new_unique() for _ in range(signers)])
            return self._from_litesvm(self.svm.send_transaction(tx))
        finally:
            self.svm.with_sigverify(True)

    # ---- persistence ------------------------------------------------------------------------

    def save_snapshot(self, books: dict | None = None) -> int:
        """Write every touched account to the snapshot file, with `books` (what an engine counted
        up to this state) in its header: one atomic file, so a crash can only ever return to a
        ledger and books that agree. Returns how many accounts were saved."""
        if not self.snapshot_path:
            return 0
        accounts = []
        for key in sorted(self._touched, key=bytes):
            account = self.svm.get_account(key)
            if account is None or account.executable or account.owner in _NOT_SNAPSHOTTED_OWNERS:
                continue
            if key == self.program_id:
                continue
            accounts.append((key, account))
        header = {"program_id": str(self.program_id), "mode": self.mode, "slot": self.slot,
                  "saved_at": self._wall_clock()}
        if books is not None:
            header["books"] = books
        write_snapshot(self.snapshot_path, header, accounts)
        self._last_snapshot = self._wall_clock()
        return len(accounts)

    def _restore(self) -> int:
        header, accounts = read_snapshot(self.snapshot_path)
        self.restored_books = header.get("books")
        for key, account in accounts:
            self.svm.set_account(key, account)
            self._touched.add(key)
        if header.get("slot"):
            self.svm.warp_to_slot(int(header["slot"]) + 1)
        return len(accounts)

    def close(self) -> None:
        if self.snapshot_path and self._snapshot_interval is not None:  # else its owner checkpoints it
            self.save_snapshot()


_EMPTY_ACCOUNT = Account(lamports=0, data=b"", owner=Pubkey.from_string("11111111111111111111111111111111"))

