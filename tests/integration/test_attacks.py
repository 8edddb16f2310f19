"""Attack threads on the embedded chain: every attack of the catalogue has its outcome predicted
by the code-derived model; the admin bypass (CONTRACT.md §13.1) works for a non-admin and is
undone at once; the real ProgramData is refused; an attack thread comes from the API and from a
scenario's [[pools.attack]] entry."""
from __future__ import annotations

import tomllib


from engine.attacks import CATEGORIES, catalogue
from engine.attacks.admin import (
    ConsolidatePoolFees,
    PausePool,
    PauseSystem,
    ProcessAdminChange,
    SetSwapOwnerOnly,
    UpdatePoolFees,
    WithdrawTreasuryFees,
)
from engine.attacks.base import look
from engine.attacks.worker import AttackWorker
from engine.frt.constants import MIN_TREASURY_WITHDRAWAL
from engine.pools import all_pools_locked
from engine.scenario import parse_scenario

X = 10**9  # one whole token A (9 decimals)
Y = 10**6  # one whole token B (6 decimals)
BAD_KINDS = {"prediction_mismatch", "balance_mismatch", "invariant_violation", "attack_undo_failed"}


async def _setup(engine, *, exact_pool: bool = False):
    """A pool with liquidity on both sides and a swap thread (the victim), and an attack thread."""
    spec = {"token_a_decimals": 9, "token_b_decimals": 6, "ratio_whole_number": 160, "ratio_direction": "a_to_b"}
    pool_id = (await engine.create_pool(**spec))["pool_id"]
    other = (await engine.create_pool(token_a_decimals=0, token_b_decimals=0, ratio_whole_number=3,
                                      ratio_direction="a_to_b", flags=64 if exact_pool else 0))["pool_id"]
    for token, amount in (("A", 1_000 * X), ("B", 160_000 * Y)):
        thread_id = (await engine.create_deposit_thread(pool_id, token, amount))["thread_id"]
        await engine.run_cycle(thread_id)
    await engine.create_swap_thread(pool_id, "a_to_b", 10 * X)
    attack_id = (await engine.create_attack_thread(pool_id, 100 * X))["thread_id"]
    return pool_id, other, attack_id


def _worker(engine, thread_id) -> AttackWorker:
    local = engine.local
    thread = local.threads[thread_id]
    return AttackWorker(local, thread, local.pools[thread.pool_id])


async def _run(worker: AttackWorker, attack):
    guard = all_pools_locked(worker.host.pools.values()) if attack.scope == "system" else worker.pool.lock
    async with guard:
        return await worker.attack(attack)


async def _findings(engine) -> list[dict]:
    return (await engine.get_findings(limit=10_000))["findings"]


async def test_every_attack_of_the_catalogue_is_predicted_and_leaves_the_pool_as_it_was(open_engine):
    engine = await open_engine()
    pool_id, _, attack_id = await _setup(engine)
    local = engine.local
    pool = local.pools[pool_id]
    before = await local.client.pool_state(pool.addresses.pool_state)
    names = {attack.name for attack in catalogue()}
    for _ in range(len(names) + 5):
        await engine.run_cycle(attack_id)
    log = local.threads[attack_id].__dict__["attack_log"]["by_attack"]
    ran = {name for name in log if not name.startswith("undo:")}
    assert names - ran <= {"swap_A[off_step]", "swap_B[off_step]"}  # not an exact-exchange pool: waits
    # treasury withdrawals come first in a round (an UnpauseSystem blocks them for 72 h): the real
    # ProgramData refuses the non-admin, the first bypass to run pays, the hourly window then refuses
    # the other, as predicted
    paid = [log[f"withdraw_treasury_fees[{v}]"].get("ok", 0) for v in ("real", "own_wallet", "system_program")]
    assert paid[0] == 0 and sum(paid) == 1
    assert not [f for f in await _findings(engine) if f["kind"] in BAD_KINDS]
    status = await engine.get_thread_status(attack_id)
    assert status["statistics"]["operation_counts"]["unexpected_failures"] == 0
    assert status["attack_specific"]["attack_stats"]["catalogue_size"] == len(names)
    assert status["status"] != "error"
    row = next(row for row in (await engine.get_snapshot())["threads"] if row["thread_id"] == attack_id)
    assert row["balances"] is not None  # the live view shows what the attacker holds
    after = await local.client.pool_state(pool.addresses.pool_state)
    assert (after.flags, after.contract_liquidity_fee, after.swap_contract_fee, after.owner) == \
        (before.flags, before.contract_liquidity_fee, before.swap_contract_fee, before.owner)
    scene = await look(_worker(engine, attack_id).ctx)
    assert not scene.system_paused and scene.system.admin_authority == local.core.pubkey
    # the ordinary threads still trade after the attacks
    step = await engine.run_cycle("swap_1")
    assert step["ok"] and step["findings"] == 0


