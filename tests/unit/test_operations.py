"""The operation table drives every layer: the facade's methods and validation, the shard's
dispatch, the JSON-RPC methods and OpenRPC, the console gateway."""
from __future__ import annotations

import inspect

import pytest

from console.gateway import LocalGateway, RemoteGateway
from engine.api.facade import bind_arguments, validate
from engine.api.operations import OPERATION_LIST, OPERATIONS, Route
from engine.engine import Engine
from engine.exceptions import InvalidParams
from engine.sharding.coordinator import Coordinator
from engine.sharding.shard import SHARD_COMMANDS
from rpcapi.methods import METHODS
from rpcapi.openrpc import build_document


def test_every_operation_is_served_by_every_layer():
    names = set(OPERATIONS)
    assert set(METHODS) == names | {"rpc.discover"}
    assert {method["name"] for method in build_document()["methods"]} == names | {"rpc.discover"}
    for name, operation in OPERATIONS.items():
        assert inspect.iscoroutinefunction(getattr(Coordinator, name)), name
        assert inspect.iscoroutinefunction(getattr(LocalGateway, name)), name
        assert inspect.iscoroutinefunction(getattr(RemoteGateway, name)), name
        if operation.route is Route.COORDINATOR:
            assert hasattr(Coordinator, f"_answer_{name}"), name
        else:  # the shard answers it with the Engine method of the same name
            assert inspect.iscoroutinefunction(getattr(Engine, name)), name
        if operation.route is Route.EACH:
            assert operation.merge is not None, name
        if operation.route is Route.NEW_THREAD:
            assert operation.thread_kind and name == f"create_{operation.thread_kind}_thread"
    for command in SHARD_COMMANDS - {"totals_json"}:  # totals_json: the Engine's totals, as JSON
        assert hasattr(Engine, command), command


def test_the_coordinator_is_the_engine_api(tmp_path):
    from engine.api.facade import EngineApi
    from engine.config import Settings

    coordinator = Coordinator(Settings.model_validate({"data_dir": str(tmp_path)}), 0)
    assert isinstance(coordinator, EngineApi)
    assert coordinator.in_process and len(coordinator.shards) == 1  # shards = 0: one shard, in this process


def test_positional_params_follow_the_model_field_order():
    create = OPERATIONS["create_deposit_thread"]
    assert bind_arguments(create, ("P", "A", 5), {"auto_refill": True}) == {
        "pool_id": "P", "token_type": "A", "initial_amount": 5, "auto_refill": True}
    with pytest.raises(InvalidParams, match="twice"):
        bind_arguments(create, ("P",), {"pool_id": "Q"})
    with pytest.raises(InvalidParams, match="at most"):
        bind_arguments(OPERATIONS["start_thread"], ("a", "b"), {})


def test_validation_names_every_failed_field_and_is_the_api_code():
    with pytest.raises(InvalidParams) as refused:
        validate(OPERATIONS["fund_thread"], {"thread_id": "nobody", "funding_type": "gold", "amount": 1.0})
    assert refused.value.code == -32602
    for field in ("thread_id", "funding_type", "amount"):
        assert field in refused.value.message
    assert len(refused.value.data["errors"]) == 3
    assert validate(OPERATIONS["get_findings"], None).limit == 50  # defaults apply
    assert all(operation.summary and operation.result for operation in OPERATION_LIST)
