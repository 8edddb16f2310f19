"""The data-directory lock: one engine per data directory, a dead holder's lock is taken over."""
from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.datadir_lock import LOCK_FILE, DataDirLock, read_holder
from engine.exceptions import DataDirLocked, EngineError
from engine.sharding.protocol import error_from_json, error_to_json

ROOT = Path(__file__).resolve().parents[2]

# A child that takes the lock, says so, and then holds it until it is killed.
HOLDER = """
import sys, time
from engine.datadir_lock import DataDirLock
lock = DataDirLock.acquire(sys.argv[1])
print("locked", flush=True)
time.sleep(600)
"""


def _holder(data_dir: Path) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(data_dir)], cwd=ROOT, stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert child.stdout.readline().strip() == "locked"  # blocks until the child holds the lock
    return child


def test_second_acquire_in_the_same_process_is_refused(tmp_path):
    lock = DataDirLock.acquire(tmp_path)
    try:
        with pytest.raises(DataDirLocked) as refused:
            DataDirLock.acquire(tmp_path)  # another open file description: flock conflicts
        message = str(refused.value)
        assert f"data directory {tmp_path} is in use by pid {os.getpid()}" in message
        assert "this process" in message and "another data directory" in message
        assert refused.value.data["pid"] == os.getpid() and refused.value.data["data_dir"] == str(tmp_path)
        assert lock.held  # the refusal did not disturb the holder
    finally:
        lock.release()


def test_lock_file_records_the_holder_and_is_cleared_on_release(tmp_path):
    with DataDirLock.acquire(tmp_path / "new" / "dir") as lock:  # the directory is created
        holder = json.loads((tmp_path / "new" / "dir" / LOCK_FILE).read_text())
        assert holder["pid"] == os.getpid() and holder["command"] and holder["started_at"]
        assert read_holder(tmp_path / "new" / "dir") == holder
    assert not lock.held
    assert (tmp_path / "new" / "dir" / LOCK_FILE).read_text() == ""  # kept, but nobody holds it
    assert read_holder(tmp_path / "new" / "dir") is None


def test_release_then_acquire_works_and_release_is_idempotent(tmp_path):
    first = DataDirLock.acquire(tmp_path)
    first.release()
    first.release()
    second = DataDirLock.acquire(tmp_path)
    assert second.held
    second.release()


def test_the_descriptor_is_not_inherited_by_exec(tmp_path):
    lock = DataDirLock.acquire(tmp_path)
    try:
        assert not os.get_inheritable(lock._fd)
        assert fcntl.fcntl(lock._fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
        # A child started even with close_fds=False (shards use the default, True) does not get it:
        # after the parent releases, the lock is free while the child still runs.
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], close_fds=False)
        try:
            lock.release()
            DataDirLock.acquire(tmp_path).release()
        finally:
            child.kill()
            child.wait()
    finally:
        lock.release()


def test_a_lock_held_by_another_process_refuses_and_is_taken_over_after_sigkill(tmp_path):
    child = _holder(tmp_path)
    try:
        with pytest.raises(DataDirLocked) as refused:
            DataDirLock.acquire(tmp_path)
        assert f"in use by pid {child.pid} (python -c " in str(refused.value)
        assert "this process" not in str(refused.value)
        assert refused.value.code == -1016 and isinstance(refused.value, EngineError)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    # The kernel released the dead holder's lock; its record is still in the file, stale.
    assert read_holder(tmp_path)["pid"] == child.pid
    with DataDirLock.acquire(tmp_path):
        assert read_holder(tmp_path)["pid"] == os.getpid()


def test_an_unreadable_holder_record_still_refuses(tmp_path, monkeypatch):
    monkeypatch.setattr("engine.datadir_lock._HOLDER_WAIT_S", 0.05)
    path = tmp_path / LOCK_FILE
    path.write_text("")
    fd = os.open(path, os.O_RDWR)  # a holder that has not written its record (yet)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        started = time.monotonic()
        with pytest.raises(DataDirLocked, match="in use by another process"):
            DataDirLock.acquire(tmp_path)
        assert time.monotonic() - started < 2
    finally:
        os.close(fd)


def test_the_error_crosses_the_shard_protocol_typed(tmp_path):
    error = DataDirLocked("data directory /x is in use by pid 1", {"pid": 1})
    back = error_from_json(error_to_json(error))
    assert type(back) is DataDirLocked and back.code == -1016 and back.data == {"pid": 1}
