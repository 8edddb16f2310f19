"""The core wallet's money: SOL for the engine's own transactions and the threads' wallets,
tokens minted and burned, and the records the ledger audit checks them against."""
from __future__ import annotations

import logging

from solders.pubkey import Pubkey
from spl.token.instructions import create_idempotent_associated_token_account

from engine.chain.base import Cluster, TxResult
from engine.economy import mint_instruction, refill, sol_instruction, token_transfers, top_up_sol
from engine.exceptions import InsufficientCoreFunds, InvalidRequest
from engine.frt.client import FrtClient
from engine.operations import require_ok
from engine.pools import PoolRuntime
from engine.recorder import Recorder
from engine.threads import ThreadRecord
from engine.wallet import Wallet

log = logging.getLogger(__name__)
TOKEN_ACCOUNT_RENT = 2_039_280
FUNDING_TYPES = ("sol", "token_a", "token_b", "lp_tokens")


class Treasury:
    def __init__(self, settings, cluster: Cluster, client: FrtClient, core: Wallet, recorder: Recorder) -> None:
        self.settings = settings
        self.cluster = cluster
        self.client = client
        self.core = core
        self.recorder = recorder
        self.minted: dict[str, int] = {}  # mint -> base units the core wallet minted
        self.burned: dict[str, int] = {}  # mint -> base units the engine burned (empty operations)
        self.external_recipients: dict[str, list[str]] = {}  # mint -> owners outside the engine
        self.retired_wallets: dict[str, list[str]] = {}  # pool -> wallets of deleted threads (they keep their tokens)

    # ---- the records (saved with the engine state) ---------------------------------------------

    def load(self, state: dict) -> None:
        self.external_recipients = state.get("external_recipients", {})
        self.burned = state.get("burned", {})
        self.minted = state.get("minted", {})
        self.retired_wallets = state.get("retired_wallets", {})

    def records(self) -> dict:
        return {"external_recipients": self.external_recipients, "burned": self.burned, "minted": self.minted,
                "retired_wallets": self.retired_wallets}

    def count_minted(self, mint: Pubkey, amount: int) -> None:
        self.minted[str(mint)] = self.minted.get(str(mint), 0) + amount

    def retire(self, thread: ThreadRecord) -> None:
        """A deleted thread's wallet keeps its tokens: the audit still counts them."""
        self.retired_wallets.setdefault(thread.pool_id, []).append(str(thread.wallet.pubkey))

    # ---- SOL ---------------------------------------------------------------------------------------

    async def ensure_core_lamports(self, needed: int) -> None:
        """Make sure the core wallet can pay `needed` lamports and stay above its minimum:
        airdrop where the cluster has a faucet, otherwise refuse with a clear error."""
        balance = await self.cluster.get_balance(self.core.pubkey)
        floor = needed + self.settings.wallet.min_core_lamports // 10
        if balance >= floor:
            return
        if self.cluster.supports_airdrop:
            result = await self.cluster.airdrop(self.core.pubkey, max(self.settings.wallet.airdrop_lamports,
                                                                      floor - balance))
            if result.ok:
                return
        raise InsufficientCoreFunds(
            f"the core wallet {self.core.pubkey} holds {balance / 1e9:.3f} SOL, needs {floor / 1e9:.3f} SOL; "
            f"fund it (fund_thread and thread creation draw on it)")

    async def top_up(self, threads: list[ThreadRecord]) -> list[TxResult]:
        lamports = self.settings.engine.sol_topup_lamports
        await self.ensure_core_lamports(len(threads) * lamports)
        batches = await top_up_sol(self.client, self.core, threads, lamports)
        for batch, result in batches:
            if result.ok:
                self.recorder.record_top_up(batch, lamports)
        return [result for _, result in batches]

    async def top_up_wallets(self, pools: dict[str, PoolRuntime], threads: list[ThreadRecord]) -> int:
        """One SOL-monitor round: top up every thread wallet below the threshold. Returns how many
        wallets were topped up."""
        threshold = self.settings.engine.sol_threshold_lamports
        topped = 0
        for pool_id, pool in pools.items():
            mine = [t for t in threads if t.pool_id == pool_id]
            if not mine:
                continue
            async with pool.lock:
                accounts = await self.cluster.get_multiple_accounts([t.wallet.pubkey for t in mine])
                low = [t for t, account in zip(mine, accounts) if (account.lamports if account else 0) < threshold]
                if low:
                    for result in await self.top_up(low):
                        if not result.ok:
                            log.warning("SOL top-up failed: %s", result.error)
                    topped += len(low)
        return topped

    # ---- tokens ------------------------------------------------------------------------------------

    async def fund_new_thread(self, pool: PoolRuntime, thread: ThreadRecord) -> TxResult:
        """SOL, the four token accounts and the initial amount for a new thread's wallet."""
        owner, lamports = thread.wallet.pubkey, self.settings.engine.thread_initial_lamports
        addresses = pool.addresses
        instructions = [sol_instruction(self.core, owner, lamports)]
        instructions += [create_idempotent_associated_token_account(self.core.pubkey, owner, mint)
                         for mint in (addresses.token_a_mint, addresses.token_b_mint,
                                      addresses.lp_token_a_mint, addresses.lp_token_b_mint)]
        if thread.initial_amount > 0:
            instructions.append(mint_instruction(self.core, pool.mint(thread.input_token), owner,
                                                 thread.initial_amount))
        await self.ensure_core_lamports(lamports + 4 * TOKEN_ACCOUNT_RENT)
        async with pool.lock:
            result = await self.client.sender.send(instructions, self.core)
        require_ok(result, f"funding the wallet of {thread.thread_id}")
        if thread.initial_amount > 0:
            self.count_minted(pool.mint(thread.input_token), thread.initial_amount)
        return result

    async def refill(self, thread: ThreadRecord, pool: PoolRuntime) -> TxResult:
        result = await refill(self.client, self.core, thread, pool)
        if result.ok:
            self.count_minted(pool.mint(thread.input_token), thread.initial_amount)
            self.recorder.record_refill(thread, thread.initial_amount)
        return result

    async def burn(self, owner: Wallet, mint: Pubkey, amount: int) -> TxResult:
        result = await self.client.burn_tokens(owner, mint, amount)
        if result.ok:
            self.burned[str(mint)] = self.burned.get(str(mint), 0) + amount
        return result

    async def fund(self, thread: ThreadRecord, pool: PoolRuntime, funding_type: str, amount: int) -> TxResult:
        """fund_thread's transfer (the caller holds the pool lock)."""
        if funding_type == "sol":
            result = await self.client.sender.send([sol_instruction(self.core, thread.wallet.pubkey, amount)],
                                                   self.core)
        elif funding_type in ("token_a", "token_b"):
            mint = pool.mint(funding_type[-1].upper())
            result = await self.client.sender.send([mint_instruction(self.core, mint, thread.wallet.pubkey,
                                                                     amount)], self.core)
        elif funding_type == "lp_tokens":
            result = await self._fund_lp(thread, pool, amount)
        else:
            raise InvalidRequest("funding_type must be one of sol, token_a, token_b, lp_tokens")
        require_ok(result, f"funding {thread.thread_id}")
        if funding_type in ("token_a", "token_b"):
            self.count_minted(pool.mint(funding_type[-1].upper()), amount)
        self.recorder.record_funding(thread, funding_type, amount)
        return result

    async def _fund_lp(self, thread: ThreadRecord, pool: PoolRuntime, amount: int) -> TxResult:
        """The core wallet deposits `amount` of the thread's side and transfers the LP it receives."""
        side = thread.token_type or thread.input_token
        setup = [create_idempotent_associated_token_account(self.core.pubkey, self.core.pubkey, mint)
                 for mint in (pool.mint(side), pool.lp_mint(side))]
        setup.append(mint_instruction(self.core, pool.mint(side), self.core.pubkey, amount))
        require_ok(await self.client.sender.send(setup, self.core), "preparing the core wallet")
        self.count_minted(pool.mint(side), amount)
        deposit = await self.client.deposit(self.core, pool.addresses, pool.mint(side), amount)
        require_ok(deposit, "the core wallet's deposit")
        return await self.client.sender.send(token_transfers(self.core, pool.lp_mint(side), [thread], amount),
                                             self.core)

    async def mint_and_send(self, pool: PoolRuntime, mint: Pubkey, recipient: Pubkey, amount: int,
                            external_address: str | None) -> tuple[TxResult, bool]:
        """Mint to any owner (`external_address` when the engine does not own it); returns
        (result, whether a new external recipient was recorded)."""
        instructions = [create_idempotent_associated_token_account(self.core.pubkey, recipient, mint),
                        mint_instruction(self.core, mint, recipient, amount)]
        async with pool.lock:
            result = await self.client.sender.send(instructions, self.core)
        require_ok(result, "minting")
        self.count_minted(mint, amount)
        if external_address is None:
            return result, False
        holders = self.external_recipients.setdefault(str(mint), [])
        if external_address in holders:
            return result, False
        holders.append(external_address)
        return result, True
