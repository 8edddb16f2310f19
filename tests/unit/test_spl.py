"""The direct SPL builders produce exactly what solana-py's builders produce."""
from solders.pubkey import Pubkey
from spl.token import instructions as reference
from spl.token.models import BurnParams, MintToParams, TransferParams

from engine.frt import spl
from engine.frt.constants import TOKEN_PROGRAM_ID

A, B, C = (Pubkey.new_unique() for _ in range(3))


def test_transfer_matches_solana_py():
    assert spl.transfer(A, B, C, 12345) == reference.transfer(
        TransferParams(program_id=TOKEN_PROGRAM_ID, source=A, dest=B, owner=C, amount=12345))


def test_mint_to_matches_solana_py():
    assert spl.mint_to(A, B, C, 2**64 - 1) == reference.mint_to(
        MintToParams(program_id=TOKEN_PROGRAM_ID, mint=A, dest=B, mint_authority=C, amount=2**64 - 1))


def test_burn_matches_solana_py():
    assert spl.burn(A, B, C, 1) == reference.burn(
        BurnParams(program_id=TOKEN_PROGRAM_ID, account=A, mint=B, owner=C, amount=1))
