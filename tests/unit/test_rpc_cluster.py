"""RpcCluster against `frt-stress localnet` (and small misbehaving proxies in front of it)."""
from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Callable

import aiohttp
import pytest
from aiohttp import web
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.transaction import Transaction

from engine.chain.base import AirdropUnavailable, ChainError, Cluster
from engine.chain.rpc import (
    BLOCKHASH_EXPIRED,
    MAINNET_GENESIS_HASH,
    MainnetRefused,
    RpcCluster,
    is_mainnet_url,
)
from tests.conftest import mint_to_instruction, signed_tx, token_setup_instructions, transfer_tx

TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
FAST = dict(poll_interval_s=0.02, backoff_base_s=0.01, backoff_max_s=0.05, request_timeout_s=5.0)


def make_cluster(url: str, program_id: Pubkey, **kwargs) -> RpcCluster:
    return RpcCluster(url, program_id, **{**FAST, **kwargs})


@pytest.fixture
async def cluster(localnet_server, localnet_ledger):
    cluster = make_cluster(localnet_server.url, localnet_ledger.program_id)
    await cluster.connect()
    yield cluster
    await cluster.close()


async def funded(cluster: RpcCluster, lamports: int = 10 * 10**9) -> Keypair:
    keypair = Keypair()
    result = await cluster.airdrop(keypair.pubkey(), lamports)
    assert result.ok, result
    return keypair


class Proxy:
    """A loopback JSON-RPC endpoint in front of the localnet; `policy(method, nth)` returns an
    aiohttp response to answer with, or None to forward the request upstream."""

    def __init__(self, upstream: str | None, policy: Callable[[str, int], web.StreamResponse | None]):
        self.upstream = upstream
        self.policy = policy
        self.seen: Counter[str] = Counter()
        self.forwarded: Counter[str] = Counter()
        self.delay_after_forward: dict[str, float] = {}
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        method = json.loads(body).get("method", "?")
        self.seen[method] += 1
        answer = self.policy(method, self.seen[method])
        if answer is not None:
            return answer
        async with aiohttp.ClientSession() as session:
            async with session.post(self.upstream, data=body,
                                    headers={"Content-Type": "application/json"}) as resp:
                text = await resp.text()
        self.forwarded[method] += 1
        delay = self.delay_after_forward.pop(method, 0)
        if delay:
            await asyncio.sleep(delay)
        return web.Response(text=text, content_type="application/json")

    async def __aenter__(self) -> "Proxy":
        app = web.Application()
        app.router.add_post("/", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc) -> None:
        await self._runner.cleanup()


def rpc_error(code: int, message: str, data=None) -> web.Response:
    error = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return web.json_response({"jsonrpc": "2.0", "error": error, "id": 0})


# ------------------------------------------------------------------------------------------
# Against the localnet
# ------------------------------------------------------------------------------------------

async def test_is_a_cluster(cluster, localnet_ledger):
    assert isinstance(cluster, Cluster)
    assert cluster.mode == "rpc" and cluster.program_id == localnet_ledger.program_id
    assert cluster.supports_airdrop and cluster.genesis_hash


async def test_system_transfer(cluster, localnet_ledger):
    payer = await funded(cluster)
    recipient = Pubkey.new_unique()
    blockhash, last_valid = await cluster.get_latest_blockhash()
    assert last_valid == localnet_ledger.latest_blockhash()[1]

    result = await cluster.send_transaction(transfer_tx(payer, recipient, 2_000_000, blockhash))
    assert result.ok and result.error is None
    assert result.fee == 5000 and result.compute_units > 0 and result.slot > 0
    assert any("invoke [1]" in line for line in result.logs)
    assert await cluster.get_balance(recipient) == 2_000_000
    assert await cluster.get_balance(payer.pubkey()) == 10 * 10**9 - 2_000_000 - 5000

    # With an explicit last valid block height as well.
    result = await cluster.send_transaction(transfer_tx(payer, recipient, 1_000_000, blockhash), last_valid)
    assert result.ok and await cluster.get_balance(recipient) == 3_000_000


