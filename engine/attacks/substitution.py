"""Category "substitution": an ordinary instruction with one account swapped for another —
another pool's vault or LP mint, someone else's token account, the wrong mint, a duplicated
account, a victim named as the user without its signature — built, then its AccountMeta list
edited. Predicted refusals follow the check order of CONTRACT.md §4.3-§4.6."""
from __future__ import annotations

from solders.pubkey import Pubkey

from engine.attacks.base import Attack, Built, Context, Expect, Scene, edit_accounts, meta
from engine.frt import instructions as ix
from engine.frt import model
from engine.frt.client import token_address
from engine.frt.constants import (
    CU_LIMITS,
    FLAG_LIQUIDITY_PAUSED,
    FLAG_SWAP_FOR_OWNERS_ONLY,
    FLAG_SWAPS_PAUSED,
)
from engine.invariants import predict
from engine.kinds.swap import exact_step
from engine.operations import swap_expectation

SYSTEM_PAUSED = {"Custom": model.ERR_SYSTEM_PAUSED}
# A mint that is in no pool: Pubkey of 32 bytes of 7 (never a real mint on these chains).
FOREIGN_MINT = Pubkey.from_bytes(bytes([7] * 32))


def _deposit_gate(scene: Scene) -> Expect | None:
    """Deposit: signer -> SP -> amount -> PL -> 1035 (§4.3)."""
    if scene.system_paused:
        return Expect(SYSTEM_PAUSED, why="SP")
    if scene.pool.flags & FLAG_LIQUIDITY_PAUSED:
        return Expect({"Custom": model.ERR_POOL_LIQUIDITY_PAUSED}, why="liquidity paused")
    return None


_withdraw_gate = _deposit_gate  # amount -> signer -> SP -> PL -> 1035 (§4.4)


def _swap_gate(scene: Scene, user: Pubkey) -> Expect | None:
    """Swap: amount -> signer -> SP -> PL -> 1027 -> 1028 (§4.5)."""
    if scene.system_paused:
        return Expect(SYSTEM_PAUSED, why="SP")
    if scene.pool.flags & FLAG_SWAPS_PAUSED:
        return Expect({"Custom": model.ERR_POOL_SWAPS_PAUSED}, why="swaps paused")
    if scene.pool.flags & FLAG_SWAP_FOR_OWNERS_ONLY and scene.pool.owner != user:
        return Expect({"Custom": model.ERR_SWAP_ACCESS_RESTRICTED}, why="owner-only pool")
    return None


def _token_check(scene: Scene, key: Pubkey, why: str) -> Expect:
    """`TA` on someone else's account: missing -> UninitializedAccount, else the owner differs
    -> InvalidAccountData."""
    if not scene.exists(key):
        return Expect("UninitializedAccount", why=f"TA: {why} does not exist")
    return Expect("InvalidAccountData", why=f"TA: {why} is not owned by the signer")


