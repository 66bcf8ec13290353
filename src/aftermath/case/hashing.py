"""Hashing files in chunks: apart from the case store so that its users need not load SQLAlchemy."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 20


def hash_file(path: Path) -> tuple[str, int]:
    """SHA-256 and size of a file, read in chunks."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
