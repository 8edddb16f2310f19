"""Worker threads as records: identity, configuration, lifecycle state and wallet."""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from engine.stats import ThreadStats
from engine.wallet import Wallet

THREAD_TYPES = ("deposit", "withdrawal", "swap")
CREATED, RUNNING, STOPPED, ERROR = "created", "running", "stopped", "error"
STATUS_SYMBOLS = {CREATED: "○", RUNNING: "▶", STOPPED: "■", ERROR: "✖"}


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
    status: str = CREATED
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
    def input_token(self) -> str:
        """The pool token ("A"/"B") this thread spends (withdrawal threads spend its LP)."""
        if self.thread_type == "swap":
            return "A" if self.swap_direction == "a_to_b" else "B"
        return self.token_type

    @property
    def output_token(self) -> str:
        if self.thread_type == "swap":
            return "B" if self.swap_direction == "a_to_b" else "A"
        return self.token_type

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
            share_lp_tokens=data.get("share_lp_tokens", True), status=data.get("status", STOPPED),
            created_at=data.get("created_at", ""), started_at=data.get("started_at"),
            last_operation_at=data.get("last_operation_at"), error_state=data.get("error_state"),
            stats=stats or ThreadStats(),
        )
