"""The JSON-RPC 2.0 API of the engine over HTTP (aiohttp).

    server = ApiServer(engine, settings.api, settings.data_dir)
    host, port = await server.start()          # port 0 = any free port
    ...                                        # POST /rpc, GET /health, GET /metrics
    await server.stop()

`POST /rpc` takes single requests, batches and notifications (by-name or by-position params;
string, number or null ids). Each method is validated by its pydantic model (engine/api/params.py)
and executed by the Engine through the method table (rpcapi/methods.py). Errors use the
standard JSON-RPC codes and the domain codes of the table in rpcapi/methods.py; an unexpected
exception is logged here and answered with -32603 "Internal error", never with its traceback.

Security (rpcapi/auth.py), on by default: loopback only unless an API key is configured; the
key is required on every endpoint once set; optional client allow-list; a token-bucket rate
limit per client address (requests with the right key and the others in separate buckets, so
that a flood of unauthenticated requests cannot lock out the key's holder); a body size and batch
length limit; CORS only for configured origins (a request from any other browser origin is
refused, which also stops cross-site requests and DNS rebinding against a key-less loopback
listener); JSON content type required on /rpc; optional TLS; an audit log of every
state-changing call, bounded and rotated (rpcapi/audit.py).

Hostile or broken clients: a body is read within api.read_timeout_s and decoded here
(rpcapi/body.py), so that any unreadable body gets a 4xx JSON-RPC error; a connection that does
not complete a request's headers within api.idle_timeout_s is closed; client errors are logged
in one line each (rpcapi/client_errors.py), tracebacks only for the server's own bugs.
"""
from __future__ import annotations

import asyncio
import json
import logging
import math
import ssl
import struct
import time
import zlib
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from engine.chain.base import ChainError
from engine.config import api_key_problem
from engine.exceptions import ChainUnavailable, EngineError
from engine.sharding.protocol import ShardInternalError
from rpcapi import openrpc
from rpcapi.audit import AuditLog
from rpcapi.auth import AllowList, ApiConfigError, RateLimiter, is_loopback, key_matches, presented_key
from rpcapi.body import BodyError, read_body
from rpcapi.client_errors import HttpServerLog, log_client_error
from rpcapi.methods import (
    ERRORS,
    FORBIDDEN,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    METHODS,
    PARSE_ERROR,
    RATE_LIMITED,
    UNAUTHORIZED,
    Method,
)

log = logging.getLogger(__name__)

_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
_CORS_ALLOW_HEADERS = "Authorization, X-API-Key, Content-Type"
_HEALTH_TIMEOUT_S = 5.0
_MAX_ECHOED_METHOD = 100
_SLICE = 50  # list items serialised between two yields to the event loop
CACHE_COST_FACTOR = 20  # a cached status answer lives at least 20x as long as it took to compute
COMPRESS_ABOVE = 64 * 1024  # cached answers at least this large are also kept deflated


def _accepts_deflate(accept_encoding: str) -> bool:
    for item in accept_encoding.lower().split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip() in ("deflate", "*"):
            q = params.strip().removeprefix("q=")
            try:
                return not params.strip() or float(q) > 0
            except ValueError:
                return True
    return False


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), allow_nan=False, default=str).encode()


async def _dumps_yielding(value: Any) -> tuple[bytes, float]:
    """_dumps, but long lists in the top-level object (get_all_threads' 1,000 thread statuses)
    are serialised in slices with the event loop given back in between, so that a big answer
    does not stall the engine's threads for the whole serialisation.
    Returns (the bytes, the seconds spent serialising)."""
    started = time.perf_counter()
    if not isinstance(value, dict) or not any(isinstance(v, list) and len(v) > _SLICE for v in value.values()):
        return _dumps(value), time.perf_counter() - started
    busy = 0.0
    parts = []
    for key, item in value.items():
        if isinstance(item, list) and len(item) > _SLICE:
            pieces = []
            for index in range(0, len(item), _SLICE):
                pieces.append(_dumps(item[index:index + _SLICE])[1:-1])
                busy += time.perf_counter() - started
                await asyncio.sleep(0)
                started = time.perf_counter()
            encoded = b"[" + b",".join(piece for piece in pieces if piece) + b"]"
        else:
            encoded = _dumps(item)
        parts.append(_dumps(str(key)) + b":" + encoded)
    return b"{" + b",".join(parts) + b"}", busy + time.perf_counter() - started


