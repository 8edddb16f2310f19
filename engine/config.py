"""Typed configuration: defaults < TOML file < environment (FRT_STRESS_*) < code overrides.

    loaded = load_config()                 # default path, or $FRT_STRESS_CONFIG
    loaded.settings.chain.rpc_url
    loaded.sources["chain.rpc_url"]        # "default" | "file" | "env" | "override"

Environment variables use the prefix ``FRT_STRESS_`` and ``__`` between section and key
(``FRT_STRESS_CHAIN__RPC_URL``).  ``FRT_STRESS_CONFIG`` names the file and
``FRT_STRESS_PASSPHRASE`` is reserved for a secret; neither is a config key.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
import tomli_w
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError
from solders.pubkey import Pubkey

from engine.atomic import atomic_write_text

APP_NAME = "frt-stress"
ENV_PREFIX = "FRT_STRESS_"
ENV_NESTED_DELIMITER = "__"
CONFIG_PATH_ENV = "FRT_STRESS_CONFIG"
DEFAULT_PROGRAM_ID = "4aeVqtWhrUh6wpX8acNj2hpWXKEQwxjA3PYb2sHhNyCn"

Source = Literal["default", "file", "env", "override"]
SECRET_FIELDS = {"api_key"}  # never echoed in error messages


class ConfigError(Exception):
    """The configuration file or an override is unreadable or invalid."""


# A path with ``~`` expanded.
UserPath = Annotated[Path, AfterValidator(lambda p: p.expanduser())]


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME))


def default_config_path() -> Path:
    """``$FRT_STRESS_CONFIG`` if set, else the platform's config dir / config.toml."""
    if env := os.environ.get(CONFIG_PATH_ENV):
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


# --------------------------------------------------------------------------- model

class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChainConfig(_Section):
    """Which cluster to talk to and how patiently."""

    backend: Literal["embedded", "rpc"] = Field(
        "embedded", description='Cluster backend: "embedded" (in-process chain) or "rpc" (a JSON-RPC endpoint).')
    rpc_url: str = Field("http://localhost:8899", description="JSON-RPC endpoint used when backend = \"rpc\".")
    allow_mainnet: bool = Field(False, description="Permit talking to mainnet-beta (off by default, on purpose).")
    commitment: Literal["confirmed"] = Field(
        "confirmed", description="Commitment level used for every read and confirmation.")
    request_timeout_s: float = Field(30.0, gt=0, description="Timeout of one RPC request, in seconds.")
    max_retries: int = Field(5, ge=0, description="Retries of a failed RPC request before giving up.")
    confirm_timeout_s: float = Field(
        90.0, gt=0, description="How long to wait for a transaction to confirm, in seconds.")
    operation_deadline_s: float = Field(
        5.0, gt=0, description="RPC: the longest a thread's operation waits for its transaction to be confirmed "
                               "(re-broadcasting it meanwhile); past it the operation is a transient 'Unconfirmed' "
                               "failure, its pool's lock is released, and the transaction is followed until it lands "
                               "or its blockhash expires (never re-signed).")
    backoff_base_s: float = Field(
        0.05, gt=0, description="RPC: first delay before retrying a failed request or re-broadcasting a transaction; "
                                "it doubles per attempt (with jitter) up to backoff_max_s.")
    backoff_max_s: float = Field(
        2.0, gt=0, description="RPC: longest delay between retries (a node's Retry-After is honoured up to 10 s).")
    stop_grace_s: float = Field(
        10.0, gt=0, description="How long stopping a thread waits for its operation in flight; past it the "
                                "operation is abandoned uncounted (a transaction it sent may still land: the next "
                                "operation reads the chain afresh and the ledger audit checks the chain itself).")


