"""A JSON-RPC proxy on loopback that injects network faults with a seeded RNG, in front of a
Solana JSON-RPC endpoint (in tests: `frt-stress localnet`).

Each request, with probability `rate`, meets one fault (drawn from `kinds`):

    reset       the connection is dropped before anything is forwarded
    429         HTTP 429 with "Retry-After: <retry_after>", not forwarded
    429-plain   HTTP 429 without Retry-After, not forwarded
    503         HTTP 503, not forwarded
    slow        forwarded; the answer comes `slow_s` later
    lost        forwarded (a sendTransaction reaches the chain), then the connection is dropped

`blackout = True` makes it stop answering entirely: requests are held, never forwarded, until
the client gives up. Counters tell what happened (`injected`, `seen`, `forwarded`).
"""
from __future__ import annotations

import asyncio
import json
import random
from collections import Counter

import aiohttp
from aiohttp import web

FAULT_KINDS = ("reset", "429", "429-plain", "503", "slow", "lost")


class FaultProxy:
    def __init__(self, upstream: str, *, rate: float = 0.0, seed: int = 0, kinds: tuple[str, ...] = FAULT_KINDS,
                 slow_s: tuple[float, float] = (0.2, 0.6), retry_after: str = "0.2",
                 methods: tuple[str, ...] | None = None) -> None:
        self.upstream = upstream
        self.rate = rate
        self.methods = methods  # faults only for these JSON-RPC methods (None: any)
        self.kinds = kinds
        self.slow_s = slow_s
        self.retry_after = retry_after
        self.rng = random.Random(seed)
        self.blackout = False
        self.injected: Counter[str] = Counter()
        self.seen: Counter[str] = Counter()
        self.forwarded: Counter[str] = Counter()
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    def _draw(self, method: str) -> str | None:
        if self.methods is not None and method not in self.methods:
            return None
        if self.rate <= 0 or self.rng.random() >= self.rate:
            return None
        return self.rng.choice(self.kinds)

    async def _forward(self, body: bytes, method: str) -> bytes:
        assert self._session is not None
        async with self._session.post(self.upstream, data=body, headers={"Content-Type": "application/json"}) as reply:
            text = await reply.read()
        self.forwarded[method] += 1
        return text

    @staticmethod
    def _drop(request: web.Request) -> web.Response:
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)  # never reaches the client: its connection is gone

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        try:
            method = json.loads(body).get("method", "?")
        except (ValueError, AttributeError):
            method = "?"
        self.seen[method] += 1
        if self.blackout:
            self.injected["blackout"] += 1
            await asyncio.sleep(3600)  # until the client hangs up (the server then cancels this)
        fault = self._draw(method)
        if fault is not None:
            self.injected[fault] += 1
        if fault == "reset":
            return self._drop(request)
        if fault == "429":
            return web.Response(status=429, text="Too many requests", headers={"Retry-After": self.retry_after})
        if fault == "429-plain":
            return web.Response(status=429, text="Too many requests")
        if fault == "503":
            return web.Response(status=503, text="Service unavailable")
        answer = await self._forward(body, method)
        if fault == "lost":
            return self._drop(request)
        if fault == "slow":
            await asyncio.sleep(self.rng.uniform(*self.slow_s))
        return web.Response(body=answer, content_type="application/json")

    async def start(self) -> "FaultProxy":
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post("/", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> "FaultProxy":
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()


async def serve_localnet(settings):
    """`frt-stress localnet` in this process for `settings` (its data directory's wallets, the
    program initialised and the core wallet funded, as the command does); returns the server."""
    from engine.bootstrap import bootstrap, load_wallets
    from engine.chain.embedded import EmbeddedCluster
    from rpcapi.solana_localnet import LocalnetServer

    core, created, authority = load_wallets(settings)
    cluster = EmbeddedCluster.from_settings(settings, upgrade_authority=authority.pubkey)
    server = LocalnetServer(cluster.ledger)
    await server.start("127.0.0.1", 0)
    await bootstrap(cluster, settings, core, authority, core_created=created)
    return server
