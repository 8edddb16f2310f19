"""Forms in a modal: fields with inline validation errors, submitted to the gateway; an error
the engine answers with is shown under the field it names (or under the form) and the form
stays open. Dismisses with the operation's result, or None when cancelled.

Keys (the form's key line says so): ⏎ submits from any field (an input, a closed list, a
checkbox) and ctrl+s from anywhere; Esc cancels; Space or ↓ opens a list, where ⏎ picks. A
field is re-checked as it changes: its error goes (or changes) at once, an engine's error
under it too. Amounts are in base units (the API's unit); the line under one says what it is
in whole tokens."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from console import formatting as fmt
from console.gateway import U64_MAX, GatewayError

Values = dict[str, Any]


@dataclass
class FormField:
    name: str
    label: str
    kind: str = "int"  # int | optional_int | text | pubkey | select | bool
    options: list[tuple[str, Any]] = field(default_factory=list)
    default: Any = None
    minimum: int = 0
    maximum: int = U64_MAX
    placeholder: str = ""
    # the value against the engine's state (not the typing): its error is shown as soon as it holds
    rule: Callable[[Any, Values], str | None] | None = None
    # the line under the field (e.g. an amount in whole tokens): (its value, every value) -> text
    preview: Callable[[Any, Values], str] | None = None


ENTER_SUBMITS = [Binding("enter", "screen.submit", "Submit", show=False)]
KEYS_HINT = "⏎ or ctrl+s submit · Esc cancel · Space or ↓ opens a list, ⏎ picks"
FIX_FIELDS, REFUSED = "✖ fix the fields marked above", "✖ the engine refused it"


class FormSelect(Select):
    """A list whose ⏎ submits the form; Space, ↓ or ↑ open it, and in the open list ⏎ picks."""

    BINDINGS = ENTER_SUBMITS


class FormCheckbox(Checkbox):
    """A checkbox whose ⏎ submits the form; Space toggles it."""

    BINDINGS = ENTER_SUBMITS


def parse_int(text: str) -> int:
    cleaned = text.strip().replace("_", "").replace(",", "").replace(" ", "")
    if not re.fullmatch(r"-?\d+", cleaned):
        raise ValueError("not a whole number")
    return int(cleaned)


def validate_field(spec: FormField, raw: Any) -> tuple[Any, str | None]:
    """(value, error message or None)."""
    if spec.kind in ("int", "optional_int"):
        text = str(raw or "").strip()
        if not text:
            if spec.kind == "optional_int":
                return None, None
            return None, "required"
        try:
            value = parse_int(text)
        except ValueError:
            return None, "must be a whole number (digits, _ allowed)"
        if not spec.minimum <= value <= spec.maximum:
            upper = "2^64-1" if spec.maximum == U64_MAX else f"{spec.maximum:,}"
            return None, f"must be between {spec.minimum:,} and {upper}"
        return value, None
    if spec.kind == "pubkey":
        text = str(raw or "").strip()
        if not text:
            return None, "required"
        try:
            from solders.pubkey import Pubkey

            Pubkey.from_string(text)
        except ValueError:
            return None, "not a valid base58 public key"
        return text, None
    if spec.kind == "select":
        if raw is None or raw is Select.BLANK:
            return None, "choose one"
        return raw, None
    if spec.kind == "bool":
        return bool(raw), None
    return str(raw or ""), None


class FormScreen(ModalScreen[Values | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="frt.form.cancel"),
                Binding("ctrl+s", "submit", "Submit", id="frt.form.submit")]
    DEFAULT_CSS = """
    FormScreen { align: center middle; }
    FormScreen > VerticalScroll { width: 72; max-width: 98%; height: auto; max-height: 100%;
                                  border: round $primary; background: $surface; padding: 0 1; }
    FormScreen .form-title { text-style: bold; color: $primary; margin-bottom: 1; }
    FormScreen Label { margin-top: 1; color: $text-muted; }
    FormScreen Input, FormScreen Select { background: $boost; }
    FormScreen Input.-invalid { background: $error 20%; }
    FormScreen .field-error, FormScreen .field-preview { height: auto; display: none; }
    FormScreen .field-error { color: $error; }
    FormScreen .field-preview { color: $text-muted; }
    FormScreen .field-error.-shown, FormScreen .field-preview.-shown { display: block; }
    FormScreen #form-status { color: $error; height: auto; margin-top: 1; }
    FormScreen #form-keys { color: $text-muted; height: auto; margin-top: 1; }
    FormScreen Horizontal { height: auto; align-horizontal: right; margin: 1 0 0 0; }
    FormScreen Button { margin-left: 2; }
    FormScreen Checkbox { margin-top: 1; }
    """

    def __init__(self, title: str, fields: list[FormField], submit: Callable[[Values], Awaitable[Values]], *,
                 submit_label: str = "Create", check: Callable[[Values], dict[str, str]] | None = None,
                 note: str = "", prepare: Callable[[], Awaitable[None]] | None = None,
                 react: Callable[[FormScreen, str | None], None] | None = None) -> None:
        """`prepare` looks something up when the form opens; `react(form, changed)` follows a
        field's change (None: once `prepare` is done), before the fields are re-checked."""
        super().__init__()
        self.form_title, self.fields, self.submit_fn = title, fields, submit
        self.submit_label, self.check, self.note = submit_label, check, note
        self.prepare, self.react = prepare, react
        self.errors: dict[str, str] = {}
        self.engine_errors: set[str] = set()  # fields whose shown error is the engine's
        self.seen: dict[str, Any] = {}  # each field's value as last checked
        self.opened_with: dict[str, Any] = {}
        self.status_text = ""
        self.submitting = False

    def compose(self) -> ComposeResult:
        blink = getattr(self.app, "cursor_blink", True)
        with VerticalScroll():
            yield Static(self.form_title, classes="form-title", markup=False)
            if self.note:
                yield Static(self.note, classes="form-note", markup=False)
            for spec in self.fields:
                yield from self.compose_field(spec, blink)
                yield Static("", id=f"preview-{spec.name}", classes="field-preview", markup=False)
                yield Static("", id=f"error-{spec.name}", classes="field-error", markup=False)
            yield Static("", id="form-status", markup=False)
            yield Static(KEYS_HINT, id="form-keys", markup=False)
            with Horizontal():
                yield Button("Cancel (esc)", id="cancel", compact=True)
                yield Button(f"{self.submit_label} (⏎)", variant="primary", id="submit", compact=True)

    @staticmethod
    def compose_field(spec: FormField, blink: bool) -> ComposeResult:
        if spec.kind == "bool":
            yield FormCheckbox(spec.label, value=bool(spec.default), id=f"field-{spec.name}", compact=True)
            return
        yield Label(spec.label, id=f"label-{spec.name}")
        if spec.kind == "select":
            yield FormSelect(spec.options, value=spec.default if spec.default is not None else Select.BLANK,
                             allow_blank=spec.default is None, id=f"field-{spec.name}", compact=True)
        else:
            widget = Input(value="" if spec.default is None else str(spec.default),
                           placeholder=spec.placeholder, id=f"field-{spec.name}", compact=True)
            widget.cursor_blink = blink
            yield widget

    def on_mount(self) -> None:
        first = self.query(f"#field-{self.fields[0].name}").first() if self.fields else None
        if first is not None:
            first.focus()
        self.seen = {spec.name: self.raw_value(spec.name) for spec in self.fields}
        self.opened_with = dict(self.seen)
        self.recheck()
        if self.prepare is not None:
            self.run_worker(self._prepare(), group="form-prepare", exit_on_error=False)

    async def _prepare(self) -> None:
        try:
            await self.prepare()
        except GatewayError:  # the form works without it; the engine still checks
            return
        if self.react is not None:
            self.react(self, None)
        self.recheck()

    # ---- values and errors ---------------------------------------------------------------------

    def raw_value(self, name: str) -> Any:
        widget = self.query_one(f"#field-{name}")
        return widget.value

    def set_value(self, name: str, value: Any) -> None:
        widget = self.query_one(f"#field-{name}")
        widget.value = value

    def pristine(self) -> bool:
        """Whether every field is as the form opened with it."""
        return all(self.raw_value(name) == value for name, value in self.opened_with.items())

    def validate(self) -> tuple[Values, dict[str, str]]:
        values: Values = {}
        errors: dict[str, str] = {}
        for spec in self.fields:
            value, error = validate_field(spec, self.raw_value(spec.name))
            if error:
                errors[spec.name] = error
            values[spec.name] = value
        for spec in self.fields:
            if spec.rule is not None and spec.name not in errors and (error := spec.rule(values[spec.name], values)):
                errors[spec.name] = error
        if not errors and self.check is not None:
            errors.update(self.check(values))
        return values, errors

    def show_errors(self, errors: dict[str, str], status: str | None = None) -> None:
        """Errors under their fields; `status` under the form (None: as it is)."""
        self.errors = errors
        for spec in self.fields:
            message = errors.get(spec.name)
            label = self.query_one(f"#error-{spec.name}", Static)
            label.update(f"✖ {message}" if message else "")
            label.set_class(bool(message), "-shown")
            self.query_one(f"#field-{spec.name}").set_class(bool(message), "-invalid")
        if status is not None:
            self.status_text = status
            self.query_one("#form-status", Static).update(status)

    def recheck(self, changed: str | None = None) -> None:
        """Show the errors as the fields stand now: the changed field's, those already shown
        (an engine's stays until its own field changes) and every rule's; and the previews."""
        self.engine_errors.discard(changed)
        values, found = self.validate()
        shown: dict[str, str] = {}
        for spec in self.fields:
            name = spec.name
            if name in self.engine_errors:
                shown[name] = self.errors[name]
            elif name in found and (name == changed or name in self.errors or spec.rule is not None):
                shown[name] = found[name]
        self.show_errors(shown, "" if not shown and self.status_text in (FIX_FIELDS, REFUSED) else None)
        for spec in self.fields:
            text = spec.preview(values[spec.name], values) if spec.preview is not None else ""
            preview = self.query_one(f"#preview-{spec.name}", Static)
            preview.update(f"= {text}" if text else "")
            preview.set_class(bool(text), "-shown")

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def field_changed(self, event: Input.Changed | Select.Changed | Checkbox.Changed) -> None:
        event.stop()
        name = (event.control.id or "").removeprefix("field-")
        if name not in self.seen or self.seen[name] == self.raw_value(name):
            return  # not mounted yet, or a widget telling its first value
        self.seen[name] = self.raw_value(name)
        if self.react is not None:
            self.react(self, name)
        self.recheck(name)

    def field_named_in(self, message: str) -> str | None:
        for spec in sorted(self.fields, key=lambda s: -len(s.name)):
            if spec.name in message:
                return spec.name
        return None

    # ---- submitting -----------------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "submit":
            self.action_submit()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        if not self.submitting:
            self.dismiss(None)

    def action_submit(self) -> None:
        if self.submitting:
            return
        values, errors = self.validate()
        self.engine_errors = set()
        self.show_errors(errors, FIX_FIELDS if errors else "")
        if errors:
            return
        self.submitting = True
        self.query_one("#submit", Button).disabled = True
        self.query_one("#form-status", Static).update("… working")
        self.run_worker(self._submit(values), group="form", exclusive=True)

    async def _submit(self, values: Values) -> None:
        try:
            result = await self.submit_fn(values)
        except GatewayError as exc:
            self.submitting = False
            self.query_one("#submit", Button).disabled = False
            name = self.field_named_in(exc.message)
            if name is not None:
                self.engine_errors = {name}
                self.show_errors({name: _about_field(exc.message, name)}, REFUSED)
            else:
                self.show_errors({}, f"✖ {exc.message}")
            return
        self.submitting = False
        self.dismiss(result)


