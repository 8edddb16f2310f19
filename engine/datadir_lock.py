"""One engine per data directory: an exclusive lock on `<data_dir>/engine.lock`.

Two engines on one data directory both write its state (threads, sessions, ledger snapshot,
registry) and, resuming the same running threads, both send their transactions. So the process
that fronts an engine (`frt-stress serve`, `frt-stress run`, the console with a local engine)
takes this lock on the top-level data directory before it opens the engine, and releases it
after the engine has closed. Shard processes do not take it: they work in subdirectories of a
directory their coordinator holds.

The lock is `flock(LOCK_EX | LOCK_NB)` on the file, held for as long as the file stays open.
The kernel releases it when the holding process dies, however it dies, so a lock file left by
a dead process is taken over without a word. Once the lock is taken, the file records the
holder (pid, command line, start time) for the message a refused process prints; that record
is only informative, the lock itself is the kernel's.

flock locks belong to an open file description, not to a process: a second `acquire` in the
same process opens the file again and is refused like any other. The descriptor is opened
close-on-exec (not inheritable), so shard processes started with exec do not hold the lock; a
child made by a bare fork would share it, which is why `release` unlocks explicitly before it
closes rather than relying on the close.
"""
from __future__ import annotations

import fcntl
import json
import os
import shlex
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from engine.exceptions import DataDirLocked

LOCK_FILE = "engine.lock"
_HOLDER_WAIT_S = 0.5  # a holder writes its record right after taking the lock


class DataDirLock:
    """The held lock of one data directory. `DataDirLock.acquire(dir)` takes it (or raises
    DataDirLocked); `release()` (or leaving a `with` block) gives it back."""

    def __init__(self, data_dir: Path, path: Path, fd: int) -> None:
        self.data_dir = data_dir
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, data_dir: Path | str) -> "DataDirLock":
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise _locked(data_dir, path) from None
        except BaseException:
            os.close(fd)
            raise
        os.set_inheritable(fd, False)  # already so (PEP 446, O_CLOEXEC); stated, not assumed
        lock = cls(data_dir, path, fd)
        try:
            lock._write_holder()
        except BaseException:
            lock.release()
            raise
        return lock

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Clear the holder record, unlock and close. Idempotent. The file stays: deleting it
        would let a process that opened the old file and one that creates a new one both hold
        "the" lock."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> "DataDirLock":
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()

    def __del__(self) -> None:
        if getattr(self, "_fd", None) is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass

    def __repr__(self) -> str:
        return f"DataDirLock({str(self.data_dir)!r}, held={self.held})"

    def _write_holder(self) -> None:
        record = json.dumps({"pid": os.getpid(), "command": _command_line(),
                             "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds")})
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, (record + "\n").encode(), 0)


def read_holder(data_dir: Path | str) -> dict | None:
    """The record the holder wrote ({pid, command, started_at}), or None when there is none
    (no lock file, an empty one, or one being written)."""
    try:
        text = (Path(data_dir) / LOCK_FILE).read_text()
    except OSError:
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _locked(data_dir: Path, path: Path) -> DataDirLocked:
    deadline = time.monotonic() + _HOLDER_WAIT_S
    while (holder := read_holder(data_dir)) is None and time.monotonic() < deadline:
        time.sleep(0.02)  # the holder took the lock a moment ago and is writing its record
    holder = holder or {}
    pid, command = holder.get("pid"), holder.get("command")
    if pid is None:
        who = "another process"
    else:
        who = f"pid {pid}" + (f" ({command})" if command else "") + (", this process" if pid == os.getpid() else "")
    message = f"data directory {data_dir} is in use by {who}; stop it, or use another data directory"
    return DataDirLocked(message, {"data_dir": str(data_dir), "lock_file": str(path), "pid": pid,
                                   "command": command, "started_at": holder.get("started_at")})


def _command_line() -> str:
    """`frt-stress serve --port 0`, not `/long/path/.venv/bin/frt-stress serve --port 0`."""
    argv = list(sys.argv) or ["python"]
    head = Path(argv[0]).name or argv[0]
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if head in ("-c", "-m"):
        head = f"python {head}"
    elif head.endswith(".py") and spec is not None and spec.name:  # python -m console.cli
        head = f"python -m {spec.name.removesuffix('.__main__')}"
    text = " ".join([head, shlex.join(argv[1:])]).rstrip()
    return text if len(text) <= 200 else text[:197] + "..."
