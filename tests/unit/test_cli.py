import json
import os

import pytest

from console.cli import main


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith("FRT_STRESS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


def test_config_path(tmp_path, capsys):
    assert main(["config", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "xdg-config" / "frt-stress" / "config.toml")
    assert main(["--config", str(tmp_path / "x.toml"), "config", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "x.toml")


def test_config_init_then_show(tmp_path, capsys):
    path = tmp_path / "conf" / "config.toml"
    assert main(["config", "init", "--path", str(path)]) == 0
    assert str(path) in capsys.readouterr().out
    assert path.exists()

    assert main(["config", "init", "--path", str(path)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["config", "init", "--path", str(path), "--force"]) == 0

    assert main(["--config", str(path), "config", "show"]) == 0
    out = capsys.readouterr().out
    assert f"config file: {path}" in out
    assert "chain.rpc_url" in out and '"http://localhost:8899"' in out and "(file)" in out


def test_config_init_default_path(tmp_path, capsys):
    assert main(["config", "init"]) == 0
    assert (tmp_path / "xdg-config" / "frt-stress" / "config.toml").exists()


def test_config_show_defaults(capsys):
    assert main(["config", "show"]) == 0
    out = capsys.readouterr().out
    assert "config file: none (defaults)" in out
    assert "localnet.port" in out and "(default)" in out


def test_config_show_json(tmp_path, monkeypatch, capsys):
    path = tmp_path / "c.toml"
    path.write_text('[chain]\nbackend = "rpc"\n')
    monkeypatch.setenv("FRT_STRESS_CHAIN__RPC_URL", "http://env:8899")
    assert main(["--config", str(path), "config", "show", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["path"] == str(path)
    assert data["values"]["chain.backend"] == "rpc"
    assert data["values"]["chain.rpc_url"] == "http://env:8899"
    assert data["values"]["program.program_so"] is None
    assert data["sources"]["chain.backend"] == "file"
    assert data["sources"]["chain.rpc_url"] == "env"
    assert data["sources"]["localnet.port"] == "default"


def test_bad_file_exit_code(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text("[chain]\nbogus = 1\n")
    assert main(["--config", str(path), "config", "show"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "chain.bogus" in err


def test_missing_explicit_file_exit_code(tmp_path, capsys):
    assert main(["--config", str(tmp_path / "nope.toml"), "config", "show"]) == 2
    assert "not found" in capsys.readouterr().err


def test_no_command_prints_usage(capsys):
    assert main([]) == 2
    assert "usage:" in capsys.readouterr().err