async def test_exact_pool_boundary_and_substitution_attacks_are_predicted(open_engine):
    engine = await open_engine()
    _, other, _ = await _setup(engine, exact_pool=True)
    await engine.create_deposit_thread(other, "B", 3_000)
    await engine.run_cycle("deposit_3")
    attack_id = (await engine.create_attack_thread(other, 10_000, ["boundary", "substitution"]))["thread_id"]
    count = len(catalogue(["boundary", "substitution"]))
    for _ in range(count):
        await engine.run_cycle(attack_id)
    log = engine.local.threads[attack_id].__dict__["attack_log"]["by_attack"]
    assert log["swap_B[off_step]"] == {"expected": 1}  # 1047: 1 A = 3 B, so B comes in steps of 3
    assert not set(log) & {attack.name for attack in catalogue(["admin"])}
    assert not [f for f in await _findings(engine) if f["kind"] in BAD_KINDS]


async def test_non_admin_pause_fee_change_and_owner_take_over_succeed_through_the_bypass_and_are_undone(open_engine):
    engine = await open_engine()
    pool_id, _, attack_id = await _setup(engine)
    worker = _worker(engine, attack_id)
    state = lambda: engine.local.client.pool_state(engine.local.pools[pool_id].addresses.pool_state)  # noqa: E731
    before = await state()
    for attack in (PausePool("own_wallet"), UpdatePoolFees("system_program"), SetSwapOwnerOnly("own_wallet"),
                   PauseSystem("system_program"), ProcessAdminChange("own_wallet"), ConsolidatePoolFees("own_wallet")):
        outcome = await _run(worker, attack)
        assert outcome.ok and outcome.verdict == "ok" and outcome.prediction.succeeds, attack.name
    log = worker.thread.__dict__["attack_log"]["by_attack"]
    for undo in ("undo:unpause_pool[own_wallet]", "undo:update_pool_fees[system_program]",
                 "undo:unpause_system[system_program]",
                 "undo:process_admin_change[own_wallet]"):
        assert log[undo] == {"ok": 1}, undo
    assert log["undo:set_swap_owner_only[own_wallet]"] == {"ok": 2}  # owner back, then the flag cleared
    after = await state()
    assert (after.flags, after.contract_liquidity_fee, after.swap_contract_fee, after.owner) == \
        (before.flags, before.contract_liquidity_fee, before.swap_contract_fee, before.owner)
    scene = await look(worker.ctx)
    assert not scene.system_paused and scene.system.pending_admin_authority == engine.local.core.pubkey
    findings = await _findings(engine)
    assert not [f for f in findings if f["kind"] in BAD_KINDS]
    # the intent oracle's verdict on each executed bypass is recorded (its rules are engine/intent.py's)
    import engine.intent as intent_module
    if intent_module.check.__code__.co_code != (lambda action: []).__code__.co_code:
        assert any(f["kind"] == "intent_violation" and f.get("operation") == "pause_pool" for f in findings)


