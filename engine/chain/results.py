"""Turning a settled transaction into the backend-neutral TxResult: what the runtime said,
nothing judged (engine/judge.py judges a failure)."""
from __future__ import annotations

from solders.message import Message

from engine.chain.base import TxFailure, TxResult
from engine.frt.errors import to_rpc_json
from engine.frt.instructions import INSTRUCTION_NAMES


def tx_failure(err, message: Message | None, frt_program_id) -> TxFailure:
    """The runtime's error in canonical RPC JSON, with the failing instruction and its program."""
    raw = to_rpc_json(err)
    index = raw["InstructionError"][0] if isinstance(raw, dict) and "InstructionError" in raw else None
    program_ids = instruction = None
    if message is not None:
        keys = message.account_keys
        program_ids = tuple(str(keys[ix.program_id_index]) for ix in message.instructions)
        if index is not None and index < len(message.instructions):
            ix = message.instructions[index]
            data = bytes(ix.data)
            if keys[ix.program_id_index] == frt_program_id and data:
                instruction = INSTRUCTION_NAMES.get(data[0])
    return TxFailure(raw, index, program_ids, instruction, str(frt_program_id))


def make_tx_result(signature, err, logs, fee, compute_units, slot, message, frt_program_id) -> TxResult:
    return TxResult(str(signature), err is None, None, fee, compute_units, tuple(logs), slot,
                    None if err is None else tx_failure(err, message, frt_program_id))