class ProgramConfig(_Section):
    """The Fixed Ratio Trading program under test."""

    program_id: str = Field(DEFAULT_PROGRAM_ID, description="Program id (base58 public key) of the FRT program.")
    program_so: UserPath | None = Field(
        None, description="Compiled FRT program (.so) to deploy; unset = use the built-in emulator.",
        json_schema_extra={"example": "/path/to/fixed_ratio_trading.so"})
    upgrade_authority_keypair: UserPath | None = Field(
        None, description="Keypair JSON of the program's upgrade authority; unset = the core wallet.",
        json_schema_extra={"example": "/path/to/upgrade-authority.json"})
    initialize_program: bool = Field(
        True, description="Run InitializeProgram during bootstrap if it has not run yet.")

    @field_validator("program_id")
    @classmethod
    def _base58_pubkey(cls, value: str) -> str:
        try:
            Pubkey.from_string(value)
        except ValueError:
            raise ValueError("not a valid base58 public key") from None
        return value


class WalletConfig(_Section):
    """The core wallet that funds everything else."""

    core_keypair: UserPath | None = Field(
        None,
        description="Solana CLI keypair JSON of the core wallet; unset = <data_dir>/core-wallet.json (created if missing).",
        json_schema_extra={"example": "~/.config/solana/id.json"})
    airdrop_lamports: int = Field(
        1_000_000_000_000, ge=0,
        description="Lamports bootstrap requests by airdrop where the cluster offers airdrops.")
    min_core_lamports: int = Field(
        100_000_000_000, ge=0, description="Minimum core wallet balance (lamports) before a run may start.")


class EmbeddedConfig(_Section):
    """The in-process chain used when chain.backend = "embedded"."""

    snapshot_interval_s: float = Field(
        30.0, gt=0, description="Seconds between snapshots of the embedded chain's state.")
    slot_time_ms: int = Field(400, gt=0, description="Simulated slot duration, in milliseconds.")
    persist: bool = Field(True, description="Keep the embedded chain's state in data_dir across runs.")


class LocalnetConfig(_Section):
    """A local validator started by `frt-stress localnet`."""

    host: str = Field("127.0.0.1", description="Address the local validator listens on.")
    port: int = Field(8899, ge=1, le=65535, description="JSON-RPC port of the local validator.")


def api_key_problem(key: str) -> str | None:
    """Why `key` cannot be an API key, or None. Clients' keys arrive trimmed of surrounding blanks
    (HTTP headers), so a key of blanks or with blanks around it could never match."""
    if not key.strip():
        return "api_key must not be blank"
    if key != key.strip():
        return "api_key must not start or end with blanks (spaces, tabs, newlines)"
    if any(ord(char) < 32 or ord(char) == 127 for char in key):
        return "api_key must not contain control characters"
    if len(key) < 16:
        return "api_key must be at least 16 characters long"
    return None


