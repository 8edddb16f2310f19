"""Error tables, ProgramError, RPC JSON conversion and classification (CONTRACT.md §9)."""
import json
import pickle

import pytest
from solders.transaction_status import (
    InstructionErrorBorshIO,
    InstructionErrorCustom,
    InstructionErrorFieldless,
    TransactionErrorDuplicateInstruction,
    TransactionErrorFieldless,
    TransactionErrorInstructionError,
    TransactionErrorInsufficientFundsForRent,
    TransactionErrorProgramExecutionTemporarilyRestricted,
)

from engine.frt import errors
from engine.frt.constants import (
    COMPUTE_BUDGET_PROGRAM_ID,
    LOCALNET_PROGRAM_ID,
    SYSTEM_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
)
from engine.frt.errors import (
    CUSTOM_ERRORS,
    EXPECTED,
    SPL_TOKEN_ERRORS,
    SYSTEM_ERRORS,
    TRANSIENT,
    UNEXPECTED,
    ClassifiedError,
    ProgramError,
    classify,
    classify_exception,
    from_rpc_json,
    reclassify,
    to_rpc_json,
)

FRT_ID = str(LOCALNET_PROGRAM_ID)
TOKEN_ID = str(TOKEN_PROGRAM_ID)
CB_ID = str(COMPUTE_BUDGET_PROGRAM_ID)
DEPLOYED_ELSEWHERE = "Fixed1111111111111111111111111111111111111"


# ---------------------------------------------------------------------------- tables

SPEC_CODES = {
    1001, 1002, 1003, 1004, 1005, 1006, 1007, 1012, 1019, 1023, 1024, 1025, 1026, 1027, 1028,
    1029, 1030, 1031, 1032, 1033, 1034, 1035, 1036, 1037, 1038, 1039, 1040, 1041, 1042, 1043,
    1044, 1045, 1046, 1047, 1048, 1049, 3001, 4001,
}


def test_frt_table_has_every_code_of_the_contract():
    assert set(CUSTOM_ERRORS) == SPEC_CODES


@pytest.mark.parametrize("table", [CUSTOM_ERRORS, SPL_TOKEN_ERRORS, SYSTEM_ERRORS])
def test_decimal_and_hex_agree(table):
    for code, info in table.items():
        assert info.code == code
        assert int(info.hex, 16) == code and info.hex == hex(code)


def test_custom_names_are_unique_and_never_shadow_runtime_names():
    names = [info.name for table in errors.CUSTOM_TABLES.values() for info in table.values()]
    assert len(names) == len(set(names))
    runtime_names = set(errors.BUILTIN_ERRORS) | set(errors.TRANSACTION_ERRORS)
    assert not runtime_names & set(names)


def test_selected_table_entries():
    assert (CUSTOM_ERRORS[1035].hex, CUSTOM_ERRORS[1035].name) == ("0x40b", "PoolLiquidityPaused")
    assert CUSTOM_ERRORS[1047].expected is None
    assert CUSTOM_ERRORS[1049].emitted and CUSTOM_ERRORS[1049].expected
    assert not CUSTOM_ERRORS[1038].emitted
    assert SPL_TOKEN_ERRORS[1].name == "SplInsufficientFunds"
    assert SPL_TOKEN_ERRORS[0x11].name == "SplAccountFrozen"
    assert SYSTEM_ERRORS[0].name == "SystemAccountAlreadyInUse"
    assert SYSTEM_ERRORS[1].name == "SystemResultWithNegativeLamports"


def test_tables_cover_every_solders_variant():
    fieldless_tx = {n for n in dir(TransactionErrorFieldless) if not n.startswith("_")}
    assert fieldless_tx <= set(errors.TRANSACTION_ERRORS)
    fieldless_ix = {n for n in dir(InstructionErrorFieldless) if not n.startswith("_")}
    assert fieldless_ix == set(errors.BUILTIN_ERRORS)
    assert errors.FRT_BUILTIN_ERRORS <= set(errors.BUILTIN_ERRORS)


# ---------------------------------------------------------------------------- ProgramError

