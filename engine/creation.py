"""New pools and new threads: what is drawn at random, created on the chain, funded and
registered. Params arrive validated (engine/api/params.py); only what depends on the
engine's state or on a random draw is checked here."""
from __future__ import annotations

from engine import first_views, intent
from engine.exceptions import InvalidRequest
from engine.frt import model
from engine.frt.client import FrtClient
from engine.frt.constants import FLAG_SIMPLE_RATIO
from engine.frt.errors import ProgramError
from engine.frt.state import Mint, PoolState
from engine.kinds import kind_of
from engine.operations import require_ok
from engine.pools import PoolRecord, PoolRuntime, draw_pool_spec
from engine.registry import Registry
from engine.store import utc_now_iso
from engine.threads import ThreadRecord
from engine.treasury import Treasury
from engine.wallet import Wallet

U64_MAX = 2**64 - 1
POOL_SPEC = ("token_a_decimals", "token_b_decimals", "ratio_a_numerator", "ratio_b_denominator", "flags")
POOL_CREATION_LAMPORTS = 1_200_000_000  # the registration fee and the rent of the pool's accounts


async def create_pool(engine, token_a_decimals: int | None = None, token_b_decimals: int | None = None,
                      ratio_whole_number: int | None = None, ratio_direction: str | None = None,
                      flags: int | None = None) -> dict:
    """Two mints and a pool, anything not given drawn at random; registered and saved."""
    record = await new_pool(engine.registry, engine.treasury, engine.client, engine.core, token_a_decimals,
                            token_b_decimals, ratio_whole_number, ratio_direction, flags)
    engine.history.add_pool(record.pool_id, engine.registry.pools[record.pool_id].addresses, header={
        "creator": "core", "token_a_mint": record.token_a_mint, "token_b_mint": record.token_b_mint,
        **{key: getattr(record, key) for key in POOL_SPEC}})
    await check_created_pool(engine, record)
    engine.registry.save_pools()
    engine.save_engine_state()
    await first_views.see_new(engine, engine.registry.pools[record.pool_id])
    return {key: value for key, value in record.summary().items() if key != "created_at"}


async def read_created_pool(engine, pool: PoolRuntime) -> dict:
    """What the chain stored for a new pool, in the terms of a request (intent.check_created_pool)."""
    addresses = pool.addresses
    accounts = await engine.cluster.get_multiple_accounts(
        [addresses.pool_state, addresses.lp_token_a_mint, addresses.lp_token_b_mint])
    state_account, lp_a, lp_b = accounts
    if state_account is None:
        return {}
    state = PoolState.decode(bytes(state_account.data))
    return {"pool_state": str(addresses.pool_state), "token_a_mint": str(state.token_a_mint),
            "token_b_mint": str(state.token_b_mint), "ratio_a": state.ratio_a_numerator,
            "ratio_b": state.ratio_b_denominator, "flags": state.flags & ~FLAG_SIMPLE_RATIO & 0xFF,
            "owner": str(state.owner),
            "lp_a_decimals": Mint.decode(bytes(lp_a.data)).decimals if lp_a is not None else None,
            "lp_b_decimals": Mint.decode(bytes(lp_b.data)).decimals if lp_b is not None else None}


async def check_created_pool(engine, record: PoolRecord) -> list[dict]:
    """created_pool_matches_request: the stored PoolState (ratios, flags, owner = creator, token
    order) and the LP mints' decimals (= their tokens', §13.4) against what was asked; a finding
    (kind creation_mismatch) for any difference, as_coded where the model predicts the same."""
    pool = engine.registry.pools[record.pool_id]
    requested = {"pool_state": record.pool_id, "token_a_mint": record.token_a_mint,
                 "token_b_mint": record.token_b_mint, "ratio_a": record.ratio_a_numerator,
                 "ratio_b": record.ratio_b_denominator, "flags": record.flags, "owner": str(engine.core.pubkey),
                 "lp_a_decimals": record.token_a_decimals, "lp_b_decimals": record.token_b_decimals}
    stored = await read_created_pool(engine, pool)
    try:  # what the code-derived model says InitializePool stores for this request
        coded_flags = model.creation_flags(record.ratio_a_numerator, record.ratio_b_denominator,
                                           record.token_a_decimals, record.token_b_decimals, record.flags)
        coded = requested | {"flags": coded_flags & ~FLAG_SIMPLE_RATIO & 0xFF}
    except ProgramError:
        coded = requested
    findings = intent.check_created_pool(requested, stored | {
        "as_coded": all(stored.get(key) == coded[key] for key in requested if stored.get(key) != requested[key])})
    for finding in findings:
        engine.recorder.record_finding(finding, pool_id=record.pool_id, operation="create_pool",
                                       summary=f"create_pool {record.ratio_display}",
                                       context={"requested": requested, "stored": stored})
    return findings


