"""The in-process Engine and the sharded coordinator offer the same public methods, so the API,
the console and `run` work with either."""
import inspect

from engine.engine import Engine
from engine.sharding.coordinator import ShardedEngine

# Public to the process that owns the threads, not to clients (workers and shards call these).
ENGINE_INTERNALS = {"open", "start_background_tasks", "record_outcome", "record_wait", "record_side_error",
                    "enter_error_state", "finish_errored", "recent_errors", "count_minted", "ensure_core_lamports",
                    "top_up_wallets", "external_recipients", "checkpoint"}


def _public(cls) -> dict:
    return {name: member for name, member in inspect.getmembers(cls)
            if not name.startswith("_") and (inspect.isfunction(member) or isinstance(member, property))}



def test_every_client_facing_engine_method_exists_on_the_coordinator_with_the_same_parameters():
    engine, sharded = _public(Engine), _public(ShardedEngine)
    for name, member in engine.items():
        if name in ENGINE_INTERNALS or isinstance(member, property) and name not in ("chain_description",):
            continue
        assert name in sharded, f"ShardedEngine lacks {name}"
        if isinstance(member, property):
            continue
        mine = [p for p in inspect.signature(member).parameters.values() if p.name != "self"]
        theirs = [p for p in inspect.signature(sharded[name]).parameters.values() if p.name != "self"]
        # The coordinator allocates thread ids itself, and start_thread's reason is internal.
        mine = [p for p in mine if (name, p.name) not in {
            ("create_deposit_thread", "thread_id"), ("create_withdrawal_thread", "thread_id"),
            ("create_swap_thread", "thread_id"), ("start_thread", "reason")}]
        assert [(p.name, p.default) for p in mine] == [(p.name, p.default) for p in theirs], name
        assert inspect.iscoroutinefunction(member) == inspect.iscoroutinefunction(sharded[name]), name
