"""What a snapshot must contain, recorded at backup time and compared at drill time.

A manifest is a small JSON document kept in the case (``case.save_document``): for a folder,
the number of regular files and their total size; for a database, every table with its row
count and an order-independent checksum of its contents. Comparing is a pure function.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

VERSION = 1


@dataclass(frozen=True)
class Table:
    """One table's row count and content checksum."""

    rows: int
    checksum: str


@dataclass(frozen=True)
class Contents:
    """What a source held: files and bytes for folders, tables for databases."""

    files: int | None = None
    bytes: int | None = None
    tables: dict[str, Table] = field(default_factory=dict)


@dataclass(frozen=True)
class Manifest:
    """The expected contents of one snapshot of one source."""

    source: str
    kind: str
    snapshot_id: str
    time: str
    location: str  # where the data sits inside the snapshot (a folder path or /NAME.dump)
    contents: Contents
    incomplete: bool = False

    def to_json(self) -> bytes:
        """Canonical JSON bytes (stable key order), as stored in the case."""
        data = {"version": VERSION, **asdict(self)}
        return json.dumps(data, sort_keys=True, indent=1).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        """Read a stored manifest."""
        data: dict[str, Any] = json.loads(raw)
        data.pop("version", None)
        contents = data.pop("contents")
        tables = {name: Table(**t) for name, t in contents.get("tables", {}).items()}
        return cls(contents=Contents(contents.get("files"), contents.get("bytes"), tables), **data)


@dataclass(frozen=True)
class Mismatch:
    """One thing that differs between the manifest and what was restored."""

    item: str
    expected: str
    actual: str


def compare(expected: Contents, actual: Contents) -> list[Mismatch]:
    """Every difference between the expected and the restored contents (empty when they match)."""
    out: list[Mismatch] = []
    if expected.files is not None and expected.files != actual.files:
        out.append(Mismatch("files", str(expected.files), str(actual.files)))
    if expected.bytes is not None and expected.bytes != actual.bytes:
        out.append(Mismatch("bytes", str(expected.bytes), str(actual.bytes)))
    for name in sorted(set(expected.tables) | set(actual.tables)):
        want, got = expected.tables.get(name), actual.tables.get(name)
        if want is None or got is None:
            out.append(Mismatch(f"table {name}", "present" if want else "absent", "present" if got else "absent"))
            continue
        if want.rows != got.rows:
            out.append(Mismatch(f"table {name} rows", str(want.rows), str(got.rows)))
        if want.checksum != got.checksum:
            out.append(Mismatch(f"table {name} checksum", want.checksum[:16], got.checksum[:16]))
    return out


def folder_contents(root: Path) -> Contents:
    """Count regular files and their bytes below ``root`` (symlinks are not followed or counted)."""
    files = size = 0
    for folder, _dirs, names in os.walk(root):
        for name in names:
            st = os.lstat(os.path.join(folder, name))
            if (st.st_mode & 0o170000) == 0o100000:
                files += 1
                size += st.st_size
    return Contents(files=files, bytes=size)