async def test_failing_transfer_is_classified(cluster):
    payer = await funded(cluster, 10**9)
    blockhash, _ = await cluster.get_latest_blockhash()
    tx = transfer_tx(payer, Pubkey.new_unique(), 10**12, blockhash)
    result = await cluster.send_transaction(tx)
    assert not result.ok
    assert result.signature == str(tx.signatures[0])
    assert result.fee == 5000 and result.logs
    error = result.error
    assert error.raw == {"InstructionError": [0, {"Custom": 1}]}
    assert error.program == "system" and error.code == 1 and error.instruction_index == 0
    assert error.is_expected  # a wallet out of SOL
    assert await cluster.get_balance(payer.pubkey()) == 10**9 - 5000


async def test_spl_token_mint_and_balances(cluster):
    payer, mint, account = await funded(cluster), Keypair(), Keypair()
    rent_mint = await cluster.get_minimum_balance_for_rent_exemption(82)
    rent_account = await cluster.get_minimum_balance_for_rent_exemption(165)
    blockhash, _ = await cluster.get_latest_blockhash()
    setup = token_setup_instructions(payer.pubkey(), mint.pubkey(), account.pubkey(), payer.pubkey(), 6,
                                     rent_mint, rent_account)
    result = await cluster.send_transaction(signed_tx(setup, payer, blockhash, (mint, account)))
    assert result.ok and result.fee == 3 * 5000
    assert await cluster.get_token_balance(account.pubkey()) == 0

    mint_tx = signed_tx([mint_to_instruction(mint.pubkey(), account.pubkey(), payer.pubkey(), 777)],
                        payer, blockhash)
    result = await cluster.send_transaction(mint_tx)
    assert result.ok and result.fee == 5000
    assert f"Program {TOKEN_PROGRAM} invoke [1]" in result.logs
    assert await cluster.get_token_balance(account.pubkey()) == 777
    assert await cluster.get_token_balance(Pubkey.new_unique()) is None  # missing
    assert await cluster.get_token_balance(mint.pubkey()) is None  # not a token account

    fetched = await cluster.get_account(account.pubkey())
    assert len(fetched.data) == 165 and fetched.lamports == rent_account
    assert await cluster.get_account(Pubkey.new_unique()) is None
    addresses = [mint.pubkey(), Pubkey.new_unique()] * 110 + [account.pubkey()]
    accounts = await cluster.get_multiple_accounts(addresses)  # 221 addresses: three requests
    assert len(accounts) == 221
    assert [None if a is None else len(a.data) for a in accounts[:2]] == [82, None]
    assert len(accounts[-1].data) == 165


async def test_dropped_transaction_expires(cluster, localnet_ledger):
    """A transaction that never lands (here: wrongly signed, so the cluster drops it) gives a
    transient BlockhashExpired once the block height has passed its last valid height."""
    payer = await funded(cluster, 10**9)
    blockhash, _ = await cluster.get_latest_blockhash()
    good = transfer_tx(payer, Pubkey.new_unique(), 1_000_000, blockhash)
    forged = Transaction.populate(good.message, [Keypair().sign_message(bytes(good.message))])
    already_passed = localnet_ledger.block_height - 1
    result = await cluster.send_transaction(forged, already_passed)
    assert not result.ok
    assert result.error.name == BLOCKHASH_EXPIRED and result.error.is_transient
    assert await cluster.get_balance(payer.pubkey()) == 10**9


async def test_confirm_timeout_is_chain_error(localnet_server, localnet_ledger):
    cluster = make_cluster(localnet_server.url, localnet_ledger.program_id, confirm_timeout_s=0.2)
    try:
        payer = await funded(cluster, 10**9)
        blockhash, last_valid = await cluster.get_latest_blockhash()
        good = transfer_tx(payer, Pubkey.new_unique(), 1_000_000, blockhash)
        forged = Transaction.populate(good.message, [Keypair().sign_message(bytes(good.message))])
        with pytest.raises(ChainError, match="outcome unknown"):
            await cluster.send_transaction(forged, last_valid)
    finally:
        await cluster.close()