def _about_field(message: str, name: str) -> str:
    """'Invalid params for fund_thread: amount: the core wallet has …' -> 'the core wallet has …'."""
    if message.startswith("Invalid params") and f"{name}: " in message:
        return message.split(f"{name}: ", 1)[1]
    return message


# --------------------------------------------------------------------------- the forms

TOKEN_OPTIONS = [("Token A", "A"), ("Token B", "B")]
DIRECTION_OPTIONS = [("A → B (spend A)", "a_to_b"), ("B → A (spend B)", "b_to_a")]
DIRECTION_NAMES = {value: label.split(" (")[0] for label, value in DIRECTION_OPTIONS}
INPUT_TOKEN = {"A": "A", "B": "B", "a_to_b": "A", "b_to_a": "B"}  # a thread row's side -> the token it spends


def whole_tokens(amount: int, decimals: int) -> str:
    """Base units as whole tokens, exactly: (1_500_000, 6) -> '1.5', (1_500_000_000, 6) -> '1,500'."""
    whole, fraction = divmod(amount, 10**decimals)
    return f"{whole:,}" + (f".{fraction:0{decimals}d}".rstrip("0") if fraction else "")


def sol_preview(lamports: int | None) -> str:
    return "" if lamports is None else f"{whole_tokens(lamports, 9)} SOL (lamports: 9 decimals)"


