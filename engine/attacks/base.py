"""What an attack is and how one is judged.

An attack is a transaction a hostile wallet (the attack thread's own, non-admin keypair) can
send: `build` makes its instructions from what was observed just before (a `Scene`),
`predict` says what the code-derived model (engine/frt/model.py, engine/invariants.py and
CONTRACT.md §4's check order) expects — success with which state afterwards, or exactly which
error — and `undo` gives the actions that put back what a successful attack changed, so the
ordinary threads keep running. The worker (engine/attacks/worker.py) sends, observes again and
compares; every attack is also described as an intent `Action`.
"""
from __future__ import annotations

import struct
import time
from dataclasses import dataclass, field

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from engine.frt.constants import BPF_LOADER_UPGRADEABLE_ID, SYSTEM_PROGRAM_ID
from engine.frt.pda import find_main_treasury, find_program_data, find_system_state
from engine.frt.state import MainTreasuryState, PoolState, ProgramData, SystemState
from engine.invariants import Prediction
from engine.observe import View, observe
from engine.pools import PoolRuntime
from engine.wallet import Wallet

CLOCK_SYSVAR_ID = Pubkey.from_string("SysvarC1ock11111111111111111111111111111111")

# The three accounts an attack puts in an admin instruction's ProgramData slot.
PROGRAM_DATA_VARIANTS = ("real", "own_wallet", "system_program")


@dataclass
class Context:
    """What an attack may use: the engine's parts, its pool, its wallet."""

    host: object  # the Engine
    thread: object  # the attack thread's ThreadRecord
    pool: PoolRuntime
    wallet: Wallet

    @property
    def program_id(self) -> Pubkey:
        return self.host.cluster.program_id

    @property
    def client(self):
        return self.host.client

    def program_data_key(self, variant: str) -> Pubkey:
        if variant == "real":
            return find_program_data(self.program_id)[0]
        if variant == "own_wallet":
            return self.wallet.pubkey
        return SYSTEM_PROGRAM_ID

    def other_pools(self) -> list[PoolRuntime]:
        """The engine's other pools, in a fixed order."""
        return sorted((p for p in self.host.pools.values() if p is not self.pool), key=lambda p: p.record.pool_id)

    def victims(self) -> list:
        """Other wallets on this pool (threads of the same pool), in a fixed order; the core
        wallet last."""
        threads = sorted((t for t in self.host.threads.values()
                          if t.pool_id == self.pool.record.pool_id and t.thread_id != self.thread.thread_id),
                         key=lambda t: t.thread_id)
        return [t.wallet.pubkey for t in threads] + [self.host.core.pubkey]


@dataclass
class Scene:
    """Everything an attack's prediction needs, read in two round trips."""

    view: View  # the pool and the attacker's wallet
    system: SystemState | None
    treasury: MainTreasuryState | None
    treasury_lamports: int
    now: int
    accounts: dict  # Pubkey -> Account | None: the accounts the attack asked about

    @property
    def pool(self) -> PoolState:
        return self.view.pool.state

    @property
    def system_paused(self) -> bool:
        return bool(self.system and self.system.is_paused)

    def exists(self, key: Pubkey) -> bool:
        account = self.accounts.get(key)
        return account is not None and (account.lamports > 0 or len(account.data) > 0)


async def look(ctx: Context, extra: list[Pubkey] = ()) -> Scene:
    cluster = ctx.host.cluster
    view = await observe(cluster, ctx.pool.addresses, ctx.wallet.pubkey)
    fixed = [find_system_state(ctx.program_id)[0], find_main_treasury(ctx.program_id)[0], CLOCK_SYSVAR_ID]
    keys = fixed + [key for key in dict.fromkeys(extra) if key not in fixed]
    accounts = await cluster.get_multiple_accounts(keys)
    system_account, treasury_account, clock = accounts[:3]
    system = treasury = None
    try:
        system = SystemState.decode(bytes(system_account.data)) if system_account is not None else None
    except ValueError:
        pass
    try:
        treasury = MainTreasuryState.decode(bytes(treasury_account.data)) if treasury_account is not None else None
    except ValueError:
        pass
    now = struct.unpack_from("<q", bytes(clock.data), 32)[0] if clock is not None and len(clock.data) >= 40 \
        else int(time.time())
    return Scene(view, system, treasury, treasury_account.lamports if treasury_account is not None else 0, now,
                 dict(zip(keys, accounts)))