def test_program_error_custom():
    error = ProgramError.custom(1035)
    assert error.error == {"Custom": 1035}
    assert error.code == 1035 and error.name == "PoolLiquidityPaused"
    assert str(error) == "custom program error: 0x40b (PoolLiquidityPaused)"


def test_program_error_builtin_and_cpi():
    assert ProgramError("InvalidArgument").code is None
    assert str(ProgramError("InvalidArgument")) == "invalid program argument"
    spl = ProgramError.custom(1, "burn", program="spl-token")
    assert spl.name == "SplInsufficientFunds"
    assert str(spl) == "spl-token: custom program error: 0x1 (SplInsufficientFunds): burn"


def test_program_error_normalises_borsh_and_rejects_unknown_names():
    borsh = ProgramError({"BorshIoError": "Unexpected length of input"})
    assert borsh.error == "BorshIoError" and borsh.message == "Unexpected length of input"
    with pytest.raises(ValueError):
        ProgramError("InvalidArgumentTypo")


def test_program_error_pickles():
    error = ProgramError.custom(1, "vault", program="spl-token")
    clone = pickle.loads(pickle.dumps(error))
    assert clone == error and clone.message == "vault" and clone.program == "spl-token"


# ---------------------------------------------------------------------------- RPC JSON

SOLDERS_AND_JSON = [
    (TransactionErrorInstructionError(1, InstructionErrorCustom(1035)),
     {"InstructionError": [1, {"Custom": 1035}]}),
    (TransactionErrorInstructionError(0, InstructionErrorFieldless.InvalidArgument),
     {"InstructionError": [0, "InvalidArgument"]}),
    (TransactionErrorInstructionError(2, InstructionErrorFieldless.BorshIoError),
     {"InstructionError": [2, "BorshIoError"]}),
    (TransactionErrorFieldless.BlockhashNotFound, "BlockhashNotFound"),
    (TransactionErrorFieldless.AlreadyProcessed, "AlreadyProcessed"),
    (TransactionErrorInsufficientFundsForRent(2), {"InsufficientFundsForRent": {"account_index": 2}}),
    (TransactionErrorDuplicateInstruction(3), {"DuplicateInstruction": 3}),
    (TransactionErrorProgramExecutionTemporarilyRestricted(4),
     {"ProgramExecutionTemporarilyRestricted": {"account_index": 4}}),
]


@pytest.mark.parametrize("solders_err, rpc_json", SOLDERS_AND_JSON)
def test_to_rpc_json_and_back(solders_err, rpc_json):
    assert to_rpc_json(solders_err) == rpc_json
    assert to_rpc_json(rpc_json) == rpc_json
    back = from_rpc_json(rpc_json)
    assert type(back) is type(solders_err) and back == solders_err
    assert json.loads(json.dumps(rpc_json)) == rpc_json


def test_every_fieldless_error_round_trips():
    for name in dir(TransactionErrorFieldless):
        if not name.startswith("_"):
            assert to_rpc_json(from_rpc_json(name)) == name
    for name in errors.BUILTIN_ERRORS:
        raw = {"InstructionError": [0, name]}
        assert to_rpc_json(from_rpc_json(raw)) == raw


def test_to_rpc_json_of_other_forms():
    assert to_rpc_json(ProgramError.custom(1047), 1) == {"InstructionError": [1, {"Custom": 1047}]}
    assert to_rpc_json({"InstructionError": (0, {"BorshIoError": "x"})}) == {
        "InstructionError": [0, "BorshIoError"]}
    borsh_object = InstructionErrorBorshIO("x")
    assert errors.instruction_error_json(borsh_object) == "BorshIoError"
    with pytest.raises(ValueError):
        to_rpc_json("NotAnError")
    with pytest.raises(ValueError):
        to_rpc_json("InsufficientFundsForRent")  # needs its account index