async def test_many_concurrent_sends_share_one_poller(cluster):
    payer = await funded(cluster, 10 * 10**9)
    blockhash, _ = await cluster.get_latest_blockhash()
    txs = [transfer_tx(payer, Pubkey.new_unique(), 1_000_000 + i, blockhash) for i in range(20)]
    results = await asyncio.gather(*(cluster.send_transaction(tx) for tx in txs))
    assert all(r.ok and r.fee == 5000 for r in results)
    assert len({r.signature for r in results}) == 20


async def test_airdrop(cluster):
    address = Pubkey.new_unique()
    result = await cluster.airdrop(address, 3 * 10**9)
    assert result.ok and result.signature
    assert await cluster.get_balance(address) == 3 * 10**9


# ------------------------------------------------------------------------------------------
# Mainnet guard
# ------------------------------------------------------------------------------------------

def test_mainnet_url_refused():
    assert is_mainnet_url("https://api.mainnet-beta.solana.com")
    assert not is_mainnet_url("https://api.devnet.solana.com")
    with pytest.raises(MainnetRefused, match="allow_mainnet"):
        RpcCluster("https://api.mainnet-beta.solana.com", Pubkey.new_unique())
    allowed = RpcCluster("https://api.mainnet-beta.solana.com", Pubkey.new_unique(), allow_mainnet=True)
    assert not allowed.supports_airdrop


async def test_mainnet_genesis_refused():
    def policy(method: str, nth: int):
        assert method == "getGenesisHash"
        return web.json_response({"jsonrpc": "2.0", "result": MAINNET_GENESIS_HASH, "id": 0})

    async with Proxy(None, policy) as proxy:
        cluster = make_cluster(proxy.url, Pubkey.new_unique())
        with pytest.raises(MainnetRefused, match="genesis"):
            await cluster.connect()
        await cluster.close()
        cluster = make_cluster(proxy.url, Pubkey.new_unique(), allow_mainnet=True)
        await cluster.connect()
        assert not cluster.supports_airdrop
        with pytest.raises(AirdropUnavailable):
            await cluster.airdrop(Pubkey.new_unique(), 1)
        await cluster.close()


# ------------------------------------------------------------------------------------------
# Retries
# ------------------------------------------------------------------------------------------

async def test_429_then_success(localnet_server, localnet_ledger):
    def policy(method: str, nth: int):
        if method in ("getBalance", "sendTransaction") and nth <= 2:
            return web.Response(status=429, text="slow down")
        return None

    async with Proxy(localnet_server.url, policy) as proxy:
        cluster = make_cluster(proxy.url, localnet_ledger.program_id)
        try:
            payer = await funded(cluster, 10**9)
            assert await cluster.get_balance(payer.pubkey()) == 10**9
            assert proxy.seen["getBalance"] == 3
            blockhash, _ = await cluster.get_latest_blockhash()
            result = await cluster.send_transaction(transfer_tx(payer, Pubkey.new_unique(), 1_000_000, blockhash))
            assert result.ok
            assert proxy.seen["sendTransaction"] == 3 and proxy.forwarded["sendTransaction"] == 1
        finally:
            await cluster.close()


async def test_always_503_raises_chain_error(localnet_server, localnet_ledger):
    async with Proxy(localnet_server.url, lambda method, nth: web.Response(status=503)) as proxy:
        cluster = make_cluster(proxy.url, localnet_ledger.program_id, max_retries=3)
        with pytest.raises(ChainError, match="HTTP 503"):
            await cluster.connect()
        assert proxy.seen["getGenesisHash"] == 4  # 1 + max_retries
        await cluster.close()


