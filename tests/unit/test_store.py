"""StateStore: the engine's data directory (SERVICE_DESIGN.md §4)."""
import base64
import json
import logging
import re
import stat
from datetime import datetime, timezone

import pytest

from engine.store import KeystoreError, StateStore, utc_now_iso

THREAD = {"thread_id": "deposit_1", "thread_type": "deposit", "pool_id": "ABC", "token_type": "A",
          "swap_direction": None, "status": "stopped", "wallet_keypair": "plain:AAAA",
          "initial_amount": 1_000_000_000, "created_at": "2025-01-15T10:30:45Z"}
SECRET = bytes(range(64))
ENDED = datetime(2025, 1, 15, 10, 30, 45, tzinfo=timezone.utc)


def corrupt_files(directory, name):
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(f"{name}.corrupt-"))


# --- documents -----------------------------------------------------------------------------------------

def test_round_trips(tmp_path):
    store = StateStore(tmp_path)
    store.save_threads({"deposit_1": THREAD})
    store.save_statistics({"deposit_1": {"successful_deposits": 247, "verification_totals": {"x": 1}}})
    store.save_pools({"ABC": {"pool_id": "ABC", "token_a_decimals": 9}})
    store.save_engine_state({"next_thread_number": {"deposit": 2}})
    store.save_json("custom.json", ["ü", 1])

    again = StateStore(tmp_path)
    assert again.load_threads() == {"deposit_1": THREAD}
    assert again.load_statistics()["deposit_1"]["successful_deposits"] == 247
    assert again.load_pools() == {"ABC": {"pool_id": "ABC", "token_a_decimals": 9}}
    assert again.load_engine_state() == {"next_thread_number": {"deposit": 2}}
    assert again.load_json("custom.json", []) == ["ü", 1]
    assert json.loads((tmp_path / "threads.json").read_text()) == {"threads": {"deposit_1": THREAD}}
    assert (tmp_path / "threads.json").read_text().startswith('{\n  "threads"')
    assert again.problems == []


def test_missing_files_give_defaults(tmp_path):
    store = StateStore(tmp_path)
    assert store.load_threads() == {} and store.load_statistics() == {} and store.load_pools() == {}
    assert store.load_engine_state() == {}
    default = {"a": []}
    loaded = store.load_json("nothing.json", default)
    loaded["a"].append(1)
    assert default == {"a": []}  # a copy is returned
    assert store.problems == []


def test_save_keeps_backup_of_previous_version(tmp_path):
    store = StateStore(tmp_path)
    store.save_pools({"one": {}})
    store.save_pools({"two": {}})
    assert json.loads((tmp_path / "pools.json.backup").read_text()) == {"pools": {"one": {}}}


def test_datetimes_are_rejected(tmp_path):
    with pytest.raises(TypeError):
        StateStore(tmp_path).save_engine_state({"at": datetime.now()})
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", utc_now_iso())


def test_corrupt_main_file_uses_backup_and_keeps_copy(tmp_path, caplog):
    store = StateStore(tmp_path)
    store.save_pools({"old": {}})
    store.save_pools({"new": {}})
    (tmp_path / "pools.json").write_text('{"pools": {"new": ')

    again = StateStore(tmp_path)
    with caplog.at_level(logging.WARNING, logger="engine.store"):
        assert again.load_pools() == {"old": {}}
    assert again.problems and any("pools.json" in p for p in again.problems)
    assert "pools.json" in caplog.text
    kept = corrupt_files(tmp_path, "pools.json")
    assert len(kept) == 1 and (tmp_path / kept[0]).read_text() == '{"pools": {"new": '
    # the main file was restored, so the next load is clean
    third = StateStore(tmp_path)
    assert third.load_pools() == {"old": {}} and third.problems == []


def test_corrupt_without_backup_gives_default(tmp_path):
    (tmp_path / "statistics.json").write_bytes(b"\xff\xfe not json")
    store = StateStore(tmp_path)
    assert store.load_statistics() == {}
    assert len(store.problems) >= 1
    assert len(corrupt_files(tmp_path, "statistics.json")) == 1


def test_corrupt_main_and_backup_give_default(tmp_path):
    (tmp_path / "engine.json").write_text("[")
    (tmp_path / "engine.json.backup").write_text("{")
    store = StateStore(tmp_path)
    assert store.load_engine_state() == {}
    assert len(corrupt_files(tmp_path, "engine.json")) == 1
    assert len(corrupt_files(tmp_path, "engine.json.backup")) == 1


@pytest.mark.parametrize("content", ['["threads"]', '{"threads": []}', '"text"'])
def test_wrong_shape_is_corrupt(tmp_path, content):
    (tmp_path / "threads.json").write_text(content)
    store = StateStore(tmp_path)
    assert store.load_threads() == {}
    assert store.problems
    assert len(corrupt_files(tmp_path, "threads.json")) == 1


