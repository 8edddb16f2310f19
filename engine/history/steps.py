"""A pool history as data: reading its file, and reading its steps (what each does, its amount,
the same step with another amount). Replay (replay.py), shrink, export and the console build on it."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from solders.pubkey import Pubkey

from engine.frt import instructions as ix
from engine.frt.instructions import InstructionDecodeError, decode_instruction_data
from engine.history.log import read_lines

VALUE_OPERATIONS = ("deposit", "withdraw", "swap")


class HistoryError(Exception):
    """The history cannot be read or replayed (missing, not a history, an unknown format)."""


@dataclass
class History:
    path: Path | None
    header: dict
    wallets: dict[str, str]  # symbol -> original base58
    shapes: dict[int, tuple[str, list]]  # shape id -> (program symbol, [[symbol, flags], ...])
    steps: list[dict]

    @property
    def pool_id(self) -> str:
        return self.header["pool"]

    def step_of(self, signature: str) -> dict | None:
        return next((step for step in self.steps if step["sig"] == signature), None)

    def up_to(self, step: dict) -> list[dict]:
        return self.steps[:self.steps.index(step) + 1]


def load_history(path: Path) -> History:
    path = Path(path)
    if not path.exists():
        raise HistoryError(f"no history at {path}")
    lines = read_lines(path)
    if not lines or "history" not in lines[0]:
        raise HistoryError(f"{path} is not a pool history")
    if lines[0]["history"] != 1:
        raise HistoryError(f"{path}: history format {lines[0]['history']} is not known to this version")
    history = History(path, lines[0], {}, {}, [])
    for line in lines[1:]:
        if "wallet" in line:
            history.wallets[line["wallet"]] = line["pubkey"]
        elif "shape" in line:
            history.shapes[line["shape"]] = (line["program"], line["accounts"])
        elif "n" in line:
            history.steps.append(line)
    return history


# ------------------------------------------------------------------------------------ reading steps

def frt_instruction(step: dict, history: History) -> tuple[int, str, dict] | None:
    """(index, name, fields) of the step's FRT instruction, if it has one that decodes."""
    program = "=" + history.header["program"]["program_id"]
    for index, (shape, data) in enumerate(step["ix"]):
        if history.shapes[shape][0] == program:
            try:
                name, fields = decode_instruction_data(bytes.fromhex(data))
            except InstructionDecodeError:
                return index, "undecodable", {}
            return index, name, fields
    return None


def _side(history: History, mint) -> str | None:
    mint = str(mint)
    return "A" if mint == history.header["token_a_mint"] else "B" if mint == history.header["token_b_mint"] else None


def _names(history: History) -> dict[str, str]:
    """Recorded base58 -> its symbol, for the addresses people read in a step's description."""
    header = history.header
    return {**{key: name for name, key in history.wallets.items()}, header["token_a_mint"]: "mint_a",
            header["token_b_mint"]: "mint_b", header["pool"]: "pool"}


_TOKEN_OPS = {3: "transfer", 7: "mint_to", 8: "burn"}  # SPL Token instruction tags with a u64 amount


def describe(step: dict, history: History) -> dict:
    """The step in plain words: what it does, who signs, the amounts (for people and for shrinking)."""
    found = frt_instruction(step, history)
    if found is not None:
        _, name, fields = found
        described = {"do": name, "by": step["payer"]}
        if name in VALUE_OPERATIONS:
            mint = fields.get("deposit_token_mint") or fields.get("withdraw_token_mint") or fields.get("input_token_mint")
            described["token"] = _side(history, mint) or str(mint)
            described["amount"] = fields.get("amount", fields.get("lp_amount_to_burn", fields.get("amount_in")))
            if name == "swap":
                described["min_out"] = fields["expected_amount_out"]
        else:
            names = _names(history)
            described.update({key: (names.get(str(value), str(value)) if isinstance(value, Pubkey) else value)
                              for key, value in fields.items() if key != "pool_id"})
        return described
    parts = []
    for shape, data in step["ix"]:
        program, accounts = history.shapes[shape]
        raw = bytes.fromhex(data)
        if program.startswith("=Tokenkeg") and raw and raw[0] in _TOKEN_OPS and len(raw) >= 9:
            amount = int.from_bytes(raw[1:9], "little")
            name = _TOKEN_OPS[raw[0]]
            target = accounts[0][0] if name == "burn" else accounts[1][0]
            parts.append(f"{name} {amount} {'from' if name == 'burn' else 'to'} {target}")
        elif program.startswith("=ATokenGP"):
            parts.append(f"open {accounts[1][0]}")
        elif not program.startswith("=ComputeBudget"):
            parts.append(f"instruction of {program}")
    return {"do": "setup", "by": step["payer"], "what": ", ".join(parts)}


def with_amount(step: dict, history: History, amount: int, *, min_out: int | None = None) -> dict:
    """A copy of the step with its amount (and, for a swap, its expected output) changed."""
    found = frt_instruction(step, history)
    changed = [list(pair) for pair in step["ix"]]
    if found is not None and found[1] in VALUE_OPERATIONS:
        index, name, fields = found
        key = {"deposit": "amount", "withdraw": "lp_amount_to_burn", "swap": "amount_in"}[name]
        fields = {**fields, key: amount}
        if min_out is not None:
            fields["expected_amount_out"] = min_out
        changed[index][1] = ix.encode_instruction_data(name, **fields).hex()
    else:
        for pair in changed:
            raw = bytes.fromhex(pair[1])
            if history.shapes[pair[0]][0].startswith("=Tokenkeg") and raw and raw[0] in _TOKEN_OPS:
                pair[1] = (raw[:1] + amount.to_bytes(8, "little") + raw[9:]).hex()
                break
    return {**step, "ix": changed}


def step_amount(step: dict, history: History) -> int | None:
    described = describe(step, history)
    if "amount" in described:
        return described["amount"]
    for shape, data in step["ix"]:
        raw = bytes.fromhex(data)
        if history.shapes[shape][0].startswith("=Tokenkeg") and raw and raw[0] in _TOKEN_OPS:
            return int.from_bytes(raw[1:9], "little")
    return None
