"""The console against a real engine on the embedded chain: seeded (deterministic mints and
wallets), a fixed core wallet keypair (a stable core address), one-cycle pacing (a started
thread runs one cycle, then sleeps for an hour), a fixed CPU sampler and no cursor blink. The
engine is in-process (shards = 0) unless a test asks for shard processes."""
from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from solders.keypair import Keypair

from console.app import ConsoleApp
from console.gateway import LocalGateway
from engine.config import Settings
from engine.sharding.coordinator import Coordinator

ONE_CYCLE_PACING = {"pacing_min_ms": 3_600_000, "pacing_max_ms": 3_600_000}
FIXED_RESOURCES = {"cpu_percent_per_core": [12.0, 57.0], "memory_rss_bytes": 256 * 2**20, "memory_percent": 41.0}
X = 10**9  # one whole token of a 9-decimal mint
SIZE = (120, 40)


def fixed_resources() -> dict:
    return dict(FIXED_RESOURCES)


def write_core_keypair(path: Path) -> Path:
    keypair = Keypair.from_seed(bytes(range(32)))
    path.write_text(json.dumps(list(bytes(keypair))))
    return path


def console_settings(root: Path, **engine) -> Settings:
    root.mkdir(parents=True, exist_ok=True)
    keypair = write_core_keypair(root / "core-wallet.json")
    return Settings.model_validate({
        "data_dir": str(root / "data"),
        "wallet": {"core_keypair": str(keypair)},
        "embedded": {"persist": False},
        "engine": {"seed": 7, "thread_initial_lamports": 5_000_000_000, "sol_monitor_interval_s": 3600,
                   "shards": 0, **ONE_CYCLE_PACING, **engine},
    })


async def open_test_engine(root: Path, **engine) -> Coordinator:
    return await Coordinator.open(console_settings(root, **engine))


async def build_pool(engine: Coordinator) -> dict:
    """One 9/6 "1 A = 160 B" pool with a deposit (A), a withdrawal (A) and a swap (a_to_b) thread."""
    pool_id = (await engine.create_pool(token_a_decimals=9, token_b_decimals=6, ratio_whole_number=160,
                                        ratio_direction="a_to_b"))["pool_id"]
    deposit = (await engine.create_deposit_thread(pool_id, "A", 1_000 * X))["thread_id"]
    withdrawal = (await engine.create_withdrawal_thread(pool_id, "A"))["thread_id"]
    swap = (await engine.create_swap_thread(pool_id, "a_to_b", 100 * X))["thread_id"]
    return {"pool_id": pool_id, "deposit": deposit, "withdrawal": withdrawal, "swap": swap}


def make_console(gateway_or_connect, state_dir: Path, **options) -> ConsoleApp:
    options.setdefault("cpu_sampler", fixed_resources)
    options.setdefault("cursor_blink", False)
    return ConsoleApp(gateway_or_connect, state_dir=state_dir, **options)


async def refreshed(app: ConsoleApp, pilot=None) -> None:
    """Fetch and apply a snapshot now (ignoring the 4 Hz cap), then let the screen settle."""
    await asyncio.wait_for(app.wait_connected(), 30)  # an app that could not connect has exited
    await app.refresher.wait_idle()
    app.refresher._last_start = -1e9
    app.refresher.request()
    await app.refresher.wait_idle()
    if pilot is not None:
        await pilot.pause()


async def until(predicate, timeout: float = 10.0, step: float = 0.02) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(step)


async def fill(pilot, form, **values) -> None:
    """Set a form's fields as if typed, then let it revalidate."""
    for name, value in values.items():
        form.set_value(name, value)
    await pilot.pause()


@pytest.fixture
async def engine(tmp_path, monkeypatch):
    monkeypatch.delenv("FRT_STRESS_PASSPHRASE", raising=False)
    instance = await open_test_engine(tmp_path / "engine")
    yield instance
    await instance.close()


@pytest.fixture
async def setup(engine):
    return await build_pool(engine)


@pytest.fixture
def console(engine, tmp_path):
    """ConsoleApp(**options) around the engine fixture (no API listener; the fixture closes the
    engine)."""
    def factory(**options) -> ConsoleApp:
        return make_console(LocalGateway(engine, owns_engine=False), tmp_path / "state", **options)

    return factory


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z?$")
FROZEN_TIME = "2025-01-01T12:00:00.000000Z"
_VOLATILE_NUMBERS = {"uptime_seconds", "session_seconds", "duration_seconds", "time_since_last_success_seconds",
                     "operations_per_minute", "ops_per_minute", "last_operation_duration_ms", "mean_ms", "p50_ms",
                     "p95_ms", "p99_ms", "max_ms"}


