"""Rebuild a pool from its history on a fresh embedded ledger and re-run its steps, judging each
with the same oracle as the run (engine/operations.py for deposits, withdrawals and swaps built as
the engine builds them; the intent rules and pool invariants for any other FRT instruction).

    history = load_history(path)                     # engine/history/steps.py
    replay = await Replay.start(history)            # fresh ledger, program, mints, pool
    for step in history.steps:
        outcome = await replay.run(step)             # StepOutcome: ok, err, findings, diverged
    verdict = await reproduce(history, steps, kind, rule)   # the last step judged: reproduced?

Keys are fresh (derived from the symbols, so two replays sign the same transactions): every
recorded address is translated through its symbol, in the accounts and wherever it appears in the
instruction data. Wallets get SOL as they first appear (SOL top-ups are not in the history).
"""
from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from engine import intent, operations
from engine.chain.embedded import EmbeddedCluster
from engine.chain.ledger import EmbeddedLedger
from engine.frt import instructions as ix
from engine.frt.client import FrtClient, token_address
from engine.frt.constants import COMPUTE_BUDGET_PROGRAM_ID
from engine.frt.instructions import decode_instruction_data
from engine.frt.pda import derive_pool
from engine.history.log import MINT_ROLES, pool_roles
from engine.history.steps import VALUE_OPERATIONS, History, HistoryError, frt_instruction
from engine.invariants import pool_invariants
from engine.observe import observe
from engine.pools import PoolRecord, PoolRuntime
from engine.wallet import Wallet

REPLAY_EPOCH = 1_767_225_600.0  # 2026-01-01: the replay ledger's clock starts here
WALLET_LAMPORTS = 100 * 10**9
CORE_LAMPORTS = 10_000 * 10**9
# The rules replay's oracle judges: the verified operation's checks and the intent rules that
# need only the action itself. Others (attack-specific ones) are judged by the attack that ran.
REPLAYABLE_RULES = frozenset({
    "outcome_as_predicted", "balances_move_as_predicted", *operations.INVARIANT_SEVERITY,
    "only_admin_changes_settings", "only_owner_swaps_owner_only_pool", "no_value_out_beyond_value_in"})


# ------------------------------------------------------------------------------------ replaying

@dataclass
class StepOutcome:
    step: dict
    ok: bool
    err: object
    findings: list[dict] = field(default_factory=list)
    outside: bool = False  # the step uses accounts the history does not hold (e.g. another pool's)

    @property
    def diverged(self) -> bool:
        """The chain answered differently than when the step was recorded."""
        return self.ok != self.step["ok"] or (not self.ok and self.err != self.step["err"])

    def difference(self) -> str:
        """'step 15: answered X, recorded ok', and why when the replay cannot answer as the run did."""
        line = (f"step {self.step['n']}: answered {'ok' if self.ok else self.err}, recorded "
                f"{'ok' if self.step['ok'] else self.step['err']}")
        if self.outside:
            line += (" (it uses accounts outside this pool's history, such as another pool's creation with "
                     "its mints, which replay does not rebuild)")
        return line


def _keypair(label: str) -> Keypair:
    return Keypair.from_seed(hashlib.sha256(f"frt-stress replay:{label}".encode()).digest())


