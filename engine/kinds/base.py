"""What every thread kind declares: the strategy the worker, recorder, treasury and views ask.

A kind never writes statistics itself: it names the counters and the recorder books them."""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from solders.pubkey import Pubkey

from engine.observe import WalletView
from engine.pools import PoolRuntime
from engine.stats import ThreadStats

if TYPE_CHECKING:
    from engine.threads import ThreadRecord


class ThreadKind:
    name: str  # the thread_type and the thread-id prefix
    operation: str  # what run_verified executes
    fraction_setting: str  # the engine setting bounding one amount, as a fraction of the balance
    refills: bool = True  # auto_refill mints its input again
    success_fields: tuple[str, str, str]  # (count, input total, output total) booked per success
    share_given_field: str  # the giver's total of what it shared
    share_received_field: str  # the recipient's total of what shares brought it
    one_per_pool_by: str | None = None  # a creation param of which a pool holds one thread per value

    # ---- what it trades --------------------------------------------------------------------

    def input_token(self, thread: "ThreadRecord") -> str:
        return thread.token_type

    def output_token(self, thread: "ThreadRecord") -> str:
        return thread.token_type

    def input_balance(self, thread: "ThreadRecord", wallet: WalletView) -> int:
        return wallet.token(self.input_token(thread))

    def spend_mint(self, pool: PoolRuntime, thread: "ThreadRecord") -> Pubkey:
        return pool.mint(self.input_token(thread))

    def receive_mint(self, pool: PoolRuntime, thread: "ThreadRecord") -> Pubkey:
        """What a success pays out, and so what the thread shares and an empty operation burns."""
        return pool.mint(self.output_token(thread))

    # ---- decisions ---------------------------------------------------------------------------

    def max_fraction(self, config) -> float:
        return getattr(config, self.fraction_setting)

    def fit_amount(self, pool: PoolRuntime, thread: "ThreadRecord", amount: int, balance: int) -> int:
        """The amount to send given a random pick (0: wait)."""
        return amount

    def waiting_reason(self, pool: PoolRuntime, thread: "ThreadRecord") -> str:
        return f"waiting for token {self.input_token(thread)}"

    def check_new(self, pool_id: str, config: dict, threads: Iterable["ThreadRecord"]) -> None:
        """Refuse a new thread that conflicts with existing ones."""

    # ---- sharing -----------------------------------------------------------------------------

    def shares(self, thread: "ThreadRecord") -> bool:
        return True

    def share_recipients(self, thread: "ThreadRecord", threads: Iterable["ThreadRecord"]) -> list["ThreadRecord"]:
        raise NotImplementedError

    # ---- views -------------------------------------------------------------------------------

    def verification_totals(self, stats: ThreadStats) -> dict:
        raise NotImplementedError

    def pool_verification(self, stats: ThreadStats) -> dict:
        raise NotImplementedError

    def specific(self, thread: "ThreadRecord", wallet: WalletView, config, threads: Iterable["ThreadRecord"]) -> dict:
        """The `<kind>_specific` section of get_thread_status."""
        raise NotImplementedError

    def empty_figures(self, thread: "ThreadRecord", available: int, received: int) -> dict:
        """The empty_operation fields this kind fills."""
        raise NotImplementedError


def active_peers(thread: "ThreadRecord", threads: Iterable["ThreadRecord"], kind: str) -> list["ThreadRecord"]:
    """Running threads of `kind` on the same pool and token as `thread`."""
    return [t for t in threads if t.thread_type == kind and t.is_active and t.pool_id == thread.pool_id
            and t.token_type == thread.token_type]


def size_stats(stats: ThreadStats, total: int, count: int) -> dict:
    return {"average_size": total // count if count else 0, "largest": stats.largest_amount,
            "smallest": stats.smallest_amount or 0}
