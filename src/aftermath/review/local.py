"""Scan a local directory tree with the same scanners (a staging tree before promotion, a web root)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from aftermath.errors import UsageError
from aftermath.review.content import WINDOW, scan_content
from aftermath.review.scanner import Finding, Scanner, path_key

CHUNK = 4 << 20


def scan_tree(root: Path, scanners: Sequence[Scanner], errors: list[str] | None = None,
              window: int = WINDOW) -> list[Finding]:
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
                found.extend(_scan_file(full, rel, scanners, done, errors, window))
            except OSError as exc:
                _note(errors, f"{rel}: {exc.strerror}")
    return found


def _scan_file(full: Path, rel: str, scanners: Sequence[Scanner], done: dict[tuple[str, int, str], list[Finding]],
               errors: list[str] | None, window: int) -> list[Finding]:
    """Findings for one file; identical files (same SHA-256) are scanned once per path key."""
    with full.open("rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size <= window:  # read once: hashed and scanned from memory
            data = fh.read()
            sha256, chunks = hashlib.sha256(data).hexdigest(), [data]
        else:  # hashed first (identical files are scanned once), then streamed to the scanners
            digest = hashlib.sha256()
            for chunk in iter(lambda: fh.read(CHUNK), b""):
                digest.update(chunk)
            sha256 = digest.hexdigest()
            fh.seek(0)
            chunks = iter(lambda: fh.read(CHUNK), b"")  # type: ignore[assignment]
        keys = [(sha256, index, path_key(scanner, rel)) for index, scanner in enumerate(scanners)]
        todo = [(key[1], rel) for key in keys if key not in done]
        if todo:
            outcome = scan_content(scanners, todo, chunks, size, sha256, window)
            for note in outcome.notes:
                _note(errors, f"{rel}: {note}")
            for position, (index, _) in enumerate(todo):
                done[keys[index]] = [f.at(rel, sha256) for f in outcome.findings.get(position, [])]
    return [f.at(rel) for key in keys for f in done[key]]


def _note(errors: list[str] | None, text: str) -> None:
    if errors is not None:
        errors.append(text)
