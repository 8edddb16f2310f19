"""Coverage of the contract's behaviour: the errors the model can predict per instruction (held
to `predict` itself), and the report's coverage section built from the totals."""
from __future__ import annotations

import itertools
from collections import defaultdict

import pytest
from solders.pubkey import Pubkey

from engine.coverage import build_coverage, error_identity
from engine.frt import model
from engine.frt.constants import (
    DEFAULT_LIQUIDITY_FEE,
    DEFAULT_SWAP_FEE,
    FLAG_EXACT_EXCHANGE_REQUIRED,
    FLAG_LIQUIDITY_PAUSED,
    FLAG_SWAP_FOR_OWNERS_ONLY,
    FLAG_SWAPS_PAUSED,
    LAMPORTS_PER_SIGNATURE,
)
from engine.frt.errors import ProgramError, classify
from engine.frt.state import PoolState
from engine.invariants import OPERATIONS, REACHABLE_ERRORS, predict
from engine.observe import PoolView, View, WalletView
from engine.stats import EngineTotals

OWNER = Pubkey.new_unique()
U64_MAX = 2**64 - 1
FLAGS = (0, FLAG_LIQUIDITY_PAUSED, FLAG_SWAPS_PAUSED, FLAG_SWAP_FOR_OWNERS_ONLY, FLAG_EXACT_EXCHANGE_REQUIRED)
RATIOS = ((1, 1), (3, 2), (1, 2**63))  # plain, remainders and outputs that floor to 0, outputs past u64
# (tokens, lp, tracked liquidity, vaults) of the wallet and the pool
PROFILES = {
    "empty": (0, 0, 0, 0),
    "normal": (10**9, 10**9, 10**9, 10**9),
    "no_liquidity": (10**9, 0, 0, 0),
    "full": (U64_MAX, U64_MAX, U64_MAX - 3, U64_MAX),  # a deposit overflows the tracked liquidity
    "hollow": (10**7, 10**7, 10, 10**7),  # vaults hold more than the pool tracks
    "dry_vault": (10**7, 10**7, 10**7, 1),
}
AMOUNTS = (0, 1, 5, 10**6)


def _view(paused: bool, flags: int, ratio: tuple[int, int], profile: str, sol: int) -> View:
    tokens, lp, liquidity, vaults = PROFILES[profile]
    state = PoolState(owner=OWNER, ratio_a_numerator=ratio[0], ratio_b_denominator=ratio[1], flags=flags,
                      total_token_a_liquidity=liquidity, total_token_b_liquidity=liquidity,
                      contract_liquidity_fee=DEFAULT_LIQUIDITY_FEE, swap_contract_fee=DEFAULT_SWAP_FEE)
    return View(PoolView(state, 3_939_360, vaults, vaults, lp, lp, paused), WalletView(sol, tokens, tokens, lp, lp))


def _name(operation: str, error) -> str:
    """A predicted error as the run's totals name it (the classified name of the failure)."""
    if error == "InsufficientFundsForRent":  # a transaction error, not an instruction's
        return error
    # as RPC JSON, without logs: the program that failed is guessed as for a chain's answer (a
    # small custom code inside a withdraw is SPL Token's)
    return classify({"InstructionError": [0, error]}, operation=operation).name


def _exact_out(amount: int, ratio: tuple[int, int], a_to_b: bool, exact: bool) -> int:
    try:
        return model.swap_output(amount, ratio[0], ratio[1], a_to_b, exact)
    except ProgramError:
        return 0


def _predicted_errors() -> dict[str, set[str]]:
    """operation -> the names of every error predict answers over the grid."""
    seen: dict[str, set[str]] = defaultdict(set)
    for operation in OPERATIONS:
        fee = DEFAULT_SWAP_FEE if operation == "swap" else DEFAULT_LIQUIDITY_FEE
        # plenty of SOL, none for the fee, and just enough to leave a wallet below rent
        sols = (10**10, LAMPORTS_PER_SIGNATURE, LAMPORTS_PER_SIGNATURE + fee + 1)
        owners = (True, False) if operation == "swap" else (False,)
        for paused, flags, ratio, profile, sol in itertools.product(
                (False, True), FLAGS, RATIOS, PROFILES, sols):
            before = _view(paused, flags, ratio, profile, sol)
            for amount, token_type, owner in itertools.product(AMOUNTS, "AB", owners):
                expected_outs = [None]
                if operation == "swap":
                    right = _exact_out(amount, ratio, token_type == "A", bool(flags & FLAG_EXACT_EXCHANGE_REQUIRED))
                    expected_outs = [right, right + 1]
                for expected_out in expected_outs:
                    prediction = predict(operation, token_type, amount, before, user_is_owner=owner,
                                         expected_amount_out=expected_out)
                    if not prediction.succeeds:
                        seen[operation].add(_name(operation, prediction.error))
    return seen


