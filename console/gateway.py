"""What the console's screens talk to: an `EngineGateway`.

`LocalGateway` calls an Engine in this process; `RemoteGateway` calls the JSON-RPC API of an
engine elsewhere (`frt-stress console --connect URL`). Both raise `GatewayError(code, message,
data)` for a refused or failed operation: the engine's domain error codes (-1001 ...) locally,
the JSON-RPC error codes remotely (the API answers with the same domain codes), and
`TRANSPORT_ERROR` when a remote engine cannot be reached.
"""
from __future__ import annotations

import logging
import os
import time
from typing import Any, Protocol, runtime_checkable

from engine.api.facade import bind_arguments
from engine.api.operations import OPERATION_LIST

log = logging.getLogger(__name__)

TRANSPORT_ERROR = -32000
U64_MAX = 2**64 - 1


class GatewayError(Exception):
    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def __str__(self) -> str:
        return self.message


@runtime_checkable
class EngineGateway(Protocol):
    """What the console uses: every engine operation by name (`call`, and one method per
    operation of engine/api/operations.py, e.g. `await gateway.start_thread("deposit_1")`),
    plus the live view, the engine's problems and the machine's resources."""

    kind: str  # "local" or "remote"

    def describe(self) -> dict: ...
    async def call(self, name: str, **params: Any) -> dict: ...
    async def snapshot(self, feed_limit: int = 100) -> dict: ...
    async def problems(self) -> list[str]: ...
    async def resources(self) -> dict: ...
    async def close(self) -> None: ...


_PROCESS = None


def local_resources() -> dict:
    """CPU per core (% since the previous call) and memory of this machine / process."""
    import psutil

    global _PROCESS
    if _PROCESS is None or _PROCESS.pid != os.getpid():
        _PROCESS = psutil.Process(os.getpid())
    memory = psutil.virtual_memory()
    return {"cpu_percent_per_core": psutil.cpu_percent(percpu=True),
            "memory_rss_bytes": _PROCESS.memory_info().rss,
            "memory_percent": memory.percent, "memory_total_bytes": memory.total}


class _Calls:
    """The operations over `_call(name, **params)`: one method per entry of the operation table,
    and the two reads the screens share."""

    async def _call(self, method: str, **params: Any) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    async def call(self, name: str, **params: Any) -> Any:
        return await self._call(name, **params)

    async def snapshot(self, feed_limit: int = 100) -> dict:
        return await self._call("get_snapshot", feed_limit=feed_limit)

    async def problems(self) -> list[str]:
        """What the engine found wrong when it opened (corrupt files, shards, legacy state)."""
        return list((await self._call("get_engine_status")).get("problems") or [])


def _operation_method(operation):
    async def method(self, *args: Any, **kwargs: Any) -> Any:
        params = bind_arguments(operation, args, kwargs)
        return await self._call(operation.name, **{key: value for key, value in params.items() if value is not None})

    method.__name__ = operation.name
    method.__doc__ = operation.summary
    return method


for _operation in OPERATION_LIST:
    if not hasattr(_Calls, _operation.name):
        setattr(_Calls, _operation.name, _operation_method(_operation))


class LocalGateway(_Calls):
    """The Engine of this process. With `runner` (an EngineThread) the engine lives on its own
    thread and loop and every call is handed over to it; without, it is called directly (same
    loop, as in tests). `close()` stops the API listener (if one was attached) and, when the
    gateway owns the engine, closes it (every thread stopped, sessions written), then stops the
    engine thread."""

    kind = "local"

    def __init__(self, engine, *, owns_engine: bool = True, server=None, runner=None) -> None:
        self.engine = engine
        self.owns_engine = owns_engine
        self.server = server
        self.server_problem: str | None = None
        self.runner = runner
        self._closed = False

    def describe(self) -> dict:
        server = self.server
        return {"kind": self.kind, "api_url": server.url if server is not None else None,
                "api_problem": self.server_problem, "shards": 0 if self.engine.in_process else len(self.engine.shards)}

    async def _call(self, method: str, **params: Any) -> Any:
        if self.runner is not None:
            return await self.runner.run(self._direct(method, params))
        return await self._direct(method, params)

    async def _direct(self, method: str, params: dict) -> Any:
        from engine.chain.base import ChainError
        from engine.exceptions import ChainUnavailable, EngineError

        try:
            return await self.engine.call(method, params)
        except EngineError as exc:
            raise GatewayError(exc.code, exc.message, exc.data or None) from None
        except ChainError as exc:
            raise GatewayError(ChainUnavailable.code, f"chain unavailable: {exc}") from None

    async def resources(self) -> dict:
        return local_resources()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self.runner is not None:
                await self.runner.run(self._close_here())
            else:
                await self._close_here()
        finally:
            if self.runner is not None and self.owns_engine:
                self.runner.stop()

    async def _close_here(self) -> None:
        if self.server is not None:
            try:
                await self.server.stop()
            except Exception:  # noqa: BLE001 - closing the engine matters more
                log.exception("stopping the API listener failed")
        if self.owns_engine:
            await self.engine.close()