class ApiConfig(_Section):
    """The JSON-RPC API (`frt-stress serve`, and the console's listener)."""

    host: str = Field(
        "127.0.0.1", description="Address the API listens on; any non-loopback address requires api_key.")
    port: int = Field(8080, ge=0, le=65535, description="Port the API listens on (0 = any free port).")
    api_key: str | None = Field(
        None, description="API key clients send as 'Authorization: Bearer KEY' or 'X-API-Key: KEY' "
                          "(at least 16 characters, no blanks around it); unset = no key (loopback only).",
        json_schema_extra={"example": "a-long-random-string-of-your-own"})
    allowed_ips: list[str] = Field(
        [], description="Client addresses or CIDR ranges allowed to connect (empty = any).")
    rate_limit_per_s: float = Field(
        50.0, ge=0, description="Requests per second allowed per client address (0 = no limit); "
                                "a batch counts one per entry.")
    rate_limit_burst: int = Field(100, ge=1, description="Requests a client may send at once above the rate.")
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Largest request body accepted, in bytes.")
    max_batch: int = Field(100, ge=1, description="Most requests one JSON-RPC batch may hold.")
    cors_origins: list[str] = Field(
        [], description="Browser origins allowed to call the API (CORS), e.g. \"http://localhost:3000\"; "
                        "empty = none.")
    tls_cert: UserPath | None = Field(
        None, description="TLS certificate chain (PEM) to serve HTTPS; needs tls_key.",
        json_schema_extra={"example": "/path/to/cert.pem"})
    tls_key: UserPath | None = Field(
        None, description="Private key (PEM) of tls_cert.", json_schema_extra={"example": "/path/to/key.pem"})
    audit_log: bool = Field(
        True, description="Append every state-changing call to <data_dir>/audit.log (JSON lines, params cut to "
                          "a bounded size).")
    audit_log_max_bytes: int = Field(
        10_485_760, ge=4096, description="Size at which audit.log is rotated: renamed audit.log.1 (older ones "
                                         "shifted to .2, .3, ...) and a new one started.")
    audit_log_backups: int = Field(
        5, ge=1, description="Rotated audit logs kept (audit.log.1 ... audit.log.N); older ones are deleted.")
    read_timeout_s: float = Field(
        5.0, gt=0, description="Seconds a client has to send a request's body once its headers have arrived; a "
                               "slower or half-sent request is answered HTTP 408 and its connection closed.")
    idle_timeout_s: float = Field(
        10.0, gt=0, description="Seconds a connection may go without sending a complete request's headers "
                                "(from when it opened or got its last answer) before the server closes it.")
    status_cache_ms: int = Field(
        250, ge=0, description="Reuse answers of the status reads (get_all_threads, ...) for this many ms "
                               "(0 = off); a state-changing call through the API clears them.")

    @field_validator("api_key", mode="before")
    @classmethod
    def _empty_key_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("api_key")
    @classmethod
    def _usable_key(cls, value: str | None) -> str | None:
        if value is not None and (problem := api_key_problem(value)):
            raise ValueError(problem)
        return value

    @field_validator("allowed_ips")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"not an IP address or CIDR range: {entry!r}") from None
        return value

    @model_validator(mode="after")
    def _tls_pair(self) -> "ApiConfig":
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key must be set together")
        return self


class EngineConfig(_Section):
    """How worker threads behave (service design §2-3); pacing 0 = as fast as possible."""

    pacing_min_ms: int = Field(750, ge=0, description="Shortest pause between two cycles of a thread, in ms.")
    pacing_max_ms: int = Field(2000, ge=0, description="Longest pause between two cycles of a thread, in ms.")
    deposit_max_fraction: float = Field(
        0.05, gt=0, le=1, description="Largest deposit as a fraction of the thread's token balance.")
    withdrawal_max_fraction: float = Field(
        0.05, gt=0, le=1, description="Largest withdrawal as a fraction of the thread's LP balance.")
    swap_max_fraction: float = Field(
        0.02, gt=0, le=1, description="Largest swap as a fraction of the thread's input balance.")
    refill_threshold_fraction: float = Field(
        0.05, gt=0, le=1, description="Auto-refill when the balance drops below this fraction of initial_amount.")
    thread_initial_lamports: int = Field(
        2_000_000_000, ge=0, description="SOL (lamports) the core wallet gives a new thread wallet.")
    sol_threshold_lamports: int = Field(
        1_000_000_000, ge=0, description="The SOL monitor tops up thread wallets below this balance (lamports).")
    sol_topup_lamports: int = Field(
        2_000_000_000, gt=0, description="What one SOL top-up sends to a thread wallet (lamports).")
    sol_monitor_interval_s: float = Field(30.0, gt=0, description="Seconds between two SOL monitor rounds.")
    target_pool_count: int = Field(
        0, ge=0, description="At start-up, create pools until the registry holds at least this many.")
    resume_running_threads: bool = Field(
        True, description="After a restart, start again the threads that were running when the engine stopped.")
    stats_flush_interval_s: float = Field(
        5.0, gt=0, description="Seconds between two saves of statistics.json while threads run.")
    seed: int | None = Field(
        None, description="Seed of the engine's random choices (pools, thread RNGs); unset = random.",
        json_schema_extra={"example": 42})
    check_invariants: bool = Field(
        True, description="Predict every operation with the model and check pool invariants after it.")
    record_history: bool = Field(
        True, description="Record each pool's history (history/<pool>.jsonl in each shard's directory): what "
                          "`frt-stress replay`, `shrink` and `export` rebuild a finding from.")
    shards: int | None = Field(
        None, ge=0, description="Shard processes running the worker threads; unset = cores minus reserved_cores "
                                "(at least 1); 0 = everything in the main process.",
        json_schema_extra={"example": 2})
    key_namespace: str = Field(
        "", description="Mixed into keys derived from the seed; each shard gets its own, so no two shards "
                        "ever derive the same mint or wallet.")
    reserved_cores: int = Field(
        1, ge=0, description="Cores left to the main process (coordinator, API, console) when shards is unset.")
    boundary_amount_share: float = Field(
        0.03, ge=0, le=1, description="Share of cycles that send a boundary amount (0, 1, the balance, balance + 1, "
                                      "u64::MAX, beyond the pool's liquidity, off the exact-exchange step) instead "
                                      "of a random one.")
    operator_enabled: bool = Field(
        False, description="Run the operator: admin actions at random moments (pause / unpause pools and the "
                           "system, fee changes, owner-only swaps, consolidation, treasury withdrawals), each "
                           "predicted and checked.")
    operator_interval_s: float = Field(
        3.0, gt=0, description="Mean seconds between two operator actions (per shard).")