@dataclass
class Expect:
    """The model's prediction. `error` None: success, after which the listed fields hold the
    given values; a refusal changes nothing but the signer's SOL (the network fee)."""

    error: object | None = None  # canonical instruction error: "InvalidAccountData", {"Custom": 1023}, ...
    pool: dict = field(default_factory=dict)  # PoolState field -> value afterwards
    system: dict = field(default_factory=dict)  # SystemState field -> value afterwards
    treasury_lamports_change: int | None = None
    pool_lamports_change: int | None = None
    ordinary: Prediction | None = None  # a deposit / withdraw / swap: the balances move exactly so
    view_changes: dict | None = None  # View.numbers() key -> change (besides the network fee); others stay
    why: str = ""  # the check (CONTRACT.md) that decides it

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict:
        return {"succeeds": self.ok, "error": self.error, "why": self.why,
                "pool": {k: str(v) if isinstance(v, Pubkey) else v for k, v in self.pool.items()},
                "system": {k: str(v) if isinstance(v, Pubkey) else v for k, v in self.system.items()},
                "treasury_lamports_change": self.treasury_lamports_change,
                "pool_lamports_change": self.pool_lamports_change,
                "ordinary": self.ordinary.to_json() if self.ordinary else None, "view_changes": self.view_changes}


@dataclass
class Built:
    instructions: list[Instruction]
    params: dict  # what was requested, as the Action and the finding show it
    signers: list[Wallet] = field(default_factory=list)  # besides the attacker (the fee payer)
    acting: Wallet | None = None  # whose action it is, when not the attacker's (a victim it lets act)


class Attack:
    """One entry of the catalogue (or an undo step)."""

    name: str = ""
    category: str = ""
    action: str = ""  # the intent Action's name ("pause_pool", "deposit", ...)
    scope: str = "pool"  # "system": holds every pool's lock (system pause, treasury, admin)
    undo_note: str = ""  # why a successful attack cannot be (fully) undone, where it cannot
    early: bool = False  # runs at the start of each round (before anything it would be blocked by)

    def extra_accounts(self, ctx: Context) -> list[Pubkey]:
        """Accounts the prediction needs to read besides the pool, system, treasury and clock."""
        return []

    def build(self, ctx: Context, scene: Scene) -> Built | None:
        """The transaction, or None when it does not apply now (e.g. no other pool)."""
        raise NotImplementedError

    def predict(self, ctx: Context, scene: Scene, built: Built) -> Expect:
        raise NotImplementedError

    def booked(self, ctx: Context, result) -> None:
        """After sending: keep the engine's own records right (e.g. what was burned)."""

    def undo(self, ctx: Context, before: Scene, after: Scene) -> list["Attack"]:
        """Actions that put back what this attack changed, after it succeeded."""
        return []

    # ---- ordinary-shaped attacks run through engine.operations.run_verified -------------------

    ordinary: tuple[str, str] | None = None  # (operation, token_type) when run_verified executes it

    def amount(self, ctx: Context, scene: Scene) -> int | None:
        raise NotImplementedError


# ------------------------------------------------------------------------------ authority


def authorized(scene: Scene, signer: Pubkey, program_data: Pubkey, program_id: Pubkey) -> bool:
    """The admin check `AD` (CONTRACT.md §4.0) after its signer and SystemState checks: the
    admin passes; otherwise the upgrade-authority fallback, which passes ANY signer when the
    account in the ProgramData slot is not owned by the upgradeable loader (§13.1)."""
    if scene.system is not None and signer == scene.system.admin_authority:
        return True
    account = scene.accounts.get(program_data)
    if account is None or account.owner != BPF_LOADER_UPGRADEABLE_ID:
        return True
    if program_data != find_program_data(program_id)[0]:
        return False
    try:
        data = ProgramData.decode(bytes(account.data))
    except ValueError:
        return False
    return data.upgrade_authority_address == signer


def same_error(predicted, raw) -> bool:
    """Whether the chain refused the way the model predicted (raw: the runtime's error)."""
    if predicted is None or raw is None:
        return False
    return isinstance(raw, dict) and "InstructionError" in raw and raw["InstructionError"][1] == predicted


def edit_accounts(instruction: Instruction, changes: dict[int, AccountMeta]) -> Instruction:
    """The instruction with some of its AccountMeta entries replaced."""
    accounts = list(instruction.accounts)
    for index, meta in changes.items():
        accounts[index] = meta
    return Instruction(instruction.program_id, bytes(instruction.data), accounts)


def meta(key: Pubkey, *, signer: bool = False, writable: bool = False) -> AccountMeta:
    return AccountMeta(key, is_signer=signer, is_writable=writable)
