"""Where source files are read from: the local disk, or a restic snapshot (through ``aftermath.restic``).

Both offer the same small interface, so every reader works on either. A file that a library needs as a
real path (SQLite, XLSX) is copied out of a snapshot into a private temporary file (mode 0600, in a
0700 folder) that is deleted as soon as it has been read.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path, PurePosixPath
from typing import IO, Any, Protocol

from aftermath.errors import UsageError, from_os_error


class Files(Protocol):
    """Read access to a tree of files."""

    label: str

    def kind(self, path: str) -> str:
        """"file", "dir" or "" (missing)."""

    def walk(self, path: str) -> Iterator[str]:
        """Every regular file under a folder, sorted."""

    def open(self, path: str) -> IO[bytes]:
        """A binary stream of the file."""

    def local(self, path: str) -> AbstractContextManager[Path]:
        """A real path holding the file, for as long as the context lasts."""


class LocalFiles:
    """The local file system."""

    label = "local"

    def kind(self, path: str) -> str:
        """"file", "dir" or ""."""
        p = Path(path)
        return "dir" if p.is_dir() else "file" if p.is_file() else ""

    def walk(self, path: str) -> Iterator[str]:
        """Every regular file under ``path``, sorted."""
        for root, dirs, names in os.walk(path):
            dirs.sort()
            for name in sorted(names):
                yield os.path.join(root, name)

    def open(self, path: str) -> IO[bytes]:
        """Open for reading; a missing or unreadable file is a usage error."""
        try:
            return open(path, "rb")  # noqa: SIM115 - the caller closes it
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from exc

    @contextmanager
    def local(self, path: str) -> Iterator[Path]:
        """The file itself."""
        yield Path(path)


class _BlobStream(io.RawIOBase):
    """A read-only stream over an iterator of byte chunks (a file's blobs, in order)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buf:
            self._buf = next(self._chunks, b"")
            if not self._buf:
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


class SnapshotFiles:
    """The files of one restic snapshot, read through the native reader (every blob authenticated)."""

    def __init__(self, repo: Any, snapshot: Any) -> None:
        self.repo = repo
        self.snapshot = snapshot
        self.label = f"snapshot {snapshot.short_id}"
        self._nodes: dict[str, Any] = {}
        for path, node in repo.walk(snapshot.tree):
            self._nodes[path] = node

    def _node(self, path: str) -> Any:
        return self._nodes.get("/" + path.strip("/")) if path.strip("/") else None

    def kind(self, path: str) -> str:
        """"file", "dir" or ""."""
        if not path.strip("/"):
            return "dir"
        node = self._node(path)
        return "" if node is None else "dir" if node.is_dir else "file" if node.is_file else ""

    def walk(self, path: str) -> Iterator[str]:
        """Every regular file under ``path`` in the snapshot, sorted."""
        prefix = "/" + path.strip("/")
        prefix = "" if prefix == "/" else prefix
        for p in sorted(self._nodes):
            if p.startswith(prefix + "/") and self._nodes[p].is_file:
                yield p

    def open(self, path: str) -> IO[bytes]:
        """The file's content, streamed blob by blob."""
        node = self._node(path)
        if node is None or not node.is_file:
            raise UsageError(f"no file {path} in {self.label}: list it with 'restic ls {self.snapshot.short_id}'")
        return io.BufferedReader(_BlobStream(self.repo.iter_file(node)))

    @contextmanager
    def local(self, path: str) -> Iterator[Path]:
        """Copy the file to a private temporary file (0600), deleted when the context ends."""
        folder = tempfile.mkdtemp(prefix="aftermath-scope-")  # mkdtemp makes it 0700
        target = Path(folder) / ("data" + PurePosixPath(path).suffix)  # openpyxl insists on .xlsx
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out, self.open(path) as src:
                shutil.copyfileobj(src, out, 1 << 20)
            yield target
        except OSError as exc:
            raise from_os_error(exc, f"copying {path} out of {self.label}") from exc
        finally:
            shutil.rmtree(folder, ignore_errors=True)
