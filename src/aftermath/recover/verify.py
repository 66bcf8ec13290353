"""Verify a staging tree against the repository, rescan it, and fingerprint it for promotion.

Verification re-reads every planned file's content from the repository (authenticated blob by blob)
and compares its SHA-256 and mode with the staged file; it rescans the staging tree with the same
scanners as the review; and database dumps are checked against their snapshot's manifest by a
checker the caller passes in (restore into a scratch database, compare row counts and checksums).
Exit 0 only when all of it matches. The verified fingerprint (every file's path, SHA-256 and mode)
is what ``promote`` checks the tree against.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aftermath.case import hash_file
from aftermath.errors import StateError
from aftermath.recover.apply import PART, staged_path
from aftermath.recover.plan import Entry, Plan
from aftermath.restic import BlobError, Repository

DbChecker = Callable[[Entry, Path], list[str] | None]
TreeScanner = Callable[[Path], list[str]]


@dataclass
class VerifyResult:
    """Every mismatch in plain words; ``ok`` only when there is none."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)
    databases: list[str] = field(default_factory=list)
    fingerprint: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every file, scan and database matched."""
        return not self.problems


def repository_sha256(repo: Repository, entry: Entry) -> str:
    """SHA-256 of a file's content as the repository holds it (each blob authenticated)."""
    digest = hashlib.sha256()
    for blob_id in entry.identity:
        digest.update(repo.read_blob(blob_id))
    return digest.hexdigest()


def tree_fingerprint(root: Path) -> dict[str, list[Any]]:
    """Relative path -> [sha256, mode] for every regular file and symlink under ``root``.

    A single file gives one entry under the empty path.
    """
    out: dict[str, list[Any]] = {}
    if root.is_file() and not root.is_symlink():
        return {"": [hash_file(root)[0], stat.S_IMODE(root.stat().st_mode)]}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            rel = "/" + str(path.relative_to(root))
            if path.is_symlink():
                out[rel] = ["symlink:" + os.readlink(path), 0]
            else:
                out[rel] = [hash_file(path)[0], stat.S_IMODE(path.stat().st_mode)]
    return out


def verify_staging(repo: Repository, plan: Plan, staging: Path, scan: TreeScanner | None = None,
                   check_db: DbChecker | None = None) -> VerifyResult:
    """Check the staging tree file by file against the repository, then scan it (see module docs)."""
    if not staging.is_dir():
        raise StateError(f"{staging} is not a folder: run 'aftermath restore apply' first")
    result = VerifyResult(fingerprint=tree_fingerprint(staging))
    wanted = [e for e in plan.entries if e.action == "restore" and e.type in ("file", "symlink")]
    for entry in wanted:
        result.checked += 1
        result.problems.extend(_check_entry(repo, entry, staging, result.fingerprint))
    planned = {e.path for e in wanted}
    extra = sorted(p for p in result.fingerprint if p not in planned)
    result.problems.extend(f"{p}: in staging but not in the plan" for p in extra if not p.endswith(PART))
    if scan is not None:
        result.problems.extend(f"rescan: {finding}" for finding in scan(staging))
    if check_db is not None:
        for entry in wanted:
            issues = check_db(entry, staged_path(staging, entry.path))
            if issues is not None and entry.type == "file":
                result.databases.append(entry.path)
                result.problems.extend(f"{entry.path}: {issue}" for issue in issues)
    return result


def _check_entry(repo: Repository, entry: Entry, staging: Path, fingerprint: dict[str, list[Any]]) -> list[str]:
    staged = fingerprint.get(entry.path)
    if staged is None:
        return [f"{entry.path}: missing from staging (failed or not restored)"]
    if entry.type == "symlink":
        ok = staged[0] == "symlink:" + (entry.linktarget or "")
        return [] if ok else [f"{entry.path}: symlink target differs"]
    try:
        expected = repository_sha256(repo, entry)
    except BlobError as exc:
        return [f"{entry.path}: repository content unreadable: {exc.message}"]
    problems = []
    if staged[0] != expected:
        problems.append(f"{entry.path}: content differs from the repository (sha256 {staged[0][:12]}…)")
    if staged[1] != entry.mode & 0o7777:
        problems.append(f"{entry.path}: mode {staged[1]:o} instead of {entry.mode & 0o7777:o}")
    return problems


def save_verified(path: Path, plan_sha: str, staging: Path, result: VerifyResult) -> None:
    """Record a successful verification next to the restore state (read by promote)."""
    record = {"plan": plan_sha, "staging": str(staging.resolve()), "fingerprint": result.fingerprint}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record), encoding="utf-8")
    os.replace(tmp, path)


def changed_files(recorded: dict[str, list[Any]], root: Path, prefix: str) -> Iterable[str]:
    """Files under ``prefix`` whose hash or mode differ from the verified fingerprint, or that were added."""
    current = {(prefix.rstrip("/") + p) or "/": v for p, v in tree_fingerprint(root).items()}
    expected = {p: v for p, v in recorded.items() if p == prefix or p.startswith(prefix.rstrip("/") + "/")}
    for path in sorted(set(current) | set(expected)):
        if current.get(path) != expected.get(path):
            yield path
