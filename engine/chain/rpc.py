"""RpcCluster: the Cluster protocol over a Solana JSON-RPC endpoint (solana-py AsyncClient).

One commitment level everywhere: `confirmed`.

Sending: a signed transaction is sent with skip_preflight (so a program failure lands on chain
with a signature, a fee and logs, exactly as on the embedded backend), then confirmed by polling
`getSignatureStatuses` — one batched poll loop for all transactions in flight — until it is
confirmed or its blockhash's last valid block height has passed (a transient
`BlockhashExpired` result: the signature is bound to the blockhash, so the engine re-signs).

Faults: until a node acknowledges it, the same signed transaction is broadcast again with
backoff after any transient failure — connection reset, timeout, HTTP 429 / 5xx (Retry-After
honoured), an answer lost after the node took it. Re-broadcasting is safe: the bytes and so the
signature are the same, and a node runs a signature once. A transaction that failed in a
program landed (it has a status): it is never sent again. An engine operation waits at most
`operation_deadline_s` (`bounded_send`): past it its result is a transient `Unconfirmed`, the
transaction is not re-signed, and the cluster keeps following it (`UnconfirmedResult.later`).

Reads: connection errors, timeouts, HTTP 429 / 5xx and "node unhealthy" are retried with
exponential backoff and jitter, up to `max_retries`; then `ChainError`.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Sequence, TypeVar
from urllib.parse import urlparse

import httpx2
from solana.exceptions import SolanaRpcException
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solana.rpc.core import RPCException
from solana.rpc.models import TxOpts
from solders.account import Account
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.rpc.responses import (
    GetAccountInfoResp,
    GetBalanceResp,
    GetBlockHeightResp,
    GetGenesisHashResp,
    GetLatestBlockhashResp,
    GetMinimumBalanceForRentExemptionResp,
    GetMultipleAccountsResp,
    GetSignatureStatusesResp,
    GetTokenAccountBalanceResp,
    GetTransactionResp,
    RequestAirdropResp,
    SendTransactionResp,
)
from solders.signature import Signature
from solders.transaction_status import TransactionConfirmationStatus

from engine.chain.base import AirdropUnavailable, AnyTransaction, ChainError, TxResult
from engine.chain.results import make_tx_result
from engine.chain.sender import bounded_send

log = logging.getLogger(__name__)

MAINNET_GENESIS_HASH = "5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d"
MAX_MULTIPLE_ACCOUNTS = 100
MAX_SIGNATURE_STATUSES = 256
BLOCKHASH_EXPIRED = "BlockhashExpired"
UNCONFIRMED = "Unconfirmed"
RETRY_AFTER_CAP_S = 10.0  # a Retry-After is honoured up to this
MIN_POLL_GAP_S = 0.01  # statuses are polled at most this often: sends acknowledged meanwhile share a poll
HEIGHT_REFRESH_S = 1.0  # the confirmation loop reads the block height at most this often

# JSON-RPC error codes worth retrying: node unhealthy / behind, block (status) not available
# yet, minimum context slot not reached.
TRANSIENT_RPC_CODES = frozenset({-32005, -32004, -32014, -32016})

_RPC_ERROR_CODES = {
    "ParseErrorMessage": -32700,
    "InvalidRequestMessage": -32600,
    "MethodNotFoundMessage": -32601,
    "InvalidParamsMessage": -32602,
    "InternalErrorMessage": -32603,
    "BlockCleanedUpMessage": -32001,
    "SendTransactionPreflightFailureMessage": -32002,
    "BlockNotAvailableMessage": -32004,
    "NodeUnhealthyMessage": -32005,
    "TransactionPrecompileVerificationFailureMessage": -32006,
    "SlotSkippedMessage": -32007,
    "LongTermStorageSlotSkippedMessage": -32009,
    "KeyExcludedFromSecondaryIndexMessage": -32010,
    "ScanErrorMessage": -32012,
    "BlockStatusNotAvailableYetMessage": -32014,
    "UnsupportedTransactionVersionMessage": -32015,
    "MinContextSlotNotReachedMessage": -32016,
}
_FIELDLESS_CUSTOM_CODES = {
    "TransactionSignatureVerificationFailure": -32003,
    "NoSnapshot": -32008,
    "TransactionHistoryNotAvailable": -32011,
    "TransactionSignatureLenMismatch": -32013,
}

T = TypeVar("T")


class MainnetRefused(ChainError):
    """The URL points at mainnet-beta and `allow_mainnet` is off."""


class RpcRequestError(ChainError):
    """The node answered with a JSON-RPC error (or an answer of the wrong shape)."""

    def __init__(self, method: str, code: int | None, message: str, payload: Any = None) -> None:
        super().__init__(f"{method}: RPC error {code}: {message}" if code is not None else f"{method}: {message}")
        self.method = method
        self.code = code
        self.rpc_message = message
        self.payload = payload


@dataclass(frozen=True)
class _Failure:
    """How one failed request should be handled."""

    transient: bool
    reached_node: bool  # False only when the request certainly was not processed
    description: str
    retry_after: float | None = None


def is_mainnet_url(url: str) -> bool:
    host = (urlparse(url).hostname or "").lower()
    return "mainnet" in host


def _rpc_error_details(payload: Any) -> tuple[int | None, str]:
    if isinstance(payload, int) and not isinstance(payload, bool):
        return payload, "error"
    name = type(payload).__name__
    if name in _RPC_ERROR_CODES:
        return _RPC_ERROR_CODES[name], getattr(payload, "message", str(payload))
    member = str(payload).rsplit(".", 1)[-1]
    if member in _FIELDLESS_CUSTOM_CODES:
        return _FIELDLESS_CUSTOM_CODES[member], member
    return getattr(payload, "code", None), getattr(payload, "message", None) or str(payload)


def _retry_after(response: httpx2.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def classify_failure(exc: BaseException) -> _Failure:
    """Transient or not, and whether the node may have received the request."""
    if isinstance(exc, RPCException):
        code, message = _rpc_error_details(exc.args[0] if exc.args else None)
        return _Failure(code in TRANSIENT_RPC_CODES, code not in TRANSIENT_RPC_CODES,
                        f"RPC error {code}: {message}")
    cause = exc.__cause__ if isinstance(exc, SolanaRpcException) else exc
    if isinstance(cause, httpx2.HTTPStatusError):
        status = cause.response.status_code
        transient = status == 429 or status >= 500
        return _Failure(transient, not transient, f"HTTP {status}",
                        _retry_after(cause.response) if status == 429 else None)
    if isinstance(cause, (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)):
        return _Failure(True, False, f"cannot connect: {type(cause).__name__}: {cause}")
    if isinstance(cause, (httpx2.TransportError, asyncio.TimeoutError, ConnectionError)):
        return _Failure(True, True, f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__)
    return _Failure(False, True, f"{type(exc).__name__}: {exc}")


@dataclass
class _Pending:
    """A signature in flight: its future resolves to its confirmed status, or None once its
    blockhash expired unseen."""

    signature: Signature
    last_valid_block_height: int
    future: asyncio.Future = field(repr=False)
    broadcaster: asyncio.Task | None = field(default=None, repr=False)


class RpcCluster:
    """A Solana cluster reached over JSON-RPC."""

    mode = "rpc"

    def __init__(
        self,
        url: str,
        program_id: Pubkey,
        *,
        allow_mainnet: bool = False,
        request_timeout_s: float = 30.0,
        max_retries: int = 5,
        confirm_timeout_s: float = 90.0,
        operation_deadline_s: float = 5.0,
        backoff_base_s: float = 0.05,
        backoff_max_s: float = 2.0,
        poll_interval_s: float = 0.4,
        rng: random.Random | None = None,
    ) -> None:
        if is_mainnet_url(url) and not allow_mainnet:
            raise MainnetRefused(
                f"{url} is a mainnet-beta endpoint; refusing to stress-test mainnet "
                "(set chain.allow_mainnet = true if you really mean it)")
        self.url = url
        self.program_id = program_id
        self.allow_mainnet = allow_mainnet
        self.supports_airdrop = not is_mainnet_url(url)
        self.request_timeout_s = request_timeout_s
        self.max_retries = max_retries
        self.confirm_timeout_s = confirm_timeout_s
        self.operation_deadline_s = operation_deadline_s
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.poll_interval_s = poll_interval_s
        self._rng = rng or random.Random()
        self._client: AsyncClient | None = None
        self._connect_lock = asyncio.Lock()
        self._connected = False
        self.genesis_hash: str | None = None
        self._blockhash_heights: dict[Hash, int] = {}
        self._pending: dict[Signature, _Pending] = {}
        self._poller: asyncio.Task | None = None
        self._poll_now: asyncio.Event | None = None
        self._height: tuple[int, float] | None = None  # (block height, loop time read)
        self._later_tasks: set[asyncio.Task] = set()
        # Counters for benchmarks and tests.
        self.broadcasts = 0  # sendTransaction requests made
        self.rebroadcasts = 0  # of which after a failed attempt
        self.status_polls = 0  # getSignatureStatuses requests made

    @classmethod
    def from_settings(cls, settings, **kwargs) -> "RpcCluster":
        chain = settings.chain
        return cls(
            chain.rpc_url,
            Pubkey.from_string(settings.program.program_id),
            allow_mainnet=chain.allow_mainnet,
            request_timeout_s=chain.request_timeout_s,
            max_retries=chain.max_retries,
            confirm_timeout_s=chain.confirm_timeout_s,
            operation_deadline_s=chain.operation_deadline_s,
            backoff_base_s=chain.backoff_base_s,
            backoff_max_s=chain.backoff_max_s,
            **kwargs,
        )

    @property
    def description(self) -> str:
        return f"rpc {self.url}"

    def describe(self) -> str:
        return f"Solana JSON-RPC at {self.url}"

    restored_books = None  # the cluster keeps its own ledger; the engine's books are its files

    def checkpoint(self, books: dict | None = None) -> None:
        """The cluster keeps its own ledger."""

    # ---- connection -------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the connection pool and make sure the node is not mainnet (unless allowed)."""
        async with self._connect_lock:
            if self._connected:
                return
            if self._client is None:
                # Transport retries are done here, where it is known whether re-sending is safe.
                self._client = AsyncClient(self.url, commitment=Confirmed, timeout=self.request_timeout_s,
                                           max_transport_retries=0)
            resp = await self._request("getGenesisHash", lambda c: c.get_genesis_hash(), GetGenesisHashResp)
            self.genesis_hash = str(resp.value)
            if self.genesis_hash == MAINNET_GENESIS_HASH:
                self.supports_airdrop = False
                if not self.allow_mainnet:
                    raise MainnetRefused(
                        f"{self.url} serves mainnet-beta (genesis hash {MAINNET_GENESIS_HASH}); refusing "
                        "to stress-test mainnet (set chain.allow_mainnet = true if you really mean it)")
            self._connected = True

    async def _ready(self) -> AsyncClient:
        if not self._connected:
            await self.connect()
        assert self._client is not None
        return self._client

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            try:
                await self._poller
            except (asyncio.CancelledError, Exception):
                pass
            self._poller = None
        for pending in self._pending.values():
            if pending.broadcaster is not None:
                pending.broadcaster.cancel()
            if not pending.future.done():
                pending.future.set_exception(ChainError("cluster closed"))
                pending.future.exception()
        self._pending.clear()
        for task in list(self._later_tasks):
            task.cancel()
        await asyncio.gather(*self._later_tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.close()
            self._client = None
        self._connected = False

    # ---- requests with retries ----------------------------------------------------------------

    def backoff_delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Full-jitter exponential backoff: uniform(c/2, c), c = min(max, base * 2^attempt); at
        least a Retry-After the node asked for (up to RETRY_AFTER_CAP_S)."""
        ceiling = min(self.backoff_max_s, self.backoff_base_s * (2 ** attempt))
        delay = self._rng.uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            delay = max(delay, min(retry_after, RETRY_AFTER_CAP_S))
        return delay

    async def _request(self, method: str, call: Callable[[AsyncClient], Awaitable[Any]],
                       expected: type[T], *, retries: int | None = None, patience_s: float = 0.0) -> T:
        """One RPC call, retried on transient failures `retries` times (default `max_retries`)
        and, for an answer that is sure to come, for as long as `patience_s`; raises ChainError /
        RpcRequestError."""
        client = self._client if method == "getGenesisHash" else await self._ready()
        assert client is not None
        retries = self.max_retries if retries is None else retries
        patient_until = time.monotonic() + patience_s
        last: _Failure | None = None
        attempt = 0
        while attempt <= retries or time.monotonic() < patient_until:
            if attempt:
                await asyncio.sleep(self.backoff_delay(attempt - 1, last.retry_after if last else None))
            try:
                resp = await call(client)
            except RPCException as exc:
                failure = classify_failure(exc)
                if not failure.transient:
                    code, message = _rpc_error_details(exc.args[0] if exc.args else None)
                    raise RpcRequestError(method, code, message, exc.args[0] if exc.args else None) from None
                last = failure
            except (SolanaRpcException, httpx2.HTTPError, asyncio.TimeoutError, ConnectionError) as exc:
                failure = classify_failure(exc)
                if not failure.transient:
                    raise ChainError(f"{method}: {failure.description}") from exc
                last = failure
            except Exception as exc:  # an answer solana-py / solders cannot parse
                raise ChainError(f"{method}: unreadable answer from {self.url}: {type(exc).__name__}: {exc}") from exc
            except BaseException as exc:
                if type(exc).__name__ != "PanicException":
                    raise
                raise ChainError(f"{method}: unreadable answer from {self.url}: {exc}") from None
            else:
                return self._expect(method, resp, expected)
            attempt += 1
            log.debug("%s failed (%s), attempt %d/%d", method, last.description, attempt, retries + 1)
        raise ChainError(f"{method}: giving up after {attempt} attempts against {self.url}: "
                         f"{last.description if last else 'unknown error'}")

    @staticmethod
    def _expect(method: str, resp: Any, expected: type[T]) -> T:
        if isinstance(resp, expected):
            return resp
        code, message = _rpc_error_details(resp)
        raise RpcRequestError(method, code, message, resp)

    # ---- reads -------------------------------------------------------------------------------

    async def get_account(self, address: Pubkey) -> Account | None:
        resp = await self._request("getAccountInfo", lambda c: c.get_account_info(
            address, commitment=Confirmed, encoding="base64"), GetAccountInfoResp)
        return resp.value

    async def get_multiple_accounts(self, addresses: Sequence[Pubkey]) -> list[Account | None]:
        accounts: list[Account | None] = []
        for start in range(0, len(addresses), MAX_MULTIPLE_ACCOUNTS):
            chunk = list(addresses[start:start + MAX_MULTIPLE_ACCOUNTS])
            resp = await self._request("getMultipleAccounts", lambda c, chunk=chunk: c.get_multiple_accounts(
                chunk, commitment=Confirmed, encoding="base64"), GetMultipleAccountsResp)
            accounts.extend(resp.value)
        return accounts

    async def get_balance(self, address: Pubkey) -> int:
        resp = await self._request("getBalance", lambda c: c.get_balance(address, commitment=Confirmed),
                                   GetBalanceResp)
        return resp.value

    async def get_token_balance(self, token_account: Pubkey) -> int | None:
        """Base units held, or None when the account is missing or not a token account."""
        try:
            resp = await self._request("getTokenAccountBalance", lambda c: c.get_token_account_balance(
                token_account, commitment=Confirmed), GetTokenAccountBalanceResp)
        except RpcRequestError as exc:
            if exc.code == -32602:
                return None
            raise
        return int(resp.value.amount)

    async def get_latest_blockhash(self) -> tuple[Hash, int]:
        resp = await self._request("getLatestBlockhash", lambda c: c.get_latest_blockhash(commitment=Confirmed),
                                   GetLatestBlockhashResp)
        blockhash, last_valid = resp.value.blockhash, resp.value.last_valid_block_height
        self._blockhash_heights[blockhash] = last_valid
        if len(self._blockhash_heights) > 1024:
            del self._blockhash_heights[next(iter(self._blockhash_heights))]
        return blockhash, last_valid

    async def get_block_height(self) -> int:
        resp = await self._request("getBlockHeight", lambda c: c.get_block_height(commitment=Confirmed),
                                   GetBlockHeightResp)
        return resp.value

    async def get_minimum_balance_for_rent_exemption(self, data_len: int) -> int:
        resp = await self._request(
            "getMinimumBalanceForRentExemption",
            lambda c: c.get_minimum_balance_for_rent_exemption(data_len, commitment=Confirmed),
            GetMinimumBalanceForRentExemptionResp)
        return resp.value

    # ---- transactions ------------------------------------------------------------------------

    async def send_transaction(self, tx: AnyTransaction, last_valid_block_height: int | None = None) -> TxResult:
        """Send, confirm and describe one signed transaction.

        `last_valid_block_height` of the transaction's blockhash; if not given it is known from
        an earlier `get_latest_blockhash` here, or fetched (the latest blockhash's height is an
        upper bound for the transaction's).

        The same signed bytes are broadcast again with backoff until a node acknowledges them
        (a node runs a signature once, so this never runs it twice), while the shared loop polls
        its signature. Inside an engine operation (`bounded_send`) the wait ends after
        `operation_deadline_s` with an `Unconfirmed` result whose `later` resolves to the
        transaction's final result once known; elsewhere it ends after `confirm_timeout_s`
        with ChainError (outcome unknown).
        """
        await self._ready()
        signature = tx.signatures[0]
        if last_valid_block_height is None:
            last_valid_block_height = self._blockhash_heights.get(tx.message.recent_blockhash)
        if last_valid_block_height is None:
            _, last_valid_block_height = await self.get_latest_blockhash()
        pending = self._track(signature, last_valid_block_height)
        broadcaster = asyncio.create_task(self._broadcast(pending, bytes(tx)), name=f"broadcast-{signature}")
        pending.broadcaster = broadcaster
        bounded = bounded_send.get()
        timeout = self.operation_deadline_s if bounded else self.confirm_timeout_s
        try:
            status = await asyncio.wait_for(asyncio.shield(pending.future), timeout)
        except asyncio.TimeoutError:
            if not bounded:
                self._forget(pending)
                raise ChainError(f"transaction {signature} not confirmed within {timeout:g} s "
                                 "and its blockhash not yet expired: outcome unknown") from None
            # The pool's lock must not wait for a slow network: report it unconfirmed now and keep
            # following it (re-broadcasting too) until it lands or its blockhash expires.
            later = asyncio.create_task(self._later(pending, tx.message), name=f"later-{signature}")
            self._later_tasks.add(later)
            later.add_done_callback(self._later_tasks.discard)
            return UnconfirmedResult(str(signature), timeout, later)
        except BaseException:
            self._forget(pending)
            raise
        if status is None:
            return self._expired(signature)
        return await self._describe(signature, status, tx.message)

    async def airdrop(self, address: Pubkey, lamports: int) -> TxResult:
        if not self.supports_airdrop:
            raise AirdropUnavailable(f"{self.url} does not hand out SOL")
        await self._ready()
        if not self.supports_airdrop:  # learnt from the genesis hash
            raise AirdropUnavailable(f"{self.url} does not hand out SOL")
        _, last_valid = await self.get_latest_blockhash()
        try:
            resp = await self._request("requestAirdrop", lambda c: c.request_airdrop(
                address, lamports, commitment=Confirmed), RequestAirdropResp)
        except RpcRequestError as exc:
            raise AirdropUnavailable(f"{self.url} refused the airdrop: {exc.rpc_message}") from None
        # The faucet pays the fee and its logs are of no interest: the status is enough.
        status = await self.wait_for_signature(resp.value, last_valid)
        if status is None:
            return self._expired(resp.value)
        return make_tx_result(resp.value, status.err, (), 0, 0, status.slot, None, self.program_id)

    async def _describe(self, signature: Signature, status, message) -> TxResult:
        meta = await self._fetch_meta(signature)
        if meta is None:
            return make_tx_result(signature, status.err, (), 0, 0, status.slot, message, self.program_id)
        slot, err, logs, fee, units = meta
        return make_tx_result(signature, err, logs, fee, units, slot, message, self.program_id)

    async def _later(self, pending: "_Pending", message) -> TxResult | None:
        """The final result of a transaction reported unconfirmed: None when it did not run
        (its blockhash expired unseen) or nothing was learnt within `confirm_timeout_s`."""
        try:
            status = await asyncio.wait_for(asyncio.shield(pending.future), self.confirm_timeout_s)
            return None if status is None else await self._describe(pending.signature, status, message)
        except (asyncio.TimeoutError, ChainError):
            return None
        finally:
            self._forget(pending)

    def _expired(self, signature: Signature) -> TxResult:
        from engine.frt.errors import TRANSIENT, ClassifiedError

        error = ClassifiedError(
            raw=None, instruction_index=None, program=None, name=BLOCKHASH_EXPIRED, code=None,
            category=TRANSIENT,
            message=f"{BLOCKHASH_EXPIRED}: not confirmed before its blockhash expired; re-sign and send again")
        return TxResult(signature=str(signature), ok=False, error=error)

    async def _fetch_meta(self, signature: Signature):
        """(slot, err, logs, fee, compute units) from getTransaction, or None if the node has none.
        The transaction landed, so its result exists: a node that keeps failing the request (429,
        503, resets) is asked again for up to `confirm_timeout_s`, not only `max_retries` times."""
        for attempt in range(3):
            if attempt:
                await asyncio.sleep(self.poll_interval_s)
            resp = await self._request("getTransaction", lambda c: c.get_transaction(
                signature, encoding="json", commitment=Confirmed, max_supported_transaction_version=0),
                GetTransactionResp, patience_s=self.confirm_timeout_s)
            found = resp.value
            if found is not None and found.transaction.meta is not None:
                meta = found.transaction.meta
                return (found.slot, meta.err, tuple(meta.log_messages or ()), meta.fee,
                        meta.compute_units_consumed or 0)
        return None

    # ---- broadcasting ------------------------------------------------------------------------

    async def _broadcast(self, pending: "_Pending", wire: bytes) -> None:
        """Send `wire` until a node acknowledges it or its fate is known. Retrying is always safe:
        the bytes, and so the signature, are the same. A refusal (an RPC error that is no
        overload) ends it; it fails the send only if no earlier attempt may have reached a node."""
        opts = TxOpts(skip_confirmation=True, skip_preflight=True, preflight_commitment=Confirmed)
        client = self._client
        assert client is not None
        maybe_delivered = False
        attempt = 0
        failure: _Failure | None = None
        while not pending.future.done():
            if attempt:
                await asyncio.sleep(self.backoff_delay(attempt - 1, failure.retry_after if failure else None))
                if pending.future.done():
                    return
            attempt += 1
            self.broadcasts += 1
            refusal: ChainError | None = None
            try:
                resp = await asyncio.wait_for(client.send_raw_transaction(wire, opts), self.request_timeout_s)
                self._expect("sendTransaction", resp, SendTransactionResp)
                self._wake()  # acknowledged: look for its status now
                return
            except RpcRequestError as exc:
                failure, refusal = _Failure(exc.code in TRANSIENT_RPC_CODES, True, str(exc)), exc
            except RPCException as exc:
                failure = classify_failure(exc)
                code, message = _rpc_error_details(exc.args[0] if exc.args else None)
                refusal = RpcRequestError("sendTransaction", code, message, exc.args[0] if exc.args else None)
            except (SolanaRpcException, httpx2.HTTPError, asyncio.TimeoutError, ConnectionError) as exc:
                failure = classify_failure(exc)
            except Exception as exc:  # an unreadable answer: the node may have taken it
                failure = _Failure(True, True, f"unreadable answer: {type(exc).__name__}: {exc}")
            except BaseException as exc:
                if type(exc).__name__ != "PanicException":  # solders panics on some malformed errors
                    raise
                failure = _Failure(True, True, f"unreadable answer: {exc}")
            if not failure.transient:
                if not maybe_delivered and not pending.future.done():
                    pending.future.set_exception(refusal or ChainError(f"sendTransaction: {failure.description}"))
                    pending.future.exception()  # retrieved here: the caller may have stopped waiting
                return
            maybe_delivered = maybe_delivered or failure.reached_node
            self.rebroadcasts += 1
            log.debug("sendTransaction %s: %s (attempt %d); broadcasting it again", pending.signature,
                      failure.description, attempt)

    # ---- confirmation -----------------------------------------------------------------------

    def _track(self, signature: Signature, last_valid_block_height: int) -> "_Pending":
        pending = self._pending.get(signature)
        if pending is None:
            pending = _Pending(signature, last_valid_block_height, asyncio.get_running_loop().create_future())
            self._pending[signature] = pending
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll_signatures(), name="rpc-signature-poller")
        return pending

    def _forget(self, pending: "_Pending") -> None:
        if pending.broadcaster is not None and not pending.broadcaster.done():
            pending.broadcaster.cancel()
        if self._pending.get(pending.signature) is pending:
            del self._pending[pending.signature]

    def _wake(self) -> None:
        if self._poll_now is not None:
            self._poll_now.set()

    async def wait_for_signature(self, signature: Signature, last_valid_block_height: int):
        """The confirmed TransactionStatus, or None once the blockhash has expired unseen.

        Raises ChainError if nothing is known after `confirm_timeout_s` (outcome unknown).
        """
        pending = self._track(signature, last_valid_block_height)
        self._wake()
        try:
            return await asyncio.wait_for(asyncio.shield(pending.future), self.confirm_timeout_s)
        except asyncio.TimeoutError:
            raise ChainError(f"transaction {signature} not confirmed within {self.confirm_timeout_s:g} s "
                             "and its blockhash not yet expired: outcome unknown") from None
        finally:
            self._forget(pending)

    async def _poll_signatures(self) -> None:
        """One loop polls every signature in flight, in batches: block height first, then
        statuses, so a signature still unseen after the height passed its last valid height
        cannot land. A failed poll is simply tried again at the next round: every waiter has a
        deadline of its own. It polls every `poll_interval_s`, sooner (but at most every
        MIN_POLL_GAP_S) when a send was just acknowledged."""
        self._poll_now = asyncio.Event()
        loop = asyncio.get_running_loop()
        failures = 0
        while self._pending:
            self._poll_now.clear()
            started = loop.time()
            try:
                await self._poll_once()
                failures = 0
            except asyncio.CancelledError:
                raise
            except RpcRequestError as exc:  # the node refuses the poll itself: nobody will learn anything
                for pending in list(self._pending.values()):
                    if not pending.future.done():
                        pending.future.set_exception(ChainError(str(exc)))
                        pending.future.exception()
            except Exception as exc:
                failures += 1
                log.debug("polling signatures failed (%s); polling again", exc)
            for signature in [s for s, pending in self._pending.items() if pending.future.done()]:
                del self._pending[signature]
            if not self._pending:
                break
            if failures:  # a failed poll is tried again after a backoff, not a whole interval
                await asyncio.sleep(min(self.backoff_delay(failures - 1), self.poll_interval_s))
                continue
            try:
                await asyncio.wait_for(self._poll_now.wait(), self.poll_interval_s)
            except asyncio.TimeoutError:
                pass
            gap = MIN_POLL_GAP_S - (loop.time() - started)
            if gap > 0:
                await asyncio.sleep(gap)

    async def _block_height(self) -> int:
        """The block height, read at most every HEIGHT_REFRESH_S: an older reading is a lower bound
        of the height when the statuses are read after it, so "unseen and past its last valid
        height" stays a safe verdict, and most polls cost one request instead of two."""
        now = asyncio.get_running_loop().time()
        if self._height is None or now - self._height[1] >= HEIGHT_REFRESH_S:
            resp = await self._request("getBlockHeight", lambda c: c.get_block_height(commitment=Confirmed),
                                       GetBlockHeightResp, retries=0)
            self._height = (resp.value, now)
        return self._height[0]

    async def _poll_once(self) -> None:
        height = await self._block_height()
        pending = [p for p in self._pending.values() if not p.future.done()]
        for start in range(0, len(pending), MAX_SIGNATURE_STATUSES):
            chunk = pending[start:start + MAX_SIGNATURE_STATUSES]
            resp = await self._request(
                "getSignatureStatuses",
                lambda c, chunk=chunk: c.get_signature_statuses([p.signature for p in chunk]),
                GetSignatureStatusesResp, retries=0)
            self.status_polls += 1
            for entry, status in zip(chunk, resp.value):
                if entry.future.done():
                    continue
                if status is not None and status.confirmation_status in (
                        TransactionConfirmationStatus.Confirmed, TransactionConfirmationStatus.Finalized):
                    entry.future.set_result(status)
                elif status is None and height > entry.last_valid_block_height:
                    entry.future.set_result(None)


class UnconfirmedResult(TxResult):
    """An operation's transaction whose outcome was not known by its deadline: a transient
    failure now (`Unconfirmed`; it must not be re-signed: it may still land); `later` resolves
    to its final result (None: it did not run)."""

    __slots__ = ("later",)

    def __init__(self, signature: str, waited_s: float, later: "asyncio.Future[TxResult | None]") -> None:
        from engine.frt.errors import TRANSIENT, ClassifiedError

        error = ClassifiedError(
            raw=None, instruction_index=None, program=None, name=UNCONFIRMED, code=None, category=TRANSIENT,
            message=f"{UNCONFIRMED}: no confirmation within {waited_s:g} s; it may still land (not re-sent)")
        super().__init__(signature, False, error)
        self.later = later


__all__ = ["RpcCluster", "MainnetRefused", "RpcRequestError", "MAINNET_GENESIS_HASH", "is_mainnet_url",
           "classify_failure", "BLOCKHASH_EXPIRED", "UNCONFIRMED", "UnconfirmedResult"]
