"""`EngineApi`: the one contract every client of the engine uses — the console gateway, the
JSON-RPC methods, `frt-stress run`, the benchmarks and the tests.

Its one implementation is the coordinator (engine/sharding/coordinator.py), in front of one
in-process shard (engine.shards = 0) or of shard processes. Every operation goes through
`call(name, params)`, which validates the params with the operation's model — the same
validation on every route — and routes it; `with_operation_methods` adds a method per
operation (`await engine.create_pool(token_a_decimals=9)`), its positional parameters in the
order of the model's fields.
"""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from pydantic import ValidationError

from engine.api.operations import OPERATION_LIST, OPERATIONS, Operation
from engine.api.params import Params
from engine.exceptions import InvalidParams
from engine.stats import EngineTotals


@runtime_checkable
class EngineApi(Protocol):
    """Operations by name (engine/api/operations.py), plus what the process around the engine
    needs: its lifecycle, health, totals and the run's report files."""

    problems: list[str]
    notes: list[str]
    started_monotonic: float

    async def call(self, name: str, params: Any = None) -> dict: ...
    async def close(self) -> None: ...
    async def checkpoint(self) -> None: ...
    async def ledger_audit(self) -> dict: ...
    async def thread_summaries(self) -> list[dict]: ...
    async def fresh_totals(self) -> EngineTotals: ...
    async def chain_health(self, timeout_s: float = 5.0) -> dict: ...
    async def write_report(self, name: str, data: dict) -> str: ...
    def overview(self) -> dict: ...
    @property
    def totals(self) -> EngineTotals: ...
    @property
    def supports_airdrop(self) -> bool: ...
    @property
    def chain_description(self) -> str: ...


def validate(operation: Operation, params: Any) -> Params:
    """The params as the operation's model, or InvalidParams naming every failed field."""
    try:
        return operation.validate(params)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        details = "; ".join(".".join(str(part) for part in error["loc"]) + ": " + error["msg"]
                            if error["loc"] else error["msg"] for error in errors)
        raise InvalidParams(f"Invalid params for {operation.name}: {details}", {"errors": errors}) from None


def bind_arguments(operation: Operation, args: tuple, kwargs: dict) -> dict:
    """Positional arguments by the order of the model's fields, then the keywords."""
    names = list(operation.params.model_fields)
    if len(args) > len(names):
        raise InvalidParams(f"{operation.name} takes at most {len(names)} positional params")
    bound = dict(zip(names, args))
    clash = set(bound) & set(kwargs)
    if clash:
        raise InvalidParams(f"{operation.name} got {', '.join(sorted(clash))} twice")
    return bound | kwargs


def with_operation_methods(cls):
    """Give `cls` (which has `call(name, params)`) one async method per operation."""
    for operation in OPERATION_LIST:
        if operation.name not in cls.__dict__:
            setattr(cls, operation.name, _method(operation))
    return cls


def _method(operation: Operation):
    async def method(self, *args, **kwargs) -> dict:
        return await self.call(operation.name, bind_arguments(operation, args, kwargs))

    method.__name__ = method.__qualname__ = operation.name
    method.__doc__ = operation.summary
    return method


__all__ = ["EngineApi", "OPERATIONS", "bind_arguments", "validate", "with_operation_methods"]
