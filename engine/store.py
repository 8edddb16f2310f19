"""The engine's data directory (SERVICE_DESIGN.md §4): JSON documents, error logs, sessions, findings,
reports, and sealing of wallet secrets.

Layout under data_dir:
    threads.json      {"threads": {...}}     mode 0600, holds sealed keypairs
    statistics.json   {"statistics": {...}}
    pools.json        {"pools": {...}}
    engine.json       engine-level counters (e.g. next thread number per type)
    keystore.json     {"kdf": "scrypt", "salt": b64, "check": "enc:v1:..."}  (only with a passphrase)
    errors/<thread_id>.json
    sessions/<thread_id>/session_<YYYY-MM-DD_HH-MM-SS[-N]>.json
    findings/groups.json  {"groups": {<group id>: {id, kind, rule, severity, ..., count, example_file}}}
    findings/finding_<NNNNNN>_<kind>.json   the first FINDING_FILES_PER_GROUP findings of each group
    reports/

Every write is atomic (engine.atomic); rewritten documents keep their previous version as `<name>.backup`.
A corrupt document is set aside as `<name>.corrupt-<timestamp>`, replaced by its backup when that parses
(else by the default), and reported in `problems`. Documents hold JSON types only (times as ISO strings,
see utc_now_iso()).
"""
from __future__ import annotations

import base64
import copy
import json
import logging
import os
import re
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from engine.atomic import atomic_write_bytes, atomic_write_text
from engine.findings import GROUP_FIELDS, group_id, normalised

log = logging.getLogger("engine.store")

PRIVATE_FILES = frozenset({"threads.json", "keystore.json"})
ENC_PREFIX = "enc:v1:"
PLAIN_PREFIX = "plain:"
_CHECK_VALUE = b"frt-stress keystore check v1"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_ID_RE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*$")
_SESSION_RE = re.compile(r"^session_(\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d)(?:-(\d+))?\.json$")
_FINDING_RE = re.compile(r"^finding_(\d{6,})_([A-Za-z0-9_-]+)\.json$")
FINDING_FILES_PER_GROUP = 5  # finding files kept per group; every finding is counted
GROUPS_SAVE_INTERVAL_S = 1.0  # a repeat only raises a count: groups.json is saved at most this often for it
_GROUPS = "findings/groups.json"


class KeystoreError(Exception):
    """A sealed secret cannot be opened (no or wrong passphrase, damaged keystore or value)."""


class _Corrupt(Exception):
    pass


