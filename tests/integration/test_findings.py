"""Findings a developer can act on: one group per (kind, rule, pool, operation) with a count and
one full example, no re-reports of an invariant already broken, groups merged across shards, and
the run's --fail-on policy."""
from __future__ import annotations

import json

import pytest
from solders.account import Account

from console.cli import main
from engine import operations
from engine.frt import model
from engine.frt.state import PoolState
from engine.open import open_engine as open_sharded
from engine.store import FINDING_FILES_PER_GROUP, StateStore
from tests.integration.test_run import SMALL, small  # noqa: F401 (fixtures)
from tests.integration.test_sharding import sharded_settings

X = 10**9

pytestmark = pytest.mark.usefixtures("isolated_cli")


async def _depositor(engine, amount: int = 1_000 * X) -> tuple[str, str]:
    pool_id = (await engine.create_pool(token_a_decimals=9, token_b_decimals=6, ratio_whole_number=160,
                                        ratio_direction="a_to_b"))["pool_id"]
    return pool_id, (await engine.create_deposit_thread(pool_id, "A", amount))["thread_id"]


async def test_one_seeded_divergence_repeated_is_one_group_with_its_count_and_one_example(open_engine, monkeypatch,
                                                                                         tmp_path):
    engine = await open_engine(tmp_path / "data")
    pool_id, depositor = await _depositor(engine)
    real_check = model.check_deposit
    monkeypatch.setattr(model, "check_deposit", lambda **kw: real_check(**kw) + 1)  # a wrong oracle
    steps = [await engine.run_cycle(depositor) for _ in range(12)]
    assert all(step["ok"] and step["findings"] == 1 for step in steps)

    findings = await engine.get_findings()
    assert findings["count"] == 12 and findings["stored"] == FINDING_FILES_PER_GROUP
    assert findings["by_kind"] == {"balance_mismatch": 12} and findings["by_severity"] == {"high": 12}
    (group,) = findings["groups"]
    assert {key: group[key] for key in ("kind", "rule", "severity", "as_coded", "pool_id", "operation", "count")} == {
        "kind": "balance_mismatch", "rule": "balances_move_as_predicted", "severity": "high", "as_coded": False,
        "pool_id": pool_id, "operation": "deposit", "count": 12}
    assert group["first_seen"] <= group["last_seen"]
    example = group["example"]  # the first finding, whole: what was sent, predicted and observed
    assert example["transaction"]["signature"] == steps[0]["transaction_signature"]
    assert example["amount"] == steps[0]["amount"] and example["group_id"] == group["id"]
    assert {m["quantity"] for m in example["evidence"]["mismatches"]} == {"lp_a", "lp_supply_a"}
    data = tmp_path / "data" / "shards" / "0" / "findings"
    assert len(list(data.glob("finding_*.json"))) == FINDING_FILES_PER_GROUP  # disk does not grow with repeats
    feed = [entry for entry in (await engine.get_snapshot(feed_limit=50))["feed"] if entry["severity"] == "finding"]
    assert [(entry["title"], entry["count"]) for entry in feed] == [("high · balances_move_as_predicted", 12)]

    await engine.close()  # the groups survive a restart
    again = await open_engine(tmp_path / "data")
    assert (await again.get_findings())["groups"][0]["count"] == 12
    feed = [entry for entry in (await again.get_snapshot(feed_limit=50))["feed"] if entry["severity"] == "finding"]
    assert [(entry["key"], entry["count"]) for entry in feed] == [(f"finding|{group['id']}", 12)]  # its detail opens
    again_pool = again.local.pools[pool_id]
    assert again_pool is not None
    await again.run_cycle(depositor)
    (group,) = (await again.get_findings())["groups"]
    assert group["count"] == 13 and group["stored"] == FINDING_FILES_PER_GROUP


def _inflate_liquidity(engine, pool_id: str) -> None:
    """Raise the pool's tracked liquidity of A by 10^12 behind the program's back: its vault no
    longer backs it."""
    ledger, address = engine.local.cluster.ledger, engine.local.pools[pool_id].addresses.pool_state
    account = ledger.get_account(address)
    state = PoolState.decode(bytes(account.data))
    tampered = PoolState.patch(bytes(account.data), total_token_a_liquidity=state.total_token_a_liquidity + 10**12)
    ledger.set_account(address, Account(account.lamports, tampered, account.owner, False, 0))


async def test_an_invariant_already_broken_before_an_operation_is_not_reported_again(open_engine, monkeypatch):
    engine = await open_engine()
    pool_id, depositor = await _depositor(engine)
    await engine.run_cycle(depositor)
    real_send = operations.send

    async def send_then_break(*args, **kwargs):
        result = await real_send(*args, **kwargs)
        _inflate_liquidity(engine, pool_id)  # as if this operation had done it
        return result

    monkeypatch.setattr(operations, "send", send_then_break)
    assert (await engine.run_cycle(depositor))["findings"] == 2  # it broke here (and moved liquidity unpredicted)
    monkeypatch.setattr(operations, "send", real_send)
    later = [await engine.run_cycle(depositor) for _ in range(5)]
    assert all(step["ok"] and step["findings"] == 0 for step in later)  # still broken, not a new finding
    findings = await engine.get_findings()
    assert findings["count"] == 2 and findings["by_kind"] == {"balance_mismatch": 1, "invariant_violation": 1}
    (group,) = [group for group in findings["groups"] if group["kind"] == "invariant_violation"]
    assert (group["kind"], group["rule"], group["severity"], group["count"]) == (
        "invariant_violation", "vault_backing", "high", 1)
    assert group["example"]["evidence"]["liquidity_a"] > group["example"]["evidence"]["vault_a"]

    _inflate_liquidity(engine, pool_id)  # broken between operations: no operation of ours broke it
    assert (await engine.run_cycle(depositor))["findings"] == 0


