"""Each pool's history, recorded as it happens: one JSON-lines file per pool, enough to rebuild the
pool on a fresh ledger and re-run what happened to it (engine/history/replay.py).

Every transaction the engine sends passes `HistoryLog.observe` (the TransactionSender's observer)
after the chain settled it. Its instructions that touch a pool — by the pool's own addresses or the
token accounts of its mints — are appended to that pool's file, in the order the chain ran them
(a pool's operations are serialised by its lock). Addresses are written as symbols, so the history
can be replayed with fresh keys:

    "pool" "mint_a" "mint_b" "vault_a" "vault_b" "lp_a" "lp_b"   the pool's own addresses
    "core", "<thread id>", "wallet-3"                             wallets (signers, token account owners)
    "<wallet>/<mint role>"                                        a wallet's associated token account
    "=<base58>"                                                   the same on every ledger (programs,
                                                                  sysvars, the program's own PDAs)
    "?<base58>"                                                   an address outside the pool's history

Lines (each a JSON object, told apart by their first key):

    {"history": 1, "pool": ..., "program": {...}, "token_a_decimals": ..., ...}   the header: what
                                                                  created the pool (CreatePoolParams)
    {"wallet": "deposit-1", "pubkey": "..."}                      a wallet symbol, first time seen
    {"shape": 3, "program": "=...", "accounts": [["pool", 1], ...]} an instruction's program and
                                                                  accounts (flags: 2 signer + 1 writable)
    {"n": 17, "sig": "...", "payer": "core", "signers": [...], "ix": [[3, "02ab…"], ...],
     "ok": true, "err": null}                                     one transaction: shapes and data

An FRT instruction that names no pool (pause_system, an admin change, the treasury's) goes into
every pool's history: it changes what every pool's operations meet. Instructions that
touch no pool (SOL top-ups) are not recorded: replay funds wallets with SOL itself.
A file survives restarts (it is appended to and re-read); a torn last line is ignored on reading.
Lines reach the disk at least every FLUSH_INTERVAL_S while transactions flow, with each statistics
save, and at close: a crash loses at most the newest half second.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable, Sequence

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from engine.atomic import atomic_write_text
from engine.frt.client import token_address
from engine.frt.constants import (ASSOCIATED_TOKEN_PROGRAM_ID, BPF_LOADER_UPGRADEABLE_ID,
                                  COMPUTE_BUDGET_PROGRAM_ID, RENT_SYSVAR_ID, SYSTEM_PROGRAM_ID, TOKEN_PROGRAM_ID)
from engine.frt.pda import PoolAddresses, find_main_treasury, find_program_data, find_system_state

HISTORY_VERSION = 1
FLUSH_INTERVAL_S = 0.5  # a crash loses at most this much of the newest history
POOL_ROLES = ("pool", "mint_a", "mint_b", "vault_a", "vault_b", "lp_a", "lp_b")
MINT_ROLES = ("mint_a", "mint_b", "lp_a", "lp_b")


def pool_roles(addresses: PoolAddresses) -> dict[str, Pubkey]:
    """The pool's addresses by role."""
    return {"pool": addresses.pool_state, "mint_a": addresses.token_a_mint, "mint_b": addresses.token_b_mint,
            "vault_a": addresses.token_a_vault, "vault_b": addresses.token_b_vault,
            "lp_a": addresses.lp_token_a_mint, "lp_b": addresses.lp_token_b_mint}


def fixed_addresses(program_id: Pubkey) -> set[Pubkey]:
    """Addresses that are the same on any ledger running this program."""
    return {SYSTEM_PROGRAM_ID, TOKEN_PROGRAM_ID, ASSOCIATED_TOKEN_PROGRAM_ID, COMPUTE_BUDGET_PROGRAM_ID,
            RENT_SYSVAR_ID, BPF_LOADER_UPGRADEABLE_ID, program_id, find_system_state(program_id)[0],
            find_main_treasury(program_id)[0], find_program_data(program_id)[0]}


def _is_fixed(key: Pubkey, fixed: set[Pubkey]) -> bool:
    return key in fixed or str(key).startswith("Sysvar")


