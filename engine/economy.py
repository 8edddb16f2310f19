"""The token economy between threads: who shares with whom, refills, and SOL top-ups.

Routing rules (service design §2-3): deposit threads share earned LP equally among the ACTIVE
withdrawal threads of the same pool and token; withdrawal threads share withdrawn tokens
equally among the ACTIVE deposit threads of the same pool and token; a swap thread sends its
output to the ACTIVE opposite-direction swap thread of its pool. Nothing goes to stopped,
created or errored threads."""
from __future__ import annotations

from typing import Callable, Iterable

from solders.instruction import Instruction
from solders.system_program import TransferParams as SolTransferParams
from solders.system_program import transfer as sol_transfer

from engine.chain.base import TxResult
from engine.frt.client import FrtClient, token_address
from engine.frt import spl
from engine.pools import PoolRuntime
from engine.stats import ThreadStats
from engine.threads import ThreadRecord
from engine.wallet import Wallet

MAX_TRANSFERS_PER_TX = 12


def lp_recipients(giver: ThreadRecord, threads: Iterable[ThreadRecord]) -> list[ThreadRecord]:
    return [t for t in threads if t.thread_type == "withdrawal" and t.is_active and t.pool_id == giver.pool_id
            and t.token_type == giver.token_type]


def token_recipients(giver: ThreadRecord, threads: Iterable[ThreadRecord]) -> list[ThreadRecord]:
    return [t for t in threads if t.thread_type == "deposit" and t.is_active and t.pool_id == giver.pool_id
            and t.token_type == giver.token_type]


def opposite_swap_thread(giver: ThreadRecord, threads: Iterable[ThreadRecord]) -> ThreadRecord | None:
    return next((t for t in threads if t.thread_type == "swap" and t.pool_id == giver.pool_id
                 and t.swap_direction != giver.swap_direction), None)


def split_equally(amount: int, recipients: int) -> int:
    """Each recipient's share; the remainder (< recipients) stays with the giver."""
    return amount // recipients if recipients else 0


def token_transfers(source_owner: Wallet, mint, recipients: list[ThreadRecord], each: int) -> list[Instruction]:
    source = token_address(source_owner.pubkey, mint)
    return [spl.transfer(source, token_address(r.wallet.pubkey, mint), source_owner.pubkey, each)
            for r in recipients]


async def send_in_batches(client: FrtClient, payer: Wallet, instructions: list[Instruction]) -> list[TxResult]:
    results = []
    for start in range(0, len(instructions), MAX_TRANSFERS_PER_TX):
        results.append(await client.sender.send(instructions[start:start + MAX_TRANSFERS_PER_TX], payer))
    return results


async def share_tokens(client: FrtClient, giver: ThreadRecord, mint, recipients: list[ThreadRecord], amount: int,
                       credit: Callable[[ThreadStats, int], None]) -> tuple[int, list[TxResult]]:
    """Send `amount` split equally to `recipients`; returns (total sent, transaction results).
    `credit(recipient_stats, each)` books the receipt on the recipient's side."""
    each = split_equally(amount, len(recipients))
    if each == 0:
        return 0, []
    results = await send_in_batches(client, giver.wallet, token_transfers(giver.wallet, mint, recipients, each))
    sent = 0
    for batch_index, result in enumerate(results):
        batch = recipients[batch_index * MAX_TRANSFERS_PER_TX:(batch_index + 1) * MAX_TRANSFERS_PER_TX]
        giver.stats.network_fees_paid += result.fee
        if result.ok:
            sent += each * len(batch)
            for recipient in batch:
                credit(recipient.stats, each)
                recipient.stats.sharing_sources[giver.thread_id] = (
                    recipient.stats.sharing_sources.get(giver.thread_id, 0) + each)
    return sent, results


def mint_instruction(core: Wallet, mint, owner, amount: int) -> Instruction:
    return spl.mint_to(mint, token_address(owner, mint), core.pubkey, amount)


def sol_instruction(core: Wallet, destination, lamports: int) -> Instruction:
    return sol_transfer(SolTransferParams(from_pubkey=core.pubkey, to_pubkey=destination, lamports=lamports))


async def refill(client: FrtClient, core: Wallet, thread: ThreadRecord, pool: PoolRuntime) -> TxResult:
    """Auto-refill: the core mints the full initial_amount again (not just the deficit)."""
    result = await client.sender.send(
        [mint_instruction(core, pool.mint(thread.input_token), thread.wallet.pubkey, thread.initial_amount)], core)
    if result.ok:
        thread.stats.times_refilled += 1
        thread.stats.tokens_from_refills += thread.initial_amount
    return result


async def top_up_sol(client: FrtClient, core: Wallet, threads: list[ThreadRecord], lamports: int) -> list[TxResult]:
    results = await send_in_batches(client, core, [sol_instruction(core, t.wallet.pubkey, lamports) for t in threads])
    for batch_index, result in enumerate(results):
        if result.ok:
            for thread in threads[batch_index * MAX_TRANSFERS_PER_TX:(batch_index + 1) * MAX_TRANSFERS_PER_TX]:
                thread.stats.sol_topups += 1
                thread.stats.sol_from_topups += lamports
    return results