async def test_node_unhealthy_is_retried(localnet_server, localnet_ledger):
    def policy(method: str, nth: int):
        if method == "getSlot" or (method == "getBalance" and nth == 1):
            return rpc_error(-32005, "Node is unhealthy", {"numSlotsBehind": 42})
        return None

    async with Proxy(localnet_server.url, policy) as proxy:
        cluster = make_cluster(proxy.url, localnet_ledger.program_id)
        try:
            assert await cluster.get_balance(Pubkey.new_unique()) == 0
            assert proxy.seen["getBalance"] == 2
        finally:
            await cluster.close()


async def test_non_transient_rpc_error_is_not_retried(localnet_server, localnet_ledger):
    def policy(method: str, nth: int):
        if method == "getBalance":
            return rpc_error(-32602, "Invalid param: nope")
        if method == "requestAirdrop":
            return rpc_error(-32603, "Internal error")
        return None

    async with Proxy(localnet_server.url, policy) as proxy:
        cluster = make_cluster(proxy.url, localnet_ledger.program_id)
        try:
            with pytest.raises(ChainError, match="nope"):
                await cluster.get_balance(Pubkey.new_unique())
            assert proxy.seen["getBalance"] == 1
            with pytest.raises(AirdropUnavailable):
                await cluster.airdrop(Pubkey.new_unique(), 10**9)
            assert proxy.seen["requestAirdrop"] == 1
        finally:
            await cluster.close()


async def test_ambiguous_send_failure_is_found_by_polling(localnet_server, localnet_ledger):
    """The node took the transaction but the answer timed out: the confirmation loop finds it
    (here before a re-broadcast, which would be harmless: same signature)."""
    async with Proxy(localnet_server.url, lambda method, nth: None) as proxy:
        cluster = make_cluster(proxy.url, localnet_ledger.program_id, request_timeout_s=0.2)
        try:
            payer = await funded(cluster, 10**9)
            blockhash, _ = await cluster.get_latest_blockhash()
            proxy.delay_after_forward["sendTransaction"] = 0.5
            result = await cluster.send_transaction(transfer_tx(payer, Pubkey.new_unique(), 1_000_000, blockhash))
            assert result.ok and result.fee == 5000
            assert proxy.seen["sendTransaction"] == 1
        finally:
            await cluster.close()


async def test_unreachable_node_raises_chain_error():
    # A port nothing listens on: bind one, close it, use it.
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    cluster = make_cluster(f"http://127.0.0.1:{port}", Pubkey.new_unique(), max_retries=2)
    with pytest.raises(ChainError, match="giving up after 3 attempts"):
        await cluster.get_balance(Pubkey.new_unique())
    await cluster.close()


def test_backoff_grows_with_jitter_and_cap():
    cluster = RpcCluster("http://127.0.0.1:1", Pubkey.new_unique(), backoff_base_s=0.1, backoff_max_s=1.0)
    delays = [cluster.backoff_delay(attempt) for attempt in range(8)]
    assert 0.05 <= delays[0] <= 0.1
    assert 0.2 <= delays[2] <= 0.4
    assert all(0.5 <= d <= 1.0 for d in delays[4:])
    assert cluster.backoff_delay(0, retry_after=0.7) >= 0.7


def test_from_settings():
    from engine.config import Settings

    settings = Settings.model_validate({"chain": {"rpc_url": "http://127.0.0.1:8899", "max_retries": 2,
                                                  "request_timeout_s": 3}})
    cluster = RpcCluster.from_settings(settings)
    assert cluster.url == "http://127.0.0.1:8899" and cluster.max_retries == 2
    assert str(cluster.program_id) == settings.program.program_id
    with pytest.raises(MainnetRefused):
        RpcCluster.from_settings(Settings.model_validate(
            {"chain": {"rpc_url": "https://api.mainnet-beta.solana.com"}}))


# ------------------------------------------------------------------------------------------
# Faults while sending: re-broadcast, Retry-After, bounded waits
# ------------------------------------------------------------------------------------------

def dropped(request: web.Request) -> web.Response:
    """The connection is closed without an answer (what a reset or a lost answer looks like)."""
    request.transport.abort()
    return web.Response(status=500)


