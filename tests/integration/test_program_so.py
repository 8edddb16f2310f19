"""The `.so` path end to end, with a real compiled SBF program.

The FRT program's own `.so` is not published anywhere, so these tests deploy SPL Memo v4.0.0
(tests/fixtures/sbf/, see PROVENANCE.md there) under the FRT program id through the code path a
user's `fixed_ratio_trading.so` takes: `program.program_so` in the config file, the wallets and
`open_cluster` exactly as `Engine.open` calls them, then the embedded ledger's deployment. They
check that the program is deployed as the upgradeable loader leaves it on a validator, and that
transactions run through the bytecode, not through the built-in emulator."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import solders
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.pubkey import Pubkey

from engine.bootstrap import load_wallets
from engine.chain.factory import open_cluster
from engine.chain.ledger import UPGRADEABLE_PROGRAM_TAG, EmbeddedLedger, ProgramLoadError
from engine.config import DEFAULT_PROGRAM_ID, ConfigError, load_config
from engine.frt.constants import BPF_LOADER_UPGRADEABLE_ID
from engine.frt.pda import find_program_data
from engine.frt.state import PROGRAM_DATA_HEADER_SIZE, ProgramData
from tests.conftest import signed_tx

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "sbf" / "spl_memo-4.0.0.so"
FIXTURE_SHA256 = "0c92063c6838d9ad8af50aaefea9a166b5bb41a2bfa2bc6327d7db320849bc78"
MEMO_ADDRESS = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
PROGRAM_ID = Pubkey.from_string(DEFAULT_PROGRAM_ID)


def _settings(tmp_path: Path, program_so, **program):
    """Settings as a user gets them: from a config file naming the `.so`."""
    config = tmp_path / "config.toml"
    lines = [f"data_dir = {json.dumps(str(tmp_path / 'data'))}", "[program]",
             f"program_so = {json.dumps(str(program_so))}"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in program.items()]
    config.write_text("\n".join(lines) + "\n")
    return load_config(config).settings


async def _open(settings):
    """The embedded cluster, opened as `Engine.open` opens it."""
    core, _, authority = load_wallets(settings)
    return await open_cluster(settings, upgrade_authority=authority), core, authority


def _memo(data: bytes, *accounts: AccountMeta) -> Instruction:
    return Instruction(PROGRAM_ID, data, list(accounts))


async def _send(cluster, payer: Keypair, instruction: Instruction, *extra: Keypair):
    blockhash, _ = await cluster.get_latest_blockhash()
    return await cluster.send_transaction(signed_tx([instruction], payer, blockhash, extra))


def test_the_fixture_is_the_binary_its_provenance_names():
    elf = FIXTURE.read_bytes()
    assert (len(elf), hashlib.sha256(elf).hexdigest()) == (2304, FIXTURE_SHA256)
    licence = (FIXTURE.parent / "LICENSE-Apache-2.0").read_text().split()
    assert licence[:4] == ["Apache", "License", "Version", "2.0,"]
    if solders.__version__ != "0.29.0":
        pytest.skip(f"solders {solders.__version__}: the fixture was taken from 0.29.0")
    assert bytes(LiteSVM().get_account(MEMO_ADDRESS).data) == elf


async def test_the_program_is_deployed_as_the_upgradeable_loader_deploys_it(tmp_path):
    settings = _settings(tmp_path, FIXTURE)
    assert settings.program.program_so == FIXTURE
    cluster, core, authority = await _open(settings)
    try:
        assert cluster.mode == "embedded-so" and cluster.ledger.emulator is None
        assert authority.pubkey == core.pubkey  # no upgrade_authority_keypair: the core wallet

        program_data_address, _ = find_program_data(PROGRAM_ID)
        program = await cluster.get_account(PROGRAM_ID)
        assert program.owner == BPF_LOADER_UPGRADEABLE_ID and program.executable
        assert bytes(program.data) == UPGRADEABLE_PROGRAM_TAG + bytes(program_data_address)
        assert program.lamports == await cluster.get_minimum_balance_for_rent_exemption(36)

        program_data = await cluster.get_account(program_data_address)
        assert program_data.owner == BPF_LOADER_UPGRADEABLE_ID and not program_data.executable
        header = ProgramData.decode(bytes(program_data.data))
        assert header.upgrade_authority_address == authority.pubkey
        assert header.slot == cluster.ledger.slot  # deployed in the ledger's first slot
        assert bytes(program_data.data)[PROGRAM_DATA_HEADER_SIZE:] == FIXTURE.read_bytes()
        assert program_data.lamports == await cluster.get_minimum_balance_for_rent_exemption(
            PROGRAM_DATA_HEADER_SIZE + FIXTURE.stat().st_size)
    finally:
        await cluster.close()


async def test_a_separate_upgrade_authority_is_the_one_in_program_data(tmp_path):
    keypair = Keypair()
    key_file = tmp_path / "authority.json"
    key_file.write_text(str(list(bytes(keypair))))
    cluster, core, authority = await _open(_settings(tmp_path, FIXTURE, upgrade_authority_keypair=str(key_file)))
    try:
        assert authority.pubkey == keypair.pubkey() != core.pubkey
        program_data = await cluster.get_account(find_program_data(PROGRAM_ID)[0])
        assert ProgramData.decode(bytes(program_data.data)).upgrade_authority_address == keypair.pubkey()
    finally:
        await cluster.close()


async def test_transactions_run_through_the_bytecode(tmp_path):
    cluster, _, _ = await _open(_settings(tmp_path, FIXTURE))
    payer, cosigner = Keypair(), Keypair()
    try:
        assert (await cluster.airdrop(payer.pubkey(), 10**9)).ok

        result = await _send(cluster, payer, _memo(b"hello from SBF"))
        assert result.ok, result.logs
        assert result.logs[0] == f"Program {PROGRAM_ID} invoke [1]"
        assert "Program log: Memo (len 14)" in result.logs
        assert "Program log: hello from SBF" in result.logs
        assert result.logs[-1] == f"Program {PROGRAM_ID} success"
        assert any(line.startswith(f"Program {PROGRAM_ID} consumed ") for line in result.logs)
        assert result.compute_units > 0 and result.fee == 5000

        # Every account passed to the memo program must have signed; it logs who did.
        result = await _send(cluster, payer, _memo(b"co-signed", AccountMeta(cosigner.pubkey(), True, False)),
                             cosigner)
        assert result.ok, result.logs
        assert result.logs[1:3] == ("Program log: Signed by:", f"Program log: {cosigner.pubkey()}")
        assert result.fee == 10_000

        result = await _send(cluster, payer, _memo(b"not signed", AccountMeta(cosigner.pubkey(), False, False)))
        assert not result.ok
        assert result.failure.raw == {"InstructionError": [0, "MissingRequiredSignature"]}
        assert result.logs[-1] == f"Program {PROGRAM_ID} failed: missing required signature for instruction"

        result = await _send(cluster, payer, _memo(b"\xff\xfe not UTF-8"))
        assert not result.ok
        assert result.failure.raw == {"InstructionError": [0, "ProgramFailedToComplete"]}
        assert result.failure.program_ids == (str(PROGRAM_ID),)
        assert "invalid utf-8" in result.logs[-1]
        assert result.fee == 5000  # a failed transaction still pays its fee
    finally:
        await cluster.close()


async def test_without_the_so_the_same_transaction_meets_the_emulator(tmp_path):
    """The contrast that shows the logs above are the bytecode's: the emulator runs FRT, not memo."""
    settings = _settings(tmp_path, FIXTURE)
    settings.program.program_so = None
    cluster, _, _ = await _open(settings)
    payer = Keypair()
    try:
        assert cluster.mode == "embedded-emulated"
        await cluster.airdrop(payer.pubkey(), 10**9)
        result = await _send(cluster, payer, _memo(b"hello from SBF"))
        assert not result.ok
        assert "Program log: Memo (len 14)" not in result.logs
    finally:
        await cluster.close()


