"""Worker threads as records: identity, configuration, lifecycle state and wallet."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum

from engine.stats import ThreadStats
from engine.wallet import Wallet


class ThreadStatus(StrEnum):
    """A StrEnum, so threads.json and every answer keep the plain strings."""

    CREATED = "created"
    RUNNING = "running"
    STOPPED = "stopped"
    ERROR = "error"


CREATED, RUNNING, STOPPED, ERROR = ThreadStatus.CREATED, ThreadStatus.RUNNING, ThreadStatus.STOPPED, ThreadStatus.ERROR
STATUS_SYMBOLS = {CREATED: "○", RUNNING: "▶", STOPPED: "■", ERROR: "✖"}


class IllegalTransition(ValueError):
    pass


def set_status(thread: "ThreadRecord", status: ThreadStatus, *, evidence: dict | None = None) -> None:
    """The one place a thread's status changes.

    Any state may become RUNNING (start, restart after an error, or the "resume me" mark a
    closing engine leaves) or ERROR (a stepped thread that was never started can fail too);
    only a running thread stops; nothing returns to CREATED. ERROR keeps its evidence."""
    status = ThreadStatus(status)
    if status is CREATED or (status is STOPPED and thread.status != RUNNING):
        raise IllegalTransition(f"thread {thread.thread_id}: {thread.status} -> {status}")
    if status is ERROR:
        thread.error_state = evidence
    thread.status = status


def __getattr__(name: str):
    if name == "THREAD_TYPES":  # the registered kinds, in registration order
        from engine.kinds import KINDS

        return tuple(KINDS)
    raise AttributeError(name)


def _kind_of():
    """engine.kinds describes threads, so it is imported on first use, not at import time."""
    global _KIND_OF
    if _KIND_OF is None:
        from engine.kinds import kind_of

        _KIND_OF = kind_of
    return _KIND_OF


_KIND_OF = None


@dataclass
class ThreadRecord:
    thread_id: str
    thread_type: str
    pool_id: str
    wallet: Wallet = field(repr=False)
    seed: int
    token_type: str | None = None  # deposit / withdrawal: "A" or "B"
    swap_direction: str | None = None  # swap: "a_to_b" or "b_to_a"
    initial_amount: int = 0
    auto_refill: bool = False
    share_lp_tokens: bool = True
    status: ThreadStatus = CREATED
    created_at: str = ""
    started_at: str | None = None
    last_operation_at: str | None = None
    error_state: dict | None = None  # what made the thread stop, with its evidence
    waiting_reason: str | None = None
    stats: ThreadStats = field(default_factory=ThreadStats)
    _rng: random.Random | None = field(default=None, repr=False, compare=False)
    wallet_view: object | None = field(default=None, repr=False, compare=False)  # last WalletView a cycle saw

    @property
    def rng(self) -> random.Random:
        """The thread's own seeded generator; it continues across stop/start."""
        if self._rng is None:
            self._rng = random.Random(self.seed)
        return self._rng

    # ---- what the thread trades -------------------------------------------------------------

    @property
    def kind(self):
        return _kind_of()(self.thread_type)

    @property
    def input_token(self) -> str:
        """The pool token ("A"/"B") this thread spends (withdrawal threads spend its LP)."""
        return self.kind.input_token(self)

    @property
    def output_token(self) -> str:
        return self.kind.output_token(self)

    @property
    def is_active(self) -> bool:
        """Receives shares: only running threads do (not stopped, created or errored ones)."""
        return self.status == RUNNING

    # ---- persistence (threads.json); the secret is sealed by the store ----------------------

    def to_json(self, sealed_keypair: str) -> dict:
        return {
            "thread_id": self.thread_id, "thread_type": self.thread_type, "pool_id": self.pool_id,
            "token_type": self.token_type, "swap_direction": self.swap_direction, "status": self.status,
            "wallet_address": str(self.wallet.pubkey), "wallet_keypair": sealed_keypair,
            "initial_amount": self.initial_amount, "auto_refill": self.auto_refill,
            "share_lp_tokens": self.share_lp_tokens, "seed": self.seed, "created_at": self.created_at,
            "started_at": self.started_at, "last_operation_at": self.last_operation_at,
            "error_state": self.error_state,
        }

    @classmethod
    def from_json(cls, data: dict, wallet: Wallet, stats: ThreadStats | None = None) -> "ThreadRecord":
        return cls(
            thread_id=data["thread_id"], thread_type=data["thread_type"], pool_id=data["pool_id"], wallet=wallet,
            seed=data.get("seed", 0), token_type=data.get("token_type"), swap_direction=data.get("swap_direction"),
            initial_amount=data.get("initial_amount") or 0, auto_refill=data.get("auto_refill", False),
            share_lp_tokens=data.get("share_lp_tokens", True), status=ThreadStatus(data.get("status", STOPPED)),
            created_at=data.get("created_at", ""), started_at=data.get("started_at"),
            last_operation_at=data.get("last_operation_at"), error_state=data.get("error_state"),
            stats=stats or ThreadStats(),
        )