class DroppingProxy(Proxy):
    """A Proxy whose `drop(method, nth)` says to close the connection, before forwarding
    (`"before"`) or after (`"after"`: the node got the request, the client gets no answer)."""

    def __init__(self, upstream: str, drop: Callable[[str, int], str | None]):
        super().__init__(upstream, lambda method, nth: None)
        self.drop = drop

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = json.loads(await request.read()).get("method", "?")
        when = self.drop(method, self.seen[method] + 1)
        if when == "before":
            self.seen[method] += 1
            return dropped(request)
        answer = await super()._handle(request)
        return dropped(request) if when == "after" else answer


async def test_send_reset_before_reaching_the_node_is_broadcast_again(localnet_server, localnet_ledger):
    """A reset says nothing about whether the node got the transaction: the same signed bytes are
    sent again (before: its signature was polled until the blockhash expired, ~60 s)."""
    async with DroppingProxy(localnet_server.url,
                             lambda method, nth: "before" if method == "sendTransaction" and nth <= 2 else None) as proxy:
        cluster = make_cluster(proxy.url, localnet_ledger.program_id, confirm_timeout_s=3.0)
        try:
            payer = await funded(cluster, 10**9)
            blockhash, _ = await cluster.get_latest_blockhash()
            tx = transfer_tx(payer, Pubkey.new_unique(), 1_000_000, blockhash)
            result = await cluster.send_transaction(tx)
            assert result.ok and result.signature == str(tx.signatures[0])
            assert proxy.seen["sendTransaction"] == 3 and proxy.forwarded["sendTransaction"] == 1
            assert cluster.rebroadcasts == 2
        finally:
            await cluster.close()


async def test_answer_lost_after_forwarding_runs_the_transaction_once(localnet_server, localnet_ledger):
    """The node ran it, the answer was lost, the same transaction is broadcast again: the node
    deduplicates the signature, so the transfer happens (and costs its fee) once."""
    async with DroppingProxy(localnet_server.url,
                             lambda method, nth: "after" if method == "sendTransaction" and nth <= 2 else None) as proxy:
        cluster = make_cluster(proxy.url, localnet_ledger.program_id)
        try:
            payer = await funded(cluster, 10**9)
            recipient = Pubkey.new_unique()
            blockhash, _ = await cluster.get_latest_blockhash()
            # No status until the third broadcast, so that the lost answers are what the cluster sees.
            proxy.policy = lambda method, nth: (web.Response(status=503) if method == "getSignatureStatuses"
                                                and proxy.seen["sendTransaction"] < 3 else None)
            result = await cluster.send_transaction(transfer_tx(payer, recipient, 1_000_000, blockhash))
            assert result.ok and result.fee == 5000
            assert proxy.forwarded["sendTransaction"] == 3 and cluster.rebroadcasts == 2
            assert await cluster.get_balance(recipient) == 1_000_000
            assert await cluster.get_balance(payer.pubkey()) == 10**9 - 1_000_000 - 5000
        finally:
            await cluster.close()


async def test_retry_after_is_honoured(localnet_server, localnet_ledger):
    sent_at: list[float] = []

    def policy(method: str, nth: int):
        if method == "sendTransaction":
            sent_at.append(asyncio.get_running_loop().time())
            if nth == 1:
                return web.Response(status=429, text="slow down", headers={"Retry-After": "0.4"})
        return None

    async with Proxy(localnet_server.url, policy) as proxy:
        cluster = make_cluster(proxy.url, localnet_ledger.program_id)
        try:
            payer = await funded(cluster, 10**9)
            blockhash, _ = await cluster.get_latest_blockhash()
            assert (await cluster.send_transaction(transfer_tx(payer, Pubkey.new_unique(), 1_000_000, blockhash))).ok
            assert len(sent_at) == 2 and sent_at[1] - sent_at[0] >= 0.4  # backoff_max_s is 0.05 here
        finally:
            await cluster.close()


