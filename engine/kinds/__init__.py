"""The thread kinds, by name. A new kind is one ThreadKind subclass registered here."""
from __future__ import annotations

from engine.kinds.attack import AttackKind
from engine.kinds.base import ThreadKind
from engine.kinds.deposit import DepositKind
from engine.kinds.swap import SwapKind
from engine.kinds.withdrawal import WithdrawalKind

KINDS: dict[str, ThreadKind] = {kind.name: kind for kind in (DepositKind(), WithdrawalKind(), SwapKind(), AttackKind())}


def kind_of(thread_type: str) -> ThreadKind:
    try:
        return KINDS[thread_type]
    except KeyError:
        raise ValueError(f"unknown thread kind {thread_type!r}") from None
