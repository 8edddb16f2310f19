"""Forms in a modal: fields with inline validation errors, submitted to the gateway; an error
the engine answers with is shown under the field it names (or under the form) and the form
stays open. Dismisses with the operation's result, or None when cancelled."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

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
    FormScreen .field-error { color: $error; height: auto; display: none; }
    FormScreen .field-error.-shown { display: block; }
    FormScreen #form-status { color: $error; height: auto; margin-top: 1; }
    FormScreen Horizontal { height: auto; align-horizontal: right; margin: 1 0 0 0; }
    FormScreen Button { margin-left: 2; }
    FormScreen Checkbox { margin-top: 1; }
    """

    def __init__(self, title: str, fields: list[FormField], submit: Callable[[Values], Awaitable[Values]], *,
                 submit_label: str = "Create", check: Callable[[Values], dict[str, str]] | None = None,
                 note: str = "") -> None:
        super().__init__()
        self.form_title, self.fields, self.submit_fn = title, fields, submit
        self.submit_label, self.check, self.note = submit_label, check, note
        self.errors: dict[str, str] = {}
        self.submitting = False

    def compose(self) -> ComposeResult:
        blink = getattr(self.app, "cursor_blink", True)
        with VerticalScroll():
            yield Static(self.form_title, classes="form-title", markup=False)
            if self.note:
                yield Static(self.note, classes="form-note", markup=False)
            for spec in self.fields:
                if spec.kind == "bool":
                    yield Checkbox(spec.label, value=bool(spec.default), id=f"field-{spec.name}", compact=True)
                else:
                    yield Label(spec.label)
                    if spec.kind == "select":
                        yield Select(spec.options, value=spec.default if spec.default is not None else Select.BLANK,
                                     allow_blank=spec.default is None, id=f"field-{spec.name}", compact=True)
                    else:
                        widget = Input(value="" if spec.default is None else str(spec.default),
                                       placeholder=spec.placeholder, id=f"field-{spec.name}", compact=True)
                        widget.cursor_blink = blink
                        yield widget
                yield Static("", id=f"error-{spec.name}", classes="field-error", markup=False)
            yield Static("", id="form-status", markup=False)
            with Horizontal():
                yield Button("Cancel (esc)", id="cancel", compact=True)
                yield Button(f"{self.submit_label} (⏎)", variant="primary", id="submit", compact=True)

    def on_mount(self) -> None:
        first = self.query(f"#field-{self.fields[0].name}").first() if self.fields else None
        if first is not None:
            first.focus()

    # ---- values and errors ---------------------------------------------------------------------

    def raw_value(self, name: str) -> Any:
        widget = self.query_one(f"#field-{name}")
        return widget.value

    def set_value(self, name: str, value: Any) -> None:
        widget = self.query_one(f"#field-{name}")
        widget.value = value

    def validate(self) -> tuple[Values, dict[str, str]]:
        values: Values = {}
        errors: dict[str, str] = {}
        for spec in self.fields:
            value, error = validate_field(spec, self.raw_value(spec.name))
            if error:
                errors[spec.name] = error
            values[spec.name] = value
        if not errors and self.check is not None:
            errors.update(self.check(values))
        return values, errors

    def show_errors(self, errors: dict[str, str], status: str = "") -> None:
        self.errors = errors
        for spec in self.fields:
            message = errors.get(spec.name)
            label = self.query_one(f"#error-{spec.name}", Static)
            label.update(f"✖ {message}" if message else "")
            label.set_class(bool(message), "-shown")
            self.query_one(f"#field-{spec.name}").set_class(bool(message), "-invalid")
        self.query_one("#form-status", Static).update(status)

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
        self.show_errors(errors, "✖ fix the fields marked above" if errors else "")
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
                self.show_errors({name: exc.message}, "✖ the engine refused it")
            else:
                self.show_errors({}, f"✖ {exc.message}")
            return
        self.submitting = False
        self.dismiss(result)


# --------------------------------------------------------------------------- the forms

TOKEN_OPTIONS = [("Token A", "A"), ("Token B", "B")]
DIRECTION_OPTIONS = [("A → B (spend A)", "a_to_b"), ("B → A (spend B)", "b_to_a")]


