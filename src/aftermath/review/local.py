"""Scan a local directory tree with the same scanners (a staging tree before promotion, a web root)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from aftermath.errors import UsageError
from aftermath.review.scanner import Finding, Scanner, path_key
from aftermath.review.walk import MAX_FILE_BYTES


def scan_tree(root: Path, scanners: Sequence[Scanner], errors: list[str] | None = None,
              max_file_bytes: int = MAX_FILE_BYTES) -> list[Finding]:
    """Findings for every regular file below ``root`` (symlinks are not followed).

    Paths in findings are relative to ``root`` with a leading "/", so a tree restored from a snapshot
    reports the same paths as the snapshot. Files that cannot be read are named in ``errors`` (if given).
    """
    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"{root} is not a folder: give the folder to scan")
    found: list[Finding] = []
    done: dict[tuple[str, int, str], list[Finding]] = {}  # (sha256, scanner, key): identical files once
    for folder, dirs, files in os.walk(root, onerror=lambda exc: _note(errors, f"{exc.filename}: {exc.strerror}")):
        dirs.sort()
        for name in sorted(files):
            full = Path(folder, name)
            if full.is_symlink() or not full.is_file():
                continue
            rel = "/" + full.relative_to(root).as_posix()
            try:
                with full.open("rb") as fh:
                    data = fh.read(max_file_bytes)
            except OSError as exc:
                _note(errors, f"{rel}: {exc.strerror}")
                continue
            found.extend(_scan_one(rel, data, scanners, done, errors))
    return found


def _scan_one(rel: str, data: bytes, scanners: Sequence[Scanner], done: dict[tuple[str, int, str], list[Finding]],
              errors: list[str] | None) -> list[Finding]:
    sha256 = hashlib.sha256(data).hexdigest()
    out: list[Finding] = []
    for index, scanner in enumerate(scanners):
        key = (sha256, index, path_key(scanner, rel))
        if key not in done:
            try:
                done[key] = [f.at(rel, sha256) for f in scanner.scan(rel, data)]
            except Exception as exc:  # noqa: BLE001 - keep going, report what was not done
                _note(errors, f"{rel}: scanner {scanner.name} failed: {type(exc).__name__}: {exc}")
                done[key] = []
        out.extend(f.at(rel) for f in done[key])
    return out


def _note(errors: list[str] | None, text: str) -> None:
    if errors is not None:
        errors.append(text)
