"""EmbeddedCluster: the Cluster protocol over an in-process EmbeddedLedger (LiteSVM)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from solders.account import Account
from solders.hash import Hash
from solders.pubkey import Pubkey

from engine.chain.base import AirdropUnavailable, AnyTransaction, TxResult
from engine.chain.ledger import EmbeddedLedger
from engine.chain.results import make_tx_result
from engine.frt.state import TokenAccount

SNAPSHOT_FILE = "ledger.snapshot"


class EmbeddedCluster:
    supports_airdrop = True
    url = None

    def __init__(self, ledger: EmbeddedLedger) -> None:
        self.ledger = ledger
        self.program_id = ledger.program_id
        self.mode = ledger.mode

    @classmethod
    def from_settings(cls, settings, *, upgrade_authority: Pubkey | None = None,
                      checkpointed: bool = False) -> "EmbeddedCluster":
        """`checkpointed`: its owner (an engine) saves the snapshot, with its books, by checkpoint();
        otherwise (localnet) the ledger saves itself every embedded.snapshot_interval_s."""
        snapshot = Path(settings.data_dir) / SNAPSHOT_FILE if settings.embedded.persist else None
        ledger = EmbeddedLedger(
            Pubkey.from_string(settings.program.program_id),
            program_so=settings.program.program_so,
            upgrade_authority=upgrade_authority,
            snapshot_path=snapshot,
            snapshot_interval_s=None if checkpointed else settings.embedded.snapshot_interval_s,
            slot_time_ms=settings.embedded.slot_time_ms,
        )
        return cls(ledger)

    @property
    def description(self) -> str:
        return self.mode

    def describe(self) -> str:
        if self.mode == "embedded-emulated":
            return "embedded LiteSVM ledger, FRT v0.17.1070 executed by the built-in emulator"
        return f"embedded LiteSVM ledger, FRT program loaded from {self.ledger.program_so}"

    @property
    def restored_books(self) -> dict | None:
        return self.ledger.restored_books

    def checkpoint(self, books: dict | None = None) -> None:
        self.ledger.save_snapshot(books)

    async def send_transaction(self, tx: AnyTransaction) -> TxResult:
        processed = self.ledger.process(tx)
        return make_tx_result(processed.signature, processed.err, processed.logs, processed.fee,
                              processed.compute_units, processed.slot, tx.message, self.program_id)

    async def simulate_transaction(self, tx: AnyTransaction) -> TxResult:
        processed = self.ledger.simulate(tx)
        return make_tx_result(processed.signature, processed.err, processed.logs, processed.fee,
                              processed.compute_units, processed.slot, tx.message, self.program_id)

    async def get_account(self, address: Pubkey) -> Account | None:
        return self.ledger.get_account(address)

    async def get_multiple_accounts(self, addresses: Sequence[Pubkey]) -> list[Account | None]:
        return [self.ledger.get_account(address) for address in addresses]

    async def get_balance(self, address: Pubkey) -> int:
        return self.ledger.get_balance(address)

    async def get_token_balance(self, token_account: Pubkey) -> int | None:
        account = self.ledger.get_account(token_account)
        if account is None or len(account.data) != 165:
            return None
        return TokenAccount.decode(bytes(account.data)).amount

    async def get_latest_blockhash(self) -> tuple[Hash, int]:
        return self.ledger.latest_blockhash()

    async def get_minimum_balance_for_rent_exemption(self, data_len: int) -> int:
        return self.ledger.minimum_balance_for_rent_exemption(data_len)

    async def airdrop(self, address: Pubkey, lamports: int) -> TxResult:
        if not self.supports_airdrop:  # switched off, to run as a faucet-less cluster would
            raise AirdropUnavailable("this embedded ledger does not hand out SOL")
        processed = self.ledger.airdrop(address, lamports)
        return make_tx_result(processed.signature, processed.err, processed.logs, processed.fee,
                              processed.compute_units, processed.slot, None, self.program_id)

    async def close(self) -> None:
        self.ledger.close()
