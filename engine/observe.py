"""Reading the state one operation can change, in one round trip, as plain numbers."""
from __future__ import annotations

from dataclasses import dataclass

from solders.pubkey import Pubkey

from engine.chain.base import Cluster
from engine.frt.client import token_address
from engine.frt.pda import find_system_state
from engine.frt.state import PoolState, mint_supply, token_account_amount


@dataclass(frozen=True)
class PoolView:
    state: PoolState
    lamports: int
    vault_a: int
    vault_b: int
    lp_supply_a: int
    lp_supply_b: int
    system_paused: bool

    def numbers(self) -> dict[str, int]:
        s = self.state
        return {"liquidity_a": s.total_token_a_liquidity, "liquidity_b": s.total_token_b_liquidity,
                "vault_a": self.vault_a, "vault_b": self.vault_b, "lp_supply_a": self.lp_supply_a,
                "lp_supply_b": self.lp_supply_b, "pool_lamports": self.lamports,
                "collected_liquidity_fees": s.collected_liquidity_fees,
                "collected_swap_contract_fees": s.collected_swap_contract_fees,
                "total_sol_fees_collected": s.total_sol_fees_collected}


@dataclass(frozen=True)
class WalletView:
    """A wallet's five balances: the one in-memory shape. The JSON shapes answers and files
    use (pinned by tests and by the service design) are the converters below."""

    sol: int
    token_a: int
    token_b: int
    lp_a: int
    lp_b: int

    def token(self, token_type: str) -> int:
        return self.token_a if token_type == "A" else self.token_b

    def lp(self, token_type: str) -> int:
        return self.lp_a if token_type == "A" else self.lp_b

    def lp_of(self, token_type: str | None) -> int:
        """The LP a thread of `token_type` deals in; both kinds for a thread of no side (swaps)."""
        return self.lp(token_type) if token_type else self.lp_a + self.lp_b

    # ---- converters ------------------------------------------------------------------------------

    def numbers(self) -> dict[str, int]:
        """Snapshots, findings, session starting balances."""
        return {"sol": self.sol, "token_a": self.token_a, "token_b": self.token_b, "lp_a": self.lp_a, "lp_b": self.lp_b}

    def to_json(self) -> dict:
        """Error-state evidence."""
        return {"sol_balance": self.sol, "token_a_balance": self.token_a, "token_b_balance": self.token_b,
                "lp_token_a_balance": self.lp_a, "lp_token_b_balance": self.lp_b}

    def status_json(self, token_type: str | None) -> dict:
        """get_thread_status and fund_thread `balances`."""
        return {"sol": self.sol, "token_a": self.token_a, "token_b": self.token_b,
                "lp_tokens": self.lp_of(token_type), "lp_token_a": self.lp_a, "lp_token_b": self.lp_b}

    def after_empty_json(self, token_type: str | None) -> dict:
        """empty_thread `post_empty_balances`."""
        return {"sol_balance": self.sol, "token_a_balance": self.token_a, "token_b_balance": self.token_b,
                "lp_token_balance": self.lp_of(token_type)}


@dataclass(frozen=True)
class View:
    pool: PoolView | None
    wallet: WalletView

    def numbers(self) -> dict[str, int]:
        return {**(self.pool.numbers() if self.pool else {}), **self.wallet.numbers()}


def _token_amount(account) -> int:
    return (token_account_amount(account.data) or 0) if account is not None else 0


def _mint_supply(account) -> int:
    return (mint_supply(account.data) or 0) if account is not None else 0


def wallet_accounts(owner: Pubkey, addresses) -> list[Pubkey]:
    return [owner, token_address(owner, addresses.token_a_mint), token_address(owner, addresses.token_b_mint),
            token_address(owner, addresses.lp_token_a_mint), token_address(owner, addresses.lp_token_b_mint)]


async def observe(cluster: Cluster, addresses, owner: Pubkey, *, with_pool: bool = True) -> View:
    """Pool state, vaults, LP supplies, the system pause flag and one wallet's five balances."""
    pool_keys = [addresses.pool_state, addresses.token_a_vault, addresses.token_b_vault,
                 addresses.lp_token_a_mint, addresses.lp_token_b_mint,
                 find_system_state(cluster.program_id)[0]] if with_pool else []
    accounts = await cluster.get_multiple_accounts(pool_keys + wallet_accounts(owner, addresses))
    wallet = _wallet_view(accounts[len(pool_keys):])
    pool = None
    if with_pool:
        pool_account, vault_a, vault_b, lp_a, lp_b, system = accounts[:6]
        if pool_account is not None:
            pool = PoolView(state=PoolState.decode(bytes(pool_account.data)), lamports=pool_account.lamports,
                            vault_a=_token_amount(vault_a), vault_b=_token_amount(vault_b),
                            lp_supply_a=_mint_supply(lp_a), lp_supply_b=_mint_supply(lp_b),
                            system_paused=bool(system is not None and len(system.data) and system.data[0]))
    return View(pool, wallet)


def _wallet_view(accounts) -> WalletView:
    """The five accounts of wallet_accounts(), in that order."""
    sol, a, b, lp_a, lp_b = accounts
    return WalletView(sol.lamports if sol is not None else 0, _token_amount(a), _token_amount(b),
                      _token_amount(lp_a), _token_amount(lp_b))


async def wallet_views(cluster: Cluster, wallets: list[tuple[str, Pubkey, object]]) -> dict[str, WalletView]:
    """Many wallets' balances in one round trip: (name, owner, pool addresses) -> {name: view}."""
    keys = []
    for _, owner, addresses in wallets:
        keys += wallet_accounts(owner, addresses)
    accounts = await cluster.get_multiple_accounts(keys) if keys else []
    return {name: _wallet_view(accounts[index * 5:(index + 1) * 5]) for index, (name, _, _) in enumerate(wallets)}
