"""Build, sign and send a transaction with a cached recent blockhash."""
from __future__ import annotations

import asyncio
import time
from typing import Sequence

from solders.hash import Hash
from solders.instruction import Instruction
from solders.message import Message
from solders.transaction import Transaction

from engine.chain.base import Cluster, TxResult
from engine.wallet import Wallet

# Outcomes that mean "this exact transaction did not run": re-sign with a fresh blockhash.
_RESIGN_ERRORS = {"BlockhashNotFound", "BlockhashExpired", "AlreadyProcessed"}


class TransactionSender:
    def __init__(self, cluster: Cluster, *, blockhash_ttl_s: float = 0.5, max_resigns: int = 3) -> None:
        self.cluster = cluster
        self._ttl = blockhash_ttl_s
        self._max_resigns = max_resigns
        self._blockhash: Hash | None = None
        self._fetched_at = 0.0
        self.sent = 0  # transactions submitted (including re-signed ones)

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
            self.sent += 1
            result = await self.cluster.send_transaction(self.sign(instructions, payer, signers, blockhash))
            if result.ok or result.error is None or result.error.name not in _RESIGN_ERRORS:
                return result
            blockhash = await self.blockhash(newer_than=blockhash)
        return result