@pytest.fixture(scope="module")
def predicted() -> dict[str, set[str]]:
    return _predicted_errors()


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_error_predict_answers_is_declared_reachable(predicted, operation):
    assert predicted[operation] <= REACHABLE_ERRORS[operation], predicted[operation] - REACHABLE_ERRORS[operation]


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_declared_error_is_predicted_somewhere_on_the_grid(predicted, operation):
    assert REACHABLE_ERRORS[operation] <= predicted[operation], REACHABLE_ERRORS[operation] - predicted[operation]


def test_errors_are_identified_by_name_code_and_program():
    assert error_identity("PoolLiquidityPaused") == {"name": "PoolLiquidityPaused", "code": 1035, "program": "frt"}
    assert error_identity("SplInsufficientFunds") == {"name": "SplInsufficientFunds", "code": 1,
                                                      "program": "spl-token"}
    assert error_identity("InvalidArgument") == {"name": "InvalidArgument", "code": None, "program": None}


def _totals(records) -> dict:
    totals = EngineTotals()
    for operation, verdict, error in records:
        totals.record(operation, verdict, 1.0, error, 5_000, 0)
    return totals.summary()


def test_coverage_lists_outcomes_per_instruction_and_the_reachable_errors_never_seen():
    totals = _totals([("deposit", "ok", None)] * 3 + [("deposit", "expected", "PoolLiquidityPaused")] * 2
                     + [("swap", "expected", "InsufficientFunds"), ("swap", "transient", "BlockhashNotFound"),
                        ("swap", "ok", None)])
    coverage = build_coverage(totals)
    by_op = {op["operation"]: op for op in coverage["operations"]}
    assert list(by_op) == ["deposit", "withdraw", "swap"]  # every instruction, sent or not

    deposit = by_op["deposit"]
    assert (deposit["sent"], deposit["succeeded"], deposit["exercised"]) == (5, 3, 1)
    assert deposit["errors"] == [{"name": "PoolLiquidityPaused", "code": 1035, "program": "frt", "count": 2,
                                  "reachable": True}]
    assert {e["name"] for e in deposit["not_seen"]} == REACHABLE_ERRORS["deposit"] - {"PoolLiquidityPaused"}
    assert by_op["withdraw"]["sent"] == 0 and by_op["withdraw"]["exercised"] == 0
    swap = by_op["swap"]
    assert [(e["name"], e["reachable"]) for e in swap["errors"]] == [("BlockhashNotFound", False),
                                                                    ("InsufficientFunds", True)]
    for op in coverage["operations"]:  # each operation counted once: success or one error
        assert op["sent"] == op["succeeded"] + sum(e["count"] for e in op["errors"])
    assert coverage["exercised"] == 2
    assert coverage["reachable"] == sum(len(errors) for errors in REACHABLE_ERRORS.values())
    assert coverage["program_refusals"]["exercised"] == ["PoolLiquidityPaused"]

    from engine.report import _coverage

    text = _coverage({"coverage": coverage})
    assert f"errors exercised: 2 of {coverage['reachable']} reachable" in text
    assert "deposit answered: PoolLiquidityPaused (1035) ×2" in text
    assert "BlockhashNotFound ×1 (not predicted)" in text and "withdraw never provoked:" in text


def test_coverage_of_an_instruction_outside_the_model_is_listed_after_the_model_s():
    coverage = build_coverage(_totals([("donate_sol", "ok", None)]))
    assert [op["operation"] for op in coverage["operations"]][-1] == "donate_sol"
    assert coverage["operations"][-1]["reachable"] == 0