async def test_simulation_and_a_restart_keep_the_program(tmp_path):
    settings = _settings(tmp_path, FIXTURE)
    cluster, _, authority = await _open(settings)
    payer = Keypair()
    await cluster.airdrop(payer.pubkey(), 10**9)
    blockhash, _ = await cluster.get_latest_blockhash()
    simulated = await cluster.simulate_transaction(signed_tx([_memo(b"dry run")], payer, blockhash))
    assert simulated.ok and "Program log: dry run" in simulated.logs
    assert await cluster.get_balance(payer.pubkey()) == 10**9  # nothing happened
    assert (await _send(cluster, payer, _memo(b"before the restart"))).ok
    balance = await cluster.get_balance(payer.pubkey())
    cluster.checkpoint({})
    await cluster.close()

    # The snapshot keeps the payer, not the loader's accounts: the program is deployed afresh
    # from the .so (a rebuilt .so takes effect on the next start), with the same authority.
    cluster, _, _ = await _open(settings)
    try:
        assert cluster.ledger.restored_accounts > 0
        assert await cluster.get_balance(payer.pubkey()) == balance
        program_data = await cluster.get_account(find_program_data(PROGRAM_ID)[0])
        assert ProgramData.decode(bytes(program_data.data)).upgrade_authority_address == authority.pubkey
        result = await _send(cluster, payer, _memo(b"after the restart"))
        assert result.ok and "Program log: after the restart" in result.logs
    finally:
        await cluster.close()


