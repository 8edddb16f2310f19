"""Scenario files for headless runs: which pools to create and which threads to put on them.

    scenario = load_scenario(Path("scenarios/demo.toml"))   # raises ScenarioError
    created = await build(engine, scenario)                 # pools and threads via the Engine facade

A scenario is a TOML file with an optional ``[run]`` table (``duration_s``, ``seed``,
``[run.engine]`` overrides of the config's ``[engine]`` section and ``[run.thresholds]``, the
gates of engine/gates.py) and one ``[[pools]]`` table per
pool, each with ``[[pools.deposit]]``, ``[[pools.withdrawal]]`` and ``[[pools.swap]]`` entries (one
list per thread kind: the params of its create operation, without pool_id, plus ``count``).
Unknown keys are errors; every error names the file and the key.
"""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, create_model, field_validator

from engine.api.operations import OPERATION_LIST, Route
from engine.api.params import CreatePoolParams
from engine.config import EngineConfig
from engine.gates import Thresholds
from engine.kinds import KINDS

Count = Annotated[int, Field(ge=1, strict=True)]


class ScenarioError(Exception):
    """The scenario file is missing, not TOML, or not a valid scenario."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# A pool entry and its thread entries are the params of the operations that create them (the
# operation table), less the pool a thread sits in, plus how many to create: one set of rules
# for scenario files, the API, the console and the engine. A new thread kind's create operation
# adds its `[[pools.<kind>]]` entry here without a line of its own.
_THREAD_CREATORS = [operation for operation in OPERATION_LIST if operation.route is Route.NEW_THREAD]


def _thread_entry(operation) -> type[BaseModel]:
    unique = KINDS[operation.thread_kind].one_per_pool_by
    return create_model(
        f"{operation.thread_kind.title()}Entry", __base__=operation.params,
        pool_id=(None, Field(None, exclude=True, description="set by the pool entry the thread sits in")),
        count=(Literal[1], Field(1, description=f"a pool holds one {operation.thread_kind} thread per {unique}"))
        if unique else (Count, 1))


_ENTRIES = {operation.thread_kind: _thread_entry(operation) for operation in _THREAD_CREATORS}


def _one_per_pool(kind: str, unique: str):
    def check(cls, entries: list) -> list:
        values = [getattr(entry, unique) for entry in entries]
        for value in sorted(set(values)):
            if values.count(value) > 1:
                raise ValueError(f"more than one {kind} entry for {unique} {value!r} "
                                 f"(the engine allows one {kind} thread per {unique} per pool)")
        return entries
    return field_validator(kind)(classmethod(check))


PoolEntry = create_model(
    "PoolEntry", __base__=CreatePoolParams,
    __validators__={f"_one_{kind}_per_{KINDS[kind].one_per_pool_by}": _one_per_pool(kind, KINDS[kind].one_per_pool_by)
                    for kind in _ENTRIES if KINDS[kind].one_per_pool_by},
    name=(str, Field(min_length=1)), count=(Count, 1), flags=(Literal[0, 32, 64, 96], 0),
    **{kind: (list[entry], Field(default_factory=list)) for kind, entry in _ENTRIES.items()})


def pool_params(entry) -> dict:
    """The create_pool params of a pool entry."""
    return entry.model_dump(include=set(CreatePoolParams.model_fields))


def thread_entries(entry) -> list[tuple[str, BaseModel]]:
    """(create operation, thread entry) for every thread entry of a pool entry, kind by kind."""
    return [(operation.name, thread) for operation in _THREAD_CREATORS
            for thread in getattr(entry, operation.thread_kind)]


class RunSection(_Strict):
    duration_s: float = Field(60.0, gt=0)
    seed: Annotated[int, Field(strict=True)] | None = None
    engine: EngineConfig | None = None
    thresholds: Thresholds = Field(default_factory=Thresholds)

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
            created = await engine.call("create_pool", pool_params(entry))
            pool_id = created["pool_id"]
            pools.setdefault(entry.name, []).append(pool_id)
            threads[pool_id] = await _build_threads(engine, pool_id, entry)
    return {"pools": pools, "threads": threads}


async def _build_threads(engine, pool_id: str, entry) -> list[str]:
    made = []
    for create, thread in thread_entries(entry):
        for _ in range(thread.count):
            made.append(await engine.call(create, thread.model_dump(exclude={"count"}) | {"pool_id": pool_id}))
    return [thread["thread_id"] for thread in made]
