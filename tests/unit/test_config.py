import os
import tomllib
from pathlib import Path

import pytest

from engine.config import (
    ConfigError,
    Settings,
    default_config_path,
    load_config,
    render_default_toml,
    write_config_file,
)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """No real home directory, no stray FRT_STRESS_* variables."""
    for name in list(os.environ):
        if name.startswith("FRT_STRESS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_when_no_file(tmp_path):
    loaded = load_config()
    s = loaded.settings
    assert loaded.path is None
    assert default_config_path() == tmp_path / "xdg-config" / "frt-stress" / "config.toml"
    assert s.data_dir == tmp_path / "xdg-data" / "frt-stress"
    assert s.log_level == "INFO"
    assert s.chain.backend == "embedded"
    assert s.chain.rpc_url == "http://localhost:8899"
    assert s.chain.commitment == "confirmed"
    assert s.program.program_id == "4aeVqtWhrUh6wpX8acNj2hpWXKEQwxjA3PYb2sHhNyCn"
    assert s.program.program_so is None
    assert s.wallet.airdrop_lamports == 1_000_000_000_000
    assert s.localnet.port == 8899
    assert s.core_keypair_path == s.data_dir / "core-wallet.json"
    assert set(loaded.sources.values()) == {"default"}
    assert not s.data_dir.exists()
    assert s.ensure_data_dir().is_dir()


def test_file_values(tmp_path):
    path = write(tmp_path / "c.toml", """
        log_level = "debug"
        [chain]
        backend = "rpc"
        rpc_url = "http://example:8899"
        [wallet]
        core_keypair = "/keys/core.json"
        [localnet]
        port = 9000
    """.replace("        ", ""))
    loaded = load_config(path)
    s = loaded.settings
    assert loaded.path == path
    assert s.log_level == "DEBUG"
    assert s.chain.backend == "rpc"
    assert s.chain.rpc_url == "http://example:8899"
    assert s.localnet.port == 9000
    assert s.core_keypair_path == Path("/keys/core.json")
    assert s.chain.max_retries == 5


def test_env_beats_file_and_override_beats_env(tmp_path, monkeypatch):
    path = write(tmp_path / "c.toml", '[chain]\nrpc_url = "http://file"\nmax_retries = 1\n')
    monkeypatch.setenv("FRT_STRESS_CHAIN__RPC_URL", "http://env")
    monkeypatch.setenv("FRT_STRESS_CHAIN__MAX_RETRIES", "7")
    loaded = load_config(path, chain__max_retries=9)
    assert loaded.settings.chain.rpc_url == "http://env"
    assert loaded.settings.chain.max_retries == 9


def test_nested_and_top_level_env(tmp_path, monkeypatch):
    monkeypatch.setenv("FRT_STRESS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FRT_STRESS_EMBEDDED__PERSIST", "false")
    monkeypatch.setenv("FRT_STRESS_PASSPHRASE", "not a config key")
    s = load_config().settings
    assert s.data_dir == tmp_path / "data"
    assert s.embedded.persist is False


def test_config_env_var_names_the_file(tmp_path, monkeypatch):
    path = write(tmp_path / "named.toml", "[localnet]\nport = 1234\n")
    monkeypatch.setenv("FRT_STRESS_CONFIG", str(path))
    assert default_config_path() == path
    loaded = load_config()
    assert loaded.path == path and loaded.settings.localnet.port == 1234


def test_unknown_key_rejected(tmp_path):
    path = write(tmp_path / "c.toml", "[chain]\nrpc_ulr = \"http://typo\"\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "chain.rpc_ulr" in str(err.value) and str(path) in str(err.value)


def test_unknown_section_rejected(tmp_path):
    path = write(tmp_path / "c.toml", "[chian]\nbackend = \"rpc\"\n")
    with pytest.raises(ConfigError, match="chian"):
        load_config(path)


@pytest.mark.parametrize("text, key", [
    ('[chain]\nbackend = "devnet"\n', "chain.backend"),
    ('[program]\nprogram_id = "not-a-key"\n', "program.program_id"),
    ("[localnet]\nport = 70000\n", "localnet.port"),
])
def test_invalid_value_names_key(tmp_path, text, key):
    path = write(tmp_path / "c.toml", text)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(path)


def test_bad_env_value_names_variable(monkeypatch):
    monkeypatch.setenv("FRT_STRESS_LOCALNET__PORT", "zero")
    with pytest.raises(ConfigError, match="FRT_STRESS_LOCALNET__PORT"):
        load_config()


def test_bad_toml(tmp_path):
    path = write(tmp_path / "c.toml", "[chain\nbackend = rpc\n")
    with pytest.raises(ConfigError, match="invalid TOML") as err:
        load_config(path)
    assert str(path) in str(err.value)


def test_explicit_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")


def test_rendered_default_loads_back_to_defaults(tmp_path):
    text = render_default_toml()
    path = write(tmp_path / "c.toml", text)
    loaded = load_config(path)
    assert loaded.settings == Settings()
    # None-valued and machine-dependent keys are commented out, the rest come from the file.
    assert loaded.sources["program.program_so"] == "default"
    assert loaded.sources["data_dir"] == "default"
    assert loaded.sources["chain.rpc_url"] == "file"
    assert '# program_so = "/path/to/fixed_ratio_trading.so"' in text


def test_rendered_default_has_comment_per_key():
    text = render_default_toml()
    lines = text.splitlines()
    for dotted in load_config().sources:
        *section, key = dotted.split(".")
        model = type(getattr(Settings(), section[0])) if section else Settings
        start = lines.index(f"[{section[0]}]") if section else 0  # keys like host/port recur per section
        idx = next(i for i, line in enumerate(lines) if i > start
                   and (line.startswith(f"{key} = ") or line.startswith(f"# {key} = ")))
        assert lines[idx - 1] == f"# {model.model_fields[key].description}", dotted
    assert set(tomllib.loads(text)) == {"log_level", "chain", "program", "wallet", "embedded", "localnet", "engine", "api"}


def test_write_config_file_atomic_and_no_overwrite(tmp_path):
    path = tmp_path / "sub" / "config.toml"
    write_config_file(path, "a = 1\n")
    assert path.read_text() == "a = 1\n"
    with pytest.raises(ConfigError, match="already exists"):
        write_config_file(path, "a = 2\n")
    assert path.read_text() == "a = 1\n"
    write_config_file(path, "a = 3\n", force=True)
    assert path.read_text() == "a = 3\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.toml"]  # no temp files left


def test_sources_map(tmp_path, monkeypatch):
    path = write(tmp_path / "c.toml", 'log_level = "WARNING"\n[chain]\nbackend = "rpc"\nrpc_url = "http://f"\n')
    monkeypatch.setenv("FRT_STRESS_CHAIN__RPC_URL", "http://e")
    monkeypatch.setenv("FRT_STRESS_LOCALNET__HOST", "0.0.0.0")
    loaded = load_config(path, **{"embedded.slot_time_ms": 100})
    sources = loaded.sources
    assert sources["log_level"] == "file"
    assert sources["chain.backend"] == "file"
    assert sources["chain.rpc_url"] == "env"
    assert sources["localnet.host"] == "env"
    assert sources["embedded.slot_time_ms"] == "override"
    assert sources["chain.max_retries"] == "default"
    assert set(sources) == set(loaded.values())
    assert loaded.values()["embedded.slot_time_ms"] == 100


@pytest.mark.parametrize("key, problem", [
    (" " * 16, "api_key must not be blank"),
    ("\t" * 16, "api_key must not be blank"),
    ("  a-long-enough-key-0123  ", "api_key must not start or end with blanks"),
    ("a-long-enough-key-0123\n", "api_key must not start or end with blanks"),
    ("a-long-enough\x1bkey-0123", "api_key must not contain control characters"),
    ("short", "api_key must be at least 16 characters"),
])
def test_unusable_api_keys_are_refused_naming_the_setting(monkeypatch, key, problem):
    monkeypatch.setenv("FRT_STRESS_API__API_KEY", key)
    with pytest.raises(ConfigError) as err:
        load_config()
    assert "FRT_STRESS_API__API_KEY" in str(err.value) and f"api.api_key: {problem}" in str(err.value)
    assert not key.strip() or key.strip() not in str(err.value)  # a secret is never echoed


def test_an_api_key_with_inner_blanks_is_fine(monkeypatch):
    monkeypatch.setenv("FRT_STRESS_API__API_KEY", "correct horse battery staple")
    assert load_config().settings.api.api_key == "correct horse battery staple"


def test_api_limits_defaults_and_bounds(tmp_path):
    api = load_config().settings.api
    assert (api.read_timeout_s, api.idle_timeout_s) == (5.0, 10.0)
    assert (api.audit_log_max_bytes, api.audit_log_backups) == (10 * 1024 * 1024, 5)
    for text, key in (("read_timeout_s = 0", "api.read_timeout_s"), ("idle_timeout_s = -1", "api.idle_timeout_s"),
                      ("audit_log_max_bytes = 100", "api.audit_log_max_bytes"),
                      ("audit_log_backups = 0", "api.audit_log_backups")):
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            load_config(write(tmp_path / "c.toml", f"[api]\n{text}\n"))
