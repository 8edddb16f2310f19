"""The token economy between threads: sharing transfers, refills and SOL top-ups.

Who shares with whom is each thread kind's rule (engine/kinds): deposit threads share earned
LP equally among the ACTIVE withdrawal threads of the same pool and token; withdrawal threads
share withdrawn tokens equally among the ACTIVE deposit threads of the same pool and token; a
swap thread sends its output to the ACTIVE opposite-direction swap thread of its pool. Nothing
goes to stopped, created or errored threads. These functions only send: the recorder books."""
from __future__ import annotations

from solders.instruction import Instruction
from solders.system_program import TransferParams as SolTransferParams
from solders.system_program import transfer as sol_transfer

from engine.chain.base import TxResult
from engine.frt import spl
from engine.frt.client import FrtClient, token_address
from engine.pools import PoolRuntime
from engine.threads import ThreadRecord
from engine.wallet import Wallet

MAX_TRANSFERS_PER_TX = 12


def split_equally(amount: int, recipients: int) -> int:
    """Each recipient's share; the remainder (< recipients) stays with the giver."""
    return amount // recipients if recipients else 0


def token_transfers(source_owner: Wallet, mint, recipients: list[ThreadRecord], each: int) -> list[Instruction]:
    source = token_address(source_owner.pubkey, mint)
    return [spl.transfer(source, token_address(r.wallet.pubkey, mint), source_owner.pubkey, each)
            for r in recipients]


def batches_of(items: list, results: list[TxResult]) -> list[tuple[list, TxResult]]:
    """Pairs each transaction result of send_in_batches with the items it carried."""
    return [(items[index * MAX_TRANSFERS_PER_TX:(index + 1) * MAX_TRANSFERS_PER_TX], result)
            for index, result in enumerate(results)]


async def send_in_batches(client: FrtClient, payer: Wallet, instructions: list[Instruction]) -> list[TxResult]:
    results = []
    for start in range(0, len(instructions), MAX_TRANSFERS_PER_TX):
        results.append(await client.sender.send(instructions[start:start + MAX_TRANSFERS_PER_TX], payer))
    return results


async def share_tokens(client: FrtClient, giver: ThreadRecord, mint, recipients: list[ThreadRecord],
                       amount: int) -> tuple[int, list[tuple[list[ThreadRecord], TxResult]]]:
    """Send `amount` split equally to `recipients`; returns (each, [(batch recipients, result)])."""
    each = split_equally(amount, len(recipients))
    if each == 0:
        return 0, []
    results = await send_in_batches(client, giver.wallet, token_transfers(giver.wallet, mint, recipients, each))
    return each, batches_of(recipients, results)


def mint_instruction(core: Wallet, mint, owner, amount: int) -> Instruction:
    return spl.mint_to(mint, token_address(owner, mint), core.pubkey, amount)


def sol_instruction(core: Wallet, destination, lamports: int) -> Instruction:
    return sol_transfer(SolTransferParams(from_pubkey=core.pubkey, to_pubkey=destination, lamports=lamports))


async def refill(client: FrtClient, core: Wallet, thread: ThreadRecord, pool: PoolRuntime) -> TxResult:
    """Auto-refill: the core mints the full initial_amount again (not just the deficit)."""
    return await client.sender.send(
        [mint_instruction(core, pool.mint(thread.input_token), thread.wallet.pubkey, thread.initial_amount)], core)


async def top_up_sol(client: FrtClient, core: Wallet, threads: list[ThreadRecord],
                     lamports: int) -> list[tuple[list[ThreadRecord], TxResult]]:
    results = await send_in_batches(client, core, [sol_instruction(core, t.wallet.pubkey, lamports) for t in threads])
    return batches_of(threads, results)
