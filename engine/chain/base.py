"""The one async protocol every chain backend implements."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, Sequence, runtime_checkable

from solders.account import Account
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.transaction import Transaction, VersionedTransaction

from engine.judge import judge

if TYPE_CHECKING:
    from engine.frt.errors import ClassifiedError

AnyTransaction = Transaction | VersionedTransaction


@dataclass(frozen=True)
class TxFailure:
    """A failed transaction as the runtime reported it, before anyone judged it."""

    raw: Any  # the transaction error in canonical RPC JSON: "BlockhashNotFound", {"InstructionError": [1, ...]}
    instruction_index: int | None  # the failing top-level instruction (an InstructionError), else None
    program_ids: tuple[str, ...] | None  # base58 program id of each top-level instruction; None: message unknown
    instruction: str | None  # the FRT instruction that failed ("swap", ...), when the failing one is FRT's
    frt_program_id: str  # the FRT program of the cluster that ran it


class TxResult:
    """What happened to one transaction once the cluster settled it: the chain's facts. A failed
    one carries `failure`, the runtime's error unjudged; `error` is its judgment (engine/judge.py),
    made once: by the operation layer, with the operation and the pool's facts (`judge`), or else
    on the first read of `error`, from what the transaction shows itself (its failing instruction
    as the operation, no pool facts). The chain itself never judges."""

    __slots__ = ("signature", "ok", "fee", "compute_units", "logs", "slot", "failure", "_error")
    later = None  # an unconfirmed result's future of its final result (engine/chain/rpc.py UnconfirmedResult)

    def __init__(self, signature: str, ok: bool, error: "ClassifiedError | None" = None, fee: int = 0,
                 compute_units: int = 0, logs: tuple[str, ...] = (), slot: int = 0,
                 failure: TxFailure | None = None) -> None:
        self.signature = signature
        self.ok = ok
        self.fee = fee
        self.compute_units = compute_units
        self.logs = logs
        self.slot = slot
        self.failure = failure
        self._error = error  # given: a backend's own verdict on an outcome that is no runtime error

    def judge(self, *, operation: str | None = None, exact_pool: bool = False) -> "ClassifiedError | None":
        """Judge the failure with these facts; every later read of `error` returns this judgment."""
        if self.failure is not None:
            self._error = judge(self.failure, self.logs, operation=operation, exact_pool=exact_pool)
        return self._error

    @property
    def error(self) -> "ClassifiedError | None":
        if self._error is None and self.failure is not None:
            return self.judge()
        return self._error

    @property
    def error_name(self) -> str | None:
        """The runtime's own name for what went wrong, unjudged: a transaction-level error's
        ("BlockhashNotFound"), "InstructionError" for a failed instruction; None when it ran."""
        if self.failure is None:
            return self._error.name if self._error is not None else None
        raw = self.failure.raw
        return raw if isinstance(raw, str) else next(iter(raw))

    def __repr__(self) -> str:  # shows the judgment where there is one; never judges
        error = f"error={self._error!r}" if self._error is not None else f"failure={self.failure!r}"
        return (f"TxResult(signature={self.signature!r}, ok={self.ok}, {error}, fee={self.fee}, "
                f"compute_units={self.compute_units}, slot={self.slot})")


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

    restored_books: dict | None  # the books saved with the chain state it started from (embedded only)

    def checkpoint(self, books: dict | None = None) -> None:
        """Make what the chain holds durable now, together with `books` (what the engine counted up to
        this state): the embedded ledger's snapshot holds both in one file; nothing over RPC."""
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
