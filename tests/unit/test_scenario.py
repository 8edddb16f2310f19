"""Scenario entries are the params of the operations that create pools and threads: the same
rules as the API, the console and the engine."""
from __future__ import annotations

import pytest

from engine.api.operations import OPERATION_LIST, Route
from engine.scenario import PoolEntry, ScenarioError, parse_scenario, pool_params, thread_entries


def test_every_thread_creating_operation_has_a_scenario_list():
    kinds = [operation.thread_kind for operation in OPERATION_LIST if operation.route is Route.NEW_THREAD]
    assert kinds and all(kind in PoolEntry.model_fields for kind in kinds)


def test_entries_carry_the_params_of_their_operations():
    scenario = parse_scenario({"pools": [{
        "name": "p", "token_a_decimals": 6, "token_b_decimals": 2, "ratio_whole_number": 5, "ratio_direction": "a_to_b",
        "deposit": [{"token_type": "A", "initial_amount": 10, "auto_refill": True, "count": 2}],
        "swap": [{"direction": "b_to_a"}]}]})
    entry = scenario.pools[0]
    assert pool_params(entry) == {"token_a_decimals": 6, "token_b_decimals": 2, "ratio_whole_number": 5,
                                  "ratio_direction": "a_to_b", "flags": 0}
    created = [(name, thread.model_dump(exclude={"count"}), thread.count) for name, thread in thread_entries(entry)]
    assert created == [
        ("create_deposit_thread", {"token_type": "A", "initial_amount": 10, "auto_refill": True,
                                   "share_lp_tokens": True}, 2),
        ("create_swap_thread", {"direction": "b_to_a", "initial_amount": 0}, 1)]


@pytest.mark.parametrize("deposit, expected", [
    ({"token_type": "A", "auto_refill": True}, "auto_refill needs initial_amount > 0"),  # the API's rule
    ({"token_type": "A", "initial_amount": 1.5}, "deposit[0].initial_amount"),
    ({"token_type": "A", "pool_id": "x"}, "deposit[0].pool_id"),  # the pool is the entry's
])
def test_entries_are_refused_by_the_operation_rules(deposit, expected):
    with pytest.raises(ScenarioError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        parse_scenario({"pools": [{"name": "p", "deposit": [deposit]}]})
