"""Case-level locks: one run of a kind at a time on one case, and the refusal says who holds it.

An advisory ``flock`` on a file under ``.aftermath/locks/``: the kernel releases it when the holder
exits, however it exits, so a killed run never leaves a stale lock behind. The file's text (who, process,
since when) is only there to be shown to the next user.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from aftermath.errors import StateError, from_os_error


@contextmanager
def held(root: Path, name: str, actor: str) -> Iterator[None]:
    """Hold the lock ``name`` of the case at ``root``; StateError naming the holder when it is taken."""
    folder = root / ".aftermath" / "locks"
    path = folder / f"{name}.lock"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise from_os_error(exc, f"taking the {name} lock of the case") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StateError(f"another '{name.replace('-', ' ')}' is running on this case ({_holder(fd)}): "
                             "wait for it to finish, then run the command again") from None
        _note(fd, actor)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _note(fd: int, actor: str) -> None:
    text = json.dumps({"pid": os.getpid(), "actor": actor, "since": datetime.now(UTC).isoformat(timespec="seconds")})
    os.ftruncate(fd, 0)
    os.pwrite(fd, text.encode(), 0)


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"process {info['pid']} of {info['actor']}, since {info['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "holder unknown"
