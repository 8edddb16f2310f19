"""Pure formatting helpers for the console: amounts, ids, durations, chain mode labels."""
from __future__ import annotations

from urllib.parse import urlparse

_SUFFIXES = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k"))
LAMPORTS_PER_SOL = 10**9


def compact(value: float) -> str:
    """A number in at most ~7 characters: 0, 12.5, 999, 1.23k, 45.6M, 7.89T, 1.2e+18."""
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    if magnitude >= 10**15:
        return f"{sign}{magnitude:.1e}"
    for factor, suffix in _SUFFIXES:
        if magnitude >= factor:
            scaled = magnitude / factor
            return f"{sign}{scaled:.3g}{suffix}" if scaled < 100 else f"{sign}{scaled:.0f}{suffix}"
    if magnitude >= 100:
        return f"{sign}{magnitude:.0f}"
    if magnitude >= 0.01:
        return f"{sign}{magnitude:.3g}"
    return f"{sign}{magnitude:.1e}"


UNITS = ("tokens", "base")  # the console's two amount conventions; "tokens" is the default
UNIT_LABELS = {"tokens": "whole tokens", "base": "base units"}
TINY = 0.001
BASE_WIDTH = 15  # base units are shown exact up to 999,999,999,999 (the table widens to fit)
AMOUNT_WIDTHS = {"tokens": 7, "base": BASE_WIDTH}  # a table's amount columns, per unit


def tokens(base_units: int | None, decimals: int | None, units: str = "tokens") -> str:
    """An amount in the console's convention, compact: whole tokens with the token's decimals
    (a non-zero amount under 0.001 token is "<0.001", never a misleading 0 or 2.8e-07), or base
    units, exact (compact only past BASE_WIDTH characters). Decimals unknown: base units."""
    if base_units is None:
        return "–"
    if units == "base":
        exact = f"{base_units:,}"
        return exact if len(exact) <= BASE_WIDTH else compact(base_units)
    if not decimals:
        return compact(base_units)
    value = base_units / 10**decimals
    if 0 < abs(value) < TINY:
        return f"{'-' if value < 0 else ''}<{TINY:g}"
    if abs(value) < 0.01:
        return f"{value:.2g}"
    return compact(value)


def sol(lamports: int | None, digits: int = 2) -> str:
    if lamports is None:
        return "–"
    return f"{lamports / LAMPORTS_PER_SOL:,.{digits}f}"


def count(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def short_id(value: str | None, head: int = 4, tail: int = 4) -> str:
    """'4aeVqtWhrUh6wpX8acNj2hpWXKEQwxjA3PYb2sHhNyCn' -> '4aeV…NyCn'."""
    if not value:
        return "–"
    if len(value) <= head + tail + 1:
        return value
    return f"{value[:head]}…{value[-tail:]}"


def duration(seconds: float | None) -> str:
    """1:02:03 (or 2d 01:02:03)."""
    if seconds is None:
        return "–"
    seconds = int(max(0, seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{days}d {clock}" if days else clock


def time_of_day(iso: str | None) -> str:
    """'2025-01-02T03:04:05.678Z' -> '03:04:05'."""
    if not iso or "T" not in iso:
        return "–"
    return iso.split("T", 1)[1][:8]


def side_label(row: dict) -> str:
    side = row.get("side")
    if side in ("a_to_b", "b_to_a"):
        return "A→B" if side == "a_to_b" else "B→A"
    return side or "–"


TYPE_LABELS = {"deposit": "dep", "withdrawal": "wdr", "swap": "swp", "attack": "atk"}
STATUS_WORDS = {"running": "running", "stopped": "stopped", "created": "created", "error": "ERROR"}


def status_label(status: str, symbol: str | None = None) -> str:
    from engine.threads import STATUS_SYMBOLS

    return f"{symbol or STATUS_SYMBOLS.get(status, '?')} {STATUS_WORDS.get(status, status)}"


def chain_label(mode: str, url: str | None) -> tuple[str, str]:
    """(label, level) for the header: level is 'ok', 'warning' (devnet / testnet) or 'error'
    (mainnet)."""
    if mode in ("embedded-emulated", "embedded-so"):
        return mode, "ok"
    if not url:
        return mode, "ok"
    host = (urlparse(url).hostname or "").lower()
    if "devnet" in host or "testnet" in host:
        return ("devnet" if "devnet" in host else "testnet") + f" {url}", "warning"
    if "mainnet" in host:
        return f"MAINNET {url}", "error"
    if host in ("127.0.0.1", "localhost", "::1") or host.startswith("127."):
        return f"localnet {urlparse(url).netloc}", "ok"
    return f"custom {url}", "ok"


def pool_tokens_decimals(pool: dict | None, token: str | None) -> int | None:
    if pool is None or token not in ("A", "B"):
        return None
    return pool.get("token_a_decimals") if token == "A" else pool.get("token_b_decimals")


def plural(count: int, noun: str) -> str:
    """"1 pool", "2 pools"."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
