"""An async client of the API, shared by `frt-stress rpc` and the console's remote mode.

    async with RpcClient("http://127.0.0.1:8080/rpc", api_key=None) as client:
        pools = await client.call("list_pools")
        created = await client.call("create_deposit_thread", pool_id=..., token_type="A")
        answers = await client.batch([("list_pools", {}), ("get_engine_status", {})])

`call` returns the result or raises `RpcCallError(code, message, data)`; transport problems
(connection refused, a non-JSON answer) raise `RpcTransportError`. One aiohttp session (with
keep-alive) serves every call of a client.
"""
from __future__ import annotations

import itertools
import json
import ssl
from typing import Any

import aiohttp


KEEPALIVE_S = 5.0


class RpcError(Exception):
    """Base of the client's errors."""


class RpcCallError(RpcError):
    """The server answered with a JSON-RPC error."""

    def __init__(self, code: int, message: str, data: Any = None, http_status: int = 200) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.data = data
        self.http_status = http_status


class RpcTransportError(RpcError):
    """The server could not be reached or did not answer with JSON-RPC."""


class RpcClient:
    def __init__(self, url: str, api_key: str | None = None, *, timeout_s: float = 60.0,
                 ssl_context: ssl.SSLContext | bool | None = None) -> None:
        self.url = url
        self.api_key = api_key
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.ssl = ssl_context
        self._session: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)

    async def __aenter__(self) -> "RpcClient":
        self._open()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
            # Idle connections are dropped before the server's api.idle_timeout_s (default 10 s)
            # closes them, so that a call never races the server's close on a reused connection.
            connector = aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_S)
            self._session = aiohttp.ClientSession(timeout=self.timeout, headers=headers, connector=connector)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(self, payload: Any) -> tuple[int, Any]:
        """POST a JSON-RPC payload; (HTTP status, decoded JSON answer or None when empty)."""
        session = self._open()
        kwargs = {} if self.ssl is None else {"ssl": self.ssl}
        try:
            async with session.post(self.url, data=json.dumps(payload), **kwargs,
                                    headers={"Content-Type": "application/json"}) as response:
                body = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise RpcTransportError(f"cannot reach {self.url}: {exc or type(exc).__name__}") from None
        if not body:
            return status, None
        try:
            return status, json.loads(body)
        except ValueError:
            raise RpcTransportError(f"{self.url} answered HTTP {status} with a body that is not JSON") from None

    async def call(self, method: str, params: dict | list | None = None, /, **named: Any) -> Any:
        """Call `method` with by-position `params` (a list), by-name `params` (a dict) or keyword
        arguments; return its result or raise RpcCallError."""
        if params is not None and named:
            raise TypeError("give params either as one dict/list or as keyword arguments")
        request = {"jsonrpc": "2.0", "method": method, "id": next(self._ids)}
        if params is not None or named:
            request["params"] = params if params is not None else named
        status, answer = await self.post(request)
        return self._unwrap(answer, status)

    async def notify(self, method: str, **params: Any) -> None:
        """A notification: the server executes it and answers nothing."""
        status, answer = await self.post({"jsonrpc": "2.0", "method": method, "params": params})
        if answer is not None:
            self._unwrap(answer, status)

    async def batch(self, calls: list[tuple[str, dict | list]]) -> list[Any]:
        """Several calls in one request; each item of the answer is a result or an RpcCallError
        (in the order of `calls`)."""
        ids = [next(self._ids) for _ in calls]
        payload = [{"jsonrpc": "2.0", "method": method, "params": params, "id": request_id}
                   for (method, params), request_id in zip(calls, ids)]
        status, answer = await self.post(payload)
        if not isinstance(answer, list):
            self._unwrap(answer, status)  # a single error for the whole batch
            raise RpcTransportError("a batch was answered with a single object")
        by_id = {item.get("id"): item for item in answer if isinstance(item, dict)}
        results: list[Any] = []
        for request_id in ids:
            try:
                results.append(self._unwrap(by_id.get(request_id), status))
            except RpcCallError as exc:
                results.append(exc)
        return results

    @staticmethod
    def _unwrap(answer: Any, status: int) -> Any:
        if not isinstance(answer, dict) or answer.get("jsonrpc") != "2.0":
            raise RpcTransportError(f"not a JSON-RPC answer (HTTP {status})")
        if "error" in answer:
            error = answer["error"] or {}
            raise RpcCallError(error.get("code", 0), error.get("message", ""), error.get("data"), status)
        if "result" not in answer:
            raise RpcTransportError(f"a JSON-RPC answer without result or error (HTTP {status})")
        return answer["result"]
