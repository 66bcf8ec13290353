"""The database adapter: PostgreSQL and SQLite tables, read with SQLAlchemy in streamed chunks.

SQLite files are opened read-only (``mode=ro``): a scan never creates or changes a database. Large
tables are split into row ranges ordered by the primary key (or SQLite's rowid) so they can be scanned
in parallel; a table without such a key is scanned as one unit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from aftermath.errors import SourceError, UsageError

if TYPE_CHECKING:
    from aftermath.notify.discover.files import Files
    from aftermath.notify.discover.sources import Chunk, Unit

CHUNK = 5000
SYSTEM_SCHEMAS = {"information_schema", "pg_catalog", "pg_toast"}


def redact(url: str) -> str:
    """The URL without its password, for reports and the journal."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@")[-1]


def _engine(url: str) -> Engine:
    if url.startswith("sqlite:"):
        path = url.split("sqlite:///", 1)[-1]
        return sqlite_engine(path)
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix):]
    if not url.startswith("postgresql"):
        raise UsageError(f"unsupported database URL {redact(url)}: use postgresql://... or sqlite:///path.db")
    try:
        return sa.create_engine(url, connect_args={"connect_timeout": 10})
    except (ArgumentError, ValueError) as exc:
        raise UsageError(f"bad database URL {redact(url)}: {exc}") from exc


def sqlite_engine(path: str) -> Engine:
    """A read-only engine on a SQLite file (missing file: a usage error, never a new empty database)."""
    if not Path(path).is_file():
        raise UsageError(f"SQLite database {path} does not exist: check the path")
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    return sa.create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False))


def _tables(engine: Engine, only: str, where: str) -> list[tuple[str | None, str]]:
    try:
        inspector = sa.inspect(engine)
        if engine.dialect.name == "sqlite":
            found: list[tuple[str | None, str]] = [(None, t) for t in inspector.get_table_names()]
        else:
            found = [(None if s == "public" else s, t) for s in inspector.get_schema_names()
                     if s not in SYSTEM_SCHEMAS for t in inspector.get_table_names(schema=s)]
    except (SQLAlchemyError, sqlite3.Error) as exc:
        raise _unreachable(where, exc) from exc
    if only:
        matches = [(s, t) for s, t in found if t == only or f"{s}.{t}" == only]
        if not matches:
            raise UsageError(f"no table {only!r} in {where}; tables: {', '.join(_label(s, t) for s, t in found)}")
        return matches
    return found


def _label(schema: str | None, table: str) -> str:
    return f"{schema}.{table}" if schema else table


# what the database said -> what to do; a SQLite file has no server to check
_ADVICE = [("database is locked", "another program holds it locked: try again when it is idle"),
           ("file is not a database", "it is not a SQLite database: give the database file itself"),
           ("unable to open database file", "check the path and that it can be read"),
           ("password authentication failed", "the password was refused: check the user and password")]


def _unreachable(where: str, exc: BaseException) -> SourceError:
    first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    advice = next((a for needle, a in _ADVICE if needle in first.lower()),
                  "check the URL and that the server is running")
    return SourceError(f"cannot read database {where}: {first}; {advice}")


def _order(engine: Engine, conn: sa.Connection, schema: str | None, table: str) -> list[Any]:
    if engine.dialect.name == "sqlite":
        return [sa.literal_column("rowid")]
    pk = sa.inspect(conn).get_pk_constraint(table, schema=schema).get("constrained_columns") or []
    return [sa.column(c) for c in pk]


def _count(conn: sa.Connection, schema: str | None, table: str) -> int:
    q = sa.select(sa.func.count()).select_from(sa.table(table, schema=schema))
    return int(conn.execute(q).scalar_one())


def _split(engine: Engine, where: str, locator: str, kind: str, table: str, split_rows: int,
           make: Callable[..., Unit]) -> list[Unit]:
    units = []
    try:
        with engine.connect() as conn:
            for schema, name in _tables(engine, table, where):
                label = _label(schema, name)
                count = _count(conn, schema, name) if split_rows else 0
                if split_rows and count > split_rows and _order(engine, conn, schema, name):
                    units += [make(where, kind, locator, label, a, min(a + split_rows, count))
                              for a in range(0, count, split_rows)]
                else:
                    units.append(make(where, kind, locator, label))
    except (SQLAlchemyError, sqlite3.Error) as exc:
        raise _unreachable(where, exc) from exc
    finally:
        engine.dispose()
    return units


def units(url: str, table: str, split_rows: int, make: Callable[..., Unit]) -> list[Unit]:
    """Work units for a database URL (every table, or the one after ``#``)."""
    return _split(_engine(url), redact(url), url, "sql", table, split_rows, make)


def sqlite_units(path: str, files: Files, table: str, split_rows: int, make: Callable[..., Unit]) -> list[Unit]:
    """Work units for a SQLite file found among the sources (a snapshot's file is one unit)."""
    if files.label != "local":
        return [make(path, "sqlite", path, table)]
    return _split(sqlite_engine(path), path, path, "sqlite", table, split_rows, make)


def read_url(url: str, table: str, start: int, stop: int | None) -> Iterator[Chunk]:
    """Rows of a database URL's table(s)."""
    yield from _read(_engine(url), redact(url), table, start, stop)


def read_sqlite(path: str, table: str, start: int, stop: int | None) -> Iterator[Chunk]:
    """Rows of a SQLite file's table(s) (all tables when ``table`` is "")."""
    yield from _read(sqlite_engine(path), path, table, start, stop)


def _read(engine: Engine, where: str, table: str, start: int, stop: int | None) -> Iterator[Chunk]:
    from aftermath.notify.discover.sources import Chunk, text  # noqa: PLC0415 - avoid an import cycle

    try:
        with engine.connect() as conn:
            for schema, name in _tables(engine, table, where):
                cols = [c["name"] for c in sa.inspect(conn).get_columns(name, schema=schema)]
                q: Any = sa.select(*[sa.column(c) for c in cols]).select_from(sa.table(name, schema=schema))
                if stop is not None:
                    q = q.order_by(*_order(engine, conn, schema, name)).offset(start).limit(stop - start)
                result = conn.execution_options(stream_results=True, yield_per=CHUNK).execute(q)
                n = start
                for part in result.partitions(CHUNK):
                    rows = [[text(v) for v in r] for r in part]
                    yield Chunk(cols, rows, list(range(n + 1, n + 1 + len(rows))), _label(schema, name))
                    n += len(rows)
    except (SQLAlchemyError, sqlite3.Error) as exc:
        raise _unreachable(where, exc) from exc
    finally:
        engine.dispose()
