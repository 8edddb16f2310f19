"""Money on request: fund a thread's wallet, mint a pool's tokens to any address, ask the
cluster's faucet for SOL. The treasury moves the money; these say what happened."""
from __future__ import annotations

from solders.pubkey import Pubkey

from engine import status as status_view
from engine.exceptions import InvalidParams
from engine.frt.constants import LAMPORTS_PER_SIGNATURE
from engine.observe import observe
from engine.operations import require_ok


async def fund_thread(engine, thread_id: str, funding_type: str, amount: int) -> dict:
    thread = engine.registry.thread(thread_id)
    pool = engine.pools[thread.pool_id]
    async with pool.lock:
        if funding_type == "sol":
            await _check_core_can_send(engine, amount)
        result = await engine.treasury.fund(thread, pool, funding_type, amount)
        view = await observe(engine.cluster, pool.addresses, thread.wallet.pubkey, with_pool=False)
    thread.wallet_view = view.wallet  # its row shows the new balances, running or not
    return {"thread_id": thread_id, "funding_type": funding_type, "amount": amount,
            "transaction_signature": result.signature, "network_fee_paid": result.fee,
            "balances": status_view.balances(thread, view.wallet)}


async def _check_core_can_send(engine, lamports: int) -> None:
    """Refuse (nothing sent) a SOL amount the core wallet cannot pay and still keep its fee and
    rent: the chain's SystemResultWithNegativeLamports says none of that."""
    balance = await engine.cluster.get_balance(engine.core.pubkey)
    keeps = LAMPORTS_PER_SIGNATURE + await engine.cluster.get_minimum_balance_for_rent_exemption(0)
    spare = max(0, balance - keeps)
    if lamports <= spare:
        return
    message = (f"the core wallet has {_sol(balance)} SOL; ask for less: at most {spare:,} lamports "
               f"(it keeps {keeps:,} for the fee and its rent)")
    raise InvalidParams(f"Invalid params for fund_thread: amount: {message}",
                        {"errors": [{"type": "value_error", "loc": ["amount"], "msg": message}]})


def _sol(lamports: int) -> str:
    """977_300_000_000 -> '977.3' (at most 4 decimals)."""
    return f"{lamports / 10**9:,.4f}".rstrip("0").rstrip(".")


async def mint_and_send_tokens(engine, pool_id: str, token_type: str, recipient_address: str, amount: int) -> dict:
    """A recipient that is no thread's wallet is recorded (the ledger audit counts its tokens)."""
    pool = engine.registry.pool(pool_id)
    recipient = Pubkey.from_string(recipient_address)
    mint = pool.mint(token_type)
    external = not any(t.wallet.pubkey == recipient for t in engine.threads.values())
    result, recorded = await engine.treasury.mint_and_send(pool, mint, recipient, amount,
                                                           recipient_address if external else None)
    if recorded:
        engine.save_engine_state()
    return {"transaction_signature": result.signature, "pool_id": pool_id, "token_mint": str(mint),
            "token_type": token_type, "recipient_address": recipient_address, "amount_minted": amount,
            "network_fee_paid": result.fee}


async def airdrop_sol(engine, lamports: int, address: str | None) -> dict:
    target = Pubkey.from_string(address) if address else engine.core.pubkey
    result = await engine.cluster.airdrop(target, lamports)
    require_ok(result, "airdrop")
    return {"address": str(target), "lamports": lamports, "transaction_signature": result.signature}