def test_missing_main_with_backup_uses_backup(tmp_path):
    # a crash between the two renames of an atomic write leaves only the backup
    (tmp_path / "pools.json.backup").write_text('{"pools": {"p": {}}}')
    store = StateStore(tmp_path)
    assert store.load_pools() == {"p": {}}
    assert store.problems and (tmp_path / "pools.json").exists()


def test_threads_file_is_private(tmp_path):
    store = StateStore(tmp_path)
    store.save_threads({"deposit_1": THREAD})
    store.save_threads({"deposit_1": THREAD})
    for name in ("threads.json", "threads.json.backup"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600


# --- errors --------------------------------------------------------------------------------------------

def test_errors_keep_last_ten(tmp_path):
    store = StateStore(tmp_path)
    assert store.load_errors("deposit_1") == []
    for i in range(13):
        store.record_error("deposit_1", {"timestamp": utc_now_iso(), "error_message": f"e{i}"})
    errors = StateStore(tmp_path).load_errors("deposit_1")
    assert [e["error_message"] for e in errors] == [f"e{i}" for i in range(3, 13)]
    doc = json.loads((tmp_path / "errors" / "deposit_1.json").read_text())
    assert doc["thread_id"] == "deposit_1" and len(doc["errors"]) == 10

    store.record_error("swap_1", {"error_message": "x"}, keep=2)
    store.record_error("swap_1", {"error_message": "y"}, keep=2)
    store.record_error("swap_1", {"error_message": "z"}, keep=2)
    assert [e["error_message"] for e in store.load_errors("swap_1")] == ["y", "z"]


def test_delete_thread_files_keeps_sessions(tmp_path):
    store = StateStore(tmp_path)
    store.record_error("deposit_1", {"error_message": "a"})
    store.record_error("deposit_1", {"error_message": "b"})
    store.write_session("deposit_1", {"thread_id": "deposit_1"}, ENDED)
    store.delete_thread_files("deposit_1")
    assert not list((tmp_path / "errors").iterdir())
    assert store.load_errors("deposit_1") == []
    assert len(store.list_sessions("deposit_1")) == 1


def test_thread_ids_cannot_escape(tmp_path):
    store = StateStore(tmp_path)
    for bad in ("../x", "a/b", "..", ""):
        with pytest.raises(ValueError):
            store.record_error(bad, {})


# --- sessions ------------------------------------------------------------------------------------------

def test_sessions_newest_first_with_unique_names(tmp_path):
    store = StateStore(tmp_path)
    names = [store.write_session("deposit_1", {"thread_id": "deposit_1", "n": 0}, ENDED)]
    names += [store.write_session("deposit_1", {"n": i}, ENDED.replace(minute=40)) for i in range(1, 13)]
    names.append(store.write_session("deposit_1", {"n": 13}, ENDED.replace(hour=11)))
    assert names[0] == "session_2025-01-15_10-30-45.json"
    assert names[1:4] == ["session_2025-01-15_10-40-45.json", "session_2025-01-15_10-40-45-1.json",
                          "session_2025-01-15_10-40-45-2.json"]
    assert len(set(names)) == len(names)

    sessions = StateStore(tmp_path).list_sessions("deposit_1")
    assert [s["n"] for s in sessions] == list(range(13, -1, -1))
    assert sessions[-1] == {"session_file": names[0], "thread_id": "deposit_1", "n": 0}
    assert [s["n"] for s in store.list_sessions("deposit_1", limit=3)] == [13, 12, 11]
    assert store.list_sessions("other") == []


def test_unreadable_session_is_skipped(tmp_path):
    store = StateStore(tmp_path)
    store.write_session("swap_1", {"n": 1}, ENDED)
    bad = store.write_session("swap_1", {"n": 2}, ENDED.replace(hour=12))
    (tmp_path / "sessions" / "swap_1" / bad).write_text("{oops")
    assert [s["n"] for s in store.list_sessions("swap_1")] == [1]
    assert [s["n"] for s in store.list_sessions("swap_1", limit=1)] == [1]
    assert len([p for p in store.problems if bad in p]) == 1


# --- findings ------------------------------------------------------------------------------------------

def test_findings_numbering_continues_after_reopen(tmp_path):
    store = StateStore(tmp_path)
    assert store.count_findings() == 0 and store.list_findings() == []
    assert store.write_finding("balance_mismatch", {"detail": 1}) == "finding_000001_balance_mismatch.json"
    assert store.write_finding("invariant", {"detail": 2}) == "finding_000002_invariant.json"

    again = StateStore(tmp_path)
    assert again.write_finding("bad kind/../x", {"detail": 3}) == "finding_000003_bad_kind____x.json"
    assert again.count_findings() == 3
    findings = again.list_findings()
    assert [f["detail"] for f in findings] == [3, 2, 1]
    assert findings[-1] == {"finding_file": "finding_000001_balance_mismatch.json", "detail": 1}
    assert [f["detail"] for f in again.list_findings(limit=2)] == [3, 2]


def test_write_report(tmp_path):
    store = StateStore(tmp_path)
    path = store.write_report("summary.json", {"ok": True})
    assert path == tmp_path / "reports" / "summary.json"
    assert json.loads(path.read_text()) == {"ok": True}
    assert store.write_report("notes.txt", "hello").read_text() == "hello"


# --- keypair sealing -----------------------------------------------------------------------------------

def test_seal_without_passphrase(tmp_path, caplog):
    store = StateStore(tmp_path)
    with caplog.at_level(logging.WARNING, logger="engine.store"):
        sealed = store.seal_secret(SECRET)
        store.seal_secret(SECRET)
    assert sealed == "plain:" + base64.b64encode(SECRET).decode()
    assert store.open_secret(sealed) == SECRET
    assert caplog.text.count("unencrypted") == 1
    assert not (tmp_path / "keystore.json").exists()


def test_seal_with_passphrase(tmp_path):
    store = StateStore(tmp_path, passphrase="correct horse")
    sealed = store.seal_secret(SECRET)
    assert sealed.startswith("enc:v1:")
    for encoding in (base64.b64encode, base64.urlsafe_b64encode):
        assert encoding(SECRET).decode().rstrip("=") not in sealed
    assert store.open_secret(sealed) == SECRET

    keystore = json.loads((tmp_path / "keystore.json").read_text())
    assert keystore["kdf"] == "scrypt" and keystore["check"].startswith("enc:v1:")
    assert len(base64.b64decode(keystore["salt"])) == 16
    assert stat.S_IMODE((tmp_path / "keystore.json").stat().st_mode) == 0o600

    reopened = StateStore(tmp_path, passphrase="correct horse")
    assert reopened.open_secret(sealed) == SECRET
    assert reopened.open_secret(store.seal_secret(b"x")) == b"x"
    # plain values written before a passphrase was set still open
    assert reopened.open_secret("plain:" + base64.b64encode(b"old").decode()) == b"old"


def test_wrong_passphrase(tmp_path):
    sealed = StateStore(tmp_path, passphrase="right").seal_secret(SECRET)
    wrong = StateStore(tmp_path, passphrase="wrong")
    with pytest.raises(KeystoreError, match="wrong passphrase") as info:
        wrong.open_secret(sealed)
    assert base64.b64encode(SECRET).decode() not in str(info.value)
    with pytest.raises(KeystoreError):
        wrong.seal_secret(SECRET)
    with pytest.raises(KeystoreError):
        wrong.unlock()


def test_encrypted_without_passphrase(tmp_path):
    sealed = StateStore(tmp_path, passphrase="right").seal_secret(SECRET)
    with pytest.raises(KeystoreError, match="passphrase"):
        StateStore(tmp_path).open_secret(sealed)


def test_keystore_problems(tmp_path):
    sealed = StateStore(tmp_path / "a", passphrase="pw").seal_secret(SECRET)
    # another directory has no keystore: nothing is created, the key cannot be opened
    with pytest.raises(KeystoreError, match="missing"):
        StateStore(tmp_path / "b", passphrase="pw").open_secret(sealed)
    assert not (tmp_path / "b" / "keystore.json").exists()
    # a keystore with a different salt cannot open it either
    StateStore(tmp_path / "c", passphrase="pw").unlock()
    with pytest.raises(KeystoreError, match="cannot be decrypted"):
        StateStore(tmp_path / "c", passphrase="pw").open_secret(sealed)
    # a damaged keystore is never silently replaced
    (tmp_path / "a" / "keystore.json").write_text("{")
    with pytest.raises(KeystoreError, match="damaged"):
        StateStore(tmp_path / "a", passphrase="pw").seal_secret(SECRET)
    assert (tmp_path / "a" / "keystore.json").read_text() == "{"
    with pytest.raises(KeystoreError):
        StateStore(tmp_path).open_secret("rot13:abc")


def test_key_is_derived_once(tmp_path, monkeypatch):
    store = StateStore(tmp_path, passphrase="pw")
    calls = []
    original = StateStore._derive
    monkeypatch.setattr(StateStore, "_derive", lambda self, salt: calls.append(1) or original(self, salt))
    for _ in range(3):
        store.open_secret(store.seal_secret(SECRET))
    assert len(calls) == 1


def test_state_documents_are_json_with_an_entry_per_line():
    import json

    from engine.store import json_lines_text

    document = {"threads": {"deposit_1": {"pool_id": "P", "stats": [1, 2]}, "swap_1": {"pool_id": "Q"}},
                "version": 2, "empty": {}, "note": "é"}
    text = json_lines_text(document)
    assert json.loads(text) == document
    assert '    "deposit_1": {"pool_id": "P", "stats": [1, 2]},\n' in text and "é" in text
    assert json.loads(json_lines_text({})) == {} and json.loads(json_lines_text([1])) == [1]
