"""Output files a command writes (reports, plans, people lists): checked before the work, written whole.

A command checks its outputs can be written before it starts long work, writes each to a temporary
name next to it and renames them all at the end, so a failure leaves the old files or the new ones,
never half of one, and never a stray temporary file, even on a read-only or full filesystem.
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path

from aftermath.errors import StorageError, from_os_error


def check_writable(path: Path) -> None:
    """Fail early, before long work, when an output file cannot be written (no folder, read-only, a folder)."""
    resolved = path.resolve()
    parent = resolved.parent
    if not parent.is_dir():
        raise StorageError(f"folder {parent} does not exist: create it or choose another output path")
    if resolved.is_dir():
        raise StorageError(f"{resolved} is a folder: give a file name for the output")
    if not os.access(parent, os.W_OK):  # also EROFS: access() reports a read-only filesystem even to root
        kind = "is on a read-only filesystem" if _read_only(parent) else "is not writable"
        raise StorageError(f"folder {parent} {kind}: choose another output path")


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def write_all(outputs: dict[Path, str]) -> None:
    """Write every file atomically and together; on failure remove the temporary files, quietly."""
    temps: list[tuple[Path, Path]] = []
    try:
        for path, text in outputs.items():
            tmp = path.with_name(f".{path.name}.tmp")
            temps.append((tmp, path))
            tmp.write_text(text, encoding="utf-8")
        for tmp, path in temps:
            tmp.replace(path)
    except OSError as exc:
        raise from_os_error(exc, f"writing {exc.filename or 'the outputs'}") from exc
    finally:
        for tmp, _ in temps:
            with suppress(OSError):  # on a read-only filesystem even the clean-up fails: the error above says why
                tmp.unlink(missing_ok=True)
