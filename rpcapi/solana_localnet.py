"""`frt-stress localnet`: the embedded ledger served as a Solana JSON-RPC 2.0 endpoint.

Real Solana clients (solana-py, @solana/web3.js, curl) talk to it as to a test validator:

    server = LocalnetServer(ledger)
    port = await server.start("127.0.0.1", 0)      # 0 = any free port
    ...
    await server.stop()

Requests and responses follow the shapes of the real Solana RPC API (`{"context": {...},
"value": ...}` where the real one uses them, the same error codes and messages). Every method
is one handler `handler(server, params) -> result` in `METHODS`; a handler raises `RpcError`
for a JSON-RPC error. Anything else a handler raises becomes -32603 "Internal error" (logged
here, never sent to the client) and the server keeps running.

Differences from a real validator, all deliberate: a transaction is confirmed the moment it is
accepted (there is no processed-only stage), the commitment parameter is validated but has no
effect, `simulateTransaction` does not return post-simulation accounts, and
`getTransaction` knows only the transactions sent through this server (not airdrops).
"""
from __future__ import annotations

import asyncio
import base64
import json
import logging
import struct
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

from aiohttp import web
from solders.account import Account
from solders.hash import Hash
from solders.message import Message, MessageV0, from_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import Transaction, VersionedTransaction

from engine.bootstrap import bootstrap, load_wallets
from engine.chain.ledger import EmbeddedLedger
from engine.chain.processed import Processed
from engine.frt.constants import COMPUTE_BUDGET_PROGRAM_ID, LAMPORTS_PER_SIGNATURE, TOKEN_PROGRAM_ID
from rpcapi.stop_signals import stop_on_signals

log = logging.getLogger(__name__)

SOLANA_CORE_VERSION = "2.2.0"
FEATURE_SET = 3294202862
SLOTS_PER_EPOCH = 432_000
MAX_LOCKOUT_HISTORY = 31  # a block this many slots deep counts as finalized
PACKET_DATA_SIZE = 1232
MAX_BASE58_TX = 1683
MAX_BASE64_TX = 1644
MAX_MULTIPLE_ACCOUNTS = 100
MAX_SIGNATURE_STATUSES = 256
MAX_BASE58_ACCOUNT_DATA = 128
TOKEN_2022_PROGRAM_ID = Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
TOKEN_ACCOUNT_LEN = 165
MINT_LEN = 82
_COMMITMENTS = {"processed", "confirmed", "finalized", "recent", "single", "singleGossip", "root", "max"}

# JSON-RPC error codes (the standard ones and Solana's own).
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SEND_TX_PREFLIGHT_FAILURE = -32002
TX_SIGNATURE_VERIFICATION_FAILURE = -32003
UNSUPPORTED_TX_VERSION = -32015
MIN_CONTEXT_SLOT_NOT_REACHED = -32016


