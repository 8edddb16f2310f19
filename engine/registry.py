"""What the engine knows and keeps: pools, threads, their ids and wallets, and the files that
hold them (pools.json, threads.json, statistics.json, the engine state) through the store."""
from __future__ import annotations

import hashlib
import random

from solders.keypair import Keypair

from engine.exceptions import InvalidRequest, PoolNotFound, ThreadNotFound
from engine.frt.client import FrtClient
from engine.kinds import KINDS
from engine.pools import PoolRecord, PoolRuntime
from engine.stats import ThreadStats
from engine.store import StateStore
from engine.threads import ThreadRecord
from engine.wallet import Wallet


class Registry:
    def __init__(self, settings, store: StateStore, program_id) -> None:
        self.settings = settings
        self.store = store
        self.program_id = program_id
        self.pools: dict[str, PoolRuntime] = {}
        self.threads: dict[str, ThreadRecord] = {}
        self.rng = random.Random(settings.engine.seed)
        self.problems: list[str] = []
        self._next_ids: dict[str, int] = {kind: 1 for kind in KINDS}
        self._wallets_made = 0
        self._sealed_keys: dict[str, str] = {}
        self.wallet_names: dict = {}  # wallet pubkey -> its thread's id (the names pool histories use)

    # ---- lookups ------------------------------------------------------------------------------

    def pool(self, pool_id: str) -> PoolRuntime:
        pool = self.pools.get(pool_id)
        if pool is None:
            raise PoolNotFound(f"Pool {pool_id} not found in registry")
        return pool

    def thread(self, thread_id: str) -> ThreadRecord:
        thread = self.threads.get(thread_id)
        if thread is None:
            raise ThreadNotFound(f"Thread {thread_id} not found")
        return thread

    def threads_of(self, pool_id: str | None) -> list[ThreadRecord]:
        if pool_id is not None:
            self.pool(pool_id)
        return [t for t in self.threads.values() if pool_id is None or t.pool_id == pool_id]

    def thread_counts_by_pool(self) -> dict[str, dict]:
        counts = {pool_id: {kind: 0 for kind in KINDS} for pool_id in self.pools}
        for thread in self.threads.values():
            if thread.pool_id in counts:
                counts[thread.pool_id][thread.thread_type] += 1
        return counts

    # ---- new entries --------------------------------------------------------------------------

    def add_pool(self, record: PoolRecord) -> PoolRuntime:
        runtime = self.pools[record.pool_id] = PoolRuntime(record, self.program_id)
        return runtime

    def thread_id_for(self, kind: str, thread_id: str | None) -> str:
        """`thread_id` is given by a shard coordinator (ids are global); otherwise the next one."""
        if thread_id is None:
            return f"{kind}_{self._next_ids[kind]}"
        if thread_id in self.threads or not thread_id.startswith(f"{kind}_"):
            raise InvalidRequest(f"thread id {thread_id} is taken or does not fit a {kind} thread")
        return thread_id

    def add_thread(self, thread: ThreadRecord) -> None:
        kind = thread.thread_type
        self._next_ids[kind] = max(self._next_ids[kind], int(thread.thread_id.rsplit("_", 1)[1]) + 1)
        self.threads[thread.thread_id] = thread
        self.wallet_names[thread.wallet.pubkey] = thread.thread_id

    def remove_thread(self, thread_id: str) -> ThreadRecord:
        thread = self.threads.pop(thread_id)
        self._sealed_keys.pop(thread_id, None)
        self.store.delete_thread_files(thread_id)
        return thread

    def new_wallet(self) -> Wallet:
        """A fresh keypair: derived from the engine's RNG when a seed is configured, so that a
        seeded run creates the same mints and wallets every time."""
        if self.settings.engine.seed is None:
            return Wallet.generate()
        self._wallets_made += 1  # persisted, so a restarted engine never derives a key twice
        config = self.settings.engine
        material = f"{config.seed}:{config.key_namespace}:wallet:{self._wallets_made}".encode()
        return Wallet.from_keypair(Keypair.from_seed(hashlib.sha256(material).digest()))

    def thread_seed(self, thread_id: str) -> int:
        base = self.settings.engine.seed if self.settings.engine.seed is not None else self.rng.getrandbits(64)
        return int.from_bytes(hashlib.sha256(f"{base}:{thread_id}".encode()).digest()[:8], "little")

    # ---- loading --------------------------------------------------------------------------------

    async def restore(self, client: FrtClient, books: dict | None = None) -> dict:
        """Pools that still exist on the chain and their threads; returns the saved engine state.
        `books`: what was counted up to the chain state restored (the embedded ledger's snapshot):
        the threads' statistics and the engine state come from there rather than from the files,
        which a crash may have left ahead of the chain (ids and derived keys never go back)."""
        for pool_id, data in self.store.load_pools().items():
            try:
                record = PoolRecord.from_json(data)
                runtime = PoolRuntime(record, self.program_id)
                if await client.pool_state(runtime.addresses.pool_state) is None:
                    raise ValueError("no pool account on this chain")
                self.pools[pool_id] = runtime
            except (ValueError, KeyError, TypeError) as exc:
                self.problems.append(f"pool {pool_id} dropped from the registry: {exc}")
        statistics = books["statistics"] if books else self.store.load_statistics()
        for thread_id, data in self.store.load_threads().items():
            if data.get("pool_id") not in self.pools:
                self.problems.append(f"thread {thread_id} dropped: its pool {data.get('pool_id')} is gone")
                continue
            if books and thread_id not in statistics:
                self.problems.append(f"thread {thread_id} dropped: it was created after the checkpoint the chain "
                                     f"came back to, which does not hold its wallet's accounts")
                continue
            wallet = Wallet.from_secret(self.store.open_secret(data["wallet_keypair"]))
            if data["wallet_keypair"].startswith("enc:") or not self.store.encrypted:
                self._sealed_keys[thread_id] = data["wallet_keypair"]
            self.threads[thread_id] = ThreadRecord.from_json(
                data, wallet, ThreadStats.from_json(statistics.get(thread_id)))
        saved = self.store.load_engine_state()
        state = books["engine_state"] if books else saved
        for kind, next_id in (*saved.get("next_ids", {}).items(), *state.get("next_ids", {}).items()):
            self._next_ids[kind] = max(self._next_ids.get(kind, 1), next_id)
        self._wallets_made = max(saved.get("wallets_made", 0), state.get("wallets_made", 0))
        self.save_pools()
        return state

    # ---- saving ---------------------------------------------------------------------------------

    def save_pools(self) -> None:
        self.store.save_pools({pool_id: pool.record.to_json() for pool_id, pool in self.pools.items()})

    def save_threads(self) -> None:
        self.store.save_threads({thread_id: thread.to_json(self._sealed(thread))
                                 for thread_id, thread in self.threads.items()})

    def _sealed(self, thread: ThreadRecord) -> str:
        """The thread's sealed keypair, sealed once (encryption costs tens of µs per key)."""
        sealed = self._sealed_keys.get(thread.thread_id)
        if sealed is None:
            sealed = self._sealed_keys[thread.thread_id] = self.store.seal_secret(thread.wallet.secret())
        return sealed

    def save_statistics(self) -> None:
        self.store.save_statistics(self.statistics())

    def engine_state(self, records: dict) -> dict:
        return {"next_ids": dict(self._next_ids), **records, "wallets_made": self._wallets_made}

    def statistics(self) -> dict:
        return {thread_id: thread.stats.to_json() for thread_id, thread in self.threads.items()}
