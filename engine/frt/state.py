"""Byte-exact account layouts: FRT state (CONTRACT.md §5.1-5.3), ProgramData and SPL Token (§5.4).

Every class is a frozen dataclass with `decode(data)` / `encode()`; `dataclasses.replace` makes
modified copies. Decoders raise ValueError on a wrong length or bytes the owning program would
reject.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, fields
from typing import Optional

from solders.pubkey import Pubkey

from engine.frt.constants import (
    FLAG_EXACT_EXCHANGE_REQUIRED,
    FLAG_LIQUIDITY_PAUSED,
    FLAG_SIMPLE_RATIO,
    FLAG_SWAP_FOR_OWNERS_ONLY,
    FLAG_SWAPS_PAUSED,
    MAIN_TREASURY_SIZE,
    MINT_SIZE,
    POOL_STATE_SIZE,
    TOKEN_ACCOUNT_SIZE,
)

_DEFAULT_KEY = Pubkey.default()


def _check_length(kind: str, data: bytes, expected: int) -> None:
    if len(data) != expected:
        raise ValueError(f"{kind} must be {expected} bytes, got {len(data)}")


def _field_values(instance) -> list:
    return [getattr(instance, f.name) for f in fields(instance)]


def _keys_to_pubkeys(values: tuple) -> list:
    return [Pubkey.from_bytes(v) if isinstance(v, bytes) else v for v in values]


def _pubkeys_to_bytes(values: list) -> list:
    return [bytes(v) if isinstance(v, Pubkey) else v for v in values]


def _read_bool(kind: str, byte: int) -> bool:
    if byte > 1:
        raise ValueError(f"{kind}: invalid bool byte {byte}")
    return byte == 1


class _Reader:
    """Sequential byte reader that reports short data as ValueError."""

    def __init__(self, kind: str, data: bytes) -> None:
        self.kind, self.data, self.offset = kind, data, 0

    def take(self, size: int) -> bytes:
        end = self.offset + size
        if end > len(self.data):
            raise ValueError(f"{self.kind}: data too short ({len(self.data)} bytes)")
        chunk, self.offset = self.data[self.offset:end], end
        return chunk


# ---------------------------------------------------------------------------------------------
# PoolState (§5.1)

_U64 = struct.Struct("<Q")
POOL_STATE_U64_OFFSETS = {
    "total_token_a_liquidity": 240,
    "total_token_b_liquidity": 248,
    "contract_liquidity_fee": 262,
    "swap_contract_fee": 270,
    "collected_liquidity_fees": 310,
    "collected_swap_contract_fees": 318,
    "total_sol_fees_collected": 326,
    "total_consolidations": 342,
    "total_fees_consolidated": 350,
}
_POOL_STATE = struct.Struct("<" + "32s" * 7 + "4Q" + "6B" + "6Q" + "3Q" + "q" + "2Q" + "6Q" + "4Q")
assert _POOL_STATE.size == POOL_STATE_SIZE


@dataclass(frozen=True)
class PoolState:
    owner: Pubkey = _DEFAULT_KEY
    token_a_mint: Pubkey = _DEFAULT_KEY
    token_b_mint: Pubkey = _DEFAULT_KEY
    token_a_vault: Pubkey = _DEFAULT_KEY
    token_b_vault: Pubkey = _DEFAULT_KEY
    lp_token_a_mint: Pubkey = _DEFAULT_KEY
    lp_token_b_mint: Pubkey = _DEFAULT_KEY
    ratio_a_numerator: int = 0
    ratio_b_denominator: int = 0
    total_token_a_liquidity: int = 0
    total_token_b_liquidity: int = 0
    pool_authority_bump_seed: int = 0
    token_a_vault_bump_seed: int = 0
    token_b_vault_bump_seed: int = 0
    lp_token_a_mint_bump_seed: int = 0
    lp_token_b_mint_bump_seed: int = 0
    flags: int = 0
    contract_liquidity_fee: int = 0
    swap_contract_fee: int = 0
    collected_fees_token_a: int = 0
    collected_fees_token_b: int = 0
    total_fees_withdrawn_token_a: int = 0
    total_fees_withdrawn_token_b: int = 0
    collected_liquidity_fees: int = 0
    collected_swap_contract_fees: int = 0
    total_sol_fees_collected: int = 0
    last_consolidation_timestamp: int = 0
    total_consolidations: int = 0
    total_fees_consolidated: int = 0
    max_swap_amount: int = 0
    min_swap_amount: int = 0
    max_deposit_amount: int = 0
    min_deposit_amount: int = 0
    max_withdrawal_amount: int = 0
    min_withdrawal_amount: int = 0
    reserved: tuple[int, int, int, int] = (0, 0, 0, 0)  # `_reserved: [u64; 4]` in the program

    @classmethod
    def decode(cls, data: bytes) -> "PoolState":
        _check_length("PoolState", data, POOL_STATE_SIZE)
        values = _POOL_STATE.unpack(data)
        keys = [Pubkey.from_bytes(raw) for raw in values[:7]]  # the 7 pubkeys come first
        return cls(*keys, *values[7:-4], reserved=tuple(values[-4:]))

    def encode(self) -> bytes:
        values = _field_values(self)
        return _POOL_STATE.pack(*_pubkeys_to_bytes(values[:-1]), *self.reserved)

    def has_flag(self, flag: int) -> bool:
        return bool(self.flags & flag)

    @staticmethod
    def patch(data: bytes, **u64_fields: int) -> bytes:
        """The account data with some u64 fields changed in place — what re-serialising the
        struct with those fields changed produces, without decoding the rest."""
        buffer = bytearray(data)
        for name, value in u64_fields.items():
            _U64.pack_into(buffer, POOL_STATE_U64_OFFSETS[name], value)
        return bytes(buffer)

    @property
    def simple_ratio(self) -> bool:
        return self.has_flag(FLAG_SIMPLE_RATIO)

    @property
    def liquidity_paused(self) -> bool:
        return self.has_flag(FLAG_LIQUIDITY_PAUSED)

    @property
    def swaps_paused(self) -> bool:
        return self.has_flag(FLAG_SWAPS_PAUSED)

    @property
    def owner_only(self) -> bool:
        return self.has_flag(FLAG_SWAP_FOR_OWNERS_ONLY)

    @property
    def exact_exchange(self) -> bool:
        return self.has_flag(FLAG_EXACT_EXCHANGE_REQUIRED)

    @property
    def pending_sol_fees(self) -> int:
        """SOL fees held by the pool PDA that have not been consolidated yet."""
        return self.total_sol_fees_collected - self.total_fees_consolidated


# ---------------------------------------------------------------------------------------------
# SystemState (§5.2): Borsh with an Option in the middle, so the content length varies.

_SYSTEM_HEAD = struct.Struct("<?qB32s")  # is_paused, pause_timestamp, pause_reason_code, admin
_I64 = struct.Struct("<q")


@dataclass(frozen=True)
class SystemState:
    is_paused: bool = False
    pause_timestamp: int = 0
    pause_reason_code: int = 0
    admin_authority: Pubkey = _DEFAULT_KEY
    pending_admin_authority: Optional[Pubkey] = None
    admin_change_timestamp: int = 0

    @classmethod
    def decode(cls, data: bytes) -> "SystemState":
        """Sequential parse; trailing bytes (stale after pending is cleared) are ignored."""
        data = bytes(data)
        reader = _Reader("SystemState", data)
        is_paused = _read_bool("SystemState.is_paused", reader.take(1)[0])
        (pause_timestamp,) = _I64.unpack(reader.take(8))
        pause_reason_code = reader.take(1)[0]
        admin = Pubkey.from_bytes(reader.take(32))
        option_tag = reader.take(1)[0]
        if option_tag > 1:
            raise ValueError(f"SystemState: invalid Option tag {option_tag}")
        pending = Pubkey.from_bytes(reader.take(32)) if option_tag == 1 else None
        (admin_change_timestamp,) = _I64.unpack(reader.take(8))
        return cls(is_paused, pause_timestamp, pause_reason_code, admin, pending, admin_change_timestamp)

    def encode(self) -> bytes:
        """The Borsh content: 83 bytes with a pending admin, 51 without."""
        head = _SYSTEM_HEAD.pack(self.is_paused, self.pause_timestamp, self.pause_reason_code,
                                 bytes(self.admin_authority))
        pending = b"\x00" if self.pending_admin_authority is None else b"\x01" + bytes(self.pending_admin_authority)
        return head + pending + _I64.pack(self.admin_change_timestamp)

    def encode_into(self, old_account_data: bytes) -> bytes:
        """The account bytes after the program serializes over `old_account_data` in place."""
        content = self.encode()
        if len(content) > len(old_account_data):
            raise ValueError(f"SystemState needs {len(content)} bytes, account has {len(old_account_data)}")
        return content + bytes(old_account_data[len(content):])


# ---------------------------------------------------------------------------------------------
# MainTreasuryState (§5.3)

_TREASURY = struct.Struct("<12QqQq2Q")
assert _TREASURY.size == MAIN_TREASURY_SIZE


@dataclass(frozen=True)
class MainTreasuryState:
    total_balance: int = 0
    rent_exempt_minimum: int = 0
    total_withdrawn: int = 0
    pool_creation_count: int = 0
    liquidity_operation_count: int = 0
    regular_swap_count: int = 0
    treasury_withdrawal_count: int = 0
    failed_operation_count: int = 0
    total_pool_creation_fees: int = 0
    total_liquidity_fees: int = 0
    total_regular_swap_fees: int = 0
    total_swap_contract_fees: int = 0
    last_update_timestamp: int = 0
    total_consolidations_performed: int = 0
    last_withdrawal_timestamp: int = 0
    donation_count: int = 0
    total_donations: int = 0

    @classmethod
    def decode(cls, data: bytes) -> "MainTreasuryState":
        _check_length("MainTreasuryState", data, MAIN_TREASURY_SIZE)
        return cls(*_TREASURY.unpack(data))

    def encode(self) -> bytes:
        return _TREASURY.pack(*_field_values(self))


# ---------------------------------------------------------------------------------------------
# ProgramData of the BPF upgradeable loader (bincode enum UpgradeableLoaderState::ProgramData)

PROGRAM_DATA_TAG = 3
PROGRAM_DATA_HEADER_SIZE = 45


@dataclass(frozen=True)
class ProgramData:
    slot: int = 0
    upgrade_authority_address: Optional[Pubkey] = None

    @classmethod
    def decode(cls, data: bytes) -> "ProgramData":
        """Parse the header; the ELF bytes that follow it are ignored."""
        reader = _Reader("ProgramData", bytes(data))
        (tag,) = struct.unpack("<I", reader.take(4))
        if tag != PROGRAM_DATA_TAG:
            raise ValueError(f"ProgramData: loader state tag {tag} is not ProgramData ({PROGRAM_DATA_TAG})")
        (slot,) = struct.unpack("<Q", reader.take(8))
        option_tag = reader.take(1)[0]
        if option_tag > 1:
            raise ValueError(f"ProgramData: invalid Option tag {option_tag}")
        authority = Pubkey.from_bytes(reader.take(32)) if option_tag == 1 else None
        return cls(slot, authority)

    def encode(self) -> bytes:
        """The 45-byte header (authority bytes zeroed when there is none)."""
        authority = self.upgrade_authority_address
        tail = b"\x00" * 33 if authority is None else b"\x01" + bytes(authority)
        return struct.pack("<IQ", PROGRAM_DATA_TAG, self.slot) + tail


# ---------------------------------------------------------------------------------------------
# SPL Token (classic) accounts. COption = u32 tag (0/1) + body. When the value is None the
# token program writes only the tag and leaves the old body bytes in place, so `encode_into`
# reproduces that; `encode` starts from zeros.

_COPTION_NONE = b"\x00\x00\x00\x00"
_COPTION_SOME = b"\x01\x00\x00\x00"


def _read_coption(kind: str, data: bytes, offset: int, body_size: int) -> Optional[bytes]:
    tag = data[offset:offset + 4]
    if tag == _COPTION_NONE:
        return None
    if tag == _COPTION_SOME:
        return data[offset + 4:offset + 4 + body_size]
    raise ValueError(f"{kind}: invalid COption tag {tag.hex()}")


def _write_coption(buffer: bytearray, offset: int, body: Optional[bytes]) -> None:
    if body is None:
        buffer[offset:offset + 4] = _COPTION_NONE
        return
    buffer[offset:offset + 4] = _COPTION_SOME
    buffer[offset + 4:offset + 4 + len(body)] = body


def _optional_key(body: Optional[bytes]) -> Optional[Pubkey]:
    return None if body is None else Pubkey.from_bytes(body)


def _key_body(key: Optional[Pubkey]) -> Optional[bytes]:
    return None if key is None else bytes(key)


def _base_buffer(kind: str, old_account_data: Optional[bytes], size: int) -> bytearray:
    if old_account_data is None:
        return bytearray(size)
    _check_length(kind, old_account_data, size)
    return bytearray(old_account_data)


TOKEN_STATE_UNINITIALIZED = 0
TOKEN_STATE_INITIALIZED = 1
TOKEN_STATE_FROZEN = 2


@dataclass(frozen=True)
class TokenAccount:
    mint: Pubkey = _DEFAULT_KEY
    owner: Pubkey = _DEFAULT_KEY
    amount: int = 0
    delegate: Optional[Pubkey] = None
    state: int = TOKEN_STATE_INITIALIZED
    is_native: Optional[int] = None
    delegated_amount: int = 0
    close_authority: Optional[Pubkey] = None

    @classmethod
    def decode(cls, data: bytes) -> "TokenAccount":
        _check_length("TokenAccount", data, TOKEN_ACCOUNT_SIZE)
        data = bytes(data)
        state = data[108]
        if state > TOKEN_STATE_FROZEN:
            raise ValueError(f"TokenAccount: invalid state {state}")
        native = _read_coption("TokenAccount.is_native", data, 109, 8)
        return cls(
            mint=Pubkey.from_bytes(data[0:32]),
            owner=Pubkey.from_bytes(data[32:64]),
            amount=int.from_bytes(data[64:72], "little"),
            delegate=_optional_key(_read_coption("TokenAccount.delegate", data, 72, 32)),
            state=state,
            is_native=None if native is None else int.from_bytes(native, "little"),
            delegated_amount=int.from_bytes(data[121:129], "little"),
            close_authority=_optional_key(_read_coption("TokenAccount.close_authority", data, 129, 32)),
        )

    def encode(self) -> bytes:
        return self.encode_into(None)

    def encode_into(self, old_account_data: Optional[bytes]) -> bytes:
        """Pack like the SPL Token program over `old_account_data` (stale bodies under None kept)."""
        buffer = _base_buffer("TokenAccount", old_account_data, TOKEN_ACCOUNT_SIZE)
        buffer[0:32] = bytes(self.mint)
        buffer[32:64] = bytes(self.owner)
        buffer[64:72] = self.amount.to_bytes(8, "little")
        _write_coption(buffer, 72, _key_body(self.delegate))
        buffer[108] = self.state
        _write_coption(buffer, 109, None if self.is_native is None else self.is_native.to_bytes(8, "little"))
        buffer[121:129] = self.delegated_amount.to_bytes(8, "little")
        _write_coption(buffer, 129, _key_body(self.close_authority))
        return bytes(buffer)

    @property
    def is_initialized(self) -> bool:
        return self.state != TOKEN_STATE_UNINITIALIZED

    @property
    def is_frozen(self) -> bool:
        return self.state == TOKEN_STATE_FROZEN


@dataclass(frozen=True)
class Mint:
    mint_authority: Optional[Pubkey] = None
    supply: int = 0
    decimals: int = 0
    is_initialized: bool = True
    freeze_authority: Optional[Pubkey] = None

    @classmethod
    def decode(cls, data: bytes) -> "Mint":
        _check_length("Mint", data, MINT_SIZE)
        data = bytes(data)
        return cls(
            mint_authority=_optional_key(_read_coption("Mint.mint_authority", data, 0, 32)),
            supply=int.from_bytes(data[36:44], "little"),
            decimals=data[44],
            is_initialized=_read_bool("Mint.is_initialized", data[45]),
            freeze_authority=_optional_key(_read_coption("Mint.freeze_authority", data, 46, 32)),
        )

    def encode(self) -> bytes:
        return self.encode_into(None)

    def encode_into(self, old_account_data: Optional[bytes]) -> bytes:
        """Pack like the SPL Token program over `old_account_data` (stale bodies under None kept)."""
        buffer = _base_buffer("Mint", old_account_data, MINT_SIZE)
        _write_coption(buffer, 0, _key_body(self.mint_authority))
        buffer[36:44] = self.supply.to_bytes(8, "little")
        buffer[44] = self.decimals
        buffer[45] = int(self.is_initialized)
        _write_coption(buffer, 46, _key_body(self.freeze_authority))
        return bytes(buffer)


# ---- single fields, for hot paths that read thousands of balances ----------------------------

_U64 = struct.Struct("<Q")
_AMOUNT_OFFSET = 64  # TokenAccount.amount
_SUPPLY_OFFSET = 36  # Mint.supply


def token_account_amount(data: bytes) -> int | None:
    """TokenAccount.amount without decoding the rest; None when `data` is not a token account."""
    return _U64.unpack_from(data, _AMOUNT_OFFSET)[0] if len(data) == TOKEN_ACCOUNT_SIZE else None


def mint_supply(data: bytes) -> int | None:
    """Mint.supply without decoding the rest; None when `data` is not a mint."""
    return _U64.unpack_from(data, _SUPPLY_OFFSET)[0] if len(data) == MINT_SIZE else None