def utc_now_iso() -> str:
    """The current UTC time as e.g. "2026-11-24T10:30:45.123Z"."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _stamp(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%d_%H-%M-%S")


def _check_id(value: str, what: str) -> str:
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise ValueError(f"invalid {what}: {value!r}")
    return value


class StateStore:
    def __init__(self, data_dir: Path, passphrase: str | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.problems: list[str] = []
        self._passphrase = passphrase or None
        self._fernet: Fernet | None = None
        self._warned_plain = False
        self._next_finding: int | None = None
        self._groups: dict[str, dict] | None = None  # findings/groups.json, loaded on first use
        self._groups_dirty = False  # counts raised since groups.json was saved
        self._groups_saved_at = 0.0  # time.monotonic() of that save

    @property
    def encrypted(self) -> bool:
        return self._passphrase is not None

    # --- generic JSON documents --------------------------------------------------------------------

    def load_json(self, name: str, default: Any, validate: Callable[[Any], bool] | None = None) -> Any:
        """The document `name` (a path relative to data_dir); `default` (a copy) when missing.

        Corrupt means unparsable, not of type(default), or rejected by `validate`."""
        path = self.data_dir / name
        backup = path.with_name(path.name + ".backup")
        if path.exists():
            try:
                return self._parse(path, default, validate)
            except _Corrupt as exc:
                kept = self._set_aside(path)
                self._problem(f"{name} is corrupt ({exc}); kept as {kept}")
        elif not backup.exists():
            return copy.deepcopy(default)
        else:
            self._problem(f"{name} is missing but {backup.name} exists (interrupted write)")
        if backup.exists():
            try:
                data = self._parse(backup, default, validate)
            except _Corrupt as exc:
                kept = self._set_aside(backup)
                self._problem(f"{backup.name} is corrupt too ({exc}); kept as {kept}; using defaults for {name}")
                return copy.deepcopy(default)
            atomic_write_bytes(path, backup.read_bytes())
            self._protect(path)
            self._problem(f"{name} restored from {backup.name}")
            return data
        self._problem(f"{name}: no backup; using defaults")
        return copy.deepcopy(default)

    def save_json(self, name: str, data: Any) -> None:
        text = json_lines_text(data)
        path = self.data_dir / name
        atomic_write_text(path, text, backup=True)
        self._protect(path)

    # --- the design's top-level documents --------------------------------------------------------------

    def load_threads(self) -> dict[str, dict]:
        return self._load_section("threads.json", "threads")

    def save_threads(self, threads: dict[str, dict]) -> None:
        self.save_json("threads.json", {"threads": threads})

    def load_statistics(self) -> dict[str, dict]:
        return self._load_section("statistics.json", "statistics")

    def save_statistics(self, statistics: dict[str, dict]) -> None:
        """statistics.json; the finding groups' pending counts are saved with it (periodically and
        when the engine closes)."""
        self.save_json("statistics.json", {"statistics": statistics})
        self.flush_findings()

    def load_pools(self) -> dict[str, dict]:
        return self._load_section("pools.json", "pools")

    def save_pools(self, pools: dict[str, dict]) -> None:
        self.save_json("pools.json", {"pools": pools})

    def load_engine_state(self) -> dict:
        return self.load_json("engine.json", {})

    def save_engine_state(self, state: dict) -> None:
        self.save_json("engine.json", state)

    def _load_section(self, name: str, key: str) -> dict[str, dict]:
        return self.load_json(name, {key: {}}, lambda doc: isinstance(doc.get(key), dict))[key]

    # --- errors ----------------------------------------------------------------------------------------

    def record_error(self, thread_id: str, entry: dict, keep: int = 10) -> None:
        name = self._errors_name(thread_id)
        doc = self.load_json(name, {"thread_id": thread_id, "errors": []}, _has_list("errors"))
        errors = [*doc["errors"], entry][-keep:] if keep > 0 else []
        self.save_json(name, {"thread_id": thread_id, "errors": errors})

    def save_errors(self, thread_id: str, errors: list[dict]) -> None:
        self.save_json(self._errors_name(thread_id), {"thread_id": thread_id, "errors": list(errors)})

    def load_errors(self, thread_id: str) -> list[dict]:
        name = self._errors_name(thread_id)
        return self.load_json(name, {"thread_id": thread_id, "errors": []}, _has_list("errors"))["errors"]

    def delete_thread_files(self, thread_id: str) -> None:
        """Remove the thread's error log; sessions are kept (unlimited retention)."""
        path = self.data_dir / self._errors_name(thread_id)
        for victim in (path, path.with_name(path.name + ".backup")):
            victim.unlink(missing_ok=True)

    @staticmethod
    def _errors_name(thread_id: str) -> str:
        return f"errors/{_check_id(thread_id, 'thread id')}.json"

    # --- sessions --------------------------------------------------------------------------------------

    def write_session(self, thread_id: str, session: dict, ended_at: datetime) -> str:
        """Write a finished session; returns its file name (never overwrites: -1, -2, ... suffixes)."""
        directory = self.data_dir / "sessions" / _check_id(thread_id, "thread id")
        base = f"session_{_stamp(ended_at)}"
        name, n = f"{base}.json", 0
        while (directory / name).exists():
            n += 1
            name = f"{base}-{n}.json"
        atomic_write_text(directory / name, json.dumps(session, indent=2, ensure_ascii=False) + "\n")
        return name

    def list_sessions(self, thread_id: str, limit: int | None = None) -> list[dict]:
        """Newest first; each item is {"session_file": name, **document}."""
        directory = self.data_dir / "sessions" / _check_id(thread_id, "thread id")
        if not directory.is_dir():
            return []
        keyed = []
        for path in directory.iterdir():
            if match := _SESSION_RE.match(path.name):
                keyed.append(((match.group(1), int(match.group(2) or 0)), path))
        keyed.sort(key=lambda item: item[0], reverse=True)
        return self._read_listing([path for _, path in keyed], "session_file", limit)

    # --- findings --------------------------------------------------------------------------------------

    def write_finding(self, kind: str, finding: dict) -> str:
        """Write a finding; the sequence number continues after the highest existing one."""
        kind = re.sub(r"[^A-Za-z0-9_-]", "_", kind) or "finding"
        directory = self.data_dir / "findings"
        if self._next_finding is None:
            self._next_finding = max((n for n, _ in self._findings()), default=0) + 1
        number = self._next_finding
        while any(directory.glob(f"finding_{number:06d}_*.json")):
            number += 1
        name = f"finding_{number:06d}_{kind}.json"
        atomic_write_text(directory / name, json.dumps(finding, indent=2, ensure_ascii=False) + "\n")
        self._next_finding = number + 1
        return name

    def record_finding(self, document: dict) -> tuple[dict, str | None]:
        """Count a finding in its group (kind, rule, pool_id, operation) and write its file while the
        group has fewer than FINDING_FILES_PER_GROUP; returns (the group, the file name or None).
        `document` is the finding with its context: at least kind, rule, severity, detected_at,
        pool_id and operation. groups.json is saved (atomically) at once for a new group or a new
        file; a repeat that only raises a count is saved within GROUPS_SAVE_INTERVAL_S, or by
        flush_findings (with the statistics, and when the engine closes)."""
        document = normalised(document)
        groups = self._finding_groups()
        gid = group_id(document["kind"], document["rule"], document.get("pool_id"), document.get("operation"))
        at = document.get("detected_at") or utc_now_iso()
        group = groups.get(gid)
        if group is None:
            group = groups[gid] = {
                "id": gid, "kind": document["kind"], "rule": document["rule"], "severity": document["severity"],
                "as_coded": document["as_coded"], "pool_id": document.get("pool_id"),
                "operation": document.get("operation"), "count": 0, "first_seen": at, "last_seen": at,
                "detail": document["detail"], "stored": 0, "example_file": None}
        group["count"] += 1
        group["last_seen"] = max(group["last_seen"], at)
        name = None
        if group["stored"] < FINDING_FILES_PER_GROUP:
            name = self.write_finding(document["kind"], {**document, "group_id": gid})
            group["stored"] += 1
            group["example_file"] = group["example_file"] or name
        self._groups_dirty = True
        if name is not None or time.monotonic() - self._groups_saved_at >= GROUPS_SAVE_INTERVAL_S:
            self.flush_findings()
        return dict(group), name

    def flush_findings(self) -> None:
        """Save findings/groups.json if counts changed since it was saved."""
        if self._groups_dirty and self._groups is not None:
            self.save_json(_GROUPS, {"groups": self._groups})
            self._groups_dirty = False
            self._groups_saved_at = time.monotonic()

    def finding_groups(self, limit: int | None = None, *, examples: bool = True) -> list[dict]:
        """The groups, newest last_seen first; each with its `example` (the group's first finding,
        whole) unless examples=False."""
        groups = sorted(self._finding_groups().values(), key=lambda g: g["last_seen"], reverse=True)
        chosen = groups[:limit] if limit is not None else groups
        if not examples:
            return [dict(group) for group in chosen]
        return [dict(group) | {"example": self._example(group)} for group in chosen]

    def findings_total(self) -> int:
        """Every finding counted (the files keep only the first few of each group)."""
        return sum(group["count"] for group in self._finding_groups().values())

    def _example(self, group: dict) -> dict | None:
        name = group.get("example_file")
        path = self.data_dir / "findings" / name if name else None
        if path is None or not _FINDING_RE.match(name) or not path.exists():
            return None
        try:
            return self._parse(path, {}, None)
        except _Corrupt as exc:
            self._problem(f"skipped findings/{name}: {exc}")
            return None

    def _finding_groups(self) -> dict[str, dict]:
        if self._groups is None:
            if (self.data_dir / _GROUPS).exists() or (self.data_dir / (_GROUPS + ".backup")).exists():
                self._groups = self.load_json(_GROUPS, {"groups": {}}, _valid_groups)["groups"]
            else:
                self._groups = self._groups_from_files()
        return self._groups

    def _groups_from_files(self) -> dict[str, dict]:
        """Groups rebuilt from finding files alone (a data directory from before groups.json)."""
        groups: dict[str, dict] = {}
        for number, path in sorted(self._findings()):
            try:
                document = normalised(self._parse(path, {}, None))
            except _Corrupt:
                continue
            gid = group_id(document["kind"], document["rule"], document.get("pool_id"), document.get("operation"))
            at = document.get("detected_at") or ""
            group = groups.setdefault(gid, {
                "id": gid, "kind": document["kind"], "rule": document["rule"], "severity": document["severity"],
                "as_coded": document["as_coded"], "pool_id": document.get("pool_id"),
                "operation": document.get("operation"), "count": 0, "first_seen": at, "last_seen": at,
                "detail": document["detail"], "stored": 0, "example_file": path.name})
            group["count"] += 1
            group["stored"] += 1
            group["last_seen"] = max(group["last_seen"], at)
        return groups

    def list_findings(self, limit: int | None = None) -> list[dict]:
        """Newest first; each item is {"finding_file": name, **document}."""
        paths = [path for _, path in sorted(self._findings(), key=lambda item: item[0], reverse=True)]
        return self._read_listing(paths, "finding_file", limit)

    def count_findings(self) -> int:
        return len(self._findings())

    def _findings(self) -> list[tuple[int, Path]]:
        directory = self.data_dir / "findings"
        if not directory.is_dir():
            return []
        return [(int(m.group(1)), path) for path in directory.iterdir() if (m := _FINDING_RE.match(path.name))]

    # --- reports ---------------------------------------------------------------------------------------

    def write_report(self, name: str, data: Any) -> Path:
        """Write reports/<name>: str/bytes as they are, anything else as pretty JSON."""
        path = self.data_dir / "reports" / _check_id(name, "report name")
        if isinstance(data, bytes):
            atomic_write_bytes(path, data)
        elif isinstance(data, str):
            atomic_write_text(path, data)
        else:
            atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return path

    # --- keypair sealing -------------------------------------------------------------------------------

    def seal_secret(self, secret: bytes) -> str:
        if self._passphrase is None:
            if not self._warned_plain:
                log.warning("no passphrase: wallet keys are stored unencrypted (files are mode 0600)")
                self._warned_plain = True
            return PLAIN_PREFIX + base64.b64encode(secret).decode("ascii")
        return ENC_PREFIX + self.unlock().encrypt(secret).decode("ascii")

    def open_secret(self, sealed: str) -> bytes:
        if sealed.startswith(PLAIN_PREFIX):
            try:
                return base64.b64decode(sealed[len(PLAIN_PREFIX):], validate=True)
            except ValueError:
                raise KeystoreError("a stored plain key is damaged (bad base64)") from None
        if not sealed.startswith(ENC_PREFIX):
            raise KeystoreError("a stored key has an unknown format")
        if self._passphrase is None:
            raise KeystoreError("wallet keys are encrypted: a passphrase is required to open them")
        try:
            return self.unlock(create=False).decrypt(sealed[len(ENC_PREFIX):].encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            raise KeystoreError("a stored key cannot be decrypted with this keystore (damaged or foreign)") from None

    def unlock(self, create: bool = True) -> Fernet:
        """Derive the key (once per store) and check the passphrase against keystore.json, creating the
        keystore when it does not exist and `create` is true. Raises KeystoreError."""
        if self._fernet is not None:
            return self._fernet
        if self._passphrase is None:
            raise KeystoreError("no passphrase was given")
        keystore = self._read_keystore()
        if keystore is None:
            if not create:
                raise KeystoreError("keystore.json is missing: encrypted keys cannot be opened")
            salt = os.urandom(16)
            fernet = Fernet(self._derive(salt))
            self.save_json("keystore.json", {"kdf": "scrypt", "salt": base64.b64encode(salt).decode("ascii"),
                                             "check": ENC_PREFIX + fernet.encrypt(_CHECK_VALUE).decode("ascii")})
        else:
            try:
                salt = base64.b64decode(keystore["salt"], validate=True)
                check = keystore["check"].removeprefix(ENC_PREFIX).encode("ascii")
            except (KeyError, TypeError, ValueError, AttributeError):
                raise KeystoreError("keystore.json is damaged") from None
            fernet = Fernet(self._derive(salt))
            try:
                ok = fernet.decrypt(check) == _CHECK_VALUE
            except InvalidToken:
                ok = False
            if not ok:
                raise KeystoreError("wrong passphrase for the keystore in " + str(self.data_dir))
        self._fernet = fernet
        return fernet

    def _derive(self, salt: bytes) -> bytes:
        key = Scrypt(salt=salt, length=32, **_SCRYPT).derive(self._passphrase.encode("utf-8"))
        return base64.urlsafe_b64encode(key)

    def _read_keystore(self) -> dict | None:
        """keystore.json (or its backup); None when neither exists. Never replaced by a fresh salt when
        damaged: that would make every sealed key unreadable."""
        path = self.data_dir / "keystore.json"
        candidates = [p for p in (path, path.with_name(path.name + ".backup")) if p.exists()]
        if not candidates:
            return None
        for candidate in candidates:
            try:
                keystore = self._parse(candidate, {}, lambda doc: doc.get("kdf") == "scrypt")
            except _Corrupt:
                continue
            if candidate != path:
                self._problem(f"keystore.json unreadable; using {candidate.name}")
            return keystore
        raise KeystoreError("keystore.json is damaged and has no usable backup")

    # --- helpers ---------------------------------------------------------------------------------------

    @staticmethod
    def _parse(path: Path, default: Any, validate: Callable[[Any], bool] | None) -> Any:
        try:
            data = json.loads(path.read_bytes().decode("utf-8"))
        except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise _Corrupt(f"unreadable: {exc}") from None
        if default is not None and not isinstance(data, type(default)):
            raise _Corrupt(f"top level is {type(data).__name__}, expected {type(default).__name__}")
        if validate is not None and not validate(data):
            raise _Corrupt("unexpected structure")
        return data

    def _read_listing(self, paths: list[Path], key: str, limit: int | None) -> list[dict]:
        items: list[dict] = []
        for path in paths:
            if limit is not None and len(items) >= limit:
                break
            try:
                items.append({key: path.name, **self._parse(path, {}, None)})
            except _Corrupt as exc:
                self._problem(f"skipped {path.relative_to(self.data_dir)}: {exc}")
        return items

    def _set_aside(self, path: Path) -> str:
        base = f"{path.name}.corrupt-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}"
        target, n = path.with_name(base), 0
        while target.exists():
            n += 1
            target = path.with_name(f"{base}-{n}")
        try:
            os.replace(path, target)
        except OSError as exc:
            return f"(not moved: {exc})"
        return target.name

    def _protect(self, path: Path) -> None:
        if path.name in PRIVATE_FILES:
            for target in (path, path.with_name(path.name + ".backup")):
                if target.exists():
                    os.chmod(target, 0o600)

    def _problem(self, message: str) -> None:
        if message not in self.problems:
            log.warning("%s", message)
            self.problems.append(message)


def _valid_groups(doc: Any) -> bool:
    groups = doc.get("groups")
    return isinstance(groups, dict) and all(
        isinstance(group, dict) and all(key in group for key in GROUP_FIELDS) for group in groups.values())


def _has_list(key: str) -> Callable[[Any], bool]:
    return lambda doc: isinstance(doc.get(key), list)


def json_lines_text(data: Any) -> str:
    """`data` as JSON that stays legible: a top-level key per line, and for id-keyed sections
    (threads, statistics, pools) an entry per line. json.dumps(indent=...) would switch to the
    pure-Python encoder, ~8x slower: 60 ms a save of 1,000 threads' statistics."""
    if not isinstance(data, dict):
        return _json(data) + "\n"
    lines = []
    for key, value in data.items():
        if isinstance(value, dict) and value and all(isinstance(entry, dict) for entry in value.values()):
            entries = ",\n".join(f"    {_json(entry_key)}: {_json(entry)}" for entry_key, entry in value.items())
            lines.append(f"  {_json(key)}: {{\n{entries}\n  }}")
        else:
            lines.append(f"  {_json(key)}: {_json(value)}")
    return "{\n" + ",\n".join(lines) + "\n}\n" if lines else "{}\n"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def data_dir_finding_groups(data_dir: Path) -> list[dict]:
    """Every shard's groups of a data directory merged by id, worst severity first, then the most
    frequent; each with `example_path` (its first finding's file) and `shard_dir`."""
    from engine.findings import merge_groups, severity_rank

    groups = []
    for shard_dir in sorted((Path(data_dir) / "shards").glob("*/")):
        if (shard_dir / "findings").is_dir():
            for group in StateStore(shard_dir).finding_groups(examples=False):
                group = group | {"shard_dir": str(shard_dir)}
                if group.get("example_file"):
                    group["example_path"] = str(shard_dir / "findings" / group["example_file"])
                groups.append(group)
    return sorted(merge_groups(groups), key=lambda g: (severity_rank(g["severity"]), -g["count"], g["id"]))
