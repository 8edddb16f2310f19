"""The outcome of one transaction on the embedded ledger, and small account helpers."""
from __future__ import annotations

from dataclasses import dataclass, field

from solders.account import Account
from solders.signature import Signature

DEFAULT_CU_PER_INSTRUCTION = 200_000
MAX_CU_PER_TRANSACTION = 1_400_000


@dataclass
class Processed:
    """Outcome of one transaction on the embedded ledger (solders error object or None)."""

    signature: Signature
    err: object | None
    logs: list[str] = field(default_factory=list)
    fee: int = 0
    compute_units: int = 0
    slot: int = 0

    @property
    def ok(self) -> bool:
        return self.err is None


def with_lamports(account: Account, lamports: int) -> Account:
    return Account(lamports=lamports, data=account.data, owner=account.owner,
                   executable=account.executable, rent_epoch=account.rent_epoch)
