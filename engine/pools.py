"""Pools the engine knows: their registry entries and the runtime object each one gets."""
from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict, dataclass, field
from functools import cached_property

from solders.pubkey import Pubkey

from engine.frt import model
from engine.frt.constants import FLAG_EXACT_EXCHANGE_REQUIRED, FLAG_SWAP_FOR_OWNERS_ONLY
from engine.frt.pda import PoolAddresses, derive_pool
from engine.turns import PoolTurns

TOKEN_TYPES = ("A", "B")
DIRECTIONS = ("a_to_b", "b_to_a")
_EXTREME_DECIMALS = (0, 9)
_RATIO_CHOICES = (1, 2, 3, 5, 10, 16, 25, 100, 160, 1000, 10_000, 1_000_000)


@dataclass
class PoolRecord:
    """A pool as saved in pools.json. Token A / B are the contract's (sorted) tokens."""

    pool_id: str
    token_a_mint: str
    token_a_decimals: int
    token_b_mint: str
    token_b_decimals: int
    ratio_a_numerator: int
    ratio_b_denominator: int
    flags: int = 0
    created_at: str = ""

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "PoolRecord":
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})

    @property
    def ratio_display(self) -> str:
        return model.ratio_display(self.ratio_a_numerator, self.ratio_b_denominator,
                                   self.token_a_decimals, self.token_b_decimals)

    @property
    def exact(self) -> bool:
        return bool(self.flags & FLAG_EXACT_EXCHANGE_REQUIRED)

    @property
    def owner_only(self) -> bool:
        return bool(self.flags & FLAG_SWAP_FOR_OWNERS_ONLY)

    def summary(self) -> dict:
        return {"pool_id": self.pool_id, "token_a_mint": self.token_a_mint, "token_a_decimals": self.token_a_decimals,
                "token_b_mint": self.token_b_mint, "token_b_decimals": self.token_b_decimals,
                "ratio_a_numerator": self.ratio_a_numerator, "ratio_b_denominator": self.ratio_b_denominator,
                "ratio_display": self.ratio_display, "flags": self.flags, "created_at": self.created_at}


@dataclass
class PoolRuntime:
    """What the engine keeps per pool while it runs. Every operation on the pool, and every
    transfer into the wallets of its threads, holds `lock`: the pool account is writable in all
    of them, so the chain serialises them anyway, and holding the lock makes each operation's
    before/after balances attributable to it alone (exact verification)."""

    record: PoolRecord
    program_id: Pubkey
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    turns: PoolTurns = field(default_factory=PoolTurns)  # whose turn is next: the seed's order, not timing's
    last_view: object | None = field(default=None, repr=False)  # last PoolView an operation saw

    @cached_property
    def addresses(self) -> PoolAddresses:
        return derive_pool(self.program_id, self.mint("A"), self.mint("B"),
                           self.record.ratio_a_numerator, self.record.ratio_b_denominator)

    def mint(self, token_type: str) -> Pubkey:
        return Pubkey.from_string(self.record.token_a_mint if token_type == "A" else self.record.token_b_mint)

    def lp_mint(self, token_type: str) -> Pubkey:
        return self.addresses.lp_token_a_mint if token_type == "A" else self.addresses.lp_token_b_mint

    def decimals(self, token_type: str) -> int:
        return self.record.token_a_decimals if token_type == "A" else self.record.token_b_decimals


@dataclass(frozen=True)
class PoolSpec:
    """What create_pool will create, with every unspecified choice drawn at random."""

    token_a_decimals: int
    token_b_decimals: int
    ratio_whole_number: int
    ratio_direction: str
    flags: int

    @property
    def ratios(self) -> tuple[int, int]:
        return model.ratio_from_human(self.ratio_whole_number, self.token_a_decimals, self.token_b_decimals,
                                      self.ratio_direction)


def draw_pool_spec(rng: random.Random, token_a_decimals: int | None = None, token_b_decimals: int | None = None,
                   ratio_whole_number: int | None = None, ratio_direction: str | None = None,
                   flags: int | None = None) -> PoolSpec:
    def decimals(given: int | None) -> int:
        if given is not None:
            return given
        return rng.choice(_EXTREME_DECIMALS) if rng.random() < 0.4 else rng.randint(0, 9)

    return PoolSpec(
        token_a_decimals=decimals(token_a_decimals),
        token_b_decimals=decimals(token_b_decimals),
        ratio_whole_number=ratio_whole_number if ratio_whole_number is not None else rng.choice(_RATIO_CHOICES),
        ratio_direction=ratio_direction or rng.choice(DIRECTIONS),
        flags=flags or 0,
    )


@asynccontextmanager
async def all_pools_locked(pools: Iterable[PoolRuntime]):
    """Hold every pool's lock (in one fixed order, so two holders cannot deadlock): for actions
    that change what every pool's operations see — the system pause, the treasury — so that no
    operation observes the state before them and is sent after them."""
    ordered = sorted(pools, key=lambda pool: pool.record.pool_id)
    async with AsyncExitStack() as stack:
        for pool in ordered:
            await stack.enter_async_context(pool.lock)
        yield ordered
