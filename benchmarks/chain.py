"""FRT operations per second through EmbeddedCluster vs a raw LiteSVM loop, in the same run.

    python benchmarks/chain.py [--ops 3000] [--rounds 3]

FRT path (per operation): build the instructions, sign, send through EmbeddedCluster (emulator,
ledger bookkeeping, error classification) and check the result. Baseline: a raw LiteSVM loop of
signed SPL token transfers built in Python. Rounds alternate A/B so that a noisy neighbour hurts
both; the ratio of the medians is the figure to compare (target >= 0.5).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time

from solders.litesvm import LiteSVM
from solders.message import Message
from solders.transaction import Transaction
from spl.token.instructions import transfer
from spl.token.models import TransferParams

# Run as a script, this folder comes first on sys.path, and benchmarks/engine.py would shadow
# the engine package: the repository root goes first.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from engine.chain.ledger import EmbeddedLedger  # noqa: E402
from engine.frt.client import FrtClient, token_address  # noqa: E402
from engine.frt.constants import LOCALNET_PROGRAM_ID, TOKEN_PROGRAM_ID  # noqa: E402
from engine.wallet import Wallet  # noqa: E402
from engine.sandbox import make_world  # noqa: E402


async def frt_round(world, users, ops: int) -> float:
    """Deposits, swaps both ways and withdrawals, cycling over users; returns ops/s."""
    client: FrtClient = world.client
    pool, mint_x, mint_y = world.pool, world.mint_x, world.mint_y
    started = time.perf_counter()
    for i in range(ops):
        user = users[i % len(users)]
        kind = i % 4
        amount = 1_000_000 + i  # distinct amounts keep every transaction unique
        if kind == 0:
            result = await client.deposit(user, pool, mint_x, amount)
        elif kind == 1:
            result = await client.swap(user, pool, mint_x, amount, client.expected_swap_output(pool, mint_x, amount, False))
        elif kind == 2:
            amount_y = 10_000 + i
            result = await client.swap(user, pool, mint_y, amount_y, client.expected_swap_output(pool, mint_y, amount_y, False))
        else:
            result = await client.withdraw(user, pool, mint_x, amount // 2)
        if not result.ok:
            raise RuntimeError(f"operation {i} failed: {result.error}")
    return ops / (time.perf_counter() - started)


def raw_litesvm_setup():
    svm = LiteSVM()
    payer = Wallet.generate()
    svm.airdrop(payer.pubkey, 10**12)
    mint = Wallet.generate()
    from spl.token.instructions import create_idempotent_associated_token_account, initialize_mint2, mint_to
    from spl.token.models import InitializeMint2Params, MintToParams
    from solders.system_program import CreateAccountParams, create_account

    recipient = Wallet.generate()
    setup = [
        create_account(CreateAccountParams(from_pubkey=payer.pubkey, to_pubkey=mint.pubkey, lamports=10**7,
                                           space=82, owner=TOKEN_PROGRAM_ID)),
        initialize_mint2(InitializeMint2Params(program_id=TOKEN_PROGRAM_ID, mint=mint.pubkey, decimals=0,
                                               mint_authority=payer.pubkey, freeze_authority=None)),
        create_idempotent_associated_token_account(payer.pubkey, payer.pubkey, mint.pubkey),
        create_idempotent_associated_token_account(payer.pubkey, recipient.pubkey, mint.pubkey),
        mint_to(MintToParams(program_id=TOKEN_PROGRAM_ID, mint=mint.pubkey,
                             dest=token_address(payer.pubkey, mint.pubkey), mint_authority=payer.pubkey,
                             amount=10**15)),
    ]
    message = Message.new_with_blockhash(setup, payer.pubkey, svm.latest_blockhash())
    raw = bytes(message)
    result = svm.send_transaction(Transaction.populate(message, [payer.keypair.sign_message(raw),
                                                                  mint.keypair.sign_message(raw)]))
    assert not hasattr(result, "err"), result
    return svm, payer, token_address(payer.pubkey, mint.pubkey), token_address(recipient.pubkey, mint.pubkey)


def raw_round(setup, ops: int, offset: int) -> float:
    svm, payer, source, dest = setup
    blockhash = svm.latest_blockhash()
    started = time.perf_counter()
    for i in range(ops):
        instruction = transfer(TransferParams(program_id=TOKEN_PROGRAM_ID, source=source, dest=dest,
                                              owner=payer.pubkey, amount=offset + i + 1))
        message = Message.new_with_blockhash([instruction], payer.pubkey, blockhash)
        result = svm.send_transaction(Transaction.populate(message, [payer.keypair.sign_message(bytes(message))]))
        if hasattr(result, "err"):
            raise RuntimeError(f"raw transfer failed: {result}")
    return ops / (time.perf_counter() - started)


async def main(ops: int, rounds: int) -> None:
    world = await make_world(ledger=EmbeddedLedger(LOCALNET_PROGRAM_ID))
    users = [await world.user(lamports=1_000 * 10**9, x=10**15, y=10**15) for _ in range(8)]
    for user in users:  # seed both sides so withdrawals and swaps always have liquidity
        await world.client.deposit(user, world.pool, world.mint_y, 10**13)
        await world.client.deposit(user, world.pool, world.mint_x, 10**13)
    raw_setup = raw_litesvm_setup()
    frt_rates, raw_rates = [], []
    for round_index in range(rounds):
        raw_rates.append(raw_round(raw_setup, ops, round_index * ops))
        frt_rates.append(await frt_round(world, users, ops))
        print(f"round {round_index + 1}: raw LiteSVM SPL transfers {raw_rates[-1]:8.0f} tx/s   "
              f"FRT ops via EmbeddedCluster {frt_rates[-1]:8.0f} ops/s")
    raw, frt = statistics.median(raw_rates), statistics.median(frt_rates)
    print(f"median: raw {raw:.0f} tx/s, FRT {frt:.0f} ops/s, ratio {frt / raw:.2f} (target >= 0.5)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    asyncio.run(main(options.ops, options.rounds))
