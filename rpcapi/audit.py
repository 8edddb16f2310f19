"""The API's audit log: <data_dir>/audit.log, one JSON line per state-changing call (and per
request refused as unauthorised or forbidden).

Entries are bounded whatever a client sends: long strings, long lists, big objects, deep nesting
and huge integers are cut (the cut is written in their place, e.g. "abc...[cut 999744 chars]",
and the entry gets "cut": true), and params still larger than MAX_ENTRY_BYTES are replaced by
a marker. The file rotates by size: audit.log -> audit.log.1 -> ... -> audit.log.N, the oldest
deleted.
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rpcapi.auth import REDACTED, is_secret_name

MAX_CHARS = 256          # of one string (a value or an object's key)
MAX_ITEMS = 32           # of one list or object
MAX_DEPTH = 6
MAX_INT_BITS = 256
MAX_ENTRY_BYTES = 4096   # params still larger once bounded are replaced by a marker
CUT = "...[cut"


class _Bounder:
    def __init__(self) -> None:
        self.cut = False

    def __call__(self, value: Any, depth: int = 0) -> Any:
        if isinstance(value, str):
            return self._string(value)
        if isinstance(value, bool) or value is None or isinstance(value, float):
            return value
        if isinstance(value, int):
            if value.bit_length() <= MAX_INT_BITS:
                return value
            self.cut = True
            return f"{CUT}: an integer of {value.bit_length()} bits]"
        if depth >= MAX_DEPTH and isinstance(value, (list, dict)) and value:
            self.cut = True
            return f"{CUT}: nested deeper than {MAX_DEPTH}]"
        if isinstance(value, list):
            kept = [self(item, depth + 1) for item in value[:MAX_ITEMS]]
            if len(value) > MAX_ITEMS:
                self.cut = True
                kept.append(f"{CUT} {len(value) - MAX_ITEMS} more items]")
            return kept
        if isinstance(value, dict):
            kept = {self._string(str(key)): REDACTED if is_secret_name(key) else self(item, depth + 1)
                    for key, item in list(value.items())[:MAX_ITEMS]}
            if len(value) > MAX_ITEMS:
                self.cut = True
                kept["..."] = f"{CUT} {len(value) - MAX_ITEMS} more keys]"
            return kept
        return self._string(str(value))

    def _string(self, text: str) -> str:
        if len(text) <= MAX_CHARS:
            return text
        self.cut = True
        return f"{text[:MAX_CHARS]}{CUT} {len(text) - MAX_CHARS} chars]"


def bounded_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """`entry` with secrets redacted (values under keys named like *key*, *secret*, ...) and every
    value bounded (see the module's doc)."""
    bound = _Bounder()
    record = {key: bound(value) for key, value in entry.items()}
    if "params" in record:
        size = len(json.dumps(record["params"], default=str, separators=(",", ":")))
        if size > MAX_ENTRY_BYTES:
            bound.cut = True
            record["params"] = f"{CUT}: params of {size} bytes once bounded]"
    if bound.cut:
        record["cut"] = True
    return record


class AuditLog:
    """Appends bounded JSON lines to `path` (None = no audit log), rotating it at `max_bytes`
    and keeping `backups` rotated files. Created with mode 0600 at the first entry: a server
    that changed nothing leaves no file."""

    def __init__(self, path: Path | None, *, max_bytes: int = 10_485_760, backups: int = 5) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = max(1, backups)
        self._fd: int | None = None
        self._size = 0

    def write(self, **entry: Any) -> None:
        if self.path is None:
            return
        record = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")}
        record.update(bounded_entry(entry))
        line = (json.dumps(record, default=str, separators=(",", ":")) + "\n").encode()
        if self._fd is None:
            self._open()
        if self._size and self._size + len(line) > self.max_bytes:
            self._rotate()
        os.write(self._fd, line)
        self._size += len(line)

    def rotated(self, index: int) -> Path:
        assert self.path is not None
        return self.path.with_name(f"{self.path.name}.{index}")

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._size = os.fstat(self._fd).st_size

    def _rotate(self) -> None:
        self.close()
        for index in range(self.backups - 1, 0, -1):
            if self.rotated(index).exists():
                os.replace(self.rotated(index), self.rotated(index + 1))
        os.replace(self.path, self.rotated(1))
        self._open()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
