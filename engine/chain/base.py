"""The one async protocol every chain backend implements."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, Sequence, runtime_checkable

from solders.account import Account
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.transaction import Transaction, VersionedTransaction

if TYPE_CHECKING:
    from engine.frt.errors import ClassifiedError

AnyTransaction = Transaction | VersionedTransaction


@dataclass(frozen=True)
class TxResult:
    """What happened to one transaction once the cluster settled it."""

    signature: str
    ok: bool
    error: "ClassifiedError | None" = None
    fee: int = 0
    compute_units: int = 0
    logs: tuple[str, ...] = field(default_factory=tuple)
    slot: int = 0


class ChainError(Exception):
    """The cluster could not be reached or refused the request outright (not a program failure)."""


class AirdropUnavailable(ChainError):
    """The cluster does not hand out SOL."""


@runtime_checkable
class Cluster(Protocol):
    """A Solana cluster the engine can send signed transactions to.

    `send_transaction` returns only once the transaction is confirmed (or has definitely
    failed); a transaction that failed in a program is never re-sent.
    """

    mode: str  # "embedded-emulated" | "embedded-so" | "rpc"
    program_id: Pubkey
    supports_airdrop: bool  # a faucet: airdrop() can hand out SOL
    url: str | None  # the RPC endpoint; None for the embedded ledger

    def describe(self) -> str:
        """One line for operators: which chain and which FRT implementation is running."""
        ...

    def checkpoint(self) -> None:
        """Make what the chain holds durable now (the embedded ledger's snapshot; nothing over RPC)."""
        ...

    async def send_transaction(self, tx: AnyTransaction) -> TxResult: ...

    async def get_account(self, address: Pubkey) -> Account | None: ...

    async def get_multiple_accounts(self, addresses: Sequence[Pubkey]) -> list[Account | None]: ...

    async def get_balance(self, address: Pubkey) -> int: ...

    async def get_token_balance(self, token_account: Pubkey) -> int | None: ...

    async def get_latest_blockhash(self) -> tuple[Hash, int]:
        """(blockhash, last valid block height)."""
        ...

    async def get_minimum_balance_for_rent_exemption(self, data_len: int) -> int: ...

    async def airdrop(self, address: Pubkey, lamports: int) -> TxResult:
        """Raises AirdropUnavailable where the cluster has no faucet."""
        ...

    async def close(self) -> None: ...