class Settings(BaseSettings):
    """The whole configuration."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter=ENV_NESTED_DELIMITER, extra="forbid")

    data_dir: UserPath = Field(
        default_factory=_default_data_dir,
        description="Directory for wallets, chain snapshots and results (default: the platform's user data dir).")
    log_level: str = Field("INFO", description="Log level: DEBUG, INFO, WARNING, ERROR or CRITICAL.")
    chain: ChainConfig = Field(default_factory=ChainConfig, description=ChainConfig.__doc__)
    program: ProgramConfig = Field(default_factory=ProgramConfig, description=ProgramConfig.__doc__)
    wallet: WalletConfig = Field(default_factory=WalletConfig, description=WalletConfig.__doc__)
    embedded: EmbeddedConfig = Field(default_factory=EmbeddedConfig, description=EmbeddedConfig.__doc__)
    localnet: LocalnetConfig = Field(default_factory=LocalnetConfig, description=LocalnetConfig.__doc__)
    engine: EngineConfig = Field(default_factory=EngineConfig, description=EngineConfig.__doc__)
    api: ApiConfig = Field(default_factory=ApiConfig, description=ApiConfig.__doc__)

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        # No .env files or secret dirs; the TOML file is merged in by load_config().
        return init_settings, env_settings

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError(f"unknown log level {value!r}")
        return level

    @property
    def core_keypair_path(self) -> Path:
        return self.wallet.core_keypair or self.data_dir / "core-wallet.json"

    @property
    def upgrade_authority_path(self) -> Path:
        return self.program.upgrade_authority_keypair or self.core_keypair_path

    def ensure_data_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self.data_dir


def _sections() -> dict[str, type[BaseModel]]:
    return {name: f.annotation for name, f in Settings.model_fields.items()
            if isinstance(f.annotation, type) and issubclass(f.annotation, BaseModel)}


# --------------------------------------------------------------------------- loading

@dataclass(frozen=True)
class LoadedConfig:
    settings: Settings
    path: Path | None                       # the file read, or None when defaults were used
    sources: dict[str, Source] = field(default_factory=dict)  # dotted key -> where its value came from

    def values(self) -> dict[str, Any]:
        """Every dotted key with its JSON-able value."""
        return _flatten(self.settings.model_dump(mode="json"))


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Deep merge, ``top`` wins."""
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _nest_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    """Accept ``chain={"rpc_url": ...}``, ``chain__rpc_url=...`` or ``**{"chain.rpc_url": ...}``."""
    nested: dict[str, Any] = {}
    for key, value in overrides.items():
        parts = key.replace(ENV_NESTED_DELIMITER, ".").split(".")
        for part in reversed(parts):
            value = {part: value}
        nested = _merge(nested, value)
    return nested


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror or exc}") from None


def _origin(key: str, layers: dict[str, dict[str, Any]], path: Path | None) -> str:
    """Human description of where the (possibly unknown) dotted key was set."""
    def has(flat: dict[str, Any]) -> bool:
        return any(k == key or k.startswith(key + ".") or key.startswith(k + ".") for k in flat)
    if has(layers["override"]):
        return "override"
    if has(layers["env"]):
        return "environment variable " + ENV_PREFIX + key.replace(".", ENV_NESTED_DELIMITER).upper()
    return str(path) if path else "defaults"