class Replay:
    """A fresh ledger holding the rebuilt pool, and the translation of recorded keys to its keys."""

    def __init__(self, history: History, cluster: EmbeddedCluster) -> None:
        self.history = history
        self.cluster = cluster
        self.client = FrtClient(cluster)
        self.core = Wallet.from_keypair(_keypair("core"))
        self.wallets: dict[str, Wallet] = {"core": self.core}
        self.keys: dict[str, Pubkey] = {"core": self.core.pubkey}
        self.swaps: list[tuple[bytes, bytes]] = []  # (recorded key, replay key) for instruction data
        self.pool: PoolRuntime | None = None
        self._funded: set[str] = set()

    @classmethod
    async def start(cls, history: History, *, emulator_factory: Callable | None = None) -> "Replay":
        """The program (its .so when the run had one, else the emulator), the program initialised
        with the replay's core wallet as admin, and the pool created as the header says."""
        program = history.header["program"]
        program_id = Pubkey.from_string(program["program_id"])
        so = program.get("program_so")
        if so and not Path(so).exists():
            raise HistoryError(f"the run's program {so} is not there to replay it")
        core = _keypair("core").pubkey()
        # A clock of its own that moves one block per reading: every transaction gets a fresh
        # blockhash (two identical steps never wait for the next block) and replays keep their times.
        blocks = itertools.count()
        ledger = EmbeddedLedger(program_id, program_so=Path(so) if so else None, upgrade_authority=core,
                                emulator_factory=emulator_factory, slot_time_ms=400,
                                wall_clock=lambda: REPLAY_EPOCH + 0.4 * next(blocks))
        replay = cls(history, EmbeddedCluster(ledger))
        await replay._create_pool()
        return replay

    async def _create_pool(self) -> None:
        header, client = self.history.header, self.client
        await self.cluster.airdrop(self.core.pubkey, CORE_LAMPORTS)
        operations.require_ok(await client.initialize_program(self.core, self.core.pubkey), "InitializeProgram")
        first, second = sorted((Wallet.from_keypair(_keypair("mint 1")), Wallet.from_keypair(_keypair("mint 2"))),
                               key=lambda wallet: bytes(wallet.pubkey))
        for wallet, decimals in ((first, header["token_a_decimals"]), (second, header["token_b_decimals"])):
            operations.require_ok((await client.create_mint(self.core, decimals, wallet))[0], "creating a mint")
        created = await client.create_pool(self.core, first.pubkey, second.pubkey, header["ratio_a_numerator"],
                                           header["ratio_b_denominator"], header["flags"])
        operations.require_ok(created.result, "InitializePool")
        record = PoolRecord(pool_id=str(created.addresses.pool_state), token_a_mint=str(first.pubkey),
                            token_a_decimals=header["token_a_decimals"], token_b_mint=str(second.pubkey),
                            token_b_decimals=header["token_b_decimals"], ratio_a_numerator=header["ratio_a_numerator"],
                            ratio_b_denominator=header["ratio_b_denominator"], flags=header["flags"])
        self.pool = PoolRuntime(record, self.cluster.program_id)
        recorded = pool_roles(derive_pool(self.cluster.program_id, Pubkey.from_string(header["token_a_mint"]),
                                          Pubkey.from_string(header["token_b_mint"]), header["ratio_a_numerator"],
                                          header["ratio_b_denominator"]))
        for role, key in pool_roles(self.pool.addresses).items():
            self.keys[role] = key
            self.swaps.append((bytes(recorded[role]), bytes(key)))
        self._recorded_mints = {role: recorded[role] for role in MINT_ROLES}
        self._add_wallet_swaps("core")

    def _add_wallet_swaps(self, name: str) -> None:
        original = self.history.wallets.get(name)
        if original is None:
            return
        original, new = Pubkey.from_string(original), self.keys[name]
        self.swaps.append((bytes(original), bytes(new)))
        for role, mint in self._recorded_mints.items():
            self.swaps.append((bytes(token_address(original, mint)), bytes(token_address(new, self.keys[role]))))

    def key(self, symbol: str) -> Pubkey:
        """The replay's address for a recorded symbol."""
        if symbol.startswith("="):
            return Pubkey.from_string(symbol[1:])
        found = self.keys.get(symbol)
        if found is not None:
            return found
        if symbol.startswith("?"):  # outside the history: an address that holds nothing here
            key = self.keys[symbol] = _keypair(symbol).pubkey()
            return key
        if "/" in symbol:  # a wallet's token account
            owner, role = symbol.rsplit("/", 1)
            key = self.keys[symbol] = token_address(self.key(owner), self.keys[role])
            return key
        wallet = self.wallets[symbol] = Wallet.from_keypair(_keypair(f"wallet {symbol}"))
        self.keys[symbol] = wallet.pubkey
        self._add_wallet_swaps(symbol)
        return wallet.pubkey

    def wallet(self, symbol: str) -> Wallet:
        self.key(symbol)
        return self.wallets[symbol]

    def _data(self, hexdata: str) -> bytes:
        data = bytes.fromhex(hexdata)
        if len(data) >= 32:
            for recorded, new in self.swaps:
                if recorded in data:
                    data = data.replace(recorded, new)
        return data

    def instructions(self, step: dict) -> list[Instruction]:
        built = []
        for shape, data in step["ix"]:
            program, accounts = self.history.shapes[shape]
            built.append(Instruction(self.key(program), self._data(data), [
                AccountMeta(self.key(symbol), bool(flags & 2), bool(flags & 1)) for symbol, flags in accounts]))
        return built

    async def _fund(self, symbols) -> None:
        for symbol in symbols:
            if symbol not in self._funded:
                self._funded.add(symbol)
                await self.cluster.airdrop(self.key(symbol), CORE_LAMPORTS if symbol == "core" else WALLET_LAMPORTS)

    async def run(self, step: dict, *, check: bool = True) -> StepOutcome:
        """Execute one recorded step; with `check`, judge it as the run would have."""
        outcome = await self._run(step, check)
        outcome.outside = any(symbol.startswith("?") for shape, _ in step["ix"]
                              for symbol, _ in self.history.shapes[shape][1])
        return outcome

    async def _run(self, step: dict, check: bool) -> StepOutcome:
        payer = self.wallet(step["payer"])
        signers = [self.wallet(symbol) for symbol in step["signers"]]
        await self._fund([step["payer"], *step["signers"]])
        built = self.instructions(step)
        found = frt_instruction(step, self.history)
        if not check or found is None:
            result = await self.client.sender.send(built, payer, signers)
            return StepOutcome(step, result.ok, _raw(result))
        index, name, fields = found
        if name in VALUE_OPERATIONS and self._is_standard(built, index, payer, name, fields):
            token = "A" if built[index].data[1:33] == bytes(self.pool.addresses.token_a_mint) else "B"
            amount = fields.get("amount", fields.get("lp_amount_to_burn", fields.get("amount_in")))
            outcome = await operations.run_verified(self.client, self.pool, payer, name, token, amount)
            if outcome.verdict != "transient":
                outcome.findings.extend(intent.check(self._action(step, name, outcome.ok, outcome.prediction.succeeds,
                                                                  {"token_type": token, "amount": amount},
                                                                  outcome.before, outcome.after,
                                                                  outcome.result.signature)))
            return StepOutcome(step, outcome.ok, _raw(outcome.result), outcome.findings)
        before = await observe(self.cluster, self.pool.addresses, payer.pubkey)
        result = await self.client.sender.send(built, payer, signers)
        after = await observe(self.cluster, self.pool.addresses, payer.pubkey)
        params = _intent_params(built[index].data) if name != "undecodable" else {}
        findings = intent.check(self._action(step, name, result.ok, result.ok, params, before, after, result.signature))
        if before.pool is not None and after.pool is not None:
            broken_before = {v["invariant"] for v in pool_invariants(before, before)}
            for violation in pool_invariants(before, after):
                if violation["invariant"] not in broken_before:
                    findings.append({"kind": "invariant_violation", "rule": violation["invariant"],
                                     "severity": "high", "detail": violation["detail"], "evidence": violation})
        return StepOutcome(step, result.ok, _raw(result), findings)

    def _is_standard(self, built: list[Instruction], index: int, payer: Wallet, name: str, fields: dict) -> bool:
        """Whether the instruction is exactly what the engine's client sends for this operation
        (then the run judged it with run_verified, and so does replay)."""
        addresses = self.pool.addresses
        mint = built[index].data[1:33]
        if mint not in (bytes(addresses.token_a_mint), bytes(addresses.token_b_mint)):
            return False
        mint = Pubkey.from_bytes(mint)
        user = payer.pubkey
        if name == "deposit":
            standard = ix.deposit(self.cluster.program_id, user, addresses, mint, fields["amount"],
                                  token_address(user, mint), token_address(user, addresses.lp_mint_for(mint)))
        elif name == "withdraw":
            standard = ix.withdraw(self.cluster.program_id, user, addresses, mint, fields["lp_amount_to_burn"],
                                   token_address(user, addresses.lp_mint_for(mint)), token_address(user, mint))
        else:
            expected = operations.swap_expectation(self.pool, "A" if mint == addresses.token_a_mint else "B",
                                                   fields["amount_in"])
            standard = ix.swap(self.cluster.program_id, user, addresses, mint, fields["amount_in"], expected,
                               token_address(user, mint), token_address(user, addresses.other_mint(mint)))
        others = [instruction for i, instruction in enumerate(built) if i != index]
        return standard == built[index] and all(i.program_id == COMPUTE_BUDGET_PROGRAM_ID for i in others)

    def _action(self, step, name, ok, predicted_ok, params, before, after, signature) -> intent.Action:
        return intent.Action(name=name, actor=f"replay:{step['payer']}", signer=str(self.key(step["payer"])),
                             signer_is_admin=step["payer"] == "core", ok=ok, predicted_ok=predicted_ok,
                             pool_id=self.pool.record.pool_id, params=params, before=before, after=after,
                             signature=signature)