class Substitution(Attack):
    category = "substitution"

    def __init__(self, name: str, action: str) -> None:
        self.name, self.action = name, action

    # the ordinary instructions, as the engine's client builds them
    def deposit_ix(self, ctx: Context, token: str = "A", amount: int = 1, user: Pubkey | None = None,
                   mint: Pubkey | None = None):
        user = user or ctx.wallet.pubkey
        pool, token_mint = ctx.pool.addresses, ctx.pool.mint(token)
        return ix.deposit(ctx.program_id, user, pool, mint or token_mint, amount, token_address(user, token_mint),
                          token_address(user, ctx.pool.lp_mint(token)))

    def withdraw_ix(self, ctx: Context, token: str = "A", amount: int = 1, lp_side: str | None = None):
        user = ctx.wallet.pubkey
        return ix.withdraw(ctx.program_id, user, ctx.pool.addresses, ctx.pool.mint(token), amount,
                           token_address(user, ctx.pool.lp_mint(lp_side or token)),
                           token_address(user, ctx.pool.mint(token)))

    def swap_amount(self, ctx: Context) -> int:
        """The smallest A input with a non-zero output (one exact-exchange step in exact pools)."""
        record = ctx.pool.record
        if record.exact:
            return exact_step(ctx.pool, "A")
        return max(1, -(-record.ratio_a_numerator // record.ratio_b_denominator))

    def swap_ix(self, ctx: Context, token: str = "A", amount: int | None = None, data_mint: Pubkey | None = None):
        amount = amount or self.swap_amount(ctx)
        user, mint = ctx.wallet.pubkey, ctx.pool.mint(token)
        out = ctx.pool.mint("B" if token == "A" else "A")
        instruction = ix.swap(ctx.program_id, user, ctx.pool.addresses, mint, amount,
                              swap_expectation(ctx.pool, token, amount), token_address(user, mint),
                              token_address(user, out))
        if data_mint is not None:  # the data's input_token_mint, which the program ignores (§13.8)
            instruction = ix.swap(ctx.program_id, user, ctx.pool.addresses, data_mint, amount,
                                  swap_expectation(ctx.pool, token, amount), token_address(user, mint),
                                  token_address(user, out))
            accounts = list(instruction.accounts)
            accounts[9], accounts[10] = meta(mint), meta(out)
            instruction = edit_accounts(instruction, dict(enumerate(accounts)))
        return instruction

    def wrap(self, instruction, cu: str, **params) -> Built:
        return Built([ix.compute_unit_limit(CU_LIMITS[cu]), instruction], params)


class DepositIntoOtherPoolsVault(Substitution):
    def __init__(self):
        super().__init__("deposit[other_pool_vault]", "deposit")

    def build(self, ctx, scene):
        others = ctx.other_pools()
        if not others:
            return None
        other = others[0].addresses.token_a_vault
        return self.wrap(edit_accounts(self.deposit_ix(ctx), {5: meta(other, writable=True)}), "deposit",
                         token_type="A", amount=1, substituted={"5:token_a_vault": str(other)})

    def predict(self, ctx, scene, built):
        return _deposit_gate(scene) or Expect("InvalidAccountData", why="§4.3: vault of that side != its PDA")


class DepositWithOtherPoolsLpMint(Substitution):
    def __init__(self):
        super().__init__("deposit[other_pool_lp_mint]", "deposit")

    def build(self, ctx, scene):
        others = ctx.other_pools()
        if not others:
            return None
        other = others[0].addresses.lp_token_a_mint
        return self.wrap(edit_accounts(self.deposit_ix(ctx), {9: meta(other, writable=True)}), "deposit",
                         token_type="A", amount=1, substituted={"9:lp_token_a_mint": str(other)})

    def predict(self, ctx, scene, built):
        return _deposit_gate(scene) or Expect("InvalidAccountData", why="§4.3: LP mint of that side != its PDA")


class VictimsTokenAccount(Substitution):
    """A victim's token-A account in place of the attacker's own: a deposit paid from it, or a
    withdrawal paid into it."""

    SPOT = {"deposit": (7, "the source account"), "withdraw": (8, "the receiving account")}  # account index

    def __init__(self, operation: str):
        super().__init__(f"{operation}[victims_token_account]", operation)

    def victim_account(self, ctx) -> Pubkey:
        return token_address(ctx.victims()[0], ctx.pool.mint("A"))

    def extra_accounts(self, ctx):
        return [self.victim_account(ctx)]

    def build(self, ctx, scene):
        index, _ = self.SPOT[self.action]
        victim = self.victim_account(ctx)
        instruction = self.deposit_ix(ctx) if self.action == "deposit" else self.withdraw_ix(ctx)
        return self.wrap(edit_accounts(instruction, {index: meta(victim, writable=True)}), self.action,
                         token_type="A", amount=1, substituted={f"{index}:user_token_account": str(victim)})

    def predict(self, ctx, scene, built):
        gate = _deposit_gate if self.action == "deposit" else _withdraw_gate
        return gate(scene) or _token_check(scene, self.victim_account(ctx), self.SPOT[self.action][1])


class DepositWithForeignMint(Substitution):
    def __init__(self):
        super().__init__("deposit[mint_not_in_pool]", "deposit")

    def build(self, ctx, scene):
        return self.wrap(self.deposit_ix(ctx, mint=FOREIGN_MINT), "deposit", token_type="A", amount=1,
                         deposit_token_mint=str(FOREIGN_MINT))

    def predict(self, ctx, scene, built):
        return _deposit_gate(scene) or Expect("InvalidInstructionData", why="§4.3: deposit_token_mint not in {A,B}")


class DepositForVictimUnsigned(Substitution):
    """The victim named as the depositing user, without its signature (the attacker pays)."""

    def __init__(self):
        super().__init__("deposit[victim_as_user_unsigned]", "deposit")

    def build(self, ctx, scene):
        victim = ctx.victims()[0]
        instruction = edit_accounts(self.deposit_ix(ctx, user=victim), {0: meta(victim, writable=True)})
        return self.wrap(instruction, "deposit", token_type="A", amount=1, user=str(victim), user_signed=False)

    def predict(self, ctx, scene, built):
        return Expect("MissingRequiredSignature", why="§4.3: the user must sign (checked first)")


class WithdrawWithOtherSidesLp(Substitution):
    """Burn LP-B to take token A."""

    def __init__(self):
        super().__init__("withdraw[other_side_lp]", "withdraw")

    def extra_accounts(self, ctx):
        return [token_address(ctx.wallet.pubkey, ctx.pool.lp_mint("B"))]

    def build(self, ctx, scene):
        return self.wrap(self.withdraw_ix(ctx, lp_side="B"), "withdraw", token_type="A", amount=1,
                         lp_account_side="B")

    def predict(self, ctx, scene, built):
        gate = _withdraw_gate(scene)
        if gate:
            return gate
        if not scene.exists(token_address(ctx.wallet.pubkey, ctx.pool.lp_mint("B"))):
            return Expect("UninitializedAccount", why="TA: the LP-B account does not exist")
        return Expect("InvalidAccountData", why="§4.4: LP account mint != LP mint of the withdrawn side")


class SwapOutputToVictim(Substitution):
    def __init__(self):
        super().__init__("swap[output_to_victims_account]", "swap")

    def victim_account(self, ctx) -> Pubkey:
        return token_address(ctx.victims()[0], ctx.pool.mint("B"))

    def extra_accounts(self, ctx):
        return [self.victim_account(ctx)]

    def build(self, ctx, scene):
        victim = self.victim_account(ctx)
        return self.wrap(edit_accounts(self.swap_ix(ctx), {8: meta(victim, writable=True)}), "swap",
                         token_type="A", amount=self.swap_amount(ctx),
                         substituted={"8:user_output_account": str(victim)})

    def predict(self, ctx, scene, built):
        return _swap_gate(scene, ctx.wallet.pubkey) or _token_check(scene, self.victim_account(ctx),
                                                                    "the output account")


class SwapWrongMintAccount(Substitution):
    def __init__(self):
        super().__init__("swap[wrong_input_mint_account]", "swap")

    def build(self, ctx, scene):
        other = ctx.pool.mint("B")
        return self.wrap(edit_accounts(self.swap_ix(ctx), {9: meta(other)}), "swap", token_type="A",
                         amount=self.swap_amount(ctx), substituted={"9:input_mint": str(other)})

    def predict(self, ctx, scene, built):
        return _swap_gate(scene, ctx.wallet.pubkey) or Expect(
            "InvalidAccountData", why="§4.5: [9]/[10] must be the input/output mints (every earlier failure is "
                                      "InvalidAccountData too)")


class SwapDuplicateVault(Substitution):
    def __init__(self):
        super().__init__("swap[duplicated_vault]", "swap")

    def build(self, ctx, scene):
        vault = ctx.pool.addresses.token_a_vault
        return self.wrap(edit_accounts(self.swap_ix(ctx), {6: meta(vault, writable=True)}), "swap", token_type="A",
                         amount=self.swap_amount(ctx), substituted={"6:token_b_vault": str(vault)})

    def predict(self, ctx, scene, built):
        return _swap_gate(scene, ctx.wallet.pubkey) or Expect("InvalidAccountData",
                                                              why="§4.5: [5],[6] must equal the pool's vaults")


class SwapLyingInputMint(Substitution):
    """The data says B is the input, the accounts say A: the program ignores the data (§13.8)
    and swaps A -> B; the model predicts exactly that swap."""

    def __init__(self):
        super().__init__("swap[data_input_mint_ignored]", "swap")

    def build(self, ctx, scene):
        amount = self.swap_amount(ctx)
        return self.wrap(self.swap_ix(ctx, amount=amount, data_mint=ctx.pool.mint("B")), "swap", token_type="A",
                         amount=amount, data_input_token_mint=str(ctx.pool.mint("B")))

    def predict(self, ctx, scene, built):
        amount = built.params["amount"]
        prediction = predict("swap", "A", amount, scene.view, user_is_owner=scene.pool.owner == ctx.wallet.pubkey,
                             expected_amount_out=swap_expectation(ctx.pool, "A", amount))
        return Expect(prediction.error, ordinary=prediction, why="§4.5: direction = mint of [7]")


class AdminUnsigned(Substitution):
    """PausePool naming the real admin (the core wallet) without its signature."""

    scope = "pool"

    def __init__(self):
        super().__init__("pause_pool[admin_named_unsigned]", "pause_pool")

    def build(self, ctx, scene):
        admin = ctx.host.core.pubkey
        instruction = ix.pause_pool(ctx.program_id, admin, ctx.pool.addresses.pool_state, 3)
        instruction = edit_accounts(instruction, {0: meta(admin)})
        return self.wrap(instruction, "admin", flags=3, admin=str(admin), admin_signed=False)

    def predict(self, ctx, scene, built):
        if scene.system_paused:
            return Expect(SYSTEM_PAUSED, why="SP")
        return Expect("MissingRequiredSignature", why="§4.0 AD: the admin must sign")


def catalogue() -> list[Attack]:
    return [DepositIntoOtherPoolsVault(), DepositWithOtherPoolsLpMint(), VictimsTokenAccount("deposit"),
            DepositWithForeignMint(), DepositForVictimUnsigned(), VictimsTokenAccount("withdraw"),
            WithdrawWithOtherSidesLp(), SwapOutputToVictim(), SwapWrongMintAccount(), SwapDuplicateVault(),
            SwapLyingInputMint(), AdminUnsigned()]