class PoolLog:
    """One pool's file and the symbols it has written so far."""

    def __init__(self, path: Path, roles: dict[str, Pubkey]) -> None:
        self.path = path
        self.symbols: dict[Pubkey, str] = {key: role for role, key in roles.items()}
        self.mints = {role: roles[role] for role in MINT_ROLES}
        self.shapes: dict[tuple, int] = {}  # (program symbol, ((symbol, flags), ...)) -> shape id
        self.shape_of: dict[tuple, int] = {}  # (program id, (AccountMeta, ...)) -> shape id: the hot path's cache
        self.flushed_at = 0.0
        self.steps = 0
        self.wallets = 0
        self.file = None

    def open(self, header: dict | None = None, keep_steps: int | None = None) -> None:
        """Append from here on; an existing file's symbols and shapes are read back first.
        `keep_steps`: after a crash, the steps the recovered chain state holds; later ones go."""
        if self.path.exists():
            lines = read_lines(self.path)
            if keep_steps is not None:
                lines = _first_steps(lines, keep_steps)
            with self.path.open(encoding="utf-8") as file:
                torn = sum(1 for _ in file) != len(lines)  # a crash mid-line: appending would bury it
            if torn or keep_steps is not None:
                atomic_write_text(self.path, "".join(json.dumps(line, separators=(",", ":")) + "\n"
                                                     for line in lines))
            for line in lines:
                if "wallet" in line:
                    self._learn_wallet(Pubkey.from_string(line["pubkey"]), line["wallet"])
                elif "shape" in line:
                    self.shapes[(line["program"], tuple(map(tuple, line["accounts"])))] = line["shape"]
                elif "n" in line:
                    self.steps = max(self.steps, line["n"])
        self.file = self.path.open("a", encoding="utf-8")
        if header is not None and self.file.tell() == 0:
            self.write(header)

    def _learn_wallet(self, key: Pubkey, name: str) -> list[Pubkey]:
        self.symbols[key] = name
        self.wallets += 1
        accounts = []
        for role, mint in self.mints.items():
            account = token_address(key, mint)
            self.symbols.setdefault(account, f"{name}/{role}")
            accounts.append(account)
        return accounts

    def write(self, line: dict) -> None:
        self.file.write(json.dumps(line, separators=(",", ":")) + "\n")

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


