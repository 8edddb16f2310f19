"""Shared fixtures and transaction builders."""
from __future__ import annotations

import pytest
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, TransferParams, create_account, transfer
from solders.transaction import Transaction

TOKEN_PROGRAM_ID = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")


def signed_tx(instructions: list[Instruction], payer: Keypair, blockhash: Hash,
              extra_signers: tuple[Keypair, ...] = ()) -> Transaction:
    message = Message.new_with_blockhash(instructions, payer.pubkey(), blockhash)
    return Transaction([payer, *extra_signers], message, blockhash)


def transfer_tx(payer: Keypair, to: Pubkey, lamports: int, blockhash: Hash) -> Transaction:
    return signed_tx([transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=lamports))],
                     payer, blockhash)


def token_setup_instructions(payer: Pubkey, mint: Pubkey, account: Pubkey, owner: Pubkey, decimals: int,
                             rent_mint: int, rent_account: int) -> list[Instruction]:
    """Create + initialize an SPL mint (authority `payer`) and a token account of `owner`."""
    from spl.token.instructions import initialize_account, initialize_mint
    from spl.token.models import InitializeAccountParams, InitializeMintParams

    return [
        create_account(CreateAccountParams(from_pubkey=payer, to_pubkey=mint, lamports=rent_mint, space=82,
                                           owner=TOKEN_PROGRAM_ID)),
        initialize_mint(InitializeMintParams(decimals=decimals, program_id=TOKEN_PROGRAM_ID, mint=mint,
                                             mint_authority=payer)),
        create_account(CreateAccountParams(from_pubkey=payer, to_pubkey=account, lamports=rent_account,
                                           space=165, owner=TOKEN_PROGRAM_ID)),
        initialize_account(InitializeAccountParams(program_id=TOKEN_PROGRAM_ID, account=account, mint=mint,
                                                   owner=owner)),
    ]


def mint_to_instruction(mint: Pubkey, dest: Pubkey, authority: Pubkey, amount: int) -> Instruction:
    from spl.token.instructions import mint_to
    from spl.token.models import MintToParams

    return mint_to(MintToParams(program_id=TOKEN_PROGRAM_ID, mint=mint, dest=dest, mint_authority=authority,
                                amount=amount))


@pytest.fixture
def localnet_ledger():
    """An embedded ledger without the FRT emulator: System / SPL Token straight to LiteSVM."""
    from engine.chain.ledger import EmbeddedLedger

    return EmbeddedLedger(Pubkey.new_unique(), emulator_factory=lambda program_id: None)


@pytest.fixture
async def localnet_server(localnet_ledger):
    """`frt-stress localnet` on 127.0.0.1, a free port; `.url` is its address."""
    from rpcapi.solana_localnet import LocalnetServer

    server = LocalnetServer(localnet_ledger)
    await server.start("127.0.0.1", 0)
    yield server
    await server.stop()
