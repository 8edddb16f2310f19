"""A crash (kill -9) mid-run, with refills happening: the engine comes back to a ledger and books that
agree — the statistics are what the chain shows, the ledger audit passes, the interrupted sessions
are closed as "crash" — and the engine's totals survive restarts."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from engine.chain.snapshot import read_snapshot
from engine.config import Settings
from engine.sharding.coordinator import Coordinator
from tests.integration.conftest import engine_settings

SCENARIO = """
[run]
seed = 11
[run.engine]
pacing_min_ms = 0
pacing_max_ms = 0
shards = 0
stats_flush_interval_s = 0.2
boundary_amount_share = 0
deposit_max_fraction = 0.9
refill_threshold_fraction = 0.5

[[pools]]
name = "six_six"
token_a_decimals = 6
token_b_decimals = 6
ratio_whole_number = 2
ratio_direction = "a_to_b"
  [[pools.deposit]]
  token_type = "A"
  initial_amount = 50_000_000
  auto_refill = true
  [[pools.deposit]]
  token_type = "B"
  initial_amount = 50_000_000
  auto_refill = true
  [[pools.withdrawal]]
  token_type = "A"
  [[pools.withdrawal]]
  token_type = "B"
"""


def _checkpoints(snapshot: Path) -> int:
    """Operations the books of the snapshot count (0 while there is none)."""
    try:
        header, _ = read_snapshot(snapshot)
    except Exception:  # noqa: BLE001 - being written; look again
        return 0
    totals = (header.get("books") or {}).get("engine_state", {}).get("totals") or {}
    return sum(sum(by_verdict.values()) for by_verdict in totals.get("operations", {}).values())


def _kill_mid_run(tmp_path: Path) -> Path:
    scenario = tmp_path / "crash.toml"
    scenario.write_text(SCENARIO)
    data = tmp_path / "data"
    config = tmp_path / "config.toml"
    config.write_text("")
    env = {**os.environ, "FRT_STRESS_CONFIG": str(config)}
    run = subprocess.Popen([sys.executable, "-c", "import sys; from console.cli import main; sys.exit(main())",
                            "run", str(scenario), "--duration", "60", "--data-dir", str(data), "--quiet"],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    snapshot = data / "shards" / "0" / "ledger.snapshot"
    deadline = time.monotonic() + 60
    try:
        while _checkpoints(snapshot) < 300:  # several checkpoints in: refills and sharing have happened
            assert run.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
            time.sleep(0.05)
        time.sleep(0.3)  # kill it between two checkpoints, with operations in flight
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()
    assert (data / "shards" / "0" / "engine.running").exists()  # it did not close
    return data


def _settings(data: Path) -> Settings:
    return engine_settings(data, seed=11, resume_running_threads=False, pacing_min_ms=0, pacing_max_ms=0)


async def test_after_kill_9_the_books_are_what_the_chain_shows_and_the_audit_passes(tmp_path):
    data = _kill_mid_run(tmp_path)
    engine = await Coordinator.open(_settings(data))
    try:
        assert any("did not close" in note for note in engine.notes)
        audit = await engine.ledger_audit()
        assert audit["passed"], json.dumps(audit, indent=1)
        local = engine.local
        (pool,) = local.pools.values()
        state = await local.client.pool_state(pool.addresses.pool_state)
        supplies = {side: (await local.client.mint_info(pool.lp_mint(side))).supply for side in "AB"}
        threads = list(local.threads.values())
        refills = sum(thread.stats.times_refilled for thread in threads)
        assert refills > 0  # the books include refills, and the audit agrees with them
        for side, liquidity in (("A", state.total_token_a_liquidity), ("B", state.total_token_b_liquidity)):
            deposits = [t.stats for t in threads if t.thread_type == "deposit" and t.token_type == side]
            withdrawals = [t.stats for t in threads if t.thread_type == "withdrawal" and t.token_type == side]
            assert liquidity == sum(s.tokens_deposited for s in deposits) - sum(s.tokens_withdrawn for s in withdrawals)
            assert supplies[side] == (sum(s.lp_tokens_received for s in deposits)
                                      - sum(s.lp_tokens_used for s in withdrawals))
        totals = (await engine.get_engine_status())["totals"]
        assert totals["successful_operations"] == sum(t.stats.successful_operations for t in threads) > 0
        sessions = [json.loads(path.read_text()) for path in (data / "shards" / "0" / "sessions").glob("*/*.json")]
        assert sum(1 for session in sessions if json.dumps(session).count('"crash"')) == len(threads)
    finally:
        await engine.close()
    assert not (data / "shards" / "0" / "engine.running").exists()


async def test_the_engine_totals_survive_a_restart(open_engine, tmp_path):
    engine = await open_engine(tmp_path / "data")
    pool_id = (await engine.create_pool(token_a_decimals=6, token_b_decimals=6, ratio_whole_number=2,
                                        ratio_direction="a_to_b"))["pool_id"]
    depositor = (await engine.create_deposit_thread(pool_id, "A", 10**9))["thread_id"]
    for _ in range(7):
        await engine.run_cycle(depositor)
    before = (await engine.get_engine_status())["totals"]
    await engine.close()
    again = await open_engine(tmp_path / "data")
    after = (await again.get_engine_status())["totals"]
    assert after["total_operations"] == before["total_operations"] == 7
    assert after["successful_operations"] == before["successful_operations"]
    assert after["operations_per_minute"] == 0  # the rate is of now, not of the last run