# The instruction's field names -> the names the intent rules read in an Action's params.
_INTENT_NAMES = {"pause_flags": "flags", "unpause_flags": "flags", "new_liquidity_fee": "liquidity_fee",
                 "new_swap_fee": "swap_fee", "enable_restriction": "enable"}


def _intent_params(data: bytes) -> dict:
    """What an FRT instruction requested, in the intent rules' terms (replay's keys, not the run's)."""
    _, fields = decode_instruction_data(bytes(data))
    return {_INTENT_NAMES.get(key, key): value for key, value in fields.items()}


def _raw(result) -> object:
    return result.failure.raw if result.failure is not None else None


# ------------------------------------------------------------------------------------ reproducing

@dataclass
class Verdict:
    reproduced: bool
    outcomes: list[StepOutcome]
    matching: list[dict]  # the target step's findings of the same kind and rule
    names: dict[str, str] = field(default_factory=dict)  # replay's base58 -> the recorded symbol

    @property
    def divergences(self) -> list[StepOutcome]:
        return [outcome for outcome in self.outcomes if outcome.diverged]

    def explain(self) -> str:
        """What a developer reads when a reproducer fails: the finding as it recurred, and where the
        chain answered differently than when the steps were recorded."""
        lines = [f"the finding recurs at step {self.outcomes[-1].step['n']}:" if self.reproduced
                 else "the finding does not recur"]
        lines += [f"  {finding['kind']}/{finding['rule']}: {self.named(finding.get('detail', ''))}"
                  for finding in self.matching]
        lines += [f"  {outcome.difference()}" for outcome in self.divergences]
        return "\n".join(lines)

    def named(self, text: str) -> str:
        """Replay's addresses in `text` as the symbols of the recorded run (who is 'attack_2')."""
        for key, symbol in self.names.items():
            if key in text:
                text = text.replace(key, symbol)
        return text