async def test_non_admin_treasury_withdrawal_pays_the_attacker(open_engine):
    engine = await open_engine()
    _, _, attack_id = await _setup(engine)
    worker = _worker(engine, attack_id)
    before = await look(worker.ctx)
    outcome = await _run(worker, WithdrawTreasuryFees("system_program"))
    assert outcome.ok and outcome.verdict == "ok"
    after = await look(worker.ctx)
    assert before.treasury_lamports - after.treasury_lamports == MIN_TREASURY_WITHDRAWAL
    assert after.view.wallet.sol - before.view.wallet.sol == MIN_TREASURY_WITHDRAWAL - outcome.result.fee
    # the hourly window is now closed: a second one is refused, as predicted
    again = await _run(worker, WithdrawTreasuryFees("own_wallet"))
    assert not again.ok and again.verdict == "expected" and again.error_name == "InvalidInstructionData"
    assert not [f for f in await _findings(engine) if f["kind"] in BAD_KINDS]


async def test_the_real_program_data_refuses_the_non_admin(open_engine):
    engine = await open_engine()
    pool_id, _, attack_id = await _setup(engine)  # the embedded chain has its ProgramData, as deployed
    worker = _worker(engine, attack_id)
    for attack in (PausePool("real"), UpdatePoolFees("real"), SetSwapOwnerOnly("real"), PauseSystem("real"),
                   WithdrawTreasuryFees("real"), ConsolidatePoolFees("real"), ProcessAdminChange("real")):
        outcome = await _run(worker, attack)
        assert not outcome.ok and outcome.verdict == "expected", attack.name
        assert outcome.error_name == "InvalidAccountData", attack.name
    # the bypass still passes with the loader-owned ProgramData present
    assert (await _run(worker, PausePool("system_program"))).ok
    assert not [f for f in await _findings(engine) if f["kind"] in BAD_KINDS]


async def test_attack_thread_from_the_api_and_from_a_scenario_entry(open_engine):
    engine = await open_engine()
    pool_id = (await engine.create_pool(token_a_decimals=6, token_b_decimals=6, ratio_whole_number=2,
                                        ratio_direction="a_to_b"))["pool_id"]
    created = await engine.call("create_attack_thread", {"pool_id": pool_id, "initial_amount": 1_000,
                                                         "categories": ["admin"]})
    assert created["thread_id"] == "attack_1" and created["status"] == "created"
    status = await engine.get_thread_status("attack_1")
    assert status["type"] == "attack"
    assert status["balances"]["token_a"] == 750 and status["balances"]["token_b"] == 750  # a quarter deposited
    assert status["balances"]["lp_token_a"] == 250 and status["balances"]["lp_token_b"] == 250
    assert status["attack_specific"]["attack_stats"]["categories"] == ["admin"]
    step = await engine.run_cycle("attack_1")
    assert step["operation"] in {attack.action for attack in catalogue(["admin"])}
    scenario = parse_scenario(tomllib.loads("""
[[pools]]
name = "p"
token_a_decimals = 0
token_b_decimals = 0
ratio_whole_number = 3
ratio_direction = "a_to_b"
  [[pools.attack]]
  initial_amount = 10
  categories = ["boundary"]
  count = 2
"""))
    entry = scenario.pools[0].attack[0]
    assert (entry.initial_amount, entry.categories, entry.count) == (10, ["boundary"], 2)
    assert set(CATEGORIES) == {"admin", "boundary", "substitution", "blocking", "outside"}


async def test_outside_manipulation_is_predicted_and_only_ever_adds_surplus(open_engine):
    engine = await open_engine()
    pool_id, _, attack_id = await _setup(engine)
    worker = _worker(engine, attack_id)
    pool = engine.local.pools[pool_id]
    from engine.attacks.outside import BurnOwnLp, SolIntoPool, TokensIntoVault

    before = await look(worker.ctx)
    for attack in (TokensIntoVault("A", 5), BurnOwnLp("B", 3), SolIntoPool(1_000)):
        outcome = await _run(worker, attack)
        assert outcome.ok and outcome.verdict == "ok", attack.name
    after = await look(worker.ctx)
    assert after.view.pool.vault_a - before.view.pool.vault_a == 5
    assert after.pool.total_token_a_liquidity == before.pool.total_token_a_liquidity  # untracked (§13.7)
    assert before.view.pool.lp_supply_b - after.view.pool.lp_supply_b == 3
    assert after.view.pool.lamports - before.view.pool.lamports == 1_000
    assert engine.local.treasury.burned[str(pool.lp_mint("B"))] == 3
    assert not [f for f in await _findings(engine) if f["kind"] in BAD_KINDS]
    # swaps price without the surplus: the ordinary swap thread's next swap is predicted exactly
    step = await engine.run_cycle("swap_1")
    assert step["ok"] and step["findings"] == 0
    audit = await engine.local.ledger_audit()
    assert [entry["detail"] for entry in audit["pools"] if not entry["passed"]] == \
        [f"vault A {after.view.pool.vault_a + step['amount']} != tracked liquidity "
         f"{after.pool.total_token_a_liquidity + step['amount']}"]
    assert all(entry["passed"] for entry in audit["mints"])  # the burned LP is accounted for