async def create_thread(engine, thread_type: str, pool_id: str, thread_id: str | None, **config) -> dict:
    """A thread of `thread_type` (stopped) with a funded wallet; registered and saved."""
    thread = await new_thread(engine.registry, engine.treasury, thread_type, engine.registry.pool(pool_id),
                              thread_id, **config)
    engine.save_threads()
    engine.save_engine_state()
    engine.recorder.dirty = True
    await first_views.see_new(engine, thread)
    return {"thread_id": thread.thread_id, "wallet_address": str(thread.wallet.pubkey), "status": thread.status}


async def new_pool(registry: Registry, treasury: Treasury, client: FrtClient, core: Wallet,
                   token_a_decimals: int | None, token_b_decimals: int | None, ratio_whole_number: int | None,
                   ratio_direction: str | None, flags: int | None) -> PoolRecord:
    spec = draw_pool_spec(registry.rng, token_a_decimals, token_b_decimals, ratio_whole_number, ratio_direction,
                          flags)
    ratio_a, ratio_b = spec.ratios
    if ratio_a > U64_MAX or ratio_b > U64_MAX:  # the params model checks this only when nothing is drawn
        raise InvalidRequest("the ratio does not fit in u64 base units with these decimals")
    # Mint addresses decide the contract's token order: generate them first and give the
    # requested token A decimals to the sorted-first mint, so "1 A = N B" holds as asked.
    await treasury.ensure_core_lamports(POOL_CREATION_LAMPORTS)
    first, second = sorted((registry.new_wallet(), registry.new_wallet()), key=lambda w: bytes(w.pubkey))
    for wallet, decimals in ((first, spec.token_a_decimals), (second, spec.token_b_decimals)):
        result, _ = await client.create_mint(core, decimals, wallet)
        require_ok(result, "creating a mint")
    created = await client.create_pool(core, first.pubkey, second.pubkey, ratio_a, ratio_b, spec.flags)
    require_ok(created.result, "InitializePool")
    record = PoolRecord(pool_id=str(created.addresses.pool_state), token_a_mint=str(first.pubkey),
                        token_a_decimals=spec.token_a_decimals, token_b_mint=str(second.pubkey),
                        token_b_decimals=spec.token_b_decimals, ratio_a_numerator=ratio_a,
                        ratio_b_denominator=ratio_b, flags=spec.flags, created_at=utc_now_iso())
    registry.add_pool(record)
    return record


async def new_thread(registry: Registry, treasury: Treasury, thread_type: str, pool: PoolRuntime,
                     thread_id: str | None = None, **config) -> ThreadRecord:
    """Its kind refuses what the existing threads rule out (a second swap thread per direction);
    `thread_id`, given by a shard coordinator, must be free."""
    kind_of(thread_type).check_new(pool.record.pool_id, config, registry.threads.values())
    thread_id = registry.thread_id_for(thread_type, thread_id)
    wallet = registry.new_wallet()
    registry.wallet_names[wallet.pubkey] = thread_id  # its funding is the first line of its history
    thread = ThreadRecord(thread_id=thread_id, thread_type=thread_type, pool_id=pool.record.pool_id,
                          wallet=wallet, seed=registry.thread_seed(thread_id), created_at=utc_now_iso(), **config)
    await treasury.fund_new_thread(pool, thread)
    registry.add_thread(thread)
    return thread
