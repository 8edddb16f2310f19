"""Turning a settled transaction into the backend-neutral TxResult."""
from __future__ import annotations

from solders.message import Message

from engine.chain.base import TxResult
from engine.frt.errors import ClassifiedError, classify
from engine.frt.instructions import INSTRUCTION_NAMES


def classify_tx_error(err, logs, message: Message | None, frt_program_id) -> ClassifiedError:
    """Classify with the failing instruction as context (e.g. InvalidAccountData on a swap)."""
    program_ids = None
    operation = None
    if message is not None:
        keys = message.account_keys
        program_ids = [str(keys[ix.program_id_index]) for ix in message.instructions]
        index = _instruction_index(err)
        if index is not None and index < len(message.instructions):
            ix = message.instructions[index]
            data = bytes(ix.data)
            if keys[ix.program_id_index] == frt_program_id and data:
                operation = INSTRUCTION_NAMES.get(data[0])
    return classify(err, logs=tuple(logs), operation=operation, program_ids=program_ids,
                    frt_program_id=frt_program_id)


def _instruction_index(err) -> int | None:
    index = getattr(err, "index", None)
    if index is not None:
        return index
    if isinstance(err, dict) and "InstructionError" in err:
        return err["InstructionError"][0]
    return None


def make_tx_result(signature, err, logs, fee, compute_units, slot, message, frt_program_id) -> TxResult:
    error = None if err is None else classify_tx_error(err, logs, message, frt_program_id)
    return TxResult(signature=str(signature), ok=err is None, error=error, fee=fee,
                    compute_units=compute_units, logs=tuple(logs), slot=slot)
