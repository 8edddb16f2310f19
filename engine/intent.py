"""The intent oracle: rules that hold for any correct fixed-ratio pool whatever its code, kept
apart from the code-derived model (engine/frt/model.py, engine/invariants.py). A violation is a
finding even when the model predicted it (then it is marked as_coded).

Every executed action — an ordinary operation, an attack, an operator's admin action — is
described by an `Action` and checked by `check(action)`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from engine.observe import View


@dataclass(frozen=True)
class Action:
    name: str  # "deposit", "withdraw", "swap", "pause_pool", "update_pool_fees", "withdraw_treasury_fees", ...
    actor: str  # "thread:<id>" or "operator"
    signer: str  # base58 of the transaction's signer (the fee payer and authority)
    signer_is_admin: bool  # the signer is the program's admin (the core wallet)
    ok: bool  # the transaction succeeded
    predicted_ok: bool  # the code-derived model said it would succeed
    pool_id: str | None = None
    params: dict = field(default_factory=dict)  # what was requested: amounts, flags, fees, owner, accounts
    before: View | None = None  # the pool and the signer's wallet before, where observed
    after: View | None = None
    signature: str | None = None


def check(action: Action) -> list[dict]:
    """The findings (engine/findings.py shape) the intent rules raise for this action."""
    return []
