"""`frt-stress localnet`: Solana JSON-RPC over the embedded ledger, via raw HTTP and solana-py."""
from __future__ import annotations

import asyncio
import base64
import json
import os

import aiohttp
import pytest
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import Transaction, VersionedTransaction

from rpcapi.solana_localnet import INTERNAL_ERROR, b58decode, b58encode, run_localnet, ui_amount_string
from tests.conftest import mint_to_instruction, signed_tx, token_setup_instructions, transfer_tx

SYSTEM_PROGRAM = "11111111111111111111111111111111"
TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"


class Rpc:
    """Raw JSON-RPC over aiohttp."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url
        self._id = 0

    async def post(self, body: bytes | str, content_type: str = "application/json"):
        async with self.session.post(self.url, data=body, headers={"Content-Type": content_type}) as resp:
            assert resp.status == 200
            assert resp.content_type == "application/json"
            return await resp.json()

    async def raw(self, method: str, *params):
        self._id += 1
        reply = await self.post(json.dumps({"jsonrpc": "2.0", "id": self._id, "method": method,
                                            "params": list(params)}))
        assert reply["jsonrpc"] == "2.0" and reply["id"] == self._id
        return reply

    async def call(self, method: str, *params):
        reply = await self.raw(method, *params)
        assert "error" not in reply, reply
        return reply["result"]

    async def error(self, method: str, *params) -> dict:
        reply = await self.raw(method, *params)
        assert "result" not in reply, reply
        return reply["error"]


@pytest.fixture
async def rpc(localnet_server):
    async with aiohttp.ClientSession() as session:
        yield Rpc(session, localnet_server.url)


def b64(tx) -> str:
    return base64.b64encode(bytes(tx)).decode()


async def funded(rpc: Rpc, lamports: int = 10 * 10**9) -> Keypair:
    keypair = Keypair()
    signature = await rpc.call("requestAirdrop", str(keypair.pubkey()), lamports)
    assert len(b58decode(signature)) == 64
    return keypair


async def blockhash(rpc: Rpc) -> Hash:
    value = (await rpc.call("getLatestBlockhash", {"commitment": "confirmed"}))["value"]
    return Hash.from_string(value["blockhash"])


def assert_context(result: dict, ledger) -> None:
    assert result["context"]["slot"] == ledger.slot
    assert isinstance(result["context"]["apiVersion"], str)


# ------------------------------------------------------------------------------------------
# Raw HTTP: every method's shape
# ------------------------------------------------------------------------------------------

async def test_node_info_methods(rpc, localnet_ledger):
    assert await rpc.call("getHealth") == "ok"
    version = await rpc.call("getVersion")
    assert set(version) == {"solana-core", "feature-set"} and isinstance(version["feature-set"], int)
    genesis = await rpc.call("getGenesisHash")
    assert len(b58decode(genesis)) == 32 and genesis == await rpc.call("getGenesisHash")
    assert await rpc.call("getSlot") == localnet_ledger.slot
    assert await rpc.call("getSlot", {"commitment": "finalized"}) == localnet_ledger.slot
    assert await rpc.call("getBlockHeight") == localnet_ledger.block_height
    epoch = await rpc.call("getEpochInfo")
    assert epoch["absoluteSlot"] == localnet_ledger.slot
    assert set(epoch) == {"absoluteSlot", "blockHeight", "epoch", "slotIndex", "slotsInEpoch", "transactionCount"}
    assert await rpc.call("getMinimumBalanceForRentExemption", 165) == \
        localnet_ledger.minimum_balance_for_rent_exemption(165)

    latest = await rpc.call("getLatestBlockhash")
    assert_context(latest, localnet_ledger)
    assert latest["value"]["lastValidBlockHeight"] == localnet_ledger.latest_blockhash()[1]
    valid = await rpc.call("isBlockhashValid", latest["value"]["blockhash"], {"commitment": "processed"})
    assert valid["value"] is True
    invalid = await rpc.call("isBlockhashValid", str(Hash.new_unique()))
    assert invalid["value"] is False


async def test_accounts_and_balances(rpc, localnet_ledger):
    payer = await funded(rpc, 5 * 10**9)
    missing = Pubkey.new_unique()

    balance = await rpc.call("getBalance", str(payer.pubkey()))
    assert_context(balance, localnet_ledger)
    assert balance["value"] == 5 * 10**9
    assert (await rpc.call("getBalance", str(missing)))["value"] == 0

    info = await rpc.call("getAccountInfo", str(payer.pubkey()), {"encoding": "base64"})
    assert_context(info, localnet_ledger)
    assert info["value"] == {"data": ["", "base64"], "executable": False, "lamports": 5 * 10**9,
                             "owner": SYSTEM_PROGRAM, "rentEpoch": info["value"]["rentEpoch"], "space": 0}
    assert (await rpc.call("getAccountInfo", str(missing), {"encoding": "base64"}))["value"] is None
    assert (await rpc.call("getAccountInfo", str(payer.pubkey()), {"encoding": "base58"}))["value"]["data"] == \
        ["", "base58"]
    assert (await rpc.call("getAccountInfo", str(payer.pubkey())))["value"]["data"] == ""  # legacy binary

    # A token mint: 82 bytes of data owned by the Token program.
    mint, account = Keypair(), Keypair()
    rent_mint = await rpc.call("getMinimumBalanceForRentExemption", 82)
    rent_account = await rpc.call("getMinimumBalanceForRentExemption", 165)
    ixs = token_setup_instructions(payer.pubkey(), mint.pubkey(), account.pubkey(), payer.pubkey(), 6,
                                   rent_mint, rent_account)
    tx = signed_tx(ixs, payer, await blockhash(rpc), (mint, account))
    await rpc.call("sendTransaction", b64(tx), {"encoding": "base64"})
    mint_info = (await rpc.call("getAccountInfo", str(mint.pubkey()), {"encoding": "base64"}))["value"]
    data = base64.b64decode(mint_info["data"][0])
    assert mint_info["owner"] == TOKEN_PROGRAM and mint_info["space"] == 82 == len(data)
    assert data[44] == 6 and mint_info["lamports"] == rent_mint
    sliced = await rpc.call("getAccountInfo", str(mint.pubkey()),
                            {"encoding": "base64", "dataSlice": {"offset": 44, "length": 2}})
    assert base64.b64decode(sliced["value"]["data"][0]) == bytes([6, 1])

    error = await rpc.error("getAccountInfo", str(account.pubkey()), {"encoding": "base58"})
    assert error["code"] == -32602 and "Base64" in error["message"]  # 165 bytes is too long for base58
    error = await rpc.error("getAccountInfo", str(mint.pubkey()), {"encoding": "base64+zstd"})
    assert error["code"] == -32602 and "zstd" in error["message"]

    many = await rpc.call("getMultipleAccounts", [str(payer.pubkey()), str(missing), str(mint.pubkey())],
                          {"encoding": "base64"})
    assert_context(many, localnet_ledger)
    assert [None if v is None else v["owner"] for v in many["value"]] == [SYSTEM_PROGRAM, None, TOKEN_PROGRAM]
    error = await rpc.error("getMultipleAccounts", [str(missing)] * 101)
    assert error["code"] == -32602

    # Token balances need the mint's decimals.
    token_balance = await rpc.call("getTokenAccountBalance", str(account.pubkey()))
    assert token_balance["value"] == {"amount": "0", "decimals": 6, "uiAmount": 0.0, "uiAmountString": "0"}
    tx = signed_tx([mint_to_instruction(mint.pubkey(), account.pubkey(), payer.pubkey(), 1_500_000)],
                   payer, await blockhash(rpc))
    await rpc.call("sendTransaction", b64(tx), {"encoding": "base64"})
    token_balance = await rpc.call("getTokenAccountBalance", str(account.pubkey()))
    assert_context(token_balance, localnet_ledger)
    assert token_balance["value"] == {"amount": "1500000", "decimals": 6, "uiAmount": 1.5,
                                      "uiAmountString": "1.5"}
    error = await rpc.error("getTokenAccountBalance", str(mint.pubkey()))
    assert error == {"code": -32602, "message": "Invalid param: not a Token account"}
    error = await rpc.error("getTokenAccountBalance", str(payer.pubkey()))
    assert error == {"code": -32602, "message": "Invalid param: not a Token account"}
    error = await rpc.error("getTokenAccountBalance", str(missing))
    assert error["code"] == -32602


async def test_send_transaction_and_statuses(rpc, localnet_ledger):
    payer = await funded(rpc)
    recipient = Pubkey.new_unique()
    recent = await blockhash(rpc)

    tx = transfer_tx(payer, recipient, 1_000_000, recent)
    signature = await rpc.call("sendTransaction", b58encode(bytes(tx)))  # base58 is the default encoding
    assert signature == str(tx.signatures[0])
    tx2 = transfer_tx(payer, recipient, 2_000_000, recent)
    signature2 = await rpc.call("sendTransaction", b64(tx2),
                                {"encoding": "base64", "preflightCommitment": "confirmed", "maxRetries": 0})
    assert (await rpc.call("getBalance", str(recipient)))["value"] == 3_000_000
    assert (await rpc.call("getBalance", str(payer.pubkey())))["value"] == 10 * 10**9 - 3_000_000 - 2 * 5000

    unknown = str(Signature.new_unique())
    statuses = await rpc.call("getSignatureStatuses", [signature, unknown, signature2],
                              {"searchTransactionHistory": True})
    assert_context(statuses, localnet_ledger)
    first, none, second = statuses["value"]
    assert none is None
    for status in (first, second):
        assert status["err"] is None and status["status"] == {"Ok": None}
        assert status["confirmationStatus"] in ("confirmed", "finalized")
        assert status["slot"] <= localnet_ledger.slot
        assert status["confirmations"] is None or status["confirmations"] >= 0

    fetched = await rpc.call("getTransaction", signature, {"encoding": "json", "maxSupportedTransactionVersion": 0})
    assert fetched["version"] == "legacy"
    assert fetched["meta"]["err"] is None and fetched["meta"]["fee"] == 5000
    assert fetched["meta"]["computeUnitsConsumed"] > 0
    assert any("invoke [1]" in line for line in fetched["meta"]["logMessages"])
    assert fetched["transaction"]["signatures"] == [signature]
    assert fetched["transaction"]["message"]["accountKeys"][0] == str(payer.pubkey())
    assert fetched["meta"]["postBalances"][1] - fetched["meta"]["preBalances"][1] == 1_000_000
    raw = await rpc.call("getTransaction", signature, "base64")
    assert "version" not in raw
    assert VersionedTransaction.from_bytes(base64.b64decode(raw["transaction"][0])).signatures[0] == tx.signatures[0]
    assert await rpc.call("getTransaction", unknown) is None

    # Sending the same transaction again: preflight says already processed; skipPreflight
    # accepts it and nothing happens twice.
    error = await rpc.error("sendTransaction", b64(tx), {"encoding": "base64"})
    assert error["code"] == -32002 and error["data"]["err"] == "AlreadyProcessed"
    assert await rpc.call("sendTransaction", b64(tx), {"encoding": "base64", "skipPreflight": True}) == signature
    assert (await rpc.call("getBalance", str(recipient)))["value"] == 3_000_000

    fee = await rpc.call("getFeeForMessage", base64.b64encode(bytes(tx.message)).decode())
    assert_context(fee, localnet_ledger)
    assert fee["value"] == 5000
    stale = Message.new_with_blockhash([], payer.pubkey(), Hash.new_unique())
    assert (await rpc.call("getFeeForMessage", base64.b64encode(bytes(stale)).decode()))["value"] is None


async def test_preflight_failure_then_skip_preflight(rpc, localnet_ledger):
    payer = await funded(rpc, 10**9)
    tx = transfer_tx(payer, Pubkey.new_unique(), 10**12, await blockhash(rpc))  # more than it has

    error = await rpc.error("sendTransaction", b64(tx), {"encoding": "base64"})
    assert error["code"] == -32002
    assert error["message"] == ("Transaction simulation failed: Error processing Instruction 0: "
                                "custom program error: 0x1")
    data = error["data"]
    assert data["err"] == {"InstructionError": [0, {"Custom": 1}]}
    assert any("insufficient lamports" in line for line in data["logs"])
    assert data["accounts"] is None and data["returnData"] is None and data["unitsConsumed"] > 0
    # Not executed: no fee, no status.
    assert (await rpc.call("getBalance", str(payer.pubkey())))["value"] == 10**9
    statuses = await rpc.call("getSignatureStatuses", [str(tx.signatures[0])])
    assert statuses["value"] == [None]

    signature = await rpc.call("sendTransaction", b64(tx), {"encoding": "base64", "skipPreflight": True})
    assert signature == str(tx.signatures[0])
    status = (await rpc.call("getSignatureStatuses", [signature]))["value"][0]
    assert status["err"] == {"InstructionError": [0, {"Custom": 1}]}
    assert status["status"] == {"Err": {"InstructionError": [0, {"Custom": 1}]}}
    assert (await rpc.call("getBalance", str(payer.pubkey())))["value"] == 10**9 - 5000  # the fee stays
    fetched = await rpc.call("getTransaction", signature)
    assert fetched["meta"]["err"] == {"InstructionError": [0, {"Custom": 1}]}
    assert any("failed: custom program error: 0x1" in line for line in fetched["meta"]["logMessages"])

    # An expired / unknown blockhash fails preflight too.
    tx = transfer_tx(payer, Pubkey.new_unique(), 1, Hash.new_unique())
    error = await rpc.error("sendTransaction", b64(tx), {"encoding": "base64"})
    assert error["code"] == -32002 and error["data"]["err"] == "BlockhashNotFound"
    assert error["message"] == "Transaction simulation failed: Blockhash not found"


async def test_simulate_transaction(rpc, localnet_ledger):
    payer = await funded(rpc, 10**9)
    recipient = Pubkey.new_unique()
    tx = transfer_tx(payer, recipient, 1_000_000, await blockhash(rpc))

    result = await rpc.call("simulateTransaction", b64(tx), {"encoding": "base64", "sigVerify": True})
    assert_context(result, localnet_ledger)
    value = result["value"]
    assert value["err"] is None and value["accounts"] is None and value["returnData"] is None
    assert value["unitsConsumed"] > 0 and value["logs"]
    assert (await rpc.call("getBalance", str(recipient)))["value"] == 0  # nothing happened
    assert (await rpc.call("getSignatureStatuses", [str(tx.signatures[0])]))["value"] == [None]

    failing = transfer_tx(payer, recipient, 10**12, await blockhash(rpc))
    value = (await rpc.call("simulateTransaction", b64(failing), {"encoding": "base64"}))["value"]
    assert value["err"] == {"InstructionError": [0, {"Custom": 1}]}

    # A stale blockhash: BlockhashNotFound, unless it is replaced (then signatures are not checked).
    stale = transfer_tx(payer, recipient, 1_000_000, Hash.new_unique())
    value = (await rpc.call("simulateTransaction", b64(stale), {"encoding": "base64"}))["value"]
    assert value["err"] == "BlockhashNotFound"
    value = (await rpc.call("simulateTransaction", b64(stale),
                            {"encoding": "base64", "replaceRecentBlockhash": True}))["value"]
    assert value["err"] is None
    assert value["replacementBlockhash"]["blockhash"] == str(localnet_ledger.latest_blockhash()[0])

    error = await rpc.error("simulateTransaction", b64(stale),
                            {"encoding": "base64", "replaceRecentBlockhash": True, "sigVerify": True})
    assert error["code"] == -32602
    forged = Transaction.populate(tx.message, [Keypair().sign_message(bytes(tx.message))])
    error = await rpc.error("simulateTransaction", b64(forged), {"encoding": "base64", "sigVerify": True})
    assert error["code"] == -32003
    # Without sigVerify a wrongly signed transaction still simulates.
    value = (await rpc.call("simulateTransaction", b64(forged), {"encoding": "base64"}))["value"]
    assert value["err"] is None


# ------------------------------------------------------------------------------------------
# Raw HTTP: JSON-RPC errors; the server survives them all
# ------------------------------------------------------------------------------------------

async def test_protocol_errors(rpc):
    reply = await rpc.post(b"{not json")
    assert reply == {"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": None}
    reply = await rpc.post(b"\xff\xfe garbage", content_type="text/plain")
    assert reply["error"]["code"] == -32700
    for body in ("5", '"getSlot"', "null", "[]", '{"id": 1, "method": "getSlot"}',
                 '{"jsonrpc": "2.0", "id": 1}', '{"jsonrpc": "2.0", "id": 1, "method": 7}',
                 '{"jsonrpc": "2.0", "id": [1], "method": "getSlot"}'):
        reply = await rpc.post(body)
        assert reply["error"]["code"] == -32600, body
    reply = await rpc.raw("getNothing")
    assert reply["error"] == {"code": -32601, "message": "Method not found"}
    reply = await rpc.post('{"jsonrpc": "2.0", "id": "abc", "method": "getBalance", "params": {"a": 1}}')
    assert reply["error"]["code"] == -32602 and reply["id"] == "abc"
    assert (await rpc.post('{"jsonrpc": "2.0", "id": null, "method": "getHealth"}')) == \
        {"jsonrpc": "2.0", "result": "ok", "id": None}
    assert await rpc.call("getHealth") == "ok"


async def test_invalid_params(rpc):
    for method, params in [
        ("getBalance", ["not-base58-0OIl"]),
        ("getBalance", ["abc"]),
        ("getBalance", []),
        ("getBalance", [42]),
        ("getAccountInfo", [str(Pubkey.new_unique()), {"encoding": "hex"}]),
        ("getAccountInfo", [str(Pubkey.new_unique()), "base64"]),
        ("getSignatureStatuses", ["sig"]),
        ("getSignatureStatuses", [["not a signature"]]),
        ("getMinimumBalanceForRentExemption", [-1]),
        ("getMinimumBalanceForRentExemption", ["165"]),
        ("requestAirdrop", [str(Pubkey.new_unique()), -5]),
        ("getSlot", [{"commitment": "eventually"}]),
        ("sendTransaction", []),
        ("sendTransaction", ["AAAA", {"encoding": "base64"}]),
        ("sendTransaction", ["%%%", {"encoding": "base64"}]),
        ("sendTransaction", ["0OIl", {"encoding": "base58"}]),
        ("sendTransaction", ["AAAA", {"encoding": "hex"}]),
        ("sendTransaction", [base64.b64encode(bytes(3000)).decode(), {"encoding": "base64"}]),
        ("simulateTransaction", [base64.b64encode(b"\x01garbage").decode(), {"encoding": "base64"}]),
        ("getFeeForMessage", ["@@"]),
        ("getTransaction", ["xyz"]),
        ("isBlockhashValid", ["123"]),
    ]:
        error = await rpc.error(method, *params)
        assert error["code"] == -32602, (method, params, error)
        assert error["message"], (method, params)
        assert "Traceback" not in error["message"]
    assert await rpc.call("getHealth") == "ok"


async def test_bad_signature(rpc):
    payer = await funded(rpc, 10**9)
    tx = transfer_tx(payer, Pubkey.new_unique(), 1000, await blockhash(rpc))
    forged = Transaction.populate(tx.message, [Keypair().sign_message(bytes(tx.message))])
    error = await rpc.error("sendTransaction", b64(forged), {"encoding": "base64"})
    assert error == {"code": -32003, "message": "Transaction signature verification failure"}
    # Skipping preflight, the cluster drops it: a signature comes back, no status ever.
    signature = await rpc.call("sendTransaction", b64(forged), {"encoding": "base64", "skipPreflight": True})
    assert (await rpc.call("getSignatureStatuses", [signature]))["value"] == [None]
    assert (await rpc.call("getBalance", str(payer.pubkey())))["value"] == 10**9


async def test_batch_request(rpc, localnet_ledger):
    payer = await funded(rpc, 10**9)
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "getBalance", "params": [str(payer.pubkey())]},
        {"jsonrpc": "2.0", "id": 2, "method": "getSlot"},
        {"jsonrpc": "2.0", "id": 3, "method": "noSuchMethod"},
        {"jsonrpc": "2.0", "id": 4, "method": "getBalance", "params": ["!"]},
        17,
        {"jsonrpc": "2.0", "id": "five", "method": "getHealth", "params": []},
    ]
    replies = await rpc.post(json.dumps(batch))
    assert isinstance(replies, list) and len(replies) == 6
    assert replies[0]["id"] == 1 and replies[0]["result"]["value"] == 10**9
    assert replies[1] == {"jsonrpc": "2.0", "result": localnet_ledger.slot, "id": 2}
    assert replies[2]["error"]["code"] == -32601 and replies[2]["id"] == 3
    assert replies[3]["error"]["code"] == -32602 and replies[3]["id"] == 4
    assert replies[4]["error"]["code"] == -32600 and replies[4]["id"] is None
    assert replies[5] == {"jsonrpc": "2.0", "result": "ok", "id": "five"}


async def test_handler_crash_is_internal_error(rpc, localnet_server):
    def explode(server, params):
        raise RuntimeError("secret internals")

    localnet_server.methods["explode"] = explode
    localnet_server.methods["unserialisable"] = lambda server, params: {"value": object()}
    reply = await rpc.raw("explode")
    assert reply["error"] == {"code": INTERNAL_ERROR, "message": "Internal error"}
    reply = await rpc.raw("unserialisable")
    assert reply["error"] == {"code": INTERNAL_ERROR, "message": "Internal error"}
    assert await rpc.call("getHealth") == "ok"


async def test_health_endpoint_and_get_is_refused(localnet_server):
    async with aiohttp.ClientSession() as session:
        async with session.get(localnet_server.url + "/health") as resp:
            assert resp.status == 200 and await resp.text() == "ok"
        async with session.get(localnet_server.url + "/") as resp:
            assert resp.status == 405


def test_encoding_helpers():
    for data in (b"", b"\0", b"\0\0abc", bytes(range(256)), bytes(Pubkey.new_unique())):
        assert b58decode(b58encode(data)) == data
    key = Pubkey.new_unique()
    assert b58encode(bytes(key)) == str(key)
    assert ui_amount_string(0, 6) == "0"
    assert ui_amount_string(1, 9) == "0.000000001"
    assert ui_amount_string(1_500_000, 6) == "1.5"
    assert ui_amount_string(42, 0) == "42"
    assert ui_amount_string(10**12, 6) == "1000000"


# ------------------------------------------------------------------------------------------
# solana-py's AsyncClient against it
# ------------------------------------------------------------------------------------------

async def test_solana_py_client(localnet_server, localnet_ledger):
    from solana.rpc.async_api import AsyncClient
    from solana.rpc.commitment import Confirmed
    from solana.rpc.core import RPCException
    from solana.rpc.models import TxOpts

    payer, mint, account, owner = Keypair(), Keypair(), Keypair(), Keypair()
    async with AsyncClient(localnet_server.url, commitment=Confirmed) as client:
        assert await client.is_connected()
        airdrop = await client.request_airdrop(payer.pubkey(), 5 * 10**9)
        statuses = await client.get_signature_statuses([airdrop.value])
        assert statuses.value[0] is not None and statuses.value[0].err is None
        assert (await client.get_balance(payer.pubkey())).value == 5 * 10**9

        latest = (await client.get_latest_blockhash()).value
        assert latest.last_valid_block_height >= localnet_ledger.block_height
        recipient = Pubkey.new_unique()
        tx = transfer_tx(payer, recipient, 1_234_567, latest.blockhash)
        sent = await client.send_transaction(tx)
        assert sent.value == tx.signatures[0]
        status = (await client.get_signature_statuses([sent.value], search_transaction_history=True)).value[0]
        assert status.err is None and status.confirmation_status is not None
        assert (await client.get_balance(recipient)).value == 1_234_567
        fetched = (await client.get_transaction(sent.value, max_supported_transaction_version=0)).value
        assert fetched.transaction.meta.fee == 5000 and fetched.transaction.meta.log_messages

        info = (await client.get_account_info(payer.pubkey())).value
        assert info.lamports == 5 * 10**9 - 1_234_567 - 5000 and str(info.owner) == SYSTEM_PROGRAM
        assert (await client.get_account_info(Pubkey.new_unique())).value is None

        rent_mint = (await client.get_minimum_balance_for_rent_exemption(82)).value
        rent_account = (await client.get_minimum_balance_for_rent_exemption(165)).value
        ixs = token_setup_instructions(payer.pubkey(), mint.pubkey(), account.pubkey(), owner.pubkey(), 9,
                                       rent_mint, rent_account)
        ixs.append(mint_to_instruction(mint.pubkey(), account.pubkey(), payer.pubkey(), 2_500_000_000))
        tx = signed_tx(ixs, payer, latest.blockhash, (mint, account))
        await client.send_transaction(tx, opts=TxOpts(preflight_commitment=Confirmed))
        balance = (await client.get_token_account_balance(account.pubkey())).value
        assert balance.amount == "2500000000" and balance.decimals == 9
        assert balance.ui_amount_string == "2.5"
        accounts = (await client.get_multiple_accounts([mint.pubkey(), account.pubkey()])).value
        assert [len(a.data) for a in accounts] == [82, 165]

        # A preflight failure surfaces as solana-py's RPCException with the simulation inside.
        failing = transfer_tx(payer, recipient, 10**15, latest.blockhash)
        with pytest.raises(RPCException) as caught:
            await client.send_transaction(failing)
        simulation = caught.value.args[0].data
        assert simulation.err is not None
        assert simulation.logs
        sent = await client.send_transaction(failing, opts=TxOpts(skip_preflight=True))
        status = (await client.get_signature_statuses([sent.value])).value[0]
        assert status.err is not None

        assert (await client.get_genesis_hash()).value is not None
        assert (await client.get_epoch_info()).value.absolute_slot == localnet_ledger.slot
        assert (await client.get_fee_for_message(tx.message)).value == 5000 * 3


# ------------------------------------------------------------------------------------------
# `frt-stress localnet` itself
# ------------------------------------------------------------------------------------------

def test_cli_registers_localnet():
    from console.cli import build_parser

    args = build_parser().parse_args(["localnet", "--host", "0.0.0.0", "--port", "9000"])
    assert args.command == "localnet" and args.host == "0.0.0.0" and args.port == 9000
    args = build_parser().parse_args(["localnet"])
    assert args.host is None and args.port is None  # taken from the config file


async def test_run_localnet_serves_and_saves_snapshot(tmp_path, capsys, monkeypatch):
    from engine.config import load_config

    for name in list(os.environ):
        if name.startswith("FRT_STRESS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    settings = load_config(data_dir=str(tmp_path / "data")).settings
    stop = asyncio.Event()
    task = asyncio.create_task(run_localnet(settings, "127.0.0.1", 0, stop_event=stop))
    url = None
    for _ in range(200):
        await asyncio.sleep(0.02)
        out = capsys.readouterr().out
        if "listening on" in out:
            url = out.split("listening on ", 1)[1].split()[0]
            assert "embedded-emulated" in out and settings.program.program_id in out
            assert str(tmp_path / "data" / "ledger.snapshot") in out
            break
    assert url is not None
    async with aiohttp.ClientSession() as session:
        rpc = Rpc(session, url)
        keypair = Keypair()
        await rpc.call("requestAirdrop", str(keypair.pubkey()), 10**9)
    stop.set()
    assert await asyncio.wait_for(task, 10) == 0
    assert (tmp_path / "data" / "ledger.snapshot").exists()
    assert "snapshot saved" in capsys.readouterr().out