class Scene:
    """What a form looks things up in: the pool rows it was given and, once `load`ed (one
    snapshot: no chain reads), the engine's pools and thread rows."""

    def __init__(self, gateway, pools: list[dict] = ()) -> None:
        self.gateway = gateway
        self.pools = {pool["pool_id"]: pool for pool in pools}
        self.threads: dict[str, dict] = {}

    async def load(self) -> None:
        snapshot = await self.gateway.snapshot(feed_limit=0)
        self.pools.update((pool["pool_id"], pool) for pool in snapshot.get("pools", []))
        self.threads = {row["thread_id"]: row for row in snapshot.get("threads", [])}

    def tokens(self, amount: int | None, pool_id: str | None, token: str | None, kind: str = "token") -> str:
        """'1.5 token A (6 decimals)'; '' while the amount, the pool or the token is unknown."""
        decimals = fmt.pool_tokens_decimals(self.pools.get(pool_id), token)
        if amount is None or decimals is None:
            return ""
        return f"{whole_tokens(amount, decimals)} {kind} {token} ({decimals} decimals)"

    def directions_taken(self, pool_id: str | None) -> set[str]:
        return {row.get("side") for row in self.threads.values()
                if row.get("type") == "swap" and row.get("pool_id") == pool_id}


def pool_options(pools: list[dict]) -> list[tuple[str, str]]:
    return [(f"{fmt.short_id(pool['pool_id'])}  {pool.get('ratio_display', '')}  "
             f"(dec {pool.get('token_a_decimals')}/{pool.get('token_b_decimals')})", pool["pool_id"])
            for pool in pools]


