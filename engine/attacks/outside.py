"""Category "outside": the pool's accounts changed from outside the program — tokens sent
straight into a vault, the attacker's own LP burned with SPL Token, SOL sent to the pool
account. None of it goes through FRT: the program's tracked liquidity ignores it and swaps
price without it (CONTRACT.md §13.7); the pool invariants see a surplus, never a shortfall.

Not in the default catalogue: a token sent into a vault can never be taken out again (a
withdrawal beyond tracked liquidity fails, §4.4), so the ledger audit's "vault == tracked
liquidity" check fails for that pool from then on. Ask for it (categories = ["outside"]) in a
run whose audit is allowed to say so."""
from __future__ import annotations

from solders.system_program import TransferParams, transfer

from engine.attacks.base import Attack, Built, Expect
from engine.frt import spl
from engine.frt.client import token_address


class TokensIntoVault(Attack):
    category = "outside"
    action = "transfer_into_vault"

    def __init__(self, token_type: str, amount: int = 1) -> None:
        self.token_type, self.amount = token_type, amount
        self.name = f"tokens_into_vault_{token_type}"

    def build(self, ctx, scene):
        if scene.view.wallet.token(self.token_type) < self.amount:
            return None
        mint = ctx.pool.mint(self.token_type)
        vault = ctx.pool.addresses.vault_for(mint)
        return Built([spl.transfer(token_address(ctx.wallet.pubkey, mint), vault, ctx.wallet.pubkey, self.amount)],
                     {"token_type": self.token_type, "amount": self.amount, "vault": str(vault)})

    def predict(self, ctx, scene, built):
        side = self.token_type.lower()
        return Expect(view_changes={f"token_{side}": -self.amount, f"vault_{side}": self.amount},
                      why="§13.7: an SPL transfer into a vault; tracked liquidity does not move")


class BurnOwnLp(Attack):
    category = "outside"
    action = "burn_lp"

    def __init__(self, token_type: str, amount: int = 1) -> None:
        self.token_type, self.amount = token_type, amount
        self.name = f"burn_own_lp_{token_type}"

    def build(self, ctx, scene):
        if scene.view.wallet.lp(self.token_type) < self.amount:
            return None
        lp_mint = ctx.pool.lp_mint(self.token_type)
        return Built([spl.burn(token_address(ctx.wallet.pubkey, lp_mint), lp_mint, ctx.wallet.pubkey, self.amount)],
                     {"token_type": self.token_type, "amount": self.amount, "lp_mint": str(lp_mint)})

    def predict(self, ctx, scene, built):
        side = self.token_type.lower()
        return Expect(view_changes={f"lp_{side}": -self.amount, f"lp_supply_{side}": -self.amount},
                      why="SPL burn by the holder: the pool keeps the tokens, LP claims shrink (surplus grows)")

    def booked(self, ctx, result) -> None:
        """The audit counts burned units (engine.burned)."""
        if result.ok:
            mint = str(ctx.pool.lp_mint(self.token_type))
            ctx.host.treasury.burned[mint] = ctx.host.treasury.burned.get(mint, 0) + self.amount


class SolIntoPool(Attack):
    category = "outside"
    action = "transfer_sol_into_pool"

    def __init__(self, lamports: int = 1_000) -> None:
        self.lamports = lamports
        self.name = "sol_into_pool_account"

    def build(self, ctx, scene):
        pool_state = ctx.pool.addresses.pool_state
        return Built([transfer(TransferParams(from_pubkey=ctx.wallet.pubkey, to_pubkey=pool_state,
                                              lamports=self.lamports))],
                     {"lamports": self.lamports, "pool_state": str(pool_state)})

    def predict(self, ctx, scene, built):
        return Expect(view_changes={"sol": -self.lamports, "pool_lamports": self.lamports},
                      why="a System transfer to the pool account: lamports beyond rent + pending fees")


def catalogue() -> list[Attack]:
    return [TokensIntoVault("A"), TokensIntoVault("B"), BurnOwnLp("A"), BurnOwnLp("B"), SolIntoPool()]