async def reproduce(history: History, steps: list[dict], kind: str, rule: str, *,
                    emulator_factory: Callable | None = None, check_all: bool = False,
                    before_step: Callable[[int], None] | None = None) -> Verdict:
    """Replay `steps` on a fresh ledger; reproduced when the last step raises a finding of the
    same kind and rule. Only the last step is judged unless `check_all`. `before_step(number)` is
    called before each step (progress; an exception it raises ends the replay)."""
    replay = await Replay.start(history, emulator_factory=emulator_factory)
    outcomes = []
    for number, step in enumerate(steps, 1):
        if before_step is not None:
            before_step(number)
        outcomes.append(await replay.run(step, check=check_all or number == len(steps)))
    last = outcomes[-1].findings if outcomes else []
    matching = [finding for finding in last if finding.get("kind") == kind and finding.get("rule") == rule]
    return Verdict(bool(matching), outcomes, matching, {str(key): symbol for symbol, key in replay.keys.items()})


def reproduce_steps(pool: dict, wallets: dict, shapes: dict, steps: list[dict], kind: str, rule: str) -> Verdict:
    """`reproduce` for an exported test: the history given as plain data, run to completion."""
    import asyncio

    history = History(None, pool, wallets, {int(k): tuple(v) for k, v in shapes.items()}, steps)
    return asyncio.run(reproduce(history, steps, kind, rule))