def _pool_field(pools: list[dict], default: str | None) -> FormField:
    ids = [pool["pool_id"] for pool in pools]
    return FormField("pool_id", "Pool", "select", pool_options(pools),
                     default if default in ids else (ids[0] if ids else None))


def _amount_field(scene: Scene, name: str, label: str, token_field: str, **options: Any) -> FormField:
    """An amount of the form's pool's token named by `token_field` (a token or a swap direction)."""
    return FormField(name, label, preview=lambda amount, values: scene.tokens(
        amount, values["pool_id"], INPUT_TOKEN.get(values[token_field])), **options)


def deposit_form(gateway, pools: list[dict], pool_id: str | None) -> FormScreen:
    def check(values: Values) -> dict[str, str]:
        if values["auto_refill"] and not values["initial_amount"]:
            return {"auto_refill": "auto refill needs an initial amount above 0"}
        return {}

    return FormScreen("New deposit thread", [
        _pool_field(pools, pool_id),
        FormField("token_type", "Token deposited", "select", TOKEN_OPTIONS, "A"),
        _amount_field(Scene(gateway, pools), "initial_amount", "Initial amount (base units, minted to the thread)",
                      "token_type", default=0, placeholder="e.g. 1_000_000_000"),
        FormField("auto_refill", "Auto refill when the balance runs low", "bool", default=False),
        FormField("share_lp_tokens", "Share received LP tokens with withdrawal threads", "bool", default=True),
    ], lambda v: gateway.create_deposit_thread(**v), check=check)


def withdrawal_form(gateway, pools: list[dict], pool_id: str | None) -> FormScreen:
    return FormScreen("New withdrawal thread", [
        _pool_field(pools, pool_id),
        FormField("token_type", "Token withdrawn (its LP token is spent)", "select", TOKEN_OPTIONS, "A"),
    ], lambda v: gateway.create_withdrawal_thread(**v))


def swap_form(gateway, pools: list[dict], pool_id: str | None) -> FormScreen:
    """The engine allows one swap thread per direction per pool: the form looks up the swap
    threads and picks a free direction (again when the pool changes), or says none is free."""
    scene = Scene(gateway, pools)

    def rule(direction: str, values: Values) -> str | None:
        taken = scene.directions_taken(values["pool_id"])
        if len(taken) == len(DIRECTION_OPTIONS):
            return "both directions already have a swap thread in this pool (one per direction): choose another pool"
        if direction in taken:
            return f"a swap thread for {DIRECTION_NAMES[direction]} already exists in this pool: choose the other"
        return None

    def react(form: FormScreen, changed: str | None) -> None:
        if changed == "pool_id" or (changed is None and form.pristine()):
            taken = scene.directions_taken(form.raw_value("pool_id"))
            free = [value for _, value in DIRECTION_OPTIONS if value not in taken]
            if form.raw_value("direction") in taken and free:
                form.set_value("direction", free[0])

    return FormScreen("New swap thread", [
        _pool_field(pools, pool_id),
        FormField("direction", "Direction", "select", DIRECTION_OPTIONS, "a_to_b", rule=rule),
        _amount_field(scene, "initial_amount", "Initial amount of the input token (base units)", "direction",
                      default=0),
    ], lambda v: gateway.create_swap_thread(**v), note="At most one swap thread per direction per pool.",
        prepare=scene.load, react=react)