def _error_body(request_id: Any, code: int, message: str | None = None, data: Any = None) -> bytes:
    error: dict[str, Any] = {"code": code, "message": message or ERRORS[code].message}
    if data is not None and data != {}:
        error["data"] = data
    return b'{"jsonrpc":"2.0","id":' + _dumps(request_id) + b',"error":' + _dumps(error) + b"}"


_RESULT_PREFIX = b'{"jsonrpc":"2.0","result":'


def _result_tail(request_id: Any) -> bytes:
    return b',"id":' + _dumps(request_id) + b"}"


def _result_body(request_id: Any, result: bytes) -> bytes:
    # The id comes last so that everything before it is the same for every caller: a cached
    # answer can then be sent deflated without compressing it again (see _Deflatable).
    return _RESULT_PREFIX + result + _result_tail(request_id)


class _CachedResult(bytes):
    """A serialised result kept in the status cache; a large one also carries `deflated`:
    the zlib (RFC 1950) stream of _RESULT_PREFIX + itself, fully flushed but not finished, and
    its running Adler-32, so that each answer only appends its id and the trailer."""

    deflated: bytes | None = None
    adler: int = 1


def _deflate_result(result: _CachedResult) -> None:
    """Fill result.deflated (runs in a worker thread: zlib releases the GIL)."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, zlib.MAX_WBITS)
    deflated = compressor.compress(_RESULT_PREFIX) + compressor.compress(result) + compressor.flush(zlib.Z_FULL_FLUSH)
    result.adler = zlib.adler32(result, zlib.adler32(_RESULT_PREFIX))
    result.deflated = deflated


class _Deflatable:
    """A single answer whose result is a large cached one: sent deflated to clients that accept it."""

    def __init__(self, request_id: Any, result: _CachedResult) -> None:
        self.request_id = request_id
        self.result = result

    def plain(self) -> bytes:
        return _result_body(self.request_id, self.result)

    def deflated(self) -> bytes:
        tail = _result_tail(self.request_id)
        blocks = []
        for start in range(0, len(tail), 65_535):  # stored deflate blocks; the last one is final
            chunk = tail[start:start + 65_535]
            final = start + 65_535 >= len(tail)
            blocks.append(bytes([1 if final else 0]) + struct.pack("<HH", len(chunk), len(chunk) ^ 0xFFFF) + chunk)
        adler = zlib.adler32(tail, self.result.adler)
        return self.result.deflated + b"".join(blocks) + struct.pack(">I", adler)


def _add_headers(headers, extra: dict) -> None:
    for name, value in extra.items():
        if name == "Vary" and headers.get("Vary"):
            value = f"{headers['Vary']}, {value}"
        headers[name] = value


def _is_id(value: Any) -> bool:
    return value is None or (isinstance(value, (str, int, float)) and not isinstance(value, bool))


class _CallError(Exception):
    def __init__(self, code: int, message: str | None = None, data: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


class _RateLimited(Exception):
    pass


def _describe(exc: _CallError) -> str:
    """A call error for the log: its message and where its params went wrong (never their values)."""
    text = exc.message or ERRORS[exc.code].message
    if isinstance(exc.data, list):
        text += ": " + "; ".join(f"{'.'.join(map(str, item.get('loc', [])))} {item.get('msg', '')}"
                                 for item in exc.data[:3] if isinstance(item, dict))
    return text


def _log_invalid_request(client: str, problem: str) -> None:
    log_client_error(client, 200, "Invalid Request", problem.removeprefix("Invalid Request: "))


def with_listen(api_config, host: str | None = None, port: int | None = None):
    """`api_config` with host / port overridden (validated: a bad port raises ValueError)."""
    updates = {key: value for key, value in (("host", host), ("port", port)) if value is not None}
    if not updates:
        return api_config
    return type(api_config).model_validate(api_config.model_dump() | updates)


def check_listen(config) -> None:
    """Refuse a configuration that would expose a key-less API beyond this machine, or whose key
    no client could present."""
    if config.api_key is not None and (problem := api_key_problem(config.api_key)):
        raise ApiConfigError(f"api.api_key: {problem}")
    if not is_loopback(config.host) and not config.api_key:
        raise ApiConfigError(
            f"refusing to listen on {config.host} without an API key: set api.api_key in the config file "
            f"or FRT_STRESS_API__API_KEY (at least 16 characters), or listen on 127.0.0.1")


class ApiServer:
    def __init__(self, engine, api_config, data_dir: Path | str, *, host: str | None = None,
                 port: int | None = None) -> None:
        self.config = with_listen(api_config, host, port)
        self.engine = engine
        self.data_dir = Path(data_dir)
        config = self.config
        check_listen(config)
        self.ssl_context = self._ssl_context() if config.tls_cert else None
        self.allow_list = AllowList(config.allowed_ips)
        self.limiter = RateLimiter(config.rate_limit_per_s, config.rate_limit_burst)
        self.audit = AuditLog(self.data_dir / "audit.log" if config.audit_log else None,
                              max_bytes=config.audit_log_max_bytes, backups=config.audit_log_backups)
        from rpcapi.metrics import ApiMetrics

        self.metrics = ApiMetrics(engine)
        self.bound: tuple[str, int] | None = None
        self.calls = 0
        self._runner: web.AppRunner | None = None
        self._document: dict | None = None
        self._cache: dict[tuple, tuple[float, float, bytes]] = {}  # key -> (fresh until, stale until, body)
        self._inflight: dict[tuple, asyncio.Task] = {}
        self._generation = 0

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(str(self.config.tls_cert), str(self.config.tls_key))
        except (OSError, ssl.SSLError) as exc:
            raise ApiConfigError(f"cannot load api.tls_cert / api.tls_key: {exc}") from None
        return context

    # ================================================================== lifecycle

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=self.config.max_body_bytes,
                              middlewares=[self._cors_mw, self._allow_list_mw, self._rate_limit_mw, self._auth_mw])
        app.router.add_post("/rpc", self._rpc)
        app.router.add_get("/health", self._health)
        app.router.add_get("/metrics", self._metrics)
        return app

    async def start(self) -> tuple[str, int]:
        """Listen; returns the bound (host, port)."""
        config = self.config
        # Bodies are decompressed by rpcapi/body.py; a connection without a complete request's
        # headers is closed after idle_timeout_s (aiohttp's keep-alive timer also runs from the
        # connection's start); an unread body is drained for at most read_timeout_s.
        self._runner = web.AppRunner(self.make_app(), access_log=None, handle_signals=False, auto_decompress=False,
                                     keepalive_timeout=config.idle_timeout_s, lingering_time=config.read_timeout_s,
                                     logger=HttpServerLog(logging.getLogger("aiohttp.server")))
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port, ssl_context=self.ssl_context,
                           backlog=1024)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            raise ApiConfigError(f"cannot listen on {self.config.host}:{self.config.port}: {exc.strerror or exc}") \
                from None
        address = self._runner.addresses[0]
        self.bound = (str(address[0]), int(address[1]))
        return self.bound

    async def stop(self) -> None:
        for task in list(self._inflight.values()):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.audit.close()

    @property
    def url(self) -> str:
        host, port = self.bound or (self.config.host, self.config.port)
        if ":" in host:
            host = f"[{host}]"
        return f"{'https' if self.ssl_context else 'http'}://{host}:{port}/rpc"

    # ================================================================== context for the handlers

    def openrpc(self) -> dict:
        if self._document is None:
            self._document = openrpc.build_document(self.url)
        return self._document

    def api_status(self) -> dict:
        return {"url": self.url, "calls": self.calls, "auth": bool(self.config.api_key),
                "tls": self.ssl_context is not None, "status_cache_ms": self.config.status_cache_ms}

    # ================================================================== middlewares

    def _reject(self, status: int, code: int, message: str, request: web.Request,
                headers: dict | None = None) -> web.Response:
        reason = ERRORS[code].name
        self.metrics.rejected.labels(reason).inc()
        log_client_error(request.remote, status, reason, message)
        if code in (UNAUTHORIZED, FORBIDDEN):
            self.audit.write(client=request.remote, method=None, path=request.path, outcome="rejected",
                             reason=reason)
        return web.Response(status=status, body=_error_body(None, code, message), content_type="application/json",
                            headers={**_HEADERS, **(headers or {})})

    def _cors_headers(self, origin: str) -> dict | None:
        origins = self.config.cors_origins
        if origin not in origins and "*" not in origins:
            return None
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin",
                "Access-Control-Allow-Headers": _CORS_ALLOW_HEADERS,
                "Access-Control-Allow-Methods": "POST, GET, OPTIONS", "Access-Control-Max-Age": "600"}

    @web.middleware
    async def _cors_mw(self, request: web.Request, handler):
        origin = request.headers.get("Origin")
        cors = self._cors_headers(origin) if origin is not None else {}
        if cors is None:
            return self._reject(403, FORBIDDEN, f"origin {origin[:200]} is not allowed (api.cors_origins)", request)
        if request.method == "OPTIONS":  # a preflight: answered before auth, executes nothing
            return web.Response(status=204, headers={**cors, "Allow": "POST, GET, OPTIONS"})
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            _add_headers(exc.headers, cors)
            raise
        _add_headers(response.headers, cors)
        return response

    @web.middleware
    async def _allow_list_mw(self, request: web.Request, handler):
        if not self.allow_list.allows(request.remote):
            return self._reject(403, FORBIDDEN, f"client address {request.remote} is not allowed (api.allowed_ips)",
                                request)
        return await handler(request)

    def _authenticated(self, request: web.Request) -> bool:
        """Whether the request carries the configured key (True when none is configured)."""
        key = self.config.api_key
        return not key or key_matches(key, presented_key(request.headers))

    def _bucket(self, request: web.Request) -> str:
        """The rate-limit bucket of a request: its client address, apart for requests without
        the right key, so that they (a brute force, a misconfigured client) throttle only
        themselves and never the key's holder at the same address."""
        client = request.remote or "?"
        return client if self._authenticated(request) else f"{client} unauthenticated"

    @web.middleware
    async def _rate_limit_mw(self, request: web.Request, handler):
        bucket = self._bucket(request)
        if not self.limiter.take(bucket):
            return self._rate_limited(request, bucket, 1)
        return await handler(request)

    def _rate_limited(self, request: web.Request, bucket: str, cost: int) -> web.Response:
        return self._reject(429, RATE_LIMITED, "rate limit exceeded: slow down", request,
                            {"Retry-After": str(self.limiter.retry_after(bucket, cost))})

    @web.middleware
    async def _auth_mw(self, request: web.Request, handler):
        if not self._authenticated(request):
            return self._reject(401, UNAUTHORIZED, "missing or wrong API key: send 'Authorization: Bearer KEY' "
                                                   "or 'X-API-Key: KEY'", request,
                                {"WWW-Authenticate": 'Bearer realm="frt-stress"'})
        return await handler(request)

    # ================================================================== endpoints

    async def _rpc(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await read_body(request, max_bytes=self.config.max_body_bytes, timeout_s=self.config.read_timeout_s)
        except BodyError as exc:
            return await self._refuse_body(request, exc)
        client = request.remote or "?"
        bucket = self._bucket(request)
        try:
            payload = await self.handle(body, client, bucket)
        except _RateLimited:
            return self._rate_limited(request, bucket, 1)
        if payload is None:
            return web.Response(status=204, headers=_HEADERS)
        if isinstance(payload, _Deflatable):
            if _accepts_deflate(request.headers.get("Accept-Encoding", "")):
                return web.Response(status=200, body=payload.deflated(), content_type="application/json",
                                    headers={**_HEADERS, "Content-Encoding": "deflate", "Vary": "Accept-Encoding"})
            payload = payload.plain()
        return self._json_response(200, payload)

    async def _refuse_body(self, request: web.Request, exc: BodyError) -> web.StreamResponse:
        reason = {408: "Timeout", 413: "TooLarge", 415: "UnsupportedMediaType"}.get(exc.status, "BadBody")
        self.metrics.rejected.labels(reason).inc()
        log_client_error(request.remote, exc.status, reason, exc.message)
        code = PARSE_ERROR if exc.parse else INVALID_REQUEST
        message = f"{ERRORS[code].message}: {exc.message}"
        response = self._json_response(exc.status, _error_body(None, code, message))
        if exc.close:
            # The rest of the body may still be on its way (or never come): answer, then close
            # at once rather than let aiohttp wait for the body to end (its lingering close).
            response.force_close()
            await response.prepare(request)
            await response.write_eof()
            request.protocol.force_close()
        return response

    @staticmethod
    def _json_response(status: int, body: bytes) -> web.Response:
        return web.Response(status=status, body=body, content_type="application/json", headers=_HEADERS)

    async def _health(self, request: web.Request) -> web.Response:
        chain = await self.engine.chain_health(_HEALTH_TIMEOUT_S)
        overview = self.engine.overview()
        body = {"status": "ok" if chain["ok"] else "degraded", "chain": chain,
                "uptime_seconds": round(time.monotonic() - self.engine.started_monotonic, 1),
                "pools": overview["pools"], "threads": overview["threads"]}
        return self._json_response(200 if chain["ok"] else 503, _dumps(body))

    async def _metrics(self, request: web.Request) -> web.Response:
        from rpcapi.metrics import CONTENT_TYPE_LATEST

        return web.Response(body=self.metrics.render(), headers={**_HEADERS, "Content-Type": CONTENT_TYPE_LATEST})

    # ================================================================== JSON-RPC processing

    async def handle(self, body: bytes | str, client: str = "local",
                     bucket: str | None = None) -> bytes | _Deflatable | None:
        """Answer one HTTP body: the response bytes (or a _Deflatable for a large cached answer),
        or None when there is nothing to answer (notifications only). Raises _RateLimited when a
        batch exceeds the budget of the rate-limit `bucket` (default: the client's)."""
        try:
            text = body.decode("utf-8") if isinstance(body, bytes) else body
            data = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            self.metrics.observe_call("<invalid>", str(PARSE_ERROR), 0.0)
            log_client_error(client, 200, "Parse error", str(exc))
            return _error_body(None, PARSE_ERROR)
        if isinstance(data, list):
            problem = None
            if not data:
                problem = "Invalid Request: empty batch"
            elif len(data) > self.config.max_batch:
                problem = f"Invalid Request: batch of {len(data)} requests; api.max_batch is {self.config.max_batch}"
            if problem:
                _log_invalid_request(client, problem)
                return _error_body(None, INVALID_REQUEST, problem)
            if len(data) > 1 and not self.limiter.take(bucket or client, len(data) - 1):  # the request paid one
                raise _RateLimited()
            answers = [await self._one(entry, client) for entry in data]
            answers = [answer.plain() if isinstance(answer, _Deflatable) else answer
                       for answer in answers if answer is not None]
            return b"[" + b",".join(answers) + b"]" if answers else None
        return await self._one(data, client)

    async def _one(self, request: Any, client: str) -> bytes | None:
        started = time.perf_counter()
        if not isinstance(request, dict):
            _log_invalid_request(client, "not an object")
            return _error_body(None, INVALID_REQUEST, "Invalid Request: not an object")
        request_id = request.get("id")
        if not _is_id(request_id):
            problem = "Invalid Request: id must be a string, a number or null"
            _log_invalid_request(client, problem)
            return _error_body(None, INVALID_REQUEST, problem)
        problem = None
        name = request.get("method")
        params = request.get("params", {})
        if request.get("jsonrpc") != "2.0":
            problem = 'Invalid Request: jsonrpc must be "2.0"'
        elif not isinstance(name, str):
            problem = "Invalid Request: method must be a string"
        elif not isinstance(params, (dict, list)):
            problem = "Invalid Request: params must be an object or an array"
        if problem:
            self.metrics.observe_call("<invalid>", str(INVALID_REQUEST), time.perf_counter() - started)
            _log_invalid_request(client, problem)
            return _error_body(request_id, INVALID_REQUEST, problem)
        notification = "id" not in request
        method = METHODS.get(name)
        self.calls += 1
        try:
            if method is None:
                raise _CallError(METHOD_NOT_FOUND, f"Method not found: {name[:_MAX_ECHOED_METHOD]}")
            result = await self._call(method, params)
        except _CallError as exc:
            if exc.code in (METHOD_NOT_FOUND, INVALID_PARAMS):
                log_client_error(client, 200, name, _describe(exc))
            self._account(method, name, params, client, request_id, notification, exc.code, started)
            return None if notification else _error_body(request_id, exc.code, exc.message, exc.data)
        self._account(method, name, params, client, request_id, notification, None, started)
        if notification:
            return None
        if isinstance(result, _CachedResult) and result.deflated is not None:
            return _Deflatable(request_id, result)
        return _result_body(request_id, result)

    def _account(self, method: Method | None, name: str, params: Any, client: str, request_id: Any,
                 notification: bool, code: int | None, started: float) -> None:
        outcome = "ok" if code is None else str(code)
        self.metrics.observe_call(method.name if method else "<unknown>", outcome, time.perf_counter() - started)

        if method is not None and method.state_changing:
            entry = {"client": client, "method": method.name, "params": params, "outcome": outcome}
            if not notification:
                entry["id"] = request_id
            self.audit.write(**entry)

    async def _call(self, method: Method, raw_params: dict | list) -> bytes:
        """Validate, execute and serialise one call; raises _CallError for any JSON-RPC error."""
        params = self._validate(method, raw_params)
        try:
            if method.cacheable and self.config.status_cache_ms > 0:
                key = (self._generation, method.name, params.model_dump_json())
                return await self._cached(key, method, params)
            try:
                return (await self._execute(method, params))[0]
            finally:
                if method.state_changing:
                    self._invalidate()
        except _CallError:
            raise
        except ShardInternalError as exc:  # a bug in a shard, logged there: its text stays out of answers
            log.error("internal error in %s (in a shard): %s", method.name, exc.message)
            raise _CallError(INTERNAL_ERROR) from None
        except EngineError as exc:
            raise _CallError(exc.code, exc.message, exc.data or None) from None
        except ChainError as exc:
            raise _CallError(ChainUnavailable.code, f"the chain is unavailable: {exc}") from None
        except Exception:
            log.exception("internal error in %s", method.name)
            raise _CallError(INTERNAL_ERROR) from None

    @staticmethod
    def _validate(method: Method, raw: dict | list):
        if isinstance(raw, list):
            names = list(method.params.model_fields)
            if len(raw) > len(names):
                raise _CallError(INVALID_PARAMS, f"Invalid params: {method.name} takes at most {len(names)} "
                                                 f"positional params", [{"loc": [], "msg": "too many positional "
                                                                         "params", "type": "too_many_params"}])
            raw = dict(zip(names, raw))
        try:
            return method.params.model_validate(raw)
        except ValidationError as exc:
            errors = [{"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
                      for error in exc.errors(include_url=False, include_input=False, include_context=False)]
            raise _CallError(INVALID_PARAMS, "Invalid params", errors) from None

    async def _execute(self, method: Method, params) -> tuple[bytes, float]:
        """(the serialised result, the seconds of event loop it took: the engine call and the
        serialisation slices, not the time other tasks ran in between)."""
        started = time.perf_counter()
        result = await method.call(self, params)
        cost = time.perf_counter() - started
        try:
            body, serialising = await _dumps_yielding(result)
        except (TypeError, ValueError):
            log.exception("%s returned a result that is not JSON", method.name)
            raise _CallError(INTERNAL_ERROR) from None
        return body, cost + serialising

    # ---- status cache: polling clients share one computation per period

    async def _cached(self, key: tuple, method: Method, params) -> bytes:
        """The answer for `key`, computed at most once per period. The period is
        api.status_cache_ms, and at least CACHE_COST_FACTOR times what the computation took, so
        that however many clients poll, status reads take at most ~1/CACHE_COST_FACTOR of the
        event loop the engine's threads run on. During the next period the expired answer is
        still served while a fresh one is computed in the background, so a caller never waits
        for a recomputation unless there is no answer at all (first call, or after a
        state-changing call through the API)."""
        now = time.monotonic()
        entry = self._cache.get(key)
        if entry is not None:
            fresh_until, stale_until, body = entry
            if now < fresh_until:
                return body
            if now < stale_until:
                if key not in self._inflight:
                    self._refresh(key, method, params)
                return body
        pending = self._inflight.get(key) or self._refresh(key, method, params)
        return await asyncio.shield(pending)

    def _refresh(self, key: tuple, method: Method, params) -> asyncio.Task:
        async def compute() -> bytes:
            body, cost = await self._execute(method, params)
            body = _CachedResult(body)
            if len(body) >= COMPRESS_ABOVE:
                await asyncio.get_running_loop().run_in_executor(None, _deflate_result, body)
            if key[0] == self._generation:
                now = time.monotonic()
                if len(self._cache) > 256:
                    self._cache = {k: v for k, v in self._cache.items() if v[1] > now}
                period = max(self.config.status_cache_ms / 1000, CACHE_COST_FACTOR * cost)
                self._cache[key] = (now + period, now + 2 * period, body)
            return body

        def done(task: asyncio.Task) -> None:
            self._inflight.pop(key, None)
            if not task.cancelled():
                task.exception()  # retrieved here: the callers waiting on it re-raise it

        task = self._inflight[key] = asyncio.ensure_future(compute())
        task.add_done_callback(done)
        return task

    def _invalidate(self) -> None:
        self._generation += 1
        self._cache.clear()
