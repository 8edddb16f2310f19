"""Build, sign and send a transaction with a cached recent blockhash."""
from __future__ import annotations

import asyncio
import logging
import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator, Sequence

from solders.hash import Hash
from solders.instruction import Instruction
from solders.message import Message
from solders.transaction import Transaction

from solders.compute_budget import set_compute_unit_limit

from engine.chain.base import Cluster, TxResult
from engine.frt.constants import COMPUTE_BUDGET_PROGRAM_ID
from engine.wallet import Wallet

log = logging.getLogger(__name__)

# Outcomes that mean "this exact transaction did not run": re-sign with a fresh blockhash.
# ("Unconfirmed" is not one: that transaction may still land, so it is never re-signed.)
_RESIGN_ERRORS = {"BlockhashNotFound", "BlockhashExpired", "AlreadyProcessed"}

# True while an engine operation sends its transaction (engine/operations.py): a backend whose
# confirmations can take long (RPC) then waits only its operation deadline, so the pool's lock is
# not held for a slow network, and answers a transient "Unconfirmed" past it.
bounded_send: ContextVar[bool] = ContextVar("bounded_send", default=False)


@contextmanager
def bounded() -> Iterator[None]:
    """Sends made inside wait at most the backend's operation deadline."""
    token = bounded_send.set(True)
    try:
        yield
    finally:
        bounded_send.reset(token)


class TransactionSender:
    def __init__(self, cluster: Cluster, *, blockhash_ttl_s: float = 0.5, max_resigns: int = 3) -> None:
        self.cluster = cluster
        self._ttl = blockhash_ttl_s
        self._max_resigns = max_resigns
        self._blockhash: Hash | None = None
        self._fetched_at = 0.0
        self.sent = 0  # transactions submitted (including re-signed ones)
        self._seen_blockhash: Hash | None = None
        self._seen: set = set()  # signatures sent with _seen_blockhash
        # Called with (instructions, payer, signers, result) for each transaction that ran, once
        # the chain settled it (engine/history/log.py records pool histories from here).
        self.observer = None
        # Called with the result of a transaction whose operation was counted a transient
        # "Unconfirmed" and which landed afterwards (the books say so: engine/recorder.py).
        self.on_late_landing = None

    async def blockhash(self, *, newer_than: Hash | None = None) -> Hash:
        now = time.monotonic()
        if self._blockhash is None or now - self._fetched_at > self._ttl or newer_than is not None:
            blockhash, _ = await self.cluster.get_latest_blockhash()
            while newer_than is not None and blockhash == newer_than:
                await asyncio.sleep(0.05)
                blockhash, _ = await self.cluster.get_latest_blockhash()
            self._blockhash, self._fetched_at = blockhash, time.monotonic()
        return self._blockhash

    @staticmethod
    def sign(instructions: Sequence[Instruction], payer: Wallet, signers: Sequence[Wallet],
             blockhash: Hash) -> Transaction:
        message = Message.new_with_blockhash(list(instructions), payer.pubkey, blockhash)
        by_key = {payer.pubkey: payer.keypair}
        by_key.update((wallet.pubkey, wallet.keypair) for wallet in signers)
        required = message.account_keys[: message.header.num_required_signatures]
        raw = bytes(message)
        return Transaction.populate(message, [by_key[key].sign_message(raw) for key in required])

    async def send(self, instructions: Sequence[Instruction], payer: Wallet,
                   signers: Sequence[Wallet] = ()) -> TxResult:
        """Send and confirm; a transaction that did not run (expired blockhash, identical to one
        already processed) is re-signed with a newer blockhash. Program failures are returned."""
        blockhash = await self.blockhash()
        for _ in range(self._max_resigns):
            tx, blockhash = await self._unique(list(instructions), payer, signers, blockhash)
            self.sent += 1
            result = await self.cluster.send_transaction(tx)
            if result.later is not None:  # unconfirmed: the observer hears of it once it settles
                result.later.add_done_callback(self._observe_later(instructions, payer, signers))
                return result
            if result.ok or result.error_name not in _RESIGN_ERRORS:  # a fact: no judging needed here
                if self.observer is not None:
                    self.observer(instructions, payer.pubkey, [wallet.pubkey for wallet in signers], result)
                return result
            blockhash = await self.blockhash(newer_than=blockhash)
        return result

    def _observe_later(self, instructions: Sequence[Instruction], payer: Wallet, signers: Sequence[Wallet]):
        """A callback for an unconfirmed transaction's final result: observed, and told as a late
        landing, if it ran (after its operation's deadline); not at all if it did not (its blockhash
        expired)."""
        observer, on_late_landing = self.observer, self.on_late_landing

        def settled(later: asyncio.Future) -> None:
            if later.cancelled() or later.exception() is not None or later.result() is None:
                return
            try:
                if observer is not None:
                    observer(instructions, payer.pubkey, [wallet.pubkey for wallet in signers], later.result())
                if on_late_landing is not None:
                    on_late_landing(later.result())
            except Exception:  # a callback of the event loop: nobody above to tell
                log.exception("observing a late transaction failed")

        return settled

    async def _unique(self, instructions: list[Instruction], payer: Wallet, signers: Sequence[Wallet],
                      blockhash: Hash) -> tuple[Transaction, Hash]:
        """Sign, making sure this sender has not sent the very same transaction in this block.

        Identical messages sign to identical signatures, and a cluster runs a signature once:
        the same deposit of the same amount twice in one block would silently become one.
        Lowering the compute-unit limit by one makes the message distinct without changing what
        it does or costs; without a limit instruction, wait for the next blockhash instead."""
        while True:
            if blockhash != self._seen_blockhash:
                self._seen_blockhash, self._seen = blockhash, set()
            tx = self.sign(instructions, payer, signers, blockhash)
            signature = tx.signatures[0]
            if signature not in self._seen:
                self._seen.add(signature)
                return tx, blockhash
            varied = _vary_compute_limit(instructions)
            if varied is None:
                blockhash = await self.blockhash(newer_than=blockhash)
            else:
                instructions = varied


def _vary_compute_limit(instructions: list[Instruction]) -> list[Instruction] | None:
    first = instructions[0] if instructions else None
    if first is None or first.program_id != COMPUTE_BUDGET_PROGRAM_ID or bytes(first.data)[:1] != b"\x02":
        return None
    limit = int.from_bytes(bytes(first.data)[1:5], "little")
    if limit <= 1:
        return None
    return [set_compute_unit_limit(limit - 1), *instructions[1:]]