async def test_findings_of_an_ordinary_shaped_attack_are_recorded_as_run_verified_made_them(open_engine, monkeypatch):
    engine = await open_engine()
    _, _, attack_id = await _setup(engine)
    worker = _worker(engine, attack_id)
    import engine.attacks.worker as worker_module
    from engine.attacks.boundary import BoundaryAttack
    from engine.findings import make_finding

    real = worker_module.run_verified

    async def with_findings(*args, **kwargs):
        outcome = await real(*args, **kwargs)
        outcome.findings = [make_finding("balance_mismatch", "balances_move_as_predicted", "high", "made up"),
                            {"kind": "prediction_mismatch", "detail": "an older detector's shape"}]
        return outcome

    monkeypatch.setattr(worker_module, "run_verified", with_findings)
    outcome = await _run(worker, BoundaryAttack("deposit", "A", "one"))
    assert outcome.ok and [f["rule"] for f in outcome.findings][:2] == ["balances_move_as_predicted",
                                                                         "prediction_mismatch"]
    kinds = [f["kind"] for f in await _findings(engine)]
    assert kinds.count("balance_mismatch") == 1 and kinds.count("prediction_mismatch") == 1


async def test_an_attack_threads_categories_survive_a_restart(open_engine, tmp_path):
    data_dir = tmp_path / "shared"
    engine = await open_engine(data_dir)
    pool_id = (await engine.create_pool(token_a_decimals=6, token_b_decimals=6, ratio_whole_number=2,
                                        ratio_direction="a_to_b"))["pool_id"]
    attack_id = (await engine.create_attack_thread(pool_id, 1_000, ["substitution"]))["thread_id"]
    await engine.close()
    reopened = await open_engine(data_dir)
    from engine.attacks import categories_of

    local = reopened.local
    assert categories_of(local, local.threads[attack_id]) == ["substitution"]
    for _ in range(4):
        await reopened.run_cycle(attack_id)
    ran = set(local.threads[attack_id].__dict__["attack_log"]["by_attack"])
    assert ran and ran <= {attack.name for attack in catalogue(["substitution"])}


async def test_pre_funding_a_future_pools_address_blocks_its_creation(open_engine):
    from engine.attacks.blocking import PrefundFuturePool

    engine = await open_engine()
    pool_id, _, attack_id = await _setup(engine)
    worker = _worker(engine, attack_id)
    outcome = await _run(worker, PrefundFuturePool())
    # CONTRACT.md §13.2: create_account refuses an address that holds lamports (System Custom(0))
    assert not outcome.ok and outcome.verdict == "expected" and outcome.error_name == "SystemAccountAlreadyInUse"
    findings = await _findings(engine)
    assert not [f for f in findings if f["kind"] in BAD_KINDS]  # predicted by the model
    blocked = [f for f in findings if f.get("rule") == "third_party_cannot_block_others"]
    assert len(blocked) == 1 and blocked[0]["severity"] == "medium" and blocked[0]["as_coded"]
    assert blocked[0]["evidence"]["signer"] == str(engine.local.core.pubkey)  # the victim's creation was blocked
    # the transaction was atomic: the future pool's address holds nothing afterwards
    future = PrefundFuturePool()._future(worker.ctx)
    assert (await engine.local.cluster.get_multiple_accounts([future.pool_state]))[0] is None