ATTACK_CATEGORY_OPTIONS = [("admin, boundary, substitution and blocking", "all"),
                           ("admin (the ProgramData bypass)", "admin"), ("boundary amounts", "boundary"),
                           ("account substitution", "substitution"), ("blocking (pre-funded addresses)", "blocking"),
                           ("outside manipulation (the audit then fails)", "outside")]


def attack_form(gateway, pools: list[dict], pool_id: str | None) -> FormScreen:
    scene = Scene(gateway, pools)

    def submit(values: Values):
        category = values.pop("categories")
        return gateway.create_attack_thread(**values, categories=None if category == "all" else [category])

    def preview(amount: int | None, values: Values) -> str:
        sides = [scene.tokens(amount, values["pool_id"], token) for token in ("A", "B")]
        return " and ".join(sides) if all(sides) else ""

    return FormScreen("New attack thread", [
        _pool_field(pools, pool_id),
        FormField("initial_amount", "Tokens of each side minted to it (base units)", default=1_000_000,
                  preview=preview),
        FormField("categories", "Attacks", "select", ATTACK_CATEGORY_OPTIONS, "all"),
    ], submit, note="A non-admin wallet running the attack catalogue; successful admin attacks are undone.")


def pool_form(gateway) -> FormScreen:
    def submit(values: Values):
        return gateway.create_pool(**{k: v for k, v in values.items() if v is not None})

    return FormScreen("New pool", [
        FormField("token_a_decimals", "Token A decimals (0-18; blank = random)", "optional_int", maximum=18),
        FormField("token_b_decimals", "Token B decimals (0-18; blank = random)", "optional_int", maximum=18),
        FormField("ratio_whole_number", "Ratio: 1 of one token = N of the other (blank = random)", "optional_int",
                  minimum=1),
        FormField("ratio_direction", "Ratio direction", "select",
                  [("random", "random"), ("1 A = N B", "a_to_b"), ("1 B = N A", "b_to_a")], "random"),
        FormField("flags", "Pool flags", "select",
                  [("0: none", 0), ("32: owner-only swaps", 32), ("64: exact exchange", 64), ("96: both", 96)], 0),
    ], lambda v: submit(v | {"ratio_direction": None if v["ratio_direction"] == "random" else v["ratio_direction"],
                            "flags": v["flags"] or None}))


def fund_form(gateway, thread_id: str) -> FormScreen:
    """The thread's pool (for its tokens' decimals) is looked up when the form opens."""
    scene = Scene(gateway)

    def preview(amount: int | None, values: Values) -> str:
        kind = values["funding_type"]
        if kind == "sol":
            return sol_preview(amount)
        thread = scene.threads.get(thread_id, {})
        if kind == "lp_tokens":
            return scene.tokens(amount, thread.get("pool_id"), INPUT_TOKEN.get(thread.get("side")), "LP token")
        return scene.tokens(amount, thread.get("pool_id"), kind[-1].upper())

    return FormScreen(f"Fund thread {thread_id}", [
        FormField("funding_type", "What to send", "select",
                  [("SOL (lamports)", "sol"), ("Token A (minted)", "token_a"), ("Token B (minted)", "token_b"),
                   ("LP tokens (core wallet deposits, then transfers)", "lp_tokens")], "sol"),
        FormField("amount", "Amount (base units: lamports for SOL)", minimum=1, placeholder="e.g. 1_000_000_000",
                  preview=preview),
    ], lambda v: gateway.fund_thread(thread_id, **v), submit_label="Fund", prepare=scene.load)


def mint_form(gateway, pools: list[dict], pool_id: str | None) -> FormScreen:
    return FormScreen("Mint and send tokens", [
        _pool_field(pools, pool_id),
        FormField("token_type", "Token", "select", TOKEN_OPTIONS, "A"),
        FormField("recipient_address", "Recipient wallet (base58)", "pubkey"),
        _amount_field(Scene(gateway, pools), "amount", "Amount (base units)", "token_type", minimum=1),
    ], lambda v: gateway.mint_and_send_tokens(**v), submit_label="Mint")