def pool_options(pools: list[dict]) -> list[tuple[str, str]]:
    return [(f"{fmt.short_id(pool['pool_id'])}  {pool.get('ratio_display', '')}  "
             f"(dec {pool.get('token_a_decimals')}/{pool.get('token_b_decimals')})", pool["pool_id"])
            for pool in pools]


def _pool_field(pools: list[dict], default: str | None) -> FormField:
    ids = [pool["pool_id"] for pool in pools]
    return FormField("pool_id", "Pool", "select", pool_options(pools),
                     default if default in ids else (ids[0] if ids else None))


def deposit_form(gateway, pools: list[dict], pool_id: str | None) -> FormScreen:
    def check(values: Values) -> dict[str, str]:
        if values["auto_refill"] and not values["initial_amount"]:
            return {"auto_refill": "auto refill needs an initial amount above 0"}
        return {}

    return FormScreen("New deposit thread", [
        _pool_field(pools, pool_id),
        FormField("token_type", "Token deposited", "select", TOKEN_OPTIONS, "A"),
        FormField("initial_amount", "Initial amount (base units, minted to the thread)", default=0,
                  placeholder="e.g. 1_000_000_000"),
        FormField("auto_refill", "Auto refill when the balance runs low", "bool", default=False),
        FormField("share_lp_tokens", "Share received LP tokens with withdrawal threads", "bool", default=True),
    ], lambda v: gateway.create_deposit_thread(**v), check=check)


def withdrawal_form(gateway, pools: list[dict], pool_id: str | None) -> FormScreen:
    return FormScreen("New withdrawal thread", [
        _pool_field(pools, pool_id),
        FormField("token_type", "Token withdrawn (its LP token is spent)", "select", TOKEN_OPTIONS, "A"),
    ], lambda v: gateway.create_withdrawal_thread(**v))


def swap_form(gateway, pools: list[dict], pool_id: str | None) -> FormScreen:
    return FormScreen("New swap thread", [
        _pool_field(pools, pool_id),
        FormField("direction", "Direction", "select", DIRECTION_OPTIONS, "a_to_b"),
        FormField("initial_amount", "Initial amount of the input token (base units)", default=0),
    ], lambda v: gateway.create_swap_thread(**v), note="At most one swap thread per direction per pool.")


ATTACK_CATEGORY_OPTIONS = [("admin, boundary, substitution and blocking", "all"),
                           ("admin (the ProgramData bypass)", "admin"), ("boundary amounts", "boundary"),
                           ("account substitution", "substitution"), ("blocking (pre-funded addresses)", "blocking"),
                           ("outside manipulation (the audit then fails)", "outside")]


def attack_form(gateway, pools: list[dict], pool_id: str | None) -> FormScreen:
    def submit(values: Values):
        category = values.pop("categories")
        return gateway.create_attack_thread(**values, categories=None if category == "all" else [category])

    return FormScreen("New attack thread", [
        _pool_field(pools, pool_id),
        FormField("initial_amount", "Tokens of each side minted to it (base units)", default=1_000_000),
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
    return FormScreen(f"Fund thread {thread_id}", [
        FormField("funding_type", "What to send", "select",
                  [("SOL (lamports)", "sol"), ("Token A (minted)", "token_a"), ("Token B (minted)", "token_b"),
                   ("LP tokens (core wallet deposits, then transfers)", "lp_tokens")], "sol"),
        FormField("amount", "Amount (base units / lamports)", minimum=1, placeholder="e.g. 1_000_000_000"),
    ], lambda v: gateway.fund_thread(thread_id, **v), submit_label="Fund")


def mint_form(gateway, pools: list[dict], pool_id: str | None) -> FormScreen:
    return FormScreen("Mint and send tokens", [
        _pool_field(pools, pool_id),
        FormField("token_type", "Token", "select", TOKEN_OPTIONS, "A"),
        FormField("recipient_address", "Recipient wallet (base58)", "pubkey"),
        FormField("amount", "Amount (base units)", minimum=1),
    ], lambda v: gateway.mint_and_send_tokens(**v), submit_label="Mint")