def _group(kind: str, rule: str, severity: str, count: int, first: str, last: str) -> dict:
    from engine.findings import group_id

    return {"id": group_id(kind, rule, None, "pause_pool"), "kind": kind, "rule": rule, "severity": severity,
            "as_coded": False, "pool_id": None, "operation": "pause_pool", "count": count, "first_seen": first,
            "last_seen": last, "detail": f"{rule} from {first}", "stored": 0, "example_file": None}


async def test_groups_merge_across_two_shards_by_id(tmp_path):
    shared = ("admin_mismatch", "only_admin_changes_settings", "critical")
    seeded = {0: [_group(*shared, 3, "2026-01-01T00:00:01.000Z", "2026-01-01T00:00:05.000Z"),
                  _group("intent_violation", "fees_reach_the_treasury", "low", 2, "2026-01-01T00:00:02.000Z",
                         "2026-01-01T00:00:02.000Z")],
              1: [_group(*shared, 4, "2026-01-01T00:00:00.500Z", "2026-01-01T00:00:09.000Z")]}
    for shard, groups in seeded.items():  # each shard's data directory holds groups of its own
        StateStore(tmp_path / "shards" / str(shard)).save_json(
            "findings/groups.json", {"groups": {group["id"]: group for group in groups}})
    engine = await open_sharded(sharded_settings(tmp_path, 2))
    try:
        findings = await engine.get_findings()
    finally:
        await engine.close()
    assert findings["count"] == 9
    assert findings["by_severity"] == {"critical": 7, "low": 2}
    assert findings["by_kind"] == {"admin_mismatch": 7, "intent_violation": 2}
    merged, other = findings["groups"]  # newest last_seen first
    assert merged["id"] == _group(*shared, 0, "", "")["id"] and merged["count"] == 7
    assert (merged["first_seen"], merged["last_seen"]) == ("2026-01-01T00:00:00.500Z", "2026-01-01T00:00:09.000Z")
    assert merged["detail"].endswith("00:00:00.500Z")  # the earliest shard's example
    assert other["rule"] == "fees_reach_the_treasury" and other["count"] == 2


def _low_finding_on_every_swap(monkeypatch) -> None:
    """A fee-bookkeeping violation (low) on every swap, as if the pool's fee counters drifted."""
    real = operations.pool_invariants

    def with_drift(before, after):
        found = real(before, after)
        if before is not after and after.pool.state.collected_swap_contract_fees > \
                before.pool.state.collected_swap_contract_fees:
            found.append({"invariant": "fee_bookkeeping", "detail": "seeded drift", "collected": 1, "pending": 0})
        return found

    monkeypatch.setattr(operations, "pool_invariants", with_drift)


@pytest.mark.parametrize("fail_on, exit_code", [(None, 0), ("low", 1)])
def test_fail_on_decides_which_findings_fail_the_run(small, tmp_path, capsys, monkeypatch, fail_on, exit_code):
    monkeypatch.setenv("FRT_STRESS_ENGINE__SHARDS", "0")  # in-process, where the patch applies
    _low_finding_on_every_swap(monkeypatch)
    report_path = tmp_path / "report.json"
    args = ["run", str(small), "--report", str(report_path), "--quiet"] + (["--fail-on", fail_on] if fail_on else [])
    assert main(args) == exit_code
    out = capsys.readouterr().out
    report = json.loads(report_path.read_text())
    findings = report["findings"]
    seeded = [group for group in findings["groups"] if group["severity"] != "info"]  # info: LP of a drained side
    assert findings["fail_on"] == (fail_on or "medium")
    assert findings["by_severity"]["low"] == sum(group["count"] for group in seeded) > 0
    assert len(seeded) <= 4  # a group per pool and swap direction's pool
    for group in seeded:
        assert {"id", "kind", "rule", "severity", "count", "first_seen", "last_seen", "pool_id", "operation",
                "as_coded", "example"} <= set(group)
        assert (group["kind"], group["rule"], group["severity"], group["operation"]) == (
            "invariant_violation", "fee_bookkeeping", "low", "swap")
        assert group["example"]["evidence"] == {"collected": 1, "pending": 0}
    assert sum(group["count"] for group in findings["groups"]) == findings["count"]
    line = next(line for line in out.splitlines() if "fee_bookkeeping" in line)
    assert "low" in line and "swap" in line and f"{seeded[0]['count']:,}" in line
    if exit_code:
        assert "VERDICT: FAIL (exit 1:" in out and "of severity low or worse" in out
        assert report["verdict"]["reasons"][0].endswith("of severity low or worse")
    else:
        assert "VERDICT: PASS (exit 0" in out and report["verdict"]["passed"]


def test_fail_on_refuses_an_unknown_severity(small, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(small), "--fail-on", "severe"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