class HistoryLog:
    """The engine's recorder of pool histories (one directory, a file per pool)."""

    def __init__(self, directory: Path, program_id: Pubkey, *, program: dict,
                 name_of: Callable[[Pubkey], str | None] = lambda key: None) -> None:
        self.directory = Path(directory)
        self.program_id = program_id
        self.program = program  # {"program_id", "mode", "program_so"}: which program replay must run
        self.name_of = name_of
        self.fixed = fixed_addresses(program_id)
        self.pools: dict[str, PoolLog] = {}
        self.index: dict[Pubkey, PoolLog] = {}  # pool addresses and its mints' token accounts -> its log

    # ---- pools ------------------------------------------------------------------------------------

    def add_pool(self, pool_id: str, addresses: PoolAddresses, header: dict | None = None, *,
                 keep_steps: int | None = None) -> None:
        """Start (or, after a restart, continue) the history of a pool; `header` is written only
        into a new file; `keep_steps`: see PoolLog.open."""
        if pool_id in self.pools:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        log = PoolLog(self.directory / f"{pool_id}.jsonl", pool_roles(addresses))
        if header is not None:
            header = {"history": HISTORY_VERSION, "pool": pool_id, "program": self.program, **header}
        elif not log.path.exists():
            return  # a pool created before histories were kept: it has none
        log.open(header, keep_steps)
        self.pools[pool_id] = log
        for key in log.symbols:
            self.index[key] = log

    def steps(self) -> dict[str, int]:
        """Each pool's number of recorded steps (a checkpoint keeps them with the chain state)."""
        return {pool_id: log.steps for pool_id, log in self.pools.items()}

    def flush(self) -> None:
        for log in self.pools.values():
            if log.file is not None:
                log.file.flush()

    def close(self) -> None:
        for log in self.pools.values():
            log.close()

    # ---- transactions ------------------------------------------------------------------------------

    def observe(self, instructions: Sequence[Instruction], payer: Pubkey, signers: Sequence[Pubkey], result) -> None:
        """Record a settled transaction into the history of each pool it touched."""
        if not self.pools:
            return
        by_pool: dict[PoolLog, list[tuple]] = {}
        budget = []
        for instruction in instructions:  # solders builds new objects on each attribute read: read once
            program, accounts = instruction.program_id, tuple(instruction.accounts)
            if program == COMPUTE_BUDGET_PROGRAM_ID:
                budget.append((program, accounts, instruction.data))
                continue
            for log in self._pools_of(program, accounts):
                by_pool.setdefault(log, []).append((program, accounts, instruction.data))
        if not by_pool:
            return
        raw = result.failure.raw if result.failure is not None else None
        for log, touched in by_pool.items():
            self._record(log, budget + touched, payer, signers, result.signature, result.ok, raw)

    def _pools_of(self, program: Pubkey, accounts: tuple[AccountMeta, ...]) -> list[PoolLog]:
        index = self.index
        for meta in accounts:
            log = index.get(meta.pubkey)
            if log is not None:
                return [log]
        if program == self.program_id:  # a program-wide instruction (system pause, treasury): every pool's
            return list(self.pools.values())
        return []

    def _record(self, log: PoolLog, instructions: list[tuple], payer: Pubkey, signers: Sequence[Pubkey],
                signature: str, ok: bool, raw) -> None:
        for key in (payer, *signers):
            self._symbol(log, key, wallet=True)
        for program, accounts, _ in instructions:  # associated token accounts' owners are wallets too
            if program == ASSOCIATED_TOKEN_PROGRAM_ID and len(accounts) > 2:
                self._symbol(log, accounts[2].pubkey, wallet=True)
        log.steps += 1
        # Written by hand rather than json.dumps: this runs for every transaction of a run.
        signer_names = ",".join(f'"{log.symbols[key]}"' for key in signers if key != payer)
        parts = ",".join(f'[{self._shape(log, program, accounts)},"{bytes(data).hex()}"]'
                         for program, accounts, data in instructions)
        log.file.write(f'{{"n":{log.steps},"sig":"{signature}","payer":"{log.symbols[payer]}",'
                       f'"signers":[{signer_names}],"ix":[{parts}],"ok":{"true" if ok else "false"},'
                       f'"err":{"null" if raw is None else json.dumps(raw, separators=(",", ":"))}}}\n')
        now = time.monotonic()
        if now - log.flushed_at > FLUSH_INTERVAL_S:
            log.file.flush()
            log.flushed_at = now

    def _shape(self, log: PoolLog, program: Pubkey, accounts: tuple[AccountMeta, ...]) -> int:
        shape = log.shape_of.get((program, accounts))
        if shape is not None:
            return shape
        key = (self._symbol(log, program),
               tuple((self._symbol(log, meta.pubkey), 2 * meta.is_signer + meta.is_writable) for meta in accounts))
        shape = log.shapes.get(key)
        if shape is None:
            shape = log.shapes[key] = len(log.shapes) + 1
            log.write({"shape": shape, "program": key[0], "accounts": [list(account) for account in key[1]]})
        if not any(symbol.startswith("?") for symbol, _ in key[1]):  # "?" may become a wallet later
            log.shape_of[(program, accounts)] = shape
        return shape

    def _symbol(self, log: PoolLog, key: Pubkey, *, wallet: bool = False) -> str:
        symbol = log.symbols.get(key)
        if symbol is not None:
            return symbol
        if _is_fixed(key, self.fixed):
            return f"={key}"
        if not wallet:
            return f"?{key}"
        name = self.name_of(key) or f"wallet-{log.wallets + 1}"
        if name in log.symbols.values():
            name = f"{name}-{log.wallets + 1}"
        for account in log._learn_wallet(key, name):
            self.index[account] = log
        log.write({"wallet": name, "pubkey": str(key)})
        return name


def _first_steps(lines: list[dict], steps: int) -> list[dict]:
    """The lines up to the `steps`-th step line (a history cut back to a recovered chain state)."""
    kept, seen = [], 0
    for line in lines:
        if "n" in line:
            if seen == steps:
                break
            seen += 1
        kept.append(line)
    return kept


def read_lines(path: Path) -> list[dict]:
    """The file's JSON lines; a torn or unreadable line (a crash mid-write) ends the history there."""
    lines = []
    with Path(path).open(encoding="utf-8") as file:
        for text in file:
            try:
                lines.append(json.loads(text))
            except ValueError:
                break
    return lines