def test_rpc_json_matches_what_solders_parses_from_a_json_rpc_response():
    from solders.rpc.responses import GetSignatureStatusesResp

    err = {"InstructionError": [1, {"Custom": 1035}]}
    response = {"jsonrpc": "2.0", "id": 1, "result": {"context": {"slot": 1}, "value": [
        {"slot": 5, "confirmations": None, "err": err, "status": {"Err": err},
         "confirmationStatus": "confirmed"}]}}
    parsed = GetSignatureStatusesResp.from_json(json.dumps(response)).value[0].err
    assert to_rpc_json(parsed) == err


# ---------------------------------------------------------------------------- classify

@pytest.mark.parametrize("solders_err, rpc_json", SOLDERS_AND_JSON)
def test_solders_and_json_forms_classify_identically(solders_err, rpc_json):
    for operation in (None, "swap", "withdraw"):
        assert classify(solders_err, operation=operation) == classify(rpc_json, operation=operation)


def test_classify_frt_custom_code():
    result = classify(TransactionErrorInstructionError(1, InstructionErrorCustom(1035)),
                      operation="deposit", program_ids=[CB_ID, FRT_ID])
    assert result == ClassifiedError(
        raw={"InstructionError": [1, {"Custom": 1035}]}, instruction_index=1, program="frt",
        name="PoolLiquidityPaused", code=1035, category=EXPECTED, message=result.message)
    assert "0x40b" in result.message


def test_classify_program_error_with_index():
    result = classify(ProgramError.custom(1031), instruction_index=1, operation="swap")
    assert (result.raw, result.program, result.name, result.category) == (
        {"InstructionError": [1, {"Custom": 1031}]}, "frt", "InsufficientFeeBalance", EXPECTED)
    spl = classify(ProgramError.custom(1, program="spl-token"), instruction_index=1,
                   operation="withdraw")
    assert (spl.program, spl.name, spl.category) == ("spl-token", "SplInsufficientFunds", EXPECTED)


WITHDRAW_FAILURE_LOGS = [
    f"Program {CB_ID} invoke [1]",
    f"Program {CB_ID} success",
    f"Program {FRT_ID} invoke [1]",
    "Program log: Instruction: Withdraw",
    f"Program {TOKEN_ID} invoke [2]",
    "Program log: Instruction: Burn",
    "Program log: Error: insufficient funds",
    f"Program {TOKEN_ID} consumed 2000 of 380000 compute units",
    f"Program {TOKEN_ID} failed: custom program error: 0x1",
    f"Program {FRT_ID} consumed 40000 of 400000 compute units",
    f"Program {FRT_ID} failed: custom program error: 0x1",
]


def test_spl_custom_1_inside_withdraw_found_from_logs():
    err = TransactionErrorInstructionError(1, InstructionErrorCustom(1))
    result = classify(err, logs=WITHDRAW_FAILURE_LOGS, operation="withdraw",
                      program_ids=[CB_ID, FRT_ID])
    assert (result.program, result.name, result.code, result.category) == (
        "spl-token", "SplInsufficientFunds", 1, EXPECTED)
    # The same error inside a swap is a client/contract problem (balances are pre-checked).
    assert classify(err, logs=WITHDRAW_FAILURE_LOGS, operation="swap").category == UNEXPECTED


def test_small_code_without_logs_is_attributed_to_the_cpi_of_the_operation():
    withdraw = classify({"InstructionError": [1, {"Custom": 1}]}, operation="withdraw",
                        program_ids=[CB_ID, FRT_ID])
    assert (withdraw.program, withdraw.name, withdraw.category) == (
        "spl-token", "SplInsufficientFunds", EXPECTED)
    creation = classify({"InstructionError": [1, {"Custom": 1}]}, operation="initialize_pool")
    assert (creation.program, creation.name, creation.category) == (
        "system", "SystemResultWithNegativeLamports", EXPECTED)


def test_system_custom_0_on_pool_creation_is_unexpected():
    logs = [f"Program {FRT_ID} invoke [1]", f"Program {SYSTEM_PROGRAM_ID} invoke [2]",
            f"Program {SYSTEM_PROGRAM_ID} failed: custom program error: 0x0",
            f"Program {FRT_ID} failed: custom program error: 0x0"]
    result = classify({"InstructionError": [1, {"Custom": 0}]}, logs=logs,
                      operation="initialize_pool")
    assert (result.program, result.name, result.category) == (
        "system", "SystemAccountAlreadyInUse", UNEXPECTED)


