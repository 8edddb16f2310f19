"""Saving and restoring the embedded ledger's accounts (so wallets and pools survive a restart).

File format: one JSON header line, then fixed-layout records
`pubkey(32) lamports(u64) owner(32) executable(u8) rent_epoch(u64) data_len(u32) data`.
"""
from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Iterable, Iterator

from solders.account import Account
from solders.pubkey import Pubkey

from engine.atomic import atomic_write_bytes

FORMAT_VERSION = 1
_RECORD_HEAD = struct.Struct("<32sQ32sBQI")


class SnapshotError(Exception):
    pass


def encode_snapshot(header: dict, accounts: Iterable[tuple[Pubkey, Account]]) -> bytes:
    parts = [json.dumps({"format": FORMAT_VERSION, **header}).encode() + b"\n"]
    for key, account in accounts:
        data = bytes(account.data)
        parts.append(
            _RECORD_HEAD.pack(
                bytes(key), account.lamports, bytes(account.owner), int(account.executable),
                account.rent_epoch, len(data),
            )
        )
        parts.append(data)
    return b"".join(parts)


def decode_snapshot(blob: bytes) -> tuple[dict, list[tuple[Pubkey, Account]]]:
    newline = blob.find(b"\n")
    if newline < 0:
        raise SnapshotError("snapshot has no header line")
    try:
        header = json.loads(blob[:newline])
    except ValueError as exc:
        raise SnapshotError(f"snapshot header is not JSON: {exc}") from exc
    if header.get("format") != FORMAT_VERSION:
        raise SnapshotError(f"unsupported snapshot format {header.get('format')!r}")
    return header, list(_records(memoryview(blob)[newline + 1:]))


def _records(body: memoryview) -> Iterator[tuple[Pubkey, Account]]:
    offset = 0
    while offset < len(body):
        if offset + _RECORD_HEAD.size > len(body):
            raise SnapshotError("snapshot truncated inside a record header")
        key, lamports, owner, executable, rent_epoch, data_len = _RECORD_HEAD.unpack_from(body, offset)
        offset += _RECORD_HEAD.size
        data = bytes(body[offset:offset + data_len])
        if len(data) != data_len:
            raise SnapshotError("snapshot truncated inside account data")
        offset += data_len
        yield Pubkey(key), Account(
            lamports=lamports, data=data, owner=Pubkey(owner), executable=bool(executable),
            rent_epoch=rent_epoch,
        )


def write_snapshot(path: Path, header: dict, accounts: Iterable[tuple[Pubkey, Account]]) -> None:
    atomic_write_bytes(path, encode_snapshot(header, accounts), backup=True)


def read_snapshot(path: Path) -> tuple[dict, list[tuple[Pubkey, Account]]]:
    """Read the snapshot, falling back to its .backup when the main file is damaged."""
    path = Path(path)
    errors = []
    for candidate in (path, path.with_name(path.name + ".backup")):
        if not candidate.exists():
            continue
        try:
            return decode_snapshot(candidate.read_bytes())
        except SnapshotError as exc:
            errors.append(f"{candidate}: {exc}")
    if errors:
        raise SnapshotError("; ".join(errors))
    return {}, []
