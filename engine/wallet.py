"""Keypairs with their public key cached, and Solana CLI keypair files."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from engine.atomic import atomic_write_text


@dataclass(frozen=True)
class Wallet:
    """A keypair and its public key (Keypair.pubkey() costs ~20 µs, so it is computed once).

    The secret never appears in repr(), logs or any API answer."""

    keypair: Keypair = field(repr=False)
    pubkey: Pubkey

    @classmethod
    def generate(cls) -> "Wallet":
        return cls.from_keypair(Keypair())

    @classmethod
    def from_keypair(cls, keypair: Keypair) -> "Wallet":
        return cls(keypair, keypair.pubkey())

    @classmethod
    def from_secret(cls, secret: bytes) -> "Wallet":
        return cls.from_keypair(Keypair.from_bytes(secret))

    def secret(self) -> bytes:
        return bytes(self.keypair)


def read_keypair_file(path: Path) -> Wallet:
    """A Solana CLI keypair file: a JSON array of the 64 secret-key bytes."""
    try:
        values = json.loads(Path(path).read_text())
        return Wallet.from_secret(bytes(values))
    except (OSError, ValueError, TypeError) as exc:
        raise ValueError(f"{path}: not a Solana keypair file ({exc})") from exc


def write_keypair_file(path: Path, wallet: Wallet) -> None:
    atomic_write_text(path, json.dumps(list(wallet.secret())))
    os.chmod(path, 0o600)


def load_or_create_keypair(path: Path) -> tuple[Wallet, bool]:
    """(wallet, created): read the file, or create it with a new keypair when it does not exist."""
    path = Path(path)
    if path.exists():
        return read_keypair_file(path), False
    wallet = Wallet.generate()
    write_keypair_file(path, wallet)
    return wallet, True