class RpcError(Exception):
    """A JSON-RPC error response."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def invalid_params(message: str) -> RpcError:
    return RpcError(INVALID_PARAMS, message)


# ------------------------------------------------------------------------------------------
# Encodings
# ------------------------------------------------------------------------------------------

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {char: index for index, char in enumerate(_B58_ALPHABET)}


def b58encode(data: bytes) -> str:
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, rem = divmod(number, 58)
        digits.append(_B58_ALPHABET[rem])
    return "1" * zeros + "".join(reversed(digits))


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        try:
            number = number * 58 + _B58_INDEX[char]
        except KeyError:
            raise ValueError(f"invalid base58 character {char!r}") from None
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def ui_amount_string(amount: int, decimals: int) -> str:
    """`amount` base units as a decimal string without trailing zeros ("1.5", "0.000001")."""
    if decimals == 0:
        return str(amount)
    digits = str(amount).rjust(decimals + 1, "0")
    whole, fraction = digits[:-decimals], digits[-decimals:].rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole


# ------------------------------------------------------------------------------------------
# Transaction error display text (what the validator's `Display` prints)
# ------------------------------------------------------------------------------------------

_TX_ERROR_TEXT = {
    "AccountInUse": "Account in use",
    "AccountLoadedTwice": "Account loaded twice",
    "AccountNotFound": "Attempt to debit an account but found no record of a prior credit.",
    "ProgramAccountNotFound": "Attempt to load a program that does not exist",
    "InsufficientFundsForFee": "Insufficient funds for fee",
    "InvalidAccountForFee": "This account may not be used to pay transaction fees",
    "AlreadyProcessed": "This transaction has already been processed",
    "BlockhashNotFound": "Blockhash not found",
    "CallChainTooDeep": "Loader call chain is too deep",
    "MissingSignatureForFee": "Transaction requires a fee but has no signature present",
    "InvalidAccountIndex": "Transaction contains an invalid account reference",
    "SignatureFailure": "Transaction did not pass signature verification",
    "InvalidProgramForExecution": "This program may not be used for executing instructions",
    "SanitizeFailure": "Transaction failed to sanitize accounts offsets correctly",
    "ClusterMaintenance": "Transactions are currently disabled due to cluster maintenance",
    "UnsupportedVersion": "Transaction version is unsupported",
    "InvalidWritableAccount": "Transaction loads a writable account that cannot be written",
    "TooManyAccountLocks": "Transaction locked too many accounts",
}


def tx_error_text(err_json: Any) -> str:
    """"Error processing Instruction 0: custom program error: 0x40b", "Blockhash not found", ..."""
    from engine.frt import errors

    if isinstance(err_json, str):
        if err_json in _TX_ERROR_TEXT:
            return _TX_ERROR_TEXT[err_json]
        info = errors.TRANSACTION_ERRORS.get(err_json)
        return info.meaning[:1].upper() + info.meaning[1:] if info else err_json
    (name, value), = err_json.items()
    if name == "InstructionError":
        index, instruction_error = value
        return f"Error processing Instruction {index}: {errors.error_text(instruction_error)}"
    if name == "InsufficientFundsForRent":
        return (f"Transaction results in an account ({value['account_index']}) with insufficient "
                "funds for rent")
    if name == "DuplicateInstruction":
        return f"Transaction contains a duplicate instruction ({value}) that is not allowed"
    return f"{name}: {value}"


def err_json(err: Any) -> Any:
    """Canonical RPC JSON of a ledger error (None stays None)."""
    if err is None:
        return None
    from engine.frt.errors import to_rpc_json

    return to_rpc_json(err)


# ------------------------------------------------------------------------------------------
# Parameter parsing
# ------------------------------------------------------------------------------------------

def _param(params: list, index: int, name: str, *, required: bool = True) -> Any:
    if index < len(params) and params[index] is not None:
        return params[index]
    if required:
        raise invalid_params(f"Invalid params: missing parameter {index} ({name})")
    return None


def _config(params: list, index: int) -> dict:
    config = _param(params, index, "config", required=False)
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise invalid_params(f"Invalid params: parameter {index} (config) must be an object")
    commitment = config.get("commitment")
    if commitment is not None and commitment not in _COMMITMENTS:
        raise invalid_params(f"Invalid params: unknown commitment {commitment!r}")
    return config


def _str(params: list, index: int, name: str) -> str:
    value = _param(params, index, name)
    if not isinstance(value, str):
        raise invalid_params(f"Invalid params: {name} must be a string")
    return value


def _u64(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**64:
        raise invalid_params(f"Invalid params: {name} must be an unsigned 64-bit integer")
    return value


def _base58(value: Any, name: str, size: int, what: str) -> bytes:
    """A base58 string of exactly `size` bytes (`what`: "a public key", ...), or -32602."""
    longest = 44 if size == 32 else 88  # base58 characters of `size` bytes at the most
    if not isinstance(value, str):
        raise invalid_params(f"Invalid params: {name} must be a base58 string")
    if len(value) > longest:
        raise invalid_params(f"Invalid param: {name} {value[:longest]!r}... is too long for {what}")
    try:
        raw = b58decode(value)
    except ValueError:
        raise invalid_params(f"Invalid param: {name} is not valid base58: {value[:longest]!r}") from None
    if len(raw) != size:
        raise invalid_params(f"Invalid param: {name} {value!r} is {len(raw)} bytes, {what} is {size}")
    return raw


def _pubkey(value: Any, name: str = "pubkey") -> Pubkey:
    return Pubkey.from_bytes(_base58(value, name, 32, "a public key"))


def _signature(value: Any) -> Signature:
    return Signature.from_bytes(_base58(value, "signature", 64, "a signature"))


def _blockhash(value: Any) -> Hash:
    return Hash(_base58(value, "blockhash", 32, "a blockhash"))


def _decode_wire(encoded: Any, encoding: str, max_raw: int, what: str) -> bytes:
    if not isinstance(encoded, str):
        raise invalid_params(f"Invalid params: the {what} must be an encoded string")
    if encoding == "base58":
        if len(encoded) > MAX_BASE58_TX:
            raise invalid_params(f"base58 encoded {what} too large: {len(encoded)} bytes "
                                 f"(max: encoded/raw {MAX_BASE58_TX}/{max_raw})")
        try:
            raw = b58decode(encoded)
        except ValueError as exc:
            raise invalid_params(f"invalid base58 encoding: {exc}") from None
    elif encoding == "base64":
        if len(encoded) > MAX_BASE64_TX:
            raise invalid_params(f"base64 encoded {what} too large: {len(encoded)} bytes "
                                 f"(max: encoded/raw {MAX_BASE64_TX}/{max_raw})")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except ValueError as exc:
            raise invalid_params(f"invalid base64 encoding: {exc}") from None
    else:
        raise invalid_params(f"unsupported encoding: {encoding}. Supported encodings: base58, base64")
    if len(raw) > max_raw:
        raise invalid_params(f"{encoding} encoded {what} too large: {len(raw)} bytes (max: {max_raw} bytes)")
    return raw


def decode_transaction(encoded: Any, encoding: Any) -> Transaction | VersionedTransaction:
    """A wire transaction as the ledger takes it: legacy -> `Transaction`, v0 stays versioned."""
    if not isinstance(encoding, str):
        raise invalid_params("Invalid params: encoding must be a string")
    raw = _decode_wire(encoded, encoding, PACKET_DATA_SIZE, "solana_transaction::versioned::VersionedTransaction")
    try:
        tx = VersionedTransaction.from_bytes(raw)
    except (ValueError, TypeError) as exc:
        raise invalid_params(
            f"failed to deserialize solana_transaction::versioned::VersionedTransaction: {exc}") from None
    try:
        tx.sanitize()
    except Exception as exc:  # solders raises its own SanitizeError
        raise invalid_params(
            "invalid transaction: Transaction failed to sanitize accounts offsets correctly"
            f" ({exc})") from None
    message = tx.message
    if isinstance(message, Message):
        return Transaction.populate(message, list(tx.signatures))
    if not isinstance(message, MessageV0):
        raise invalid_params("invalid transaction: Transaction version is unsupported")
    return tx


def _signatures_valid(tx: Transaction | VersionedTransaction) -> bool:
    return all(tx.verify_with_results())


def _priority_fee(message) -> int | None:
    """Lamports of priority fee set by ComputeBudget instructions; None if they are malformed."""
    keys = message.account_keys
    price = 0
    others = 0
    limit = None
    for ix in message.instructions:
        if keys[ix.program_id_index] != COMPUTE_BUDGET_PROGRAM_ID:
            others += 1
            continue
        data = bytes(ix.data)
        if data[:1] == b"\x02" and len(data) == 5:
            limit = struct.unpack_from("<I", data, 1)[0]
        elif data[:1] == b"\x03" and len(data) == 9:
            price = struct.unpack_from("<Q", data, 1)[0]
        elif data[:1] not in (b"\x01", b"\x04") or len(data) != 5:
            return None
    if limit is None:
        limit = min(200_000 * others, 1_400_000)
    return -(-min(limit, 1_400_000) * price // 1_000_000)


# ------------------------------------------------------------------------------------------
# The server
# ------------------------------------------------------------------------------------------

@dataclass
class _StoredTransaction:
    wire: bytes
    version: str | int  # "legacy" or 0
    pre_balances: list[int]
    post_balances: list[int]
    block_time: int


class LocalnetServer:
    """Solana JSON-RPC over an EmbeddedLedger (POST /, plus GET /health)."""

    def __init__(self, ledger: EmbeddedLedger, *, transaction_capacity: int = 50_000,
                 tick_interval_s: float | None = 1.0) -> None:
        self.ledger = ledger
        self.methods: dict[str, Callable[[LocalnetServer, list], Any]] = dict(METHODS)
        self.genesis_hash = Hash.hash(b"frt-stress localnet " + bytes(ledger.program_id))
        self.transaction_count = 0
        self._transactions: OrderedDict[Signature, _StoredTransaction] = OrderedDict()
        self._transaction_capacity = transaction_capacity
        self._tick_interval = tick_interval_s
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task | None = None
        self.port: int | None = None
        self.host: str | None = None

    # ---- lifecycle --------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post("/", self._handle_post)
        app.router.add_get("/health", self._handle_health)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 8899) -> int:
        """Serve on host:port (0 = a free port); returns the bound port."""
        self._runner = web.AppRunner(self.make_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        try:
            await site.start()
        except BaseException:
            await self._runner.cleanup()
            self._runner = None
            raise
        self.host = host
        self.port = self._runner.addresses[0][1]
        if self._tick_interval:
            self._ticker = asyncio.create_task(self._tick_forever(), name="localnet-ticker")
        return self.port

    @property
    def url(self) -> str:
        host = self.host or "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            try:
                await self._ticker
            except asyncio.CancelledError:
                pass
            self._ticker = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _tick_forever(self) -> None:
        """Keep slots (and periodic snapshots) moving while nobody sends requests."""
        while True:
            await asyncio.sleep(self._tick_interval)
            try:
                self.ledger.tick()
            except Exception:
                log.exception("ledger tick failed")

    # ---- HTTP / JSON-RPC --------------------------------------------------------------------

    async def _handle_health(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _handle_post(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return _json_response(_error_response(None, RpcError(PARSE_ERROR, "Parse error")))
        if isinstance(payload, list):
            if not payload:
                return _json_response(_error_response(None, RpcError(INVALID_REQUEST, "Invalid request")))
            text = "[" + ",".join(_serialize(self.dispatch(item)) for item in payload) + "]"
            return web.Response(text=text, content_type="application/json")
        return web.Response(text=_serialize(self.dispatch(payload)), content_type="application/json")

    def dispatch(self, request: Any) -> dict[str, Any]:
        """One JSON-RPC request object -> its response object."""
        if not isinstance(request, dict):
            return _error_response(None, RpcError(INVALID_REQUEST, "Invalid request"))
        request_id = request.get("id")
        if isinstance(request_id, bool) or not isinstance(request_id, (str, int, type(None))):
            return _error_response(None, RpcError(INVALID_REQUEST, "Invalid request: id must be a string, a number or null"))
        method = request.get("method")
        if request.get("jsonrpc") != "2.0" or not isinstance(method, str):
            return _error_response(request_id, RpcError(INVALID_REQUEST, "Invalid request"))
        handler = self.methods.get(method)
        if handler is None:
            return _error_response(request_id, RpcError(METHOD_NOT_FOUND, "Method not found"))
        params = request.get("params", [])
        if params is None:
            params = []
        if not isinstance(params, list):
            return _error_response(request_id, invalid_params(
                "Invalid params: expected an array of positional parameters"))
        try:
            result = handler(self, params)
        except RpcError as exc:
            return _error_response(request_id, exc)
        except (KeyboardInterrupt, SystemExit, asyncio.CancelledError):
            raise
        except BaseException:  # including pyo3 panics from solders, which are BaseException
            log.exception("localnet: %s failed", method)
            return _error_response(request_id, RpcError(INTERNAL_ERROR, "Internal error"))
        return {"jsonrpc": "2.0", "result": result, "id": request_id}

    # ---- helpers for handlers ---------------------------------------------------------------

    def context(self) -> dict[str, Any]:
        return {"slot": self.ledger.slot, "apiVersion": SOLANA_CORE_VERSION}

    def with_context(self, value: Any) -> dict[str, Any]:
        return {"context": self.context(), "value": value}

    def check_min_context_slot(self, config: dict) -> None:
        minimum = config.get("minContextSlot")
        if minimum is None:
            return
        _u64(minimum, "minContextSlot")
        self.ledger.tick()
        if minimum > self.ledger.slot:
            raise RpcError(MIN_CONTEXT_SLOT_NOT_REACHED, "Minimum context slot has not been reached",
                           {"contextSlot": self.ledger.slot})

    def store_transaction(self, tx: Transaction | VersionedTransaction, pre: list[int]) -> None:
        message = tx.message
        version: str | int = "legacy" if isinstance(tx, Transaction) else 0
        wire = bytes(tx) if isinstance(tx, VersionedTransaction) else bytes(VersionedTransaction.from_legacy(tx))
        post = [self.ledger.get_balance(key) for key in message.account_keys]
        self._transactions[tx.signatures[0]] = _StoredTransaction(
            wire, version, pre, post, self.ledger.unix_timestamp)
        if len(self._transactions) > self._transaction_capacity:
            self._transactions.popitem(last=False)

    def stored_transaction(self, signature: Signature) -> _StoredTransaction | None:
        return self._transactions.get(signature)


def _error_response(request_id: Any, error: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": error.to_json(), "id": request_id}


def _serialize(response: dict[str, Any]) -> str:
    try:
        return json.dumps(response, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        log.exception("localnet: unserialisable response")
        return json.dumps(_error_response(response.get("id"), RpcError(INTERNAL_ERROR, "Internal error")))


def _json_response(payload: Any) -> web.Response:
    return web.Response(text=json.dumps(payload, separators=(",", ":")), content_type="application/json")


# ------------------------------------------------------------------------------------------
# Method handlers: handler(server, params) -> JSON result
# ------------------------------------------------------------------------------------------

def _simulation_value(processed: Processed) -> dict[str, Any]:
    return {
        "err": err_json(processed.err),
        "logs": list(processed.logs),
        "accounts": None,
        "unitsConsumed": processed.compute_units,
        "returnData": None,
    }


def send_transaction(server: LocalnetServer, params: list) -> str:
    encoded = _param(params, 0, "transaction")
    config = _config(params, 1)
    tx = decode_transaction(encoded, config.get("encoding", "base58"))
    if config.get("maxRetries") is not None:
        _u64(config["maxRetries"], "maxRetries")
    ledger = server.ledger
    if not config.get("skipPreflight", False):
        if not _signatures_valid(tx):
            raise RpcError(TX_SIGNATURE_VERIFICATION_FAILURE, "Transaction signature verification failure")
        server.check_min_context_slot(config)
        simulated = ledger.simulate(tx)
        if simulated.err is not None:
            err = err_json(simulated.err)
            raise RpcError(SEND_TX_PREFLIGHT_FAILURE, f"Transaction simulation failed: {tx_error_text(err)}",
                           _simulation_value(simulated))
    pre = [ledger.get_balance(key) for key in tx.message.account_keys]
    processed = ledger.process(tx)
    recorded = ledger.signature_status(processed.signature)
    if recorded is processed:
        server.transaction_count += 1
        server.store_transaction(tx, pre)
    return str(tx.signatures[0])


def simulate_transaction(server: LocalnetServer, params: list) -> dict[str, Any]:
    encoded = _param(params, 0, "transaction")
    config = _config(params, 1)
    sig_verify = bool(config.get("sigVerify", False))
    replace = bool(config.get("replaceRecentBlockhash", False))
    if sig_verify and replace:
        raise invalid_params("sigVerify may not be used with replaceRecentBlockhash")
    accounts = config.get("accounts")
    if accounts and accounts.get("addresses"):
        raise invalid_params("Invalid param: accounts are not supported by frt-stress localnet")
    tx = decode_transaction(encoded, config.get("encoding", "base58"))
    if sig_verify and not _signatures_valid(tx):
        raise RpcError(TX_SIGNATURE_VERIFICATION_FAILURE, "Transaction signature verification failure")
    server.check_min_context_slot(config)
    ledger = server.ledger
    replacement = None
    if replace:
        blockhash, last_valid = ledger.latest_blockhash()
        tx = _with_blockhash(tx, blockhash)
        replacement = {"blockhash": str(blockhash), "lastValidBlockHeight": last_valid}
    svm = ledger.svm
    if not sig_verify:
        svm.with_sigverify(False)
    try:
        processed = ledger.simulate(tx)
    finally:
        svm.with_sigverify(True)
    value = _simulation_value(processed)
    value["innerInstructions"] = None
    value["replacementBlockhash"] = replacement
    return server.with_context(value)


def _with_blockhash(tx: Transaction | VersionedTransaction, blockhash: Hash):
    message = tx.message
    if isinstance(message, Message):
        header = message.header
        new = Message.new_with_compiled_instructions(
            header.num_required_signatures, header.num_readonly_signed_accounts,
            header.num_readonly_unsigned_accounts, list(message.account_keys), blockhash,
            list(message.instructions))
        return Transaction.populate(new, list(tx.signatures))
    new = MessageV0(message.header, list(message.account_keys), blockhash, list(message.instructions),
                    list(message.address_table_lookups))
    return VersionedTransaction.populate(new, list(tx.signatures))


def get_latest_blockhash(server: LocalnetServer, params: list) -> dict[str, Any]:
    config = _config(params, 0)
    server.check_min_context_slot(config)
    blockhash, last_valid = server.ledger.latest_blockhash()
    return server.with_context({"blockhash": str(blockhash), "lastValidBlockHeight": last_valid})


def is_blockhash_valid(server: LocalnetServer, params: list) -> dict[str, Any]:
    blockhash = _blockhash(_param(params, 0, "blockhash"))
    server.check_min_context_slot(_config(params, 1))
    return server.with_context(server.ledger.is_blockhash_valid(blockhash))


def _status_json(server: LocalnetServer, processed: Processed | None) -> dict[str, Any] | None:
    if processed is None:
        return None
    depth = max(0, server.ledger.slot - processed.slot)
    finalized = depth > MAX_LOCKOUT_HISTORY
    err = err_json(processed.err)
    return {
        "slot": processed.slot,
        "confirmations": None if finalized else depth,
        "err": err,
        "status": {"Ok": None} if err is None else {"Err": err},
        "confirmationStatus": "finalized" if finalized else "confirmed",
    }


def get_signature_statuses(server: LocalnetServer, params: list) -> dict[str, Any]:
    signatures = _param(params, 0, "signatures")
    if not isinstance(signatures, list):
        raise invalid_params("Invalid params: signatures must be an array of base58 strings")
    if len(signatures) > MAX_SIGNATURE_STATUSES:
        raise invalid_params(f"Too many inputs provided; max {MAX_SIGNATURE_STATUSES}")
    config = _config(params, 1)
    history = config.get("searchTransactionHistory", False)
    if not isinstance(history, bool):
        raise invalid_params("Invalid params: searchTransactionHistory must be a boolean")
    parsed = [_signature(value) for value in signatures]
    server.ledger.tick()
    return server.with_context([_status_json(server, server.ledger.signature_status(sig)) for sig in parsed])


def _account_json(account: Account | None, encoding: str, data_slice: dict | None) -> dict[str, Any] | None:
    if account is None:
        return None
    data = bytes(account.data)
    space = len(data)
    if data_slice is not None:
        offset, length = data_slice["offset"], data_slice["length"]
        data = data[offset:offset + length]
    if encoding in ("base58", "binary"):
        if len(data) > MAX_BASE58_ACCOUNT_DATA:
            raise invalid_params("Encoded binary (base 58) data should be less than 128 bytes, "
                                 "please use Base64 encoding.")
        encoded: Any = b58encode(data) if encoding == "binary" else [b58encode(data), "base58"]
    else:
        encoded = [base64.b64encode(data).decode(), "base64"]
    return {
        "data": encoded,
        "executable": account.executable,
        "lamports": account.lamports,
        "owner": str(account.owner),
        "rentEpoch": account.rent_epoch,
        "space": space,
    }


def _account_encoding(config: dict) -> tuple[str, dict | None]:
    encoding = config.get("encoding", "binary")
    if encoding == "base64+zstd":
        raise invalid_params("Invalid param: base64+zstd encoding is not supported by frt-stress localnet; "
                             "use base64")
    if encoding == "jsonParsed":
        encoding = "base64"  # like a validator with no parser for the account: fall back to base64
    if encoding not in ("base64", "base58", "binary"):
        raise invalid_params(f"Invalid params: unknown variant `{encoding}`, expected one of "
                             "`binary`, `base58`, `base64`, `jsonParsed`, `base64+zstd`")
    data_slice = config.get("dataSlice")
    if data_slice is not None:
        if not isinstance(data_slice, dict):
            raise invalid_params("Invalid params: dataSlice must be an object {offset, length}")
        data_slice = {"offset": _u64(data_slice.get("offset"), "dataSlice.offset"),
                      "length": _u64(data_slice.get("length"), "dataSlice.length")}
    return encoding, data_slice


def get_account_info(server: LocalnetServer, params: list) -> dict[str, Any]:
    address = _pubkey(_param(params, 0, "pubkey"))
    config = _config(params, 1)
    encoding, data_slice = _account_encoding(config)
    server.check_min_context_slot(config)
    return server.with_context(_account_json(server.ledger.get_account(address), encoding, data_slice))


def get_multiple_accounts(server: LocalnetServer, params: list) -> dict[str, Any]:
    addresses = _param(params, 0, "pubkeys")
    if not isinstance(addresses, list):
        raise invalid_params("Invalid params: pubkeys must be an array of base58 strings")
    if len(addresses) > MAX_MULTIPLE_ACCOUNTS:
        raise invalid_params(f"Too many inputs provided; max {MAX_MULTIPLE_ACCOUNTS}")
    keys = [_pubkey(value) for value in addresses]
    config = _config(params, 1)
    encoding, data_slice = _account_encoding(config)
    server.check_min_context_slot(config)
    ledger = server.ledger
    return server.with_context([_account_json(ledger.get_account(key), encoding, data_slice) for key in keys])


def get_balance(server: LocalnetServer, params: list) -> dict[str, Any]:
    address = _pubkey(_param(params, 0, "pubkey"))
    server.check_min_context_slot(_config(params, 1))
    return server.with_context(server.ledger.get_balance(address))


def get_token_account_balance(server: LocalnetServer, params: list) -> dict[str, Any]:
    address = _pubkey(_param(params, 0, "pubkey"))
    server.check_min_context_slot(_config(params, 1))
    ledger = server.ledger
    account = ledger.get_account(address)
    if account is None:
        raise invalid_params("Invalid param: could not find account")
    data = bytes(account.data)
    is_token = (
        (account.owner == TOKEN_PROGRAM_ID and len(data) == TOKEN_ACCOUNT_LEN)
        or (account.owner == TOKEN_2022_PROGRAM_ID and len(data) >= TOKEN_ACCOUNT_LEN
            and (len(data) == TOKEN_ACCOUNT_LEN or data[TOKEN_ACCOUNT_LEN] == 2))
    )
    if not is_token or data[108] == 0:
        raise invalid_params("Invalid param: not a Token account")
    mint = ledger.get_account(Pubkey.from_bytes(data[0:32]))
    if mint is None or len(mint.data) < MINT_LEN or mint.owner != account.owner:
        raise invalid_params("Invalid param: could not find mint")
    decimals = bytes(mint.data)[44]
    amount = int.from_bytes(data[64:72], "little")
    return server.with_context({
        "amount": str(amount),
        "decimals": decimals,
        "uiAmount": amount / 10 ** decimals,
        "uiAmountString": ui_amount_string(amount, decimals),
    })


def get_minimum_balance_for_rent_exemption(server: LocalnetServer, params: list) -> int:
    data_len = _u64(_param(params, 0, "data length"), "data length")
    if data_len > 10 * 1024 * 1024:
        raise invalid_params("Invalid param: data length exceeds the 10 MiB account limit")
    _config(params, 1)
    return server.ledger.minimum_balance_for_rent_exemption(data_len)


def request_airdrop(server: LocalnetServer, params: list) -> str:
    address = _pubkey(_param(params, 0, "pubkey"))
    lamports = _u64(_param(params, 1, "lamports"), "lamports")
    _config(params, 2)
    processed = server.ledger.airdrop(address, lamports)
    if processed.err is not None:
        raise RpcError(INTERNAL_ERROR, f"airdrop failed: {tx_error_text(err_json(processed.err))}")
    server.transaction_count += 1
    return str(processed.signature)


def get_block_height(server: LocalnetServer, params: list) -> int:
    server.check_min_context_slot(_config(params, 0))
    server.ledger.tick()
    return server.ledger.block_height


def get_slot(server: LocalnetServer, params: list) -> int:
    server.check_min_context_slot(_config(params, 0))
    server.ledger.tick()
    return server.ledger.slot


def get_version(server: LocalnetServer, params: list) -> dict[str, Any]:
    return {"solana-core": SOLANA_CORE_VERSION, "feature-set": FEATURE_SET}


def get_health(server: LocalnetServer, params: list) -> str:
    return "ok"


def get_genesis_hash(server: LocalnetServer, params: list) -> str:
    return str(server.genesis_hash)


def get_epoch_info(server: LocalnetServer, params: list) -> dict[str, Any]:
    server.check_min_context_slot(_config(params, 0))
    ledger = server.ledger
    ledger.tick()
    slot = ledger.slot
    return {
        "absoluteSlot": slot,
        "blockHeight": ledger.block_height,
        "epoch": slot // SLOTS_PER_EPOCH,
        "slotIndex": slot % SLOTS_PER_EPOCH,
        "slotsInEpoch": SLOTS_PER_EPOCH,
        "transactionCount": server.transaction_count,
    }


def get_fee_for_message(server: LocalnetServer, params: list) -> dict[str, Any]:
    encoded = _param(params, 0, "message")
    config = _config(params, 1)
    raw = _decode_wire(encoded, "base64", PACKET_DATA_SIZE, "solana_message::VersionedMessage")
    try:
        message = from_bytes_versioned(raw)
    except (ValueError, TypeError) as exc:
        raise invalid_params(f"failed to deserialize solana_message::VersionedMessage: {exc}") from None
    server.check_min_context_slot(config)
    if not server.ledger.is_blockhash_valid(message.recent_blockhash):
        return server.with_context(None)
    priority = _priority_fee(message)
    if priority is None:
        return server.with_context(None)
    return server.with_context(message.header.num_required_signatures * LAMPORTS_PER_SIGNATURE + priority)


def _transaction_json(tx: VersionedTransaction) -> dict[str, Any]:
    message = tx.message
    header = message.header
    body: dict[str, Any] = {
        "header": {
            "numRequiredSignatures": header.num_required_signatures,
            "numReadonlySignedAccounts": header.num_readonly_signed_accounts,
            "numReadonlyUnsignedAccounts": header.num_readonly_unsigned_accounts,
        },
        "accountKeys": [str(key) for key in message.account_keys],
        "recentBlockhash": str(message.recent_blockhash),
        "instructions": [
            {"programIdIndex": ix.program_id_index, "accounts": list(bytes(ix.accounts)),
             "data": b58encode(bytes(ix.data)), "stackHeight": None}
            for ix in message.instructions
        ],
    }
    if isinstance(message, MessageV0):
        body["addressTableLookups"] = [
            {"accountKey": str(lookup.account_key),
             "writableIndexes": list(bytes(lookup.writable_indexes)),
             "readonlyIndexes": list(bytes(lookup.readonly_indexes))}
            for lookup in message.address_table_lookups
        ]
    return {"signatures": [str(sig) for sig in tx.signatures], "message": body}


def get_transaction(server: LocalnetServer, params: list) -> dict[str, Any] | None:
    signature = _signature(_param(params, 0, "signature"))
    config = _param(params, 1, "config", required=False)
    if isinstance(config, str):  # the deprecated form: the encoding alone
        config = {"encoding": config}
    config = _config([config], 0)
    encoding = config.get("encoding", "json")
    if encoding not in ("json", "base64", "base58"):
        raise invalid_params(f"Invalid param: {encoding} encoding is not supported by frt-stress localnet "
                             "(use json, base64 or base58)")
    max_version = config.get("maxSupportedTransactionVersion")
    if max_version is not None:
        _u64(max_version, "maxSupportedTransactionVersion")
    processed = server.ledger.signature_status(signature)
    stored = server.stored_transaction(signature)
    if processed is None or stored is None:
        return None
    if stored.version != "legacy" and max_version is None:
        raise RpcError(UNSUPPORTED_TX_VERSION, (
            f"Transaction version ({stored.version}) is not supported by the requesting client. "
            "Please try the request again with the following configuration parameter: "
            "\"maxSupportedTransactionVersion\": 0"))
    tx = VersionedTransaction.from_bytes(stored.wire)
    if encoding == "json":
        transaction: Any = _transaction_json(tx)
    elif encoding == "base64":
        transaction = [base64.b64encode(stored.wire).decode(), "base64"]
    else:
        transaction = [b58encode(stored.wire), "base58"]
    err = err_json(processed.err)
    result: dict[str, Any] = {
        "slot": processed.slot,
        "blockTime": stored.block_time,
        "meta": {
            "err": err,
            "status": {"Ok": None} if err is None else {"Err": err},
            "fee": processed.fee,
            "preBalances": stored.pre_balances,
            "postBalances": stored.post_balances,
            "innerInstructions": [],
            "logMessages": list(processed.logs),
            "preTokenBalances": [],
            "postTokenBalances": [],
            "rewards": [],
            "loadedAddresses": {"writable": [], "readonly": []},
            "computeUnitsConsumed": processed.compute_units,
        },
        "transaction": transaction,
    }
    if max_version is not None:
        result["version"] = stored.version
    return result


METHODS: dict[str, Callable[[LocalnetServer, list], Any]] = {
    "sendTransaction": send_transaction,
    "simulateTransaction": simulate_transaction,
    "getLatestBlockhash": get_latest_blockhash,
    "isBlockhashValid": is_blockhash_valid,
    "getSignatureStatuses": get_signature_statuses,
    "getAccountInfo": get_account_info,
    "getMultipleAccounts": get_multiple_accounts,
    "getBalance": get_balance,
    "getTokenAccountBalance": get_token_account_balance,
    "getMinimumBalanceForRentExemption": get_minimum_balance_for_rent_exemption,
    "requestAirdrop": request_airdrop,
    "getBlockHeight": get_block_height,
    "getSlot": get_slot,
    "getVersion": get_version,
    "getHealth": get_health,
    "getGenesisHash": get_genesis_hash,
    "getEpochInfo": get_epoch_info,
    "getFeeForMessage": get_fee_for_message,
    "getTransaction": get_transaction,
}


# ------------------------------------------------------------------------------------------
# `frt-stress localnet`
# ------------------------------------------------------------------------------------------

async def _run_bootstrap(cluster, settings, wallets) -> None:
    """Fund the core wallet and initialise the program on the new chain."""
    core, created, authority = wallets
    try:
        report = await bootstrap(cluster, settings, core, authority, core_created=created)
    except Exception as exc:  # the chain is still useful without it
        print(f"warning: bootstrap failed: {exc}")
        return
    for line in report.lines():
        print(f"  {line}")


async def run_localnet(settings, host: str, port: int, *, stop_event: asyncio.Event | None = None) -> int:
    """Serve the embedded chain until SIGINT/SIGTERM (or `stop_event`), then save its snapshot."""
    from engine.chain.embedded import EmbeddedCluster

    if settings.embedded.persist:
        settings.ensure_data_dir()
    wallets = load_wallets(settings)
    cluster = EmbeddedCluster.from_settings(settings, upgrade_authority=wallets[2].pubkey)
    ledger = cluster.ledger
    server = LocalnetServer(ledger)
    try:
        await server.start(host, port)
    except OSError as exc:
        print(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}")
        ledger.close()
        return 1
    try:
        with stop_on_signals(stop_event or asyncio.Event()) as stop:
            print(f"frt-stress localnet listening on {server.url}")
            print(f"  mode:       {ledger.mode}")
            print(f"  program id: {ledger.program_id}")
            if ledger.snapshot_path:
                print(f"  snapshot:   {ledger.snapshot_path} ({ledger.restored_accounts} accounts restored)")
            else:
                print("  snapshot:   none (embedded.persist = false)")
            await _run_bootstrap(cluster, settings, wallets)
            print("press Ctrl-C to stop", flush=True)
            await stop.wait()
    finally:
        await server.stop()
        ledger.close()  # saves the snapshot
        if ledger.snapshot_path:
            print(f"snapshot saved to {ledger.snapshot_path}")
    return 0


__all__ = ["LocalnetServer", "METHODS", "RpcError", "run_localnet", "b58encode", "b58decode",
           "tx_error_text", "ui_amount_string"]