async def test_a_program_failure_is_never_sent_again(localnet_server, localnet_ledger):
    async with DroppingProxy(localnet_server.url, lambda method, nth: None) as proxy:
        cluster = make_cluster(proxy.url, localnet_ledger.program_id)
        try:
            payer = await funded(cluster, 10**9)
            blockhash, _ = await cluster.get_latest_blockhash()
            result = await cluster.send_transaction(transfer_tx(payer, Pubkey.new_unique(), 10**12, blockhash))
            assert not result.ok and result.error.is_expected
            await asyncio.sleep(0.2)
            assert proxy.seen["sendTransaction"] == 1 and cluster.rebroadcasts == 0
        finally:
            await cluster.close()


async def test_bounded_send_is_unconfirmed_at_its_deadline_and_followed_until_it_lands(
        localnet_server, localnet_ledger):
    """Inside an operation (`bounded`) the wait ends at operation_deadline_s with a transient
    Unconfirmed result, never re-signed; `later` gives the final result once the node answers."""
    from engine.chain.rpc import UNCONFIRMED, UnconfirmedResult
    from engine.chain.sender import bounded

    answering = asyncio.Event()
    answering.set()

    def policy(method: str, nth: int):
        if method in ("getSignatureStatuses", "sendTransaction") and not answering.is_set():
            return web.Response(status=503)
        return None

    async with Proxy(localnet_server.url, policy) as proxy:
        cluster = make_cluster(proxy.url, localnet_ledger.program_id, operation_deadline_s=0.3)
        try:
            payer = await funded(cluster, 10**9)
            recipient = Pubkey.new_unique()
            blockhash, _ = await cluster.get_latest_blockhash()
            answering.clear()
            started = asyncio.get_running_loop().time()
            with bounded():
                result = await cluster.send_transaction(transfer_tx(payer, recipient, 1_000_000, blockhash))
            assert asyncio.get_running_loop().time() - started < 1.0
            assert isinstance(result, UnconfirmedResult) and not result.ok
            assert result.error.name == UNCONFIRMED and result.error.is_transient
            assert proxy.forwarded["sendTransaction"] == 0
            answering.set()  # the network is back: the same transaction is broadcast and lands
            final = await asyncio.wait_for(result.later, 5)
            assert final is not None and final.ok and final.signature == result.signature
            assert await cluster.get_balance(recipient) == 1_000_000
        finally:
            await cluster.close()


async def test_sender_observes_an_unconfirmed_transaction_once_it_settles(localnet_server, localnet_ledger):
    from engine.chain.sender import TransactionSender, bounded
    from engine.wallet import Wallet

    answering = asyncio.Event()

    def policy(method: str, nth: int):
        if method == "getSignatureStatuses" and not answering.is_set():
            return web.Response(status=503)
        return None

    async with Proxy(localnet_server.url, policy) as proxy:
        cluster = make_cluster(proxy.url, localnet_ledger.program_id, operation_deadline_s=0.3)
        try:
            answering.set()
            payer = Wallet.from_keypair(await funded(cluster, 10**9))
            answering.clear()
            sender = TransactionSender(cluster)
            observed, late = [], []
            sender.observer = lambda instructions, payer_key, signers, result: observed.append(result)
            sender.on_late_landing = late.append  # the engine's books hear of it too
            from solders.system_program import TransferParams, transfer

            ix = transfer(TransferParams(from_pubkey=payer.pubkey, to_pubkey=Pubkey.new_unique(), lamports=1_000_000))
            with bounded():
                result = await sender.send([ix], payer)
            assert result.error.name == "Unconfirmed" and sender.sent == 1 and observed == []  # not re-signed
            answering.set()
            await asyncio.wait_for(result.later, 5)
            await asyncio.sleep(0)
            assert [r.signature for r in observed] == [result.signature] and observed[0].ok
            assert [r.signature for r in late] == [result.signature]
            assert proxy.forwarded["sendTransaction"] == 1
        finally:
            await cluster.close()