def test_a_ledger_without_an_authority_deploys_a_final_program():
    ledger = EmbeddedLedger(PROGRAM_ID, program_so=FIXTURE)
    program_data = ledger.get_account(find_program_data(PROGRAM_ID)[0])
    assert ProgramData.decode(bytes(program_data.data)).upgrade_authority_address is None
    assert ledger.get_account(PROGRAM_ID).executable


# ---- a .so that cannot be deployed: a clear error that names the file -------------------------------

def _sbf_header_only(path: Path) -> Path:
    path.write_bytes(FIXTURE.read_bytes()[:200])  # a valid SBF ELF header, the rest cut off
    return path


def _text_file(path: Path) -> Path:
    path.write_text("not a program")
    return path


def _host_elf(path: Path) -> Path:
    elf = bytearray(FIXTURE.read_bytes())
    elf[18:20] = (62).to_bytes(2, "little")  # e_machine EM_X86_64: what `cargo build` makes
    path.write_bytes(bytes(elf))
    return path


@pytest.mark.parametrize("make, message", [
    (lambda tmp: tmp / "fixed_ratio_trading.so", "no such file"),
    (lambda tmp: tmp, "cannot be read (Is a directory)"),
    (lambda tmp: _text_file(tmp / "notes.so"), "not an ELF file (13 bytes)"),
    (lambda tmp: _host_elf(tmp / "host.so"), "an ELF file for machine 62, not an SBF program"),
    (lambda tmp: _sbf_header_only(tmp / "cut.so"), "LiteSVM cannot load this program: "),
], ids=["missing", "directory", "not-elf", "host-elf", "truncated"])
async def test_a_bad_program_so_is_a_config_error_naming_the_file(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(ProgramLoadError) as raised:
        await _open(_settings(tmp_path, path))
    text = str(raised.value)
    assert text.startswith(f"program.program_so: {path}: ") and message in text
    assert isinstance(raised.value, ConfigError)  # the CLI prints "error: ..." and exits 2


async def test_a_program_so_under_home_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = _settings(tmp_path, "~/missing/fixed_ratio_trading.so")
    assert settings.program.program_so == tmp_path / "missing" / "fixed_ratio_trading.so"
    with pytest.raises(ProgramLoadError, match=f"{tmp_path}/missing/fixed_ratio_trading.so: no such file"):
        await _open(settings)


def test_the_emulated_ledger_is_unchanged():
    """No .so: ProgramData is the bare header, with the authority, and no program account."""
    authority = Pubkey.new_unique()
    ledger = EmbeddedLedger(PROGRAM_ID, upgrade_authority=authority)
    program_data = ledger.get_account(find_program_data(PROGRAM_ID)[0])
    assert bytes(program_data.data) == ProgramData(0, authority).encode()
    assert program_data.owner == BPF_LOADER_UPGRADEABLE_ID and not program_data.executable
    assert ledger.get_account(PROGRAM_ID) is None and ledger.emulator is not None


def test_the_cli_reports_a_bad_program_so_and_exits_2(tmp_path, capsys):
    from console.cli import main

    settings_file = tmp_path / "config.toml"
    _settings(tmp_path, tmp_path / "fixed_ratio_trading.so")  # writes config.toml
    assert main(["--config", str(settings_file), "demo", "--seed", "1"]) == 2
    assert capsys.readouterr().err == (
        f"error: program.program_so: {tmp_path / 'fixed_ratio_trading.so'}: no such file\n")


async def test_the_engine_opens_on_the_so_and_bootstrap_meets_its_bytecode(tmp_path, monkeypatch):
    """`Engine.open` itself (one in-process shard): its bootstrap's InitializeProgram reaches the
    deployed bytecode, which, being the memo program, wants every account passed to it to sign."""
    from engine.config import Settings
    from engine.sharding.coordinator import Coordinator

    monkeypatch.delenv("FRT_STRESS_PASSPHRASE", raising=False)
    settings = Settings.model_validate({"data_dir": str(tmp_path / "data"), "program": {"program_so": str(FIXTURE)},
                                        "engine": {"shards": 0, "sol_monitor_interval_s": 3600}})
    engine = await Coordinator.open(settings)
    try:
        assert engine.chain_description.endswith(f"FRT executed by the compiled program {FIXTURE}")  # which file
        assert engine.local.cluster.describe().endswith(str(FIXTURE))
        assert any("InitializeProgram failed" in line and "missing required signature" in line
                   for line in engine.notes), engine.notes
    finally:
        await engine.close()
