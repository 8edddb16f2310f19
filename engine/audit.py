"""The end-of-run ledger audit: every token the engine minted is somewhere we know of.

Per pool (each pool has its own two token mints and two LP mints):

* token mints: minted == held (thread wallets + core wallet + external recipients) + in the
  pool's vault + burned, and the mint's on-chain supply == minted - burned;
* LP mints: on-chain supply == LP held by thread wallets + core wallet (+ external recipients);
* the pool: each vault holds exactly the liquidity the pool state tracks for its side.

Balances are read in one bulk `get_multiple_accounts`; run it while no thread is running.
"""
from __future__ import annotations

from solders.pubkey import Pubkey

from engine.frt import state
from engine.frt.client import token_address


def token_amount(account) -> int:
    """Base units held by an SPL token account; 0 when missing."""
    return (state.token_account_amount(account.data) or 0) if account is not None else 0


def mint_supply(account) -> int | None:
    """Supply of an SPL mint; None when the mint does not exist."""
    return state.mint_supply(account.data) if account is not None else None


def _holders(engine, pool_id: str, mint: Pubkey) -> list[Pubkey]:
    """Owners whose associated token account for `mint` may hold some: the pool's thread wallets,
    the wallets of its deleted threads, the core wallet and the external recipients the engine
    minted to."""
    owners = [t.wallet.pubkey for t in engine.threads.values() if t.pool_id == pool_id]
    owners += [Pubkey.from_string(owner) for owner in engine.retired_wallets.get(pool_id, [])]
    owners.append(engine.core.pubkey)
    owners += [Pubkey.from_string(owner) for owner in engine.external_recipients.get(str(mint), [])]
    return list(dict.fromkeys(owners))


def _sides(pool) -> list[tuple[str, Pubkey, Pubkey | None]]:
    """(kind, mint, vault) per audited mint of a pool."""
    a = pool.addresses
    return [("token_a", a.token_a_mint, a.token_a_vault), ("token_b", a.token_b_mint, a.token_b_vault),
            ("lp_a", a.lp_token_a_mint, None), ("lp_b", a.lp_token_b_mint, None)]


async def ledger_audit(engine) -> dict:
    plan = []  # (pool_id, kind, mint, vault, holder accounts)
    keys: list[Pubkey] = []
    for pool_id, pool in engine.pools.items():
        for kind, mint, vault in _sides(pool):
            accounts = [token_address(owner, mint) for owner in _holders(engine, pool_id, mint)]
            plan.append((pool_id, kind, mint, vault, accounts))
            keys += [mint, *([vault] if vault else []), *accounts]
    fetched = await engine.cluster.get_multiple_accounts(keys) if keys else []
    by_key = dict(zip(keys, fetched))

    mints = [_mint_entry(engine, pool_id, kind, mint, vault, accounts, by_key)
             for pool_id, kind, mint, vault, accounts in plan]
    pools = [await _pool_entry(engine, pool_id, pool, by_key) for pool_id, pool in engine.pools.items()]
    passed = all(entry["passed"] for entry in mints) and all(entry["passed"] for entry in pools)
    return {"passed": passed, "mints": mints, "pools": pools}


def _mint_entry(engine, pool_id: str, kind: str, mint: Pubkey, vault: Pubkey | None, accounts: list[Pubkey],
                by_key: dict) -> dict:
    supply = mint_supply(by_key.get(mint))
    held = sum(token_amount(by_key.get(account)) for account in accounts)
    burned = engine.burned.get(str(mint), 0)
    entry = {"pool_id": pool_id, "mint": str(mint), "kind": kind, "minted": None, "burned": burned, "held": held,
             "in_vault": None, "supply": supply, "passed": True, "detail": "ok"}
    if supply is None:
        return entry | {"passed": False, "detail": "the mint account does not exist on the chain"}
    if vault is None:  # an LP mint: the program mints and burns it; every unit must be in a known wallet
        if supply != held:
            entry.update(passed=False, detail=f"LP supply {supply} != held by known wallets {held} "
                                              f"(difference {supply - held})")
        return entry
    minted = engine.minted.get(str(mint), 0)
    in_vault = token_amount(by_key.get(vault))
    entry.update(minted=minted, in_vault=in_vault)
    problems = []
    if minted != held + in_vault + burned:
        problems.append(f"minted {minted} != held {held} + vault {in_vault} + burned {burned} "
                        f"(unaccounted {minted - held - in_vault - burned})")
    if supply != minted - burned:
        problems.append(f"supply {supply} != minted {minted} - burned {burned}")
    if problems:
        entry.update(passed=False, detail="; ".join(problems))
    return entry


async def _pool_entry(engine, pool_id: str, pool, by_key: dict) -> dict:
    addresses = pool.addresses
    vault_a = token_amount(by_key.get(addresses.token_a_vault))
    vault_b = token_amount(by_key.get(addresses.token_b_vault))
    entry = {"pool_id": pool_id, "vault_a": vault_a, "vault_b": vault_b, "liquidity_a": None, "liquidity_b": None,
             "passed": True, "detail": "ok"}
    state = await engine.client.pool_state(addresses.pool_state)
    if state is None:
        return entry | {"passed": False, "detail": "the pool account does not exist on the chain"}
    entry.update(liquidity_a=state.total_token_a_liquidity, liquidity_b=state.total_token_b_liquidity)
    problems = [f"vault {side} {vault} != tracked liquidity {liquidity}"
                for side, vault, liquidity in (("A", vault_a, state.total_token_a_liquidity),
                                               ("B", vault_b, state.total_token_b_liquidity))
                if vault != liquidity]
    if problems:
        entry.update(passed=False, detail="; ".join(problems))
    return entry
