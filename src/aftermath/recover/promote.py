"""Put a verified staging tree into place atomically; the old tree is kept aside, never deleted.

On Linux the swap is one ``renameat2(RENAME_EXCHANGE)``: at every instant the target path holds
either the old tree or the new one. Where that call is missing, two renames are used and the gap
between them is reported. Promotion refuses a tree that was not verified or changed since.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aftermath.errors import StateError, UsageError, from_os_error
from aftermath.recover.verify import changed_files

AT_FDCWD = -100
RENAME_EXCHANGE = 2


@dataclass(frozen=True)
class Promotion:
    """Where the new tree went and where the old one was kept."""

    target: Path
    kept_old: Path | None
    atomic: bool


def find_verified(records: list[Path], staging: Path) -> tuple[dict[str, object], str]:
    """The verification record whose staging root is ``staging`` or one of its parents, and the prefix."""
    staging = staging.resolve()
    for path in records:
        record = json.loads(path.read_text(encoding="utf-8"))
        root = Path(str(record["staging"]))
        if staging == root or root in staging.parents:
            prefix = "/" + str(staging.relative_to(root)) if staging != root else "/"
            return record, prefix
    raise StateError(f"{staging} was not verified: run 'aftermath restore verify {staging} --plan PLAN' first")


def check_unchanged(record: dict[str, object], staging: Path, prefix: str) -> None:
    """Refuse a staging tree that differs from what was verified."""
    fingerprint = record["fingerprint"]
    assert isinstance(fingerprint, dict)
    changed = list(changed_files(fingerprint, staging, prefix))
    if changed:
        raise StateError(f"staging tree changed since it was verified ({changed[0]}"
                         f"{f' and {len(changed) - 1} more' if len(changed) > 1 else ''}): verify again")


def _exchange(a: Path, b: Path) -> bool:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if not hasattr(libc, "renameat2"):
        return False
    rc = libc.renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE)
    if rc != 0:
        err = ctypes.get_errno()
        if err in (22, 38):  # EINVAL, ENOSYS: the filesystem or kernel cannot exchange
            return False
        raise OSError(err, os.strerror(err), str(a))
    return True


def promote(staging: Path, target: Path, now: datetime | None = None) -> Promotion:
    """Swap ``staging`` into ``target`` (same filesystem), keeping the old target beside it."""
    staging, target = staging.resolve(), target.resolve()
    parent = target.parent
    if not parent.is_dir():
        raise UsageError(f"{parent} does not exist: create the target's parent folder first")
    if os.stat(staging).st_dev != os.stat(parent).st_dev:
        raise StateError(f"{target} is on another filesystem than {staging}: an atomic rename is impossible; "
                         "restore into a staging folder on the target's filesystem")
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    kept = parent / f"{target.name}.aftermath-old-{stamp}"
    try:
        if not target.exists():
            os.rename(staging, target)
            return Promotion(target, None, True)
        if _exchange(staging, target):
            os.rename(staging, kept)  # staging's path now holds the old tree
            return Promotion(target, kept, True)
        os.rename(target, kept)
        os.rename(staging, target)
        return Promotion(target, kept, False)
    except OSError as exc:
        raise from_os_error(exc, f"promoting {staging} to {target}") from exc
