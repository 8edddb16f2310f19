"""A finding's reproducer as a standalone pytest file: the pool, the wallets, the instruction shapes
and one line per step (what it does, with its amounts, and the outcome recorded in the run). The
test replays the steps on a fresh embedded ledger and fails while the finding recurs."""
from __future__ import annotations

import json
import pprint
import re

from engine.history.steps import History, describe

TEMPLATE = '''"""Reproducer of frt-stress finding {finding_id}: {rule} ({severity}, {kind}).

    {detail}

Recorded by frt-stress on pool {pool_id} ({program_mode}), {step_count} steps{shrunk}.
Generated {generated_at}. It fails while the finding recurs and passes once the program is fixed:

    pytest {file_hint} -q

Each step is replayed on a fresh embedded ledger, signed by fresh keys standing for the recorded
wallets; the last step is judged by frt-stress's oracle. `expect` is what the chain answered when
the step was recorded (replay prints where today's answers differ).
"""
import pytest

from engine.history.replay import reproduce_steps

KIND, RULE = {kind!r}, {rule!r}
POOL = {pool}
WALLETS = {wallets}
# shape id: (program, [[account, 2·signer + writable], ...])
SHAPES = {shapes}
STEPS = []


def step(number, what, *, by, expect, ix, signers=()):
    STEPS.append({{"n": number, "what": what, "payer": by, "signers": list(signers), "ix": ix,
                  "ok": expect == "ok", "err": None if expect == "ok" else expect}})


{steps}


def test_{test_name}():
    verdict = reproduce_steps(POOL, WALLETS, SHAPES, STEPS, KIND, RULE)
    if verdict.reproduced:
        pytest.fail(verdict.explain(), pytrace=False)
'''


def step_words(step: dict, history: History) -> str:
    described = describe(step, history)
    if described["do"] == "setup":
        return described["what"]
    words = [described["do"]]
    if "token" in described:
        words += [described["token"], f"{described['amount']:_}"]
        if "min_out" in described:
            words.append(f"for {described['min_out']:_}")
    else:
        words += [f"{key}={value}" for key, value in described.items() if key not in ("do", "by")]
    return " ".join(str(word) for word in words)


def _expect(step: dict):
    return "ok" if step["ok"] else step["err"]


def render_test(history: History, group: dict, steps: list[dict], *, recorded_steps: int,
                generated_at: str, file_hint: str) -> str:
    used = sorted({shape for step in steps for shape, _ in step["ix"]})
    lines = []
    for step in steps:
        signers = f", signers={step['signers']!r}" if step["signers"] else ""
        lines.append(f"step({step['n']}, {step_words(step, history)!r}, by={step['payer']!r}, "
                     f"expect={_expect(step)!r}{signers},\n     ix={[list(pair) for pair in step['ix']]!r})")
    payers = {step["payer"] for step in steps} | {s for step in steps for s in step["signers"]}
    accounts = {account.split("/")[0] for shape in used for account, _ in history.shapes[shape][1]}
    wallets = {name: key for name, key in history.wallets.items() if name in payers | accounts | {"core"}}
    shrunk = f", shrunk from {recorded_steps}" if recorded_steps != len(steps) else ""
    return TEMPLATE.format(
        finding_id=group["id"], rule=group["rule"], severity=group["severity"], kind=group["kind"],
        detail=group.get("detail", "").replace('"""', "'''"), pool_id=history.pool_id,
        program_mode=history.header["program"]["mode"], step_count=len(steps), shrunk=shrunk,
        generated_at=generated_at, file_hint=file_hint,
        pool=pprint.pformat(history.header, width=120, sort_dicts=False),
        wallets=pprint.pformat(wallets, width=120),
        shapes="{\n" + "".join(f"    {shape}: {tuple(history.shapes[shape])!r},\n" for shape in used) + "}",
        steps="\n".join(lines), test_name=_identifier(f"{group['rule']}_{group['id']}"))


def _identifier(text: str) -> str:
    return re.sub(r"\W+", "_", text).strip("_").lower()


def shrunk_document(history: History, group: dict, steps: list[dict], *, recorded_steps: int) -> dict:
    """What `shrink` writes: the finding, the pool, and the `operations` that reproduce it."""
    used = sorted({shape for step in steps for shape, _ in step["ix"]})
    return {"finding": {key: group.get(key) for key in ("id", "kind", "rule", "severity", "detail", "pool_id",
                                                          "operation")},
            "recorded_steps": recorded_steps, "pool": history.header, "wallets": history.wallets,
            "shapes": {str(shape): history.shapes[shape] for shape in used},
            "operations": [{"what": step_words(step, history), **step} for step in steps]}


def history_of_document(document: dict) -> tuple[History, list[dict]]:
    """The history and steps a shrunk document holds (the inverse of shrunk_document)."""
    shapes = {int(shape): tuple(value) for shape, value in document["shapes"].items()}
    steps = [{key: value for key, value in step.items() if key != "what"} for step in document["operations"]]
    return History(None, document["pool"], document["wallets"], shapes, steps), steps


def dumps(document: dict) -> str:
    return json.dumps(document, indent=1) + "\n"
