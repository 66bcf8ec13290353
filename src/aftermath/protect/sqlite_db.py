"""The adapter for SQLite sources: a consistent copy with the online backup API, and table checksums.

The online backup copies every page under one read transaction, so the copy is consistent even
while the application keeps writing. Checksums are computed from the copy, i.e. from exactly what
goes into the snapshot.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from aftermath.errors import SourceError, from_os_error
from aftermath.protect.manifest import Contents, Table

_MOD = 1 << 128


def backup_copy(source: Path, dest: Path, timeout: float = 30.0) -> None:
    """Copy a live SQLite database to ``dest`` with the online backup API, opening the source read-only.

    The read lock is taken first, within ``timeout`` seconds: Python's backup call itself retries a busy
    source without limit, so a database locked by its application would hang the backup forever.
    """
    check_is_sqlite(source)
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=timeout, isolation_level=None)
    except sqlite3.Error as exc:
        raise SourceError(f"cannot open SQLite database {source}: {exc}") from exc
    try:
        _read_lock(src, source, timeout)
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst)  # all pages in one step, under the read transaction already held
        finally:
            dst.close()
    except sqlite3.DatabaseError as exc:
        if "full" in str(exc).lower():
            raise from_os_error(OSError(28, str(exc)), f"copying {source}") from exc
        raise SourceError(f"cannot back up SQLite database {source}: {exc}") from exc
    finally:
        src.close()


def _read_lock(con: sqlite3.Connection, source: Path, timeout: float) -> None:
    """Begin a read transaction (SQLite waits up to the connection's timeout for a writer to finish)."""
    try:
        con.execute("BEGIN")
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc).lower() or "busy" in str(exc).lower():
            raise SourceError(f"SQLite database {source} stayed locked by another program for {timeout:g} s: "
                              "run the backup when it is idle, or raise protect.lock_timeout_seconds") from exc
        raise


SQLITE_MAGIC = b"SQLite format 3\0"


def check_is_sqlite(path: Path) -> None:
    """Refuse a file that is missing or is not a SQLite database (a CSV given as --sqlite, say)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise SourceError(f"SQLite database {path} does not exist: check the source's path") from None
    except OSError as exc:
        raise SourceError(f"cannot read SQLite database {path}: {exc.strerror}") from exc
    if head != SQLITE_MAGIC and head:
        raise SourceError(f"{path} is not a SQLite database: give the database file itself")


def table_contents(path: Path) -> Contents:
    """Every table's row count and an order-independent checksum of its rows."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise SourceError(f"cannot open SQLite database {path}: {exc}") from exc
    try:
        names = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        return Contents(tables={name: _table(con, name) for name in names})
    except sqlite3.DatabaseError as exc:
        raise SourceError(f"cannot read SQLite database {path}: {exc}") from exc
    finally:
        con.close()


def _table(con: sqlite3.Connection, name: str) -> Table:
    # a sum of per-row hashes does not depend on row order and still counts duplicate rows
    rows, total = 0, 0
    quoted = '"' + name.replace('"', '""') + '"'
    for row in con.execute(f"SELECT * FROM {quoted}"):
        rows += 1
        total = (total + int.from_bytes(hashlib.sha256(repr(tuple(row)).encode()).digest()[:16], "big")) % _MOD
    return Table(rows, f"{total:032x}")
