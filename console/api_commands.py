"""`frt-stress serve` (the engine with its JSON-RPC API, headless) and `frt-stress rpc` (a
command-line client of that API).

    frt-stress serve [--host H] [--port P]
    frt-stress rpc METHOD [key=value ...] [--url URL] [--api-key KEY]
    frt-stress rpc --list

`serve` exits 0 after SIGINT/SIGTERM (every thread stopped, sessions written, state flushed),
2 when it cannot start. `rpc` prints the JSON result and exits 0, or prints the JSON-RPC
error on stderr and exits 1; 2 when the server cannot be reached.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import ssl
import sys
from typing import Any

from engine.config import load_config

EXIT_OK, EXIT_RPC_ERROR, EXIT_CANNOT_RUN = 0, 1, 2


# --------------------------------------------------------------------------- serve

def cmd_serve(args: argparse.Namespace) -> int:
    settings = load_config(args.config).settings
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    return asyncio.run(serve(settings, args.host, args.port))


async def serve(settings, host: str | None = None, port: int | None = None, *,
                stop_event: asyncio.Event | None = None) -> int:
    """Open the engine, serve the API until SIGINT/SIGTERM (or `stop_event`), then stop every
    thread (writing their sessions), flush the state and return 0."""
    from engine.chain.base import ChainError
    from engine.exceptions import EngineError
    from engine.open import open_engine
    from rpcapi.auth import ApiConfigError
    from rpcapi.server import ApiServer, check_listen, with_listen
    from rpcapi.stop_signals import stop_on_signals

    try:
        api_config = with_listen(settings.api, host, port)
        check_listen(api_config)  # before the engine opens: refuse fast
    except (ApiConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    # Signals are ours from before the engine opens until it has closed: a SIGTERM while shards
    # start must still end with every shard stopped in order, not kill this process mid-way.
    with stop_on_signals(stop_event or asyncio.Event()) as stop:
        try:
            engine = await open_engine(settings)
        except (ChainError, EngineError, OSError, ValueError) as exc:
            print(f"error: cannot open the engine: {exc}", file=sys.stderr)
            return EXIT_CANNOT_RUN
        server = None
        try:
            if stop.is_set():
                print("error: interrupted while the engine opened", file=sys.stderr)
                return EXIT_CANNOT_RUN
            try:
                server = ApiServer(engine, api_config, settings.data_dir)
                await server.start()
            except ApiConfigError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return EXIT_CANNOT_RUN
            status = await engine.get_engine_status()
            print(f"frt-stress API listening on {server.url}"
                  f"{' (API key required)' if api_config.api_key else ''}", flush=True)
            print(f"chain: {status['cluster']['mode']} - {status['cluster']['description']}")
            print(f"program: {status['program_id']}")
            print(f"core wallet: {status['core_wallet']}")
            overview = engine.overview()
            print(f"data dir: {settings.data_dir}; {overview['pools']} pools, {overview['threads']} threads")
            for line in [*engine.notes, *engine.problems]:
                print(f"  {line}")
            print("SIGINT or SIGTERM stops every thread, writes their sessions and exits.", flush=True)
            await stop.wait()
            print("stopping: threads, sessions, state ...", file=sys.stderr, flush=True)
        finally:
            if server is not None:
                await server.stop()
            await engine.close()
    print("stopped", file=sys.stderr, flush=True)
    return EXIT_OK


# --------------------------------------------------------------------------- rpc

def parse_params(items: list[str]) -> dict | list | None:
    """`key=value` items as by-name params, bare values as by-position params. A value is JSON
    when it parses as JSON (`1000` is an int, `true` a bool, `null` null), otherwise a string."""
    named: dict[str, Any] = {}
    positional: list[Any] = []
    for item in items:
        key, sep, value = item.partition("=")
        if sep and key.isidentifier():
            named[key] = _value(value)
        else:
            positional.append(_value(item))
    if named and positional:
        raise ValueError("give params either all as key=value or all by position")
    return named or positional or None


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def default_url(settings) -> str:
    host = settings.api.host
    if host in ("0.0.0.0", "", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    scheme = "https" if settings.api.tls_cert else "http"
    return f"{scheme}://{host}:{settings.api.port}/rpc"


def cmd_rpc(args: argparse.Namespace) -> int:
    settings = load_config(args.config).settings
    url = args.url or default_url(settings)
    api_key = args.api_key or settings.api.api_key
    if not args.list and not args.method:
        print("error: give a METHOD (or --list)", file=sys.stderr)
        return EXIT_CANNOT_RUN
    try:
        params = parse_params(args.params)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    context = ssl.create_default_context(cafile=args.cafile) if args.cafile else None
    return asyncio.run(_rpc(url, api_key, "rpc.discover" if args.list else args.method, params, args.list, context))


async def _rpc(url: str, api_key: str | None, method: str, params, listing: bool, context) -> int:
    from rpcapi.client import RpcCallError, RpcClient, RpcTransportError

    async with RpcClient(url, api_key, ssl_context=context) as client:
        try:
            result = await client.call(method, params)
        except RpcCallError as exc:
            error = {"code": exc.code, "message": exc.message}
            if exc.data is not None:
                error["data"] = exc.data
            print(json.dumps({"error": error}, indent=2), file=sys.stderr)
            return EXIT_RPC_ERROR
        except RpcTransportError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_CANNOT_RUN
    if listing:
        methods = result.get("methods", [])
        width = max((len(m["name"]) for m in methods), default=0)
        for entry in methods:
            params_text = ", ".join(p["name"] + ("" if p.get("required") else "?") for p in entry.get("params", []))
            marker = "*" if entry.get("x-state-changing") else " "
            print(f"{marker} {entry['name']:<{width}}  ({params_text})  {entry.get('summary', '')}")
        print("(* changes state; ? optional)")
        return EXIT_OK
    print(json.dumps(result, indent=2))
    return EXIT_OK


# --------------------------------------------------------------------------- registration

def register_api(subparsers) -> None:
    serve_parser = subparsers.add_parser(
        "serve", help="run the engine headless with its JSON-RPC API (until SIGINT/SIGTERM)")
    serve_parser.add_argument("--host", help="address to listen on (default: api.host, 127.0.0.1)")
    serve_parser.add_argument("--port", type=int, help="port to listen on (default: api.port, 8080)")
    serve_parser.set_defaults(func=cmd_serve)

    rpc = subparsers.add_parser("rpc", help="call a method of a running API and print its JSON result")
    rpc.add_argument("method", nargs="?", metavar="METHOD", help="the method, e.g. list_pools")
    rpc.add_argument("params", nargs="*", metavar="key=value",
                     help="params; values are JSON when they parse (1000, true, null), else strings")
    rpc.add_argument("--url", help="the API's /rpc URL (default: from api.host / api.port in the config)")
    rpc.add_argument("--api-key", help="API key (default: api.api_key, or FRT_STRESS_API__API_KEY)")
    rpc.add_argument("--cafile", metavar="PEM", help="trust this CA / self-signed certificate for https")
    rpc.add_argument("--list", action="store_true", help="list the methods (from rpc.discover)")
    rpc.set_defaults(func=cmd_rpc)
