"""The one judge of a failed transaction.

The chain reports what the runtime said (`TxFailure`: the transaction error, the failing
instruction and the programs; the logs are on the `TxResult`) and judges nothing. This turns
it into a `ClassifiedError` — expected / unexpected / transient, a name, a message — by the
rules of CONTRACT.md §9 (engine/frt/errors.py). The operation layer calls it through
`TxResult.judge` with the operation and the pool's facts (engine/operations.py); everyone else
reads `TxResult.error`, judged on first read from what the transaction shows itself.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from engine.frt.errors import ClassifiedError, classify

if TYPE_CHECKING:
    from engine.chain.base import TxFailure


def judge(failure: "TxFailure", logs: Sequence[str], *, operation: str | None = None,
          exact_pool: bool = False) -> ClassifiedError:
    """`operation`: the FRT instruction the caller performed ("swap", ...); without it, the
    failing instruction's own. `exact_pool`: the pool requires exact exchanges (1047 expected)."""
    return classify(failure.raw, logs=logs, operation=operation or failure.instruction,
                    program_ids=failure.program_ids, frt_program_id=failure.frt_program_id,
                    exact_pool=exact_pool)
