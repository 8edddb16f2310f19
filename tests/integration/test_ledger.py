"""What the embedded ledger adds around LiteSVM: blockhash window, persistence, simulation."""
from __future__ import annotations

from solders.system_program import TransferParams, transfer

from engine.chain.embedded import EmbeddedCluster
from engine.chain.ledger import MAX_PROCESSING_AGE, EmbeddedLedger
from engine.frt.constants import LOCALNET_PROGRAM_ID
from engine.wallet import Wallet
from engine.sandbox import make_world


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def _transfer(source: Wallet, destination, lamports: int):
    return transfer(TransferParams(from_pubkey=source.pubkey, to_pubkey=destination, lamports=lamports))


async def test_blockhash_is_valid_for_150_blocks_then_expires():
    clock = FakeClock()
    cluster = EmbeddedCluster(EmbeddedLedger(LOCALNET_PROGRAM_ID, wall_clock=clock, slot_time_ms=400))
    payer = Wallet.generate()
    await cluster.airdrop(payer.pubkey, 10**9)
    blockhash, last_valid = await cluster.get_latest_blockhash()
    assert last_valid == cluster.ledger.block_height + MAX_PROCESSING_AGE
    from engine.chain.sender import TransactionSender

    clock.now += 0.4 * MAX_PROCESSING_AGE + 0.01  # the last block it is valid in
    tx = TransactionSender.sign([_transfer(payer, Wallet.generate().pubkey, 10**6)], payer, [], blockhash)
    assert (await cluster.send_transaction(tx)).ok  # still inside the window

    clock.now += 0.4
    tx = TransactionSender.sign([_transfer(payer, Wallet.generate().pubkey, 10**6)], payer, [], blockhash)
    result = await cluster.send_transaction(tx)
    assert (result.error.name, result.error.category) == ("BlockhashNotFound", "transient")
    assert cluster.ledger.unix_timestamp == int(clock.now)


async def test_ledger_survives_a_restart(tmp_path):
    snapshot = tmp_path / "ledger.snapshot"
    world = await make_world(ledger=EmbeddedLedger(LOCALNET_PROGRAM_ID, snapshot_path=snapshot))
    user = await world.user(x=10**10)
    assert (await world.client.deposit(user, world.pool, world.mint_x, 10**9)).ok
    state = await world.pool_state()
    sol = await world.cluster.get_balance(user.pubkey)
    await world.cluster.close()

    reopened = EmbeddedLedger(LOCALNET_PROGRAM_ID, snapshot_path=snapshot)
    assert reopened.restored_accounts > 0
    world.cluster = EmbeddedCluster(reopened)
    world.client.cluster = world.cluster
    world.client.sender.cluster = world.cluster
    world.client.sender._blockhash = None
    assert await world.pool_state() == state
    assert await world.cluster.get_balance(user.pubkey) == sol
    assert await world.balance(user, world.lp(world.mint_x)) == 10**9
    assert (await world.client.withdraw(user, world.pool, world.mint_x, 10**9)).ok


async def test_a_damaged_snapshot_falls_back_to_the_backup(tmp_path):
    snapshot = tmp_path / "ledger.snapshot"
    ledger = EmbeddedLedger(LOCALNET_PROGRAM_ID, snapshot_path=snapshot)
    cluster = EmbeddedCluster(ledger)
    payer = Wallet.generate()
    await cluster.airdrop(payer.pubkey, 123_456_789)
    ledger.save_snapshot()
    ledger.save_snapshot()  # the first save becomes the .backup
    snapshot.write_bytes(b"garbage")

    restored = EmbeddedLedger(LOCALNET_PROGRAM_ID, snapshot_path=snapshot)
    assert restored.get_balance(payer.pubkey) == 123_456_789


async def test_simulation_changes_nothing():
    cluster = EmbeddedCluster(EmbeddedLedger(LOCALNET_PROGRAM_ID))
    payer = Wallet.generate()
    await cluster.airdrop(payer.pubkey, 10**9)
    target = Wallet.generate().pubkey
    blockhash, _ = await cluster.get_latest_blockhash()
    from engine.chain.sender import TransactionSender

    tx = TransactionSender.sign([_transfer(payer, target, 10**6)], payer, [], blockhash)
    simulated = await cluster.simulate_transaction(tx)
    assert simulated.ok and simulated.fee == 5000
    assert await cluster.get_balance(target) == 0
    assert (await cluster.send_transaction(tx)).ok  # the simulated signature was not recorded
    assert await cluster.get_balance(target) == 10**6


async def test_the_sender_never_sends_the_same_transaction_twice_in_one_block():
    """Two identical deposits in one block both run: the second gets a distinct compute limit."""
    world = await make_world()
    user = await world.user(x=10)
    first = await world.client.deposit(user, world.pool, world.mint_x, 1)
    second = await world.client.deposit(user, world.pool, world.mint_x, 1)
    assert first.ok and second.ok and first.signature != second.signature
    assert await world.balance(user, world.lp(world.mint_x)) == 2