def freeze(value, key: str = ""):
    """Replace wall-clock values (timestamps, uptimes, rates, latencies, signatures, session file
    names) with constants, so that screenshots do not depend on when the test ran."""
    if isinstance(value, dict):
        return {k: freeze(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [freeze(item, key) for item in value]
    if isinstance(value, str):
        if _ISO.match(value):
            return FROZEN_TIME
        if "signature" in key:
            return "5igNaTuReFrOzEn"
        if key in ("session_file", "finding_file"):
            return re.sub(r"\d{8}[-_T]?\d{6}", "20250101-120000", value)
        return value
    if key in _VOLATILE_NUMBERS and isinstance(value, (int, float)) and not isinstance(value, bool):
        return 0
    return value


class FrozenGateway:
    """A LocalGateway whose reads are frozen (see freeze)."""

    def __init__(self, inner: LocalGateway) -> None:
        self.inner = inner
        self.kind = inner.kind

    def describe(self) -> dict:
        return self.inner.describe()

    def __getattr__(self, name):
        attribute = getattr(self.inner, name)
        if name.startswith(("get_", "snapshot")):
            async def frozen(*args, **kwargs):
                return freeze(await attribute(*args, **kwargs))
            return frozen
        return attribute


async def populate(engine: Coordinator) -> dict:
    """A small, deterministic scene: two pools; a deposit that ran twice, a swap that failed
    (expected: the pool has no liquidity yet), a waiting withdrawal; a fabricated finding."""
    ids = await build_pool(engine)
    other = (await engine.create_pool(token_a_decimals=0, token_b_decimals=0, ratio_whole_number=3,
                                      ratio_direction="b_to_a"))["pool_id"]
    ids["other_pool"] = other
    ids["other_deposit"] = (await engine.create_deposit_thread(other, "B", 5_000))["thread_id"]
    await engine.run_cycle(ids["swap"])
    await engine.run_cycle(ids["withdrawal"])
    await engine.run_cycle(ids["deposit"])
    await engine.run_cycle(ids["deposit"])
    await engine.run_cycle(ids["other_deposit"])
    fabricate_finding(engine, ids["deposit"], ids["pool_id"])
    return ids


async def populate_every_state(engine: Coordinator) -> dict:
    """populate's scene with a thread in each state and a pool that swaps both ways: the deposit
    runs (waiting out its hour-long pause), the withdrawal was started and stopped, the
    new B→A swap was never started, the other pool's deposit is in error."""
    from engine.threads import ERROR, set_status

    ids = await populate(engine)
    ids["swap_back"] = (await engine.create_swap_thread(ids["pool_id"], "b_to_a", 5_000 * 10**6))["thread_id"]
    await engine.run_cycle(ids["swap_back"])
    local = engine.local
    await engine.start_thread(ids["withdrawal"])
    await engine.stop_thread(ids["withdrawal"])
    await engine.start_thread(ids["deposit"])  # its first turn comes after an hour-long pause
    broken = local.threads[ids["other_deposit"]]
    set_status(broken, ERROR, evidence={"error": "UninitializedAccount", "detail": "fabricated for the picture"})
    return ids


def fabricate_finding(coordinator: Coordinator, thread_id: str, pool_id: str) -> None:
    """A finding as the engine records one (the FRT emulator produces none on its own)."""
    engine = coordinator.local
    engine.store.write_finding("lp_mismatch", {
        "kind": "lp_mismatch", "detail": "LP minted 1 more than the model predicts",
        "detected_at": FROZEN_TIME, "thread_id": thread_id, "pool_id": pool_id, "operation": "deposit",
        "token_type": "A", "amount": 1000, "prediction": {"output": 1000}, "actual_output": 1001,
        "transaction": {"signature": "5igNaTuReFrOzEn", "ok": True, "fee": 5000, "compute_units": 249000,
                        "error": None, "logs": ["Program log: deposit 1000", "Program log: minted 1001 LP"]},
        "before": {}, "after": {}})
    engine.totals.record_finding("lp_mismatch")
    engine.feed.add("finding", "lp_mismatch", "deposit 1000: LP minted 1 more than the model predicts",
                    FROZEN_TIME, thread_id=thread_id, pool_id=pool_id)