class RemoteGateway(_Calls):
    """An engine behind the JSON-RPC API (rpcapi.client.RpcClient)."""

    kind = "remote"
    RESOURCES_EVERY_S = 2.0

    def __init__(self, client) -> None:
        self.client = client
        self._resources: dict = {}
        self._resources_at = -1e9

    def describe(self) -> dict:
        return {"kind": self.kind, "url": self.client.url, "api_url": None, "api_problem": None}

    async def _call(self, method: str, **params: Any) -> Any:
        from rpcapi.client import RpcCallError, RpcError

        params = {key: value for key, value in params.items() if value is not None}
        try:
            return await self.client.call(method, **params)
        except RpcCallError as exc:
            raise GatewayError(exc.code, _rpc_message(exc.message, exc.data), exc.data) from None
        except RpcError as exc:
            raise GatewayError(TRANSPORT_ERROR, str(exc)) from None

    async def resources(self) -> dict:
        """The remote engine's CPU and memory (get_engine_status), at most every 2 s."""
        now = time.monotonic()
        if now - self._resources_at >= self.RESOURCES_EVERY_S:
            self._resources_at = now
            status = await self._call("get_engine_status")
            self._resources = {"cpu_percent_per_core": status.get("cpu_percent_per_core", []),
                               "memory_rss_bytes": status.get("memory_rss_bytes")}
        return self._resources

    async def close(self) -> None:
        await self.client.close()


def _rpc_message(message: str, data: Any) -> str:
    """-32602 answers carry the failed fields in `data`: name them, like the engine does."""
    if isinstance(data, list) and data and all(isinstance(item, dict) and "msg" in item for item in data):
        details = "; ".join(".".join(str(part) for part in item.get("loc", [])) + ": " + str(item["msg"])
                            if item.get("loc") else str(item["msg"]) for item in data)
        return f"{message}: {details}"
    return message


async def open_local(settings, *, listen: bool = True, api_host: str | None = None,
                     api_port: int | None = None, threaded: bool = True) -> LocalGateway:
    """Open the engine of `settings` as `serve` and `run` do (shard processes unless
    engine.shards = 0) — on its own thread and loop unless `threaded` is false — and, unless
    `listen` is false, its JSON-RPC listener next to it (same loop as the engine).
    A listener that cannot start is reported (describe()["api_problem"]) and the console goes
    on without it."""
    from console.engine_thread import EngineThread

    runner = EngineThread().start() if threaded else None
    try:
        gateway = await (runner.run(_open_here(settings, listen, api_host, api_port)) if runner
                         else _open_here(settings, listen, api_host, api_port))
    except BaseException:
        if runner is not None:
            runner.stop()
        raise
    gateway.runner = runner
    return gateway


async def _open_here(settings, listen: bool, api_host: str | None, api_port: int | None) -> LocalGateway:
    from engine.open import open_engine

    engine = await open_engine(settings)
    gateway = LocalGateway(engine, owns_engine=True)
    if listen:
        try:
            from rpcapi.server import ApiServer

            server = ApiServer(engine, settings.api, settings.data_dir, host=api_host, port=api_port)
            await server.start()
            gateway.server = server
            log.info("JSON-RPC API listening on %s", server.url)
        except Exception as exc:  # noqa: BLE001 - the console works without its listener
            gateway.server_problem = f"{type(exc).__name__}: {exc}"
            log.warning("JSON-RPC API listener not started: %s", gateway.server_problem)
    return gateway


async def open_remote(url: str, api_key: str | None = None) -> RemoteGateway:
    """Attach to `url`; fails fast (GatewayError) when it is unreachable or refuses the key."""
    from rpcapi.client import RpcClient

    client = RpcClient(url, api_key)
    gateway = RemoteGateway(client)
    try:
        await gateway.snapshot(feed_limit=1)
    except GatewayError:
        await client.close()
        raise
    return gateway