def test_direct_spl_instruction_failure_uses_program_ids():
    result = classify({"InstructionError": [0, {"Custom": 4}]}, program_ids=[TOKEN_ID])
    assert (result.program, result.name, result.category) == ("spl-token", "SplOwnerMismatch", UNEXPECTED)


def test_frt_deployed_at_another_address():
    logs = [f"Program {DEPLOYED_ELSEWHERE} invoke [1]",
            f"Program {DEPLOYED_ELSEWHERE} failed: custom program error: 0x40b"]
    result = classify({"InstructionError": [0, {"Custom": 1035}]}, logs=logs,
                      frt_program_id=DEPLOYED_ELSEWHERE)
    assert result.program == "frt" and result.name == "PoolLiquidityPaused"
    unknown = classify({"InstructionError": [0, {"Custom": 7}]}, program_ids=[DEPLOYED_ELSEWHERE])
    assert (unknown.program, unknown.name, unknown.category) == (
        DEPLOYED_ELSEWHERE, "Custom(7)", UNEXPECTED)


def test_amount_mismatch_is_expected_only_in_exact_pools():
    err = {"InstructionError": [1, {"Custom": 1047}]}
    assert classify(err, operation="swap").category == UNEXPECTED
    assert classify(err, operation="swap", exact_pool=True).category == EXPECTED


@pytest.mark.parametrize("error, operation, category", [
    ("InvalidAccountData", "swap", EXPECTED),
    ("InvalidAccountData", "deposit", UNEXPECTED),
    ("InvalidAccountData", None, UNEXPECTED),
    ("InsufficientFunds", "swap", EXPECTED),
    ("InsufficientFunds", "deposit", EXPECTED),
    ("InsufficientFunds", "withdraw_treasury_fees", EXPECTED),
    ("InvalidInstructionData", "withdraw_treasury_fees", EXPECTED),
    ("InvalidInstructionData", "deposit", UNEXPECTED),
    ("InvalidArgument", "swap", EXPECTED),
    ("InvalidArgument", None, EXPECTED),
    ("AccountAlreadyInitialized", "initialize_pool", EXPECTED),
    ("AccountAlreadyInitialized", "initialize_program", UNEXPECTED),
    ("ArithmeticOverflow", "withdraw", UNEXPECTED),
    ("MissingRequiredSignature", "swap", UNEXPECTED),
    ("BorshIoError", "swap", UNEXPECTED),
    ("ProgramFailedToComplete", "initialize_pool", UNEXPECTED),
    ("ComputationalBudgetExceeded", "deposit", UNEXPECTED),
])
def test_builtin_errors_by_operation(error, operation, category):
    result = classify({"InstructionError": [1, error]}, operation=operation)
    assert result.name == error and result.code is None and result.category == category


@pytest.mark.parametrize("code, category", [
    (1019, EXPECTED), (1023, EXPECTED), (1024, EXPECTED), (1025, EXPECTED), (1027, EXPECTED),
    (1028, EXPECTED), (1031, EXPECTED), (1035, EXPECTED), (1043, EXPECTED), (1044, EXPECTED),
    (1045, EXPECTED), (1049, EXPECTED), (1033, UNEXPECTED), (1034, UNEXPECTED),
    (1036, UNEXPECTED), (3001, UNEXPECTED), (4001, UNEXPECTED), (1001, UNEXPECTED),
    (1040, UNEXPECTED), (9999, UNEXPECTED),
])
def test_frt_custom_categories(code, category):
    assert classify({"InstructionError": [1, {"Custom": code}]},
                    program_ids=[CB_ID, FRT_ID]).category == category


