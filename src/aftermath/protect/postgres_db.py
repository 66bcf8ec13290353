"""The adapter for PostgreSQL sources: pg_dump in one exported snapshot, checksums, scratch restores.

The backup opens a REPEATABLE READ transaction, exports its snapshot (``pg_export_snapshot``),
computes the table checksums in it and runs ``pg_dump --snapshot`` against the same snapshot, so
the manifest describes exactly the data in the dump. The password never reaches argv nor the tools'
environment: it is taken out of the URL and handed to them in a private temporary PGPASSFILE (mode 600,
removed afterwards), since a process's environment can be read by others on some systems.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from aftermath.errors import SourceError, ToolError, UsageError
from aftermath.protect.manifest import Contents, Table

# 60-bit slices of md5 keep the per-row numbers inside bigint; the sums are numeric (no overflow)
_CHECKSUM = """
SELECT count(*), coalesce(sum(('x' || substr(h, 1, 15))::bit(60)::bigint), 0)::text,
       coalesce(sum(('x' || substr(h, 16, 15))::bit(60)::bigint), 0)::text
FROM (SELECT md5(t::text) AS h FROM {table} AS t) AS rows
"""
_TABLES = """
SELECT table_schema, table_name FROM information_schema.tables
WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1, 2
"""


@dataclass(frozen=True)
class Target:
    """A database to connect to, with the password kept apart from the connection string."""

    params: dict[str, Any]
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> Target:
        """Parse a postgresql:// URL or a key=value connection string."""
        try:
            params = conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise UsageError(f"invalid PostgreSQL URL: {exc}") from exc
        password = params.pop("password", None)
        return cls(params, str(password) if password is not None else None)

    @property
    def conninfo(self) -> str:
        """Connection string without the password (safe for argv and logs)."""
        return make_conninfo(**self.params)

    @property
    def dbname(self) -> str:
        """The database name."""
        return str(self.params.get("dbname", "postgres"))

    def with_db(self, dbname: str) -> Target:
        """The same server, another database."""
        return Target({**self.params, "dbname": dbname}, self.password)

    def connect(self, autocommit: bool = False) -> psycopg.Connection[Any]:
        """Connect, or raise SourceError with one clear line."""
        try:
            return psycopg.connect(self.conninfo, password=self.password, autocommit=autocommit, connect_timeout=10)
        except psycopg.OperationalError as exc:
            raise connect_error(self, exc) from exc


def connect_error(target: Target, exc: psycopg.Error) -> SourceError:
    """A failed connection in words: a refused password is not an unreachable server."""
    first = _first_line(exc)
    user = target.params.get("user", "(default user)")
    if "password authentication failed" in first or "no password supplied" in first:
        return SourceError(f"PostgreSQL refused the password of user {user} for database {target.dbname}: "
                           "check the password (in ~/.pgpass or the source's URL)")
    if "does not exist" in first:
        return SourceError(f"PostgreSQL database {target.dbname}: {first}: check the source's URL")
    return SourceError(f"PostgreSQL database {target.dbname} is unreachable: {first}")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or ["connection failed"])[0]


@contextmanager
def tool_env(target: Target) -> Iterator[dict[str, str]]:
    """Environment for pg_dump / pg_restore: the password in a private PGPASSFILE, removed afterwards."""
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PGPASSFILE", "PGSSLROOTCERT")}
    if not target.password:
        yield base
        return
    fd, name = tempfile.mkstemp(prefix="aftermath-pgpass-")  # mode 600 from mkstemp
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write("*:*:*:*:" + target.password.replace("\\", "\\\\").replace(":", "\\:") + "\n")
        yield {**base, "PGPASSFILE": name}
    finally:
        Path(name).unlink(missing_ok=True)


def tool(name: str) -> str:
    """Path of a PostgreSQL client tool, newest installed version first."""
    versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3])
                      if p.parts[-3].isdigit() else 0, reverse=True)
    found = str(versions[0]) if versions else shutil.which(name)
    if not found:
        raise ToolError(f"{name} not found: install the PostgreSQL client ('apt-get install postgresql-client')")
    return found


@contextmanager
def exported_snapshot(target: Target) -> Iterator[tuple[psycopg.Connection[Any], str]]:
    """A read-only REPEATABLE READ transaction and the name of its exported snapshot."""
    conn = target.connect()
    try:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        conn.execute("SET LOCAL TIME ZONE 'UTC'")  # the checksums read timestamptz as text
        row = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert row is not None  # noqa: S101 - the function always returns a row
        yield conn, str(row[0])
        conn.rollback()
    finally:
        conn.close()


def table_contents(conn: psycopg.Connection[Any]) -> Contents:
    """Row counts and order-independent checksums of every user table, in the connection's view."""
    tables: dict[str, Table] = {}
    for schema, name in conn.execute(_TABLES).fetchall():
        query = sql.SQL(_CHECKSUM).format(table=sql.Identifier(schema, name))
        row = conn.execute(query).fetchone()
        assert row is not None  # noqa: S101 - aggregates always return a row
        tables[f"{schema}.{name}"] = Table(int(row[0]), f"{row[1]}:{row[2]}")
    return Contents(tables=tables)


def start_dump(target: Target, snapshot: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start ``pg_dump -Fc --snapshot`` writing to a pipe; the caller streams it into restic.

    ``env`` comes from :func:`tool_env`, which must stay open until the dump has finished.
    """
    argv = [tool("pg_dump"), "--format=custom", f"--snapshot={snapshot}", "--no-password", "--dbname", target.conninfo]
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish_dump(proc: subprocess.Popen[bytes], target: Target) -> None:
    """Wait for pg_dump and translate a failure."""
    _, err = proc.communicate()
    if proc.returncode != 0:
        line = (err.decode(errors="replace").strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        raise SourceError(f"pg_dump of {target.dbname} failed: {line}")


def contents_of(target: Target) -> Contents:
    """Checksums of a database outside any backup (used on the drill's scratch database)."""
    with target.connect() as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        return table_contents(conn)


@contextmanager
def scratch_database(source: Target) -> Iterator[Target]:
    """A fresh empty database on the source's server, dropped afterwards whatever happens."""
    name = f"aftermath_drill_{secrets.token_hex(4)}"
    with source.connect(autocommit=True) as admin:
        try:
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
        except psycopg.errors.InsufficientPrivilege as exc:
            user = source.params.get("user", "(default user)")
            raise SourceError(f"PostgreSQL user {user} may not create databases, and the drill restores into a "
                              f"scratch database: grant it (ALTER ROLE {user} CREATEDB)") from exc
        except psycopg.Error as exc:
            raise SourceError(f"cannot create a scratch database for the drill: {_first_line(exc)}") from exc
    try:
        yield source.with_db(name)
    finally:
        with source.connect(autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def restore_dump(target: Target, dump: Path) -> None:
    """Load a custom-format dump into ``target`` with pg_restore."""
    argv = [tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--no-password",
            "--dbname", target.conninfo, str(dump)]
    with tool_env(target) as env:
        proc = subprocess.run(argv, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        line = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        raise ToolError(f"pg_restore into scratch database {target.dbname} failed: {line}")