def _format_validation_error(exc: ValidationError, layers: dict[str, dict[str, Any]],
                             path: Path | None) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "<root>"
        where = _origin(key, layers, path)
        if err["type"] == "extra_forbidden":
            lines.append(f"{where}: unknown key {key!r}")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            got = err.get("input")
            secret = key.rsplit(".", 1)[-1] in SECRET_FIELDS
            got = f" (got {got!r})" if isinstance(got, (str, int, float, bool)) and not secret else ""
            lines.append(f"{where}: {key}: {msg}{got}")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def load_config(path: Path | None = None, **overrides: Any) -> LoadedConfig:
    """Load the effective configuration.

    ``path`` None means ``default_config_path()``; a missing file there is fine unless it
    was named by ``$FRT_STRESS_CONFIG``.  A missing file given explicitly is an error.
    """
    explicit = path is not None or bool(os.environ.get(CONFIG_PATH_ENV))
    path = Path(path).expanduser() if path is not None else default_config_path()
    if path.exists():
        file_data = _read_toml(path)
    elif explicit:
        raise ConfigError(f"{path}: config file not found")
    else:
        path, file_data = None, {}

    try:
        env_data = EnvSettingsSource(Settings)()
    except SettingsError as exc:
        raise ConfigError(f"environment: {exc}") from None
    override_data = _nest_overrides(overrides)

    layers = {"file": _flatten(file_data), "env": _flatten(env_data), "override": _flatten(override_data)}
    merged = _merge(_merge(file_data, env_data), override_data)
    try:
        # model_validate skips the settings sources: env is already merged in above.
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, layers, path)) from None

    sources: dict[str, Source] = {}
    for key in _flatten(settings.model_dump()):
        sources[key] = next((name for name in ("override", "env", "file") if key in layers[name]), "default")
    return LoadedConfig(settings=settings, path=path, sources=sources)


# --------------------------------------------------------------------------- writing

def _toml_value(value: Any) -> Any:
    return str(value) if isinstance(value, Path) else value


def _render_fields(model: type[BaseModel], instance: BaseModel) -> list[str]:
    lines: list[str] = []
    for name, info in model.model_fields.items():
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            continue  # sections are rendered as tables
        lines.append(f"# {info.description}")
        value = getattr(instance, name)
        if info.default is None or info.default_factory is not None:
            # Unset or machine-dependent: show it, commented out, so the file stays portable.
            example = value if value is not None else (info.json_schema_extra or {}).get("example", "")
            lines.append("# " + tomli_w.dumps({name: _toml_value(example)}).strip())
        else:
            lines.append(tomli_w.dumps({name: _toml_value(value)}).strip())
        lines.append("")
    return lines


def render_default_toml() -> str:
    """The default configuration as a commented TOML file that loads back to the defaults."""
    defaults = Settings.model_construct()  # no env, no validation: pure defaults
    lines = [
        "# frt-stress configuration.",
        f"# Environment variables override this file: {ENV_PREFIX}<KEY> for top-level keys,",
        f"# {ENV_PREFIX}<SECTION>{ENV_NESTED_DELIMITER}<KEY> for the rest "
        f"(e.g. {ENV_PREFIX}CHAIN{ENV_NESTED_DELIMITER}RPC_URL).",
        "",
    ]
    lines += _render_fields(Settings, defaults)
    for name, model in _sections().items():
        lines += [f"# {model.__doc__}", f"[{name}]", ""]
        lines += _render_fields(model, getattr(defaults, name))
    return "\n".join(lines).rstrip() + "\n"


def write_config_file(path: Path, text: str, force: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically (temp file, fsync, rename).

    Refuses to replace an existing file unless ``force``.
    """
    path = Path(path).expanduser()
    if path.exists() and not force:
        raise ConfigError(f"{path}: already exists (use --force to overwrite)")
    atomic_write_text(path, text)
    return path