@pytest.mark.parametrize("raw, name, category", [
    ("BlockhashNotFound", "BlockhashNotFound", TRANSIENT),
    ("AlreadyProcessed", "AlreadyProcessed", TRANSIENT),
    ("InsufficientFundsForFee", "InsufficientFundsForFee", EXPECTED),
    ("SignatureFailure", "SignatureFailure", UNEXPECTED),
    ("AccountNotFound", "AccountNotFound", EXPECTED),
    ({"InsufficientFundsForRent": {"account_index": 0}}, "InsufficientFundsForRent", EXPECTED),
    ({"DuplicateInstruction": 1}, "DuplicateInstruction", UNEXPECTED),
])
def test_transaction_level_errors(raw, name, category):
    result = classify(raw, operation="swap")
    assert (result.name, result.program, result.instruction_index, result.code) == (name, None, None, None)
    assert result.category == category


def test_to_dict_is_json_serialisable():
    result = classify(TransactionErrorInstructionError(1, InstructionErrorCustom(1035)),
                      logs=WITHDRAW_FAILURE_LOGS[:3])
    as_dict = result.to_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert set(as_dict) == {"raw", "instruction_index", "program", "name", "code", "category",
                            "message"}


def test_reclassify_adds_operation_context():
    backend_view = classify({"InstructionError": [1, "InvalidAccountData"]},
                            program_ids=[CB_ID, FRT_ID])
    assert backend_view.category == UNEXPECTED
    assert reclassify(backend_view, operation="swap").category == EXPECTED
    amount_mismatch = classify({"InstructionError": [1, {"Custom": 1047}]})
    assert reclassify(amount_mismatch, operation="swap", exact_pool=True).category == EXPECTED
    blockhash = classify("BlockhashNotFound")
    assert reclassify(blockhash, operation="swap") == blockhash


# ---------------------------------------------------------------------------- exceptions

class FakeRpcException(Exception):
    pass


FakeRpcException.__name__ = "RPCException"


def test_network_exceptions_are_transient():
    for exc in (TimeoutError("slow"), ConnectionResetError("reset"), OSError("net down")):
        result = classify_exception(exc)
        assert result.category == TRANSIENT and result.raw is None
        assert result.name == type(exc).__name__


def test_solana_py_exceptions():
    from solana.rpc.core import TransactionExpiredBlockheightExceededError, UnconfirmedTxError

    assert classify_exception(UnconfirmedTxError("x")).category == TRANSIENT
    assert classify_exception(TransactionExpiredBlockheightExceededError("x")).category == TRANSIENT


def test_preflight_failure_is_classified_as_the_transaction_error():
    class Simulation:
        err = TransactionErrorInstructionError(1, InstructionErrorCustom(1))
        logs = WITHDRAW_FAILURE_LOGS

    class Payload:
        message = "Transaction simulation failed"
        data = Simulation()

    result = classify_exception(FakeRpcException(Payload()), operation="withdraw")
    assert (result.name, result.program, result.category) == (
        "SplInsufficientFunds", "spl-token", EXPECTED)


def test_other_exceptions_are_unexpected():
    assert classify_exception(ValueError("bug")).category == UNEXPECTED
    assert classify_exception(FakeRpcException("Invalid params")).category == UNEXPECTED
    assert classify_exception(FakeRpcException("Node is behind by 42 slots")).category == TRANSIENT


def test_classify_exception_of_program_error():
    result = classify_exception(ProgramError.custom(1027), instruction_index=1, operation="swap")
    assert (result.name, result.instruction_index, result.category) == (
        "PoolSwapsPaused", 1, EXPECTED)


def test_the_associated_token_program_is_known_by_its_real_address():
    """Its address was mistyped: errors of the program that creates token accounts were shown
    under a base58 id instead of its name, and histories could not tell its instructions."""
    from spl.token.constants import ASSOCIATED_TOKEN_PROGRAM_ID as REAL

    from engine.frt.constants import ASSOCIATED_TOKEN_PROGRAM_ID
    from engine.frt.errors import ASSOCIATED_TOKEN, program_label

    assert ASSOCIATED_TOKEN_PROGRAM_ID == REAL
    assert program_label(str(REAL)) == ASSOCIATED_TOKEN
