"""Exports leave the case atomically: written beside the target, journaled, then renamed into place.

A failure at any step (the store locked by another writer, a full disk) removes the partial file, so a
reader finds the old output or the new one, never half of one, and the journal never names an export
that does not exist.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from sqlalchemy.exc import OperationalError

from aftermath.case import journal as journal_mod
from aftermath.case.core import Case
from aftermath.case.hashing import hash_file
from aftermath.errors import CaseError, StateError, StorageError, from_os_error


def tmp_dir(case: Case) -> Path:
    """The case's scratch folder (on the case's file system)."""
    path = case.root / ".aftermath" / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def journal(case: Case, action: str, subject: str, data: dict[str, Any]) -> journal_mod.Entry:
    """Journal an export; a store held by another writer is one clear line, not a driver's traceback."""
    try:
        return case.write(action, subject, data)
    except CaseError as exc:
        if isinstance(exc.__cause__, OperationalError) and "locked" in str(exc.__cause__).lower():
            raise StateError("the case store is locked by another writer: let it finish, then run this again "
                             "(nothing was written)") from exc
        raise


def check_target(out: Path) -> None:
    """Fail before long work when the output's folder is missing or the output is a folder."""
    if out.is_dir():
        raise StorageError(f"{out} is a folder: give a file name for the output")
    if not out.resolve().parent.is_dir():
        raise StorageError(f"folder {out.resolve().parent} does not exist: create it or choose another output path")


@contextmanager
def atomic(out: Path, binary: bool = False) -> Iterator[IO[Any]]:
    """A file handle on a temporary beside ``out``; renamed to ``out`` only when the block succeeds."""
    check_target(out)
    part = out.with_name(f".{out.name}.part")
    try:
        with (part.open("wb") if binary else part.open("w", encoding="utf-8", newline="")) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        part.replace(out)
    except OSError as exc:
        raise from_os_error(exc, f"writing {out}") from exc
    finally:
        part.unlink(missing_ok=True)


def publish(case: Case, out: Path, write: Callable[[IO[Any]], Any], action: str, subject: str,
            data: dict[str, Any], binary: bool = False) -> str:
    """Write ``out`` atomically, journal ``action`` with its SHA-256 before it appears; return the hash."""
    with atomic(out, binary) as fh:
        result = write(fh)
        fh.flush()
        digest, _ = hash_file(Path(fh.name))
        journal(case, action, subject, {**data, "out": str(out.resolve()), "sha256": digest,
                                        **({"result": result} if isinstance(result, (int, str)) else {})})
    return digest

