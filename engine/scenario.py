"""Scenario files for headless runs: which pools to create and which threads to put on them.

    scenario = load_scenario(Path("scenarios/demo.toml"))   # raises ScenarioError
    created = await build(engine, scenario)                 # pools and threads via the Engine facade

A scenario is a TOML file with an optional ``[run]`` table (``duration_s``, ``seed`` and
``[run.engine]`` overrides of the config's ``[engine]`` section) and one ``[[pools]]`` table per
pool, each with ``[[pools.deposit]]``, ``[[pools.withdrawal]]`` and ``[[pools.swap]]`` entries.
Unknown keys are errors; every error names the file and the key.
"""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from engine.config import EngineConfig
from engine.frt import model

U64_MAX = 2**64 - 1

Amount = Annotated[int, Field(ge=0, le=U64_MAX, strict=True)]
Decimals = Annotated[int, Field(ge=0, le=18, strict=True)]
Count = Annotated[int, Field(ge=1, strict=True)]
TokenType = Literal["A", "B"]
Direction = Literal["a_to_b", "b_to_a"]


class ScenarioError(Exception):
    """The scenario file is missing, not TOML, or not a valid scenario."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DepositEntry(_Strict):
    token_type: TokenType
    initial_amount: Amount = 0
    auto_refill: bool = False
    share_lp_tokens: bool = True
    count: Count = 1

    @model_validator(mode="after")
    def _refill_needs_amount(self) -> "DepositEntry":
        if self.auto_refill and self.initial_amount == 0:
            raise ValueError("auto_refill needs an initial_amount above 0 (a refill mints initial_amount again)")
        return self


class WithdrawalEntry(_Strict):
    token_type: TokenType
    count: Count = 1


class SwapEntry(_Strict):
    direction: Direction
    initial_amount: Amount = 0
    count: Literal[1] = Field(1, description="the engine allows one swap thread per direction per pool")


class PoolEntry(_Strict):
    name: str = Field(min_length=1)
    count: Count = 1
    token_a_decimals: Decimals | None = None
    token_b_decimals: Decimals | None = None
    ratio_whole_number: Annotated[int, Field(ge=1, strict=True)] | None = None
    ratio_direction: Direction | None = None
    flags: Literal[0, 32, 64, 96] = 0
    deposit: list[DepositEntry] = Field(default_factory=list)
    withdrawal: list[WithdrawalEntry] = Field(default_factory=list)
    swap: list[SwapEntry] = Field(default_factory=list)

    @field_validator("swap")
    @classmethod
    def _one_swap_per_direction(cls, swaps: list[SwapEntry]) -> list[SwapEntry]:
        directions = [entry.direction for entry in swaps]
        for direction in set(directions):
            if directions.count(direction) > 1:
                raise ValueError(f"more than one swap entry for direction {direction!r} "
                                 "(the engine allows one swap thread per direction per pool)")
        return swaps

    @model_validator(mode="after")
    def _ratio_fits(self) -> "PoolEntry":
        given = (self.ratio_whole_number, self.token_a_decimals, self.token_b_decimals, self.ratio_direction)
        if None not in given:
            ratio_a, ratio_b = model.ratio_from_human(*given)
            if max(ratio_a, ratio_b) > U64_MAX:
                raise ValueError("the ratio does not fit in u64 base units with these decimals")
        return self


class RunSection(_Strict):
    duration_s: float = Field(60.0, gt=0)
    seed: Annotated[int, Field(strict=True)] | None = None
    engine: EngineConfig | None = None

    def engine_overrides(self) -> dict[str, Any]:
        """Only the [run.engine] keys the file sets (validated like the config's [engine])."""
        if self.engine is None:
            return {}
        return {key: getattr(self.engine, key) for key in self.engine.model_fields_set}


class Scenario(_Strict):
    run: RunSection = Field(default_factory=RunSection)
    pools: list[PoolEntry] = Field(min_length=1)
    _name: str = PrivateAttr("scenario")  # the file's stem, set by load_scenario

    @property
    def name(self) -> str:
        return self._name

    @field_validator("pools")
    @classmethod
    def _unique_names(cls, pools: list[PoolEntry]) -> list[PoolEntry]:
        names = [pool.name for pool in pools]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"pool names must be unique; repeated: {', '.join(duplicates)}")
        return pools


# --------------------------------------------------------------------------- loading

def _key(loc: tuple, data: dict) -> str:
    """('pools', 1, 'deposit', 0, 'token_type') -> 'pools[1] ("name").deposit[0].token_type'."""
    text, node = "", data
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and text.startswith("pools[") and text.count("[") == 1 and "name" in node:
                text += f' ("{node["name"]}")'
        else:
            text += f".{part}" if text else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return text or "<top level>"


def _describe(exc: ValidationError, data: dict) -> list[str]:
    lines = []
    for error in exc.errors():
        loc = tuple(part for part in error["loc"] if not (isinstance(part, str) and part.startswith("function-")))
        key = _key(loc, data)
        if error["type"] == "extra_forbidden":
            lines.append(f"{key}: unknown key")
            continue
        message = error["msg"].removeprefix("Value error, ")
        given = error.get("input")
        shown = f" (got {given!r})" if isinstance(given, (str, int, float, bool)) else ""
        lines.append(f"{key}: {message}{shown}")
    return lines


def parse_scenario(data: dict, *, source: str = "<scenario>", name: str = "scenario") -> Scenario:
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{source}: invalid scenario:\n  " + "\n  ".join(_describe(exc, data))) from None
    scenario._name = name
    return scenario


def load_scenario(path: Path | str) -> Scenario:
    path = Path(path).expanduser()
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read scenario file: {exc.strerror or exc}") from None
    return parse_scenario(data, source=str(path), name=path.stem)


# --------------------------------------------------------------------------- building

async def build(engine, scenario: Scenario) -> dict:
    """Create every pool and thread of the scenario; returns
    {"pools": {name: [pool_id, ...]}, "threads": {pool_id: [thread_id, ...]}}."""
    pools: dict[str, list[str]] = {}
    threads: dict[str, list[str]] = {}
    for entry in scenario.pools:
        for _ in range(entry.count):
            created = await engine.create_pool(entry.token_a_decimals, entry.token_b_decimals,
                                               entry.ratio_whole_number, entry.ratio_direction, entry.flags)
            pool_id = created["pool_id"]
            pools.setdefault(entry.name, []).append(pool_id)
            threads[pool_id] = await _build_threads(engine, pool_id, entry)
    return {"pools": pools, "threads": threads}


async def _build_threads(engine, pool_id: str, entry: PoolEntry) -> list[str]:
    made = []
    for deposit in entry.deposit:
        for _ in range(deposit.count):
            made.append(await engine.create_deposit_thread(pool_id, deposit.token_type, deposit.initial_amount,
                                                           deposit.auto_refill, deposit.share_lp_tokens))
    for withdrawal in entry.withdrawal:
        for _ in range(withdrawal.count):
            made.append(await engine.create_withdrawal_thread(pool_id, withdrawal.token_type))
    for swap in entry.swap:
        made.append(await engine.create_swap_thread(pool_id, swap.direction, swap.initial_amount))
    return [thread["thread_id"] for thread in made]
