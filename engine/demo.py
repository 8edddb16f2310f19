"""A short, deterministic scenario: mints, a pool, deposits, swaps, withdrawals and two
deliberate failures. `make run` shows it; the integration tests run it on every backend."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Callable

from solders.keypair import Keypair
from solders.system_program import TransferParams, transfer

from engine.chain.base import TxResult
from engine.frt import model
from engine.frt.client import FrtClient
from engine.frt.state import PoolState
from engine.wallet import Wallet

USER_LAMPORTS = 5_000_000_000


def seeded_wallet(label: str, seed: int) -> Wallet:
    return Wallet.from_keypair(Keypair.from_seed(hashlib.sha256(f"{seed}:{label}".encode()).digest()))


@dataclass
class ScenarioOutcome:
    pool: str
    pool_state: PoolState
    steps: list[dict] = field(default_factory=list)
    balances: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def unexpected(self) -> list[dict]:
        return [step for step in self.steps if step["ok"] != step["expect_ok"]]


async def run_scenario(client: FrtClient, core: Wallet, *, seed: int = 7,
                       report: Callable[[str], None] = lambda line: None) -> ScenarioOutcome:
    users = {name: seeded_wallet(name, seed) for name in ("alice", "bob", "carol")}
    await client.sender.send(
        [transfer(TransferParams(from_pubkey=core.pubkey, to_pubkey=user.pubkey, lamports=USER_LAMPORTS))
         for user in users.values()], core)

    _, mint_x = await client.create_mint(core, 9, seeded_wallet("mint-x", seed))
    _, mint_y = await client.create_mint(core, 6, seeded_wallet("mint-y", seed))
    ratio_x, ratio_y = model.ratio_from_human(160, 9, 6, "a_to_b")  # 1 X = 160 Y
    created = await client.create_pool(core, mint_x, mint_y, ratio_x, ratio_y)
    pool = created.addresses
    report(f"pool {pool.pool_state}: 1 X (9 dec) = 160 Y (6 dec) -> {_outcome(created.result)}")
    if not created.result.ok:
        raise RuntimeError(f"pool creation failed: {created.result.error}")

    for name, user in users.items():
        await client.ensure_lp_accounts(core, user.pubkey, pool)
        await client.mint_to(core, mint_x, user.pubkey, 100 * 10**9)
        await client.mint_to(core, mint_y, user.pubkey, 20_000 * 10**6)
    report("alice, bob and carol hold 100 X and 20,000 Y each")

    outcome = ScenarioOutcome(str(pool.pool_state), PoolState())
    alice, bob, carol = users["alice"], users["bob"], users["carol"]

    async def step(label: str, result: TxResult, expect_ok: bool = True) -> None:
        outcome.steps.append({"step": label, "ok": result.ok, "expect_ok": expect_ok, "fee": result.fee,
                              "error": result.error.name if result.error else None})
        report(f"{label:<44} -> {_outcome(result)}")

    await step("alice deposits 10 X", await client.deposit(alice, pool, mint_x, 10 * 10**9))
    await step("bob deposits 1,000 Y", await client.deposit(bob, pool, mint_y, 1_000 * 10**6))
    out = client.expected_swap_output(pool, mint_x, 500_000_000, exact=False)
    await step(f"carol swaps 0.5 X for {out / 10**6:g} Y", await client.swap(carol, pool, mint_x, 500_000_000, out))
    out = client.expected_swap_output(pool, mint_y, 3, exact=False)
    await step(f"carol swaps 3 base units of Y for {out} of X", await client.swap(carol, pool, mint_y, 3, out))
    out = client.expected_swap_output(pool, mint_x, 50 * 10**9, exact=False)
    await step("carol swaps 50 X, more than the pool's Y",
               await client.swap(carol, pool, mint_x, 50 * 10**9, out), expect_ok=False)
    await step("alice withdraws 5 X", await client.withdraw(alice, pool, mint_x, 5 * 10**9))
    await step("bob withdraws more Y than the vault holds",
               await client.withdraw(bob, pool, mint_y, 1_000 * 10**6), expect_ok=False)
    await step("bob withdraws 900 Y", await client.withdraw(bob, pool, mint_y, 900 * 10**6))

    outcome.pool_state = await client.pool_state(pool.pool_state)
    for name, user in users.items():
        outcome.balances[name] = {
            "sol": await client.cluster.get_balance(user.pubkey),
            "x": await client.token_balance(user.pubkey, mint_x),
            "y": await client.token_balance(user.pubkey, mint_y),
            "lp_x": await client.token_balance(user.pubkey, pool.lp_mint_for(mint_x)),
            "lp_y": await client.token_balance(user.pubkey, pool.lp_mint_for(mint_y)),
        }
    state = outcome.pool_state
    report(f"pool liquidity: X {state.total_token_a_liquidity if pool.token_a_mint == mint_x else state.total_token_b_liquidity}, "
           f"Y {state.total_token_b_liquidity if pool.token_a_mint == mint_x else state.total_token_a_liquidity}; "
           f"SOL fees collected {state.total_sol_fees_collected:,} lamports")
    return outcome


def _outcome(result: TxResult) -> str:
    if result.ok:
        return f"ok (fee {result.fee:,} lamports, {result.compute_units:,} CU)"
    error = result.error
    return f"failed: {error.name} [{error.category}] (fee {result.fee:,})" if error else "failed"
