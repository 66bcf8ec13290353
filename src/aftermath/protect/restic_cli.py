"""The one adapter for the restic binary.

Every call passes an argument list and an explicit environment (the password travels in
RESTIC_PASSWORD_FILE / RESTIC_PASSWORD_COMMAND / RESTIC_PASSWORD, never argv), asks for
``--json`` where restic has it, and translates restic's exit codes and messages into
Aftermath's errors. restic 0.14 exits 0 (ok), 1 (fatal), 3 (snapshot written but some
source files could not be read); newer releases add 10 (no repository), 11 (locked),
12 (wrong password). Any other code is a failure, never success.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from aftermath.errors import (
    AftermathError,
    IntegrityError,
    Interrupted,
    PasswordError,
    RepositoryError,
    StateError,
    StorageError,
    ToolError,
)

INCOMPLETE = 3
StatusCallback = Callable[[dict[str, Any]], None]
_URL_CREDS = re.compile(r"(//)[^/@\s]+@")
_PACK_ERROR = re.compile(r"\b(?:pack|Pack ID does not match, want)\s+([0-9a-f]{8,64})")


def redact(text: str) -> str:
    """Hide credentials embedded in backend URLs (rest:https://user:pass@host/...)."""
    return _URL_CREDS.sub(r"\1***@", text)


@dataclass(frozen=True)
class Snapshot:
    """One restic snapshot, as ``restic snapshots --json`` lists it."""

    id: str
    short_id: str
    time: datetime
    paths: list[str]
    tags: list[str]
    hostname: str

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Snapshot:
        """Build from restic's JSON (restic writes nanoseconds; Python keeps microseconds)."""
        return cls(raw["id"], raw.get("short_id", raw["id"][:8]), parse_time(raw["time"]), list(raw.get("paths", [])),
                   list(raw.get("tags") or []), raw.get("hostname", ""))


@dataclass(frozen=True)
class BackupResult:
    """What one ``restic backup`` produced."""

    snapshot_id: str
    files: int
    bytes: int
    added: int
    incomplete: bool = False
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of ``restic check``: ok, or the damaged packs it named."""

    ok: bool
    damaged_packs: list[str]
    errors: list[str]


@dataclass(frozen=True)
class Lock:
    """A lock file in the repository and who holds it."""

    id: str
    hostname: str
    pid: int
    exclusive: bool
    time: str


def parse_time(text: str) -> datetime:
    """Parse restic's RFC 3339 times, trimming nanoseconds to microseconds."""
    text = text.replace("Z", "+00:00")
    match = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$", text)
    if match:
        frac = (match.group(2) or "")[:7]
        text = match.group(1) + frac + match.group(3)
    return datetime.fromisoformat(text)


def translate(code: int, stderr: str, what: str) -> AftermathError | None:
    """Map restic's exit code and message to an error; None only for success."""
    if code == 0:
        return None
    msg = redact(stderr)
    low = msg.lower()
    last = _last_line(msg) or f"exit code {code}"
    if code == 12 or "wrong password" in low:
        return PasswordError(f"repository password is wrong while {what}: "
                             "check repository.password_* in aftermath.toml")
    if "no space left on device" in low:
        return StorageError(f"no space left on device while {what}: free some space or choose another folder")
    if code == 10 or "is there a repository at the following location" in low or "unable to open repository" in low:
        return RepositoryError(f"no usable restic repository while {what} ({last}): run 'aftermath protect init' "
                               "or check repository.url")
    if code == 11 or "repository is already locked" in low:
        return StateError(f"repository is locked by another process while {what}: wait for it, or run "
                          "'aftermath protect unlock' if that process is gone")
    if any(s in low for s in ("ciphertext verification failed", "pack id does not match", "repository contains errors",
                              "load(<data/", "invalid data returned")):
        return IntegrityError(f"repository data is damaged ({what}): {last}")
    if code == 130 or code == -2:
        return Interrupted(f"restic was interrupted while {what}: run the command again")
    if code < 0:
        return ToolError(f"restic was killed by signal {-code} while {what}: run the command again")
    if code == 1:
        return ToolError(f"restic failed while {what}: {last}")
    return ToolError(f"restic exited with unknown code {code} while {what}: {last}")


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    fatal = [ln for ln in lines if ln.startswith("Fatal:")]
    return (fatal or lines or [""])[-1]


class Restic:
    """Runs restic against one repository with an explicit environment."""

    def __init__(self, env: dict[str, str], binary: str = "restic", cache_dir: Path | None = None) -> None:
        self.binary = binary
        base = {k: os.environ[k] for k in ("PATH", "HOME", "TMPDIR", "LANG") if k in os.environ}
        self.env = {**base, **env}
        if cache_dir is not None:
            self.env["RESTIC_CACHE_DIR"] = str(cache_dir)

    # -- running ----------------------------------------------------------------------
    def _run(self, args: Sequence[str], what: str, ok: Sequence[int] = (0,),
             stdin: IO[bytes] | None = None) -> subprocess.CompletedProcess[str]:
        try:
            proc = subprocess.run([self.binary, *args], env=self.env, stdin=stdin or subprocess.DEVNULL,
                                  capture_output=True, text=True)
        except FileNotFoundError as exc:
            raise ToolError(f"restic not found ({self.binary}): install it ('apt-get install restic')") from exc
        if proc.returncode not in ok:
            raise translate(proc.returncode, proc.stderr, what) or ToolError(f"restic failed while {what}")
        return proc

    def _json(self, args: Sequence[str], what: str) -> Any:
        out = self._run([*args, "--json"], what).stdout
        try:
            return json.loads(out) if out.strip() else None
        except json.JSONDecodeError as exc:
            raise ToolError(f"restic printed unexpected output while {what}") from exc

    # -- repository -------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """The repository config (id, version); proves the repository exists and the password opens it."""
        raw = self._run(["cat", "config", "--no-lock"], "opening the repository").stdout
        try:
            value: dict[str, Any] = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise RepositoryError("the repository config is unreadable: check repository.url") from exc
        return value

    def init(self) -> None:
        """Create a new repository at the configured location."""
        self._run(["init"], "creating the repository")

    def snapshots(self, tag: str | None = None) -> list[Snapshot]:
        """All snapshots, oldest first, optionally only those carrying ``tag``."""
        args = ["snapshots", "--no-lock"] + (["--tag", tag] if tag else [])
        raw = self._json(args, "listing snapshots") or []
        return sorted((Snapshot.from_json(s) for s in raw), key=lambda s: s.time)

    def full_ids(self, short_ids: Sequence[str]) -> dict[str, str]:
        """Map short snapshot ids (restic 0.14's backup summary) to full ids, in one call."""
        if not short_ids:
            return {}
        # a local repository names each snapshot file by its full id (restic's documented layout):
        # reading the folder saves a restic start, i.e. a key derivation, per run
        local = Path(self.env.get("RESTIC_REPOSITORY", "")) / "snapshots"
        if local.is_absolute() and local.is_dir():
            found = [p.name for p in local.iterdir()]
        else:
            raw = self._json(["snapshots", "--no-lock", *short_ids], "reading new snapshots") or []
            found = [s["id"] for s in raw]
        out = {}
        for short in short_ids:
            hits = [f for f in found if f.startswith(short)]
            out[short] = hits[0] if len(hits) == 1 else ""
        missing = [s for s, f in out.items() if not f]
        if missing:
            raise RepositoryError(f"snapshot(s) {', '.join(missing)} not found right after the backup")
        return out

    # -- backup -----------------------------------------------------------------------
    def backup_path(self, path: Path, tags: Sequence[str], time: datetime | None = None,
                    on_status: StatusCallback | None = None) -> BackupResult:
        """Back up a folder; restic's status lines go to ``on_status``."""
        args = ["backup", str(path), *self._backup_opts(tags, time)]
        return self._stream_backup(args, None, f"backing up {path}", on_status)

    def backup_stdin(self, filename: str, stdin: IO[bytes], tags: Sequence[str], time: datetime | None = None,
                     on_status: StatusCallback | None = None) -> BackupResult:
        """Back up a stream (a database dump) as ``/filename`` in the snapshot, without a temporary file."""
        args = ["backup", "--stdin", "--stdin-filename", filename, *self._backup_opts(tags, time)]
        return self._stream_backup(args, stdin, f"backing up {filename}", on_status)

    @staticmethod
    def _backup_opts(tags: Sequence[str], time: datetime | None) -> list[str]:
        opts = ["--json"]
        for tag in tags:
            opts += ["--tag", tag]
        if time is not None:
            # restic reads --time in local time
            opts += ["--time", time.astimezone().strftime("%Y-%m-%d %H:%M:%S")]
        return opts

    def _stream_backup(self, args: list[str], stdin: IO[bytes] | None, what: str,
                       on_status: StatusCallback | None) -> BackupResult:
        summary: dict[str, Any] = {}
        warnings: list[str] = []
        with self._popen(args, stdin) as (proc, stderr_lines):
            assert proc.stdout is not None  # noqa: S101 - Popen with stdout=PIPE
            for line in proc.stdout:
                msg = _json_line(line)
                kind = msg.get("message_type")
                if kind == "summary":
                    summary = msg
                elif kind == "error":
                    warnings.append(redact(str(msg.get("error", {}).get("message") or msg.get("item", ""))))
                elif kind == "status" and on_status is not None:
                    on_status(msg)
            code = proc.wait()
        if code not in (0, INCOMPLETE) or not summary.get("snapshot_id"):
            err = translate(code, "\n".join(stderr_lines), what)
            raise err or ToolError(f"restic reported success but no snapshot while {what}")
        if code == INCOMPLETE and not warnings:
            warnings = [redact(ln) for ln in stderr_lines if ln.strip()][-5:]
        return BackupResult(str(summary["snapshot_id"]), int(summary.get("total_files_processed", 0)),
                            int(summary.get("total_bytes_processed", 0)), int(summary.get("data_added", 0)),
                            code == INCOMPLETE, warnings)

    def _popen(self, args: list[str], stdin: IO[bytes] | None) -> _Running:
        return _Running([self.binary, *args], self.env, stdin)

    # -- restore, check, retention -----------------------------------------------------
    def restore(self, snapshot_id: str, target: Path, no_cache: bool = False) -> None:
        """Restore a whole snapshot under ``target`` (restic keeps the absolute paths below it).

        ``no_cache`` reads everything from the repository itself: restic otherwise reads tree packs from
        its local cache, which hides damage that a machine without that cache would meet.
        """
        cache = ["--no-cache"] if no_cache else []
        self._run([*cache, "restore", snapshot_id, "--target", str(target)], f"restoring snapshot {snapshot_id[:8]}")

    def check(self, read_data: bool = False) -> CheckResult:
        """Run ``restic check``; damaged packs are reported, not raised."""
        args = ["check"] + (["--read-data"] if read_data else [])
        proc = self._run(args, "checking the repository", ok=(0, 1))
        if proc.returncode == 0:
            return CheckResult(True, [], [])
        text = proc.stdout + "\n" + proc.stderr
        err = translate(1, proc.stderr, "checking the repository")
        if not isinstance(err, IntegrityError) and "error" not in proc.stdout.lower():
            raise err or ToolError("restic check failed")
        packs = sorted(set(_PACK_ERROR.findall(text)))
        lines = [redact(ln.strip()) for ln in text.splitlines() if "error" in ln.lower() or "does not match" in ln]
        return CheckResult(False, packs, lines)

    def snapshots_using_pack(self, pack_id: str) -> set[str]:
        """Ids of the snapshots that hold any blob of a pack (``restic find --pack``)."""
        raw = self._json(["find", "--no-lock", "--pack", pack_id], f"finding what uses pack {pack_id[:8]}") or []
        return {item["snapshot"] for item in raw if "snapshot" in item}

    def forget(self, keep: Sequence[str], group_by: str = "host,tags") -> list[str]:
        """Apply a retention policy; returns the ids of the snapshots removed."""
        raw = self._json(["forget", "--group-by", group_by, *keep], "applying the retention policy") or []
        return [s["id"] for group in raw for s in (group.get("remove") or [])]

    def forget_ids(self, ids: Sequence[str]) -> None:
        """Remove specific snapshots (their data goes at the next prune)."""
        self._run(["forget", *ids], "removing a bad snapshot")

    def prune(self) -> None:
        """Delete the data no snapshot references any more."""
        self._run(["prune"], "pruning unreferenced data")

    # -- locks ------------------------------------------------------------------------
    def locks(self) -> list[Lock]:
        """The repository's lock files and their holders."""
        ids = self._run(["list", "locks", "--no-lock"], "listing locks").stdout.split()
        result = []
        for lock_id in ids:
            try:
                raw = json.loads(self._run(["cat", "lock", lock_id, "--no-lock"], "reading a lock").stdout)
            except (ToolError, json.JSONDecodeError):
                continue  # removed meanwhile by its owner
            result.append(Lock(lock_id, raw.get("hostname", ""), int(raw.get("pid", 0)), bool(raw.get("exclusive")),
                               raw.get("time", "")))
        return result

    def unlock(self) -> None:
        """Remove stale locks only (restic's own rule: dead process on this host, or not refreshed for 30 min)."""
        self._run(["unlock"], "removing stale locks")


def dead_locks(locks: Sequence[Lock], hostname: str, alive: Callable[[int], bool]) -> list[Lock]:
    """Locks held by processes on this host that no longer exist (pure: liveness is passed in)."""
    return [lk for lk in locks if lk.hostname == hostname and lk.pid > 0 and not alive(lk.pid)]


def this_host() -> str:
    """The hostname restic writes into locks and snapshots."""
    return socket.gethostname()


def _json_line(line: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


class _Running:
    """A restic process whose stderr is drained by a thread while stdout is read line by line."""

    def __init__(self, argv: list[str], env: dict[str, str], stdin: IO[bytes] | None) -> None:
        self.argv, self.env, self.stdin = argv, env, stdin
        self.stderr_lines: list[str] = []

    def __enter__(self) -> tuple[subprocess.Popen[str], list[str]]:
        try:
            self.proc = subprocess.Popen(self.argv, env=self.env, stdin=self.stdin or subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        except FileNotFoundError as exc:
            raise ToolError(f"restic not found ({self.argv[0]}): install it ('apt-get install restic')") from exc
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()
        return self.proc, self.stderr_lines

    def _drain(self) -> None:
        assert self.proc.stderr is not None  # noqa: S101
        for line in self.proc.stderr:
            self.stderr_lines.append(line.rstrip("\n"))

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.thread.join(timeout=5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
