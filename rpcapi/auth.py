"""Security pieces of the API: key check, address allow-list, per-client rate limit, redaction
(the audit log itself is rpcapi/audit.py)."""
from __future__ import annotations

import hmac
import ipaddress
import re
import time
from typing import Any, Mapping

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
_SECRET_KEY_RE = re.compile(r"key|secret|passphrase|password", re.IGNORECASE)
REDACTED = "***"


class ApiConfigError(Exception):
    """The API cannot start with this configuration."""


def is_loopback(host: str) -> bool:
    """True for an address that only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # another host name: it may resolve to anything


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key a request carries: `Authorization: Bearer KEY` or `X-API-Key: KEY`."""
    authorization = headers.get("Authorization", "")
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    key = headers.get("X-API-Key")
    return key.strip() if key else None


def key_matches(expected: str, presented: str | None) -> bool:
    """Constant-time comparison (the time does not depend on how much of the key matched)."""
    if presented is None:
        hmac.compare_digest(expected.encode(), b"\0" * len(expected.encode()))  # same work either way
        return False
    return hmac.compare_digest(expected.encode("utf-8"), presented.encode("utf-8", "surrogatepass"))


class AllowList:
    """Client addresses allowed to connect; empty = everyone."""

    def __init__(self, entries: list[str]) -> None:
        self.networks = [ipaddress.ip_network(entry, strict=False) for entry in entries]

    def allows(self, remote: str | None) -> bool:
        if not self.networks:
            return True
        if not remote:
            return False
        try:
            address = ipaddress.ip_address(remote.split("%")[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks if network.version == address.version)


class RateLimiter:
    """A token bucket per client address: `rate` tokens per second, at most `burst` saved up.
    rate 0 = unlimited."""

    MAX_CLIENTS = 10_000

    def __init__(self, rate: float, burst: int, clock=time.monotonic) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, last refill time)

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, client: str, cost: float = 1.0) -> bool:
        """Spend `cost` tokens of the client's bucket; False (and nothing spent) if it has too few."""
        if not self.enabled:
            return True
        now = self.clock()
        tokens, last = self._buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        allowed = tokens >= cost
        if allowed:
            tokens -= cost
        self._buckets[client] = (tokens, now)
        if len(self._buckets) > self.MAX_CLIENTS:
            self._prune(now)
        return allowed

    def retry_after(self, client: str, cost: float = 1.0) -> int:
        """Whole seconds until `cost` tokens are available again."""
        tokens, _ = self._buckets.get(client, (self.burst, 0.0))
        return max(1, int((min(cost, self.burst) - tokens) / self.rate + 0.999)) if self.enabled else 0

    def _prune(self, now: float) -> None:
        """Forget clients whose bucket has refilled completely (they would start full anyway)."""
        full_after = self.burst / self.rate
        self._buckets = {client: state for client, state in self._buckets.items() if now - state[1] < full_after}


def is_secret_name(name: Any) -> bool:
    """A key named like *key*, *secret*, *passphrase*, *password*: its value is never written out."""
    return isinstance(name, str) and _SECRET_KEY_RE.search(name) is not None


def redact(value: Any) -> Any:
    """`value` with anything under a key named like *key*, *secret*, *passphrase*, *password* hidden."""
    if isinstance(value, dict):
        return {k: REDACTED if is_secret_name(k) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value
