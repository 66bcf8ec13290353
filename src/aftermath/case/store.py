"""The case store: SQLAlchemy 2 models and the engine; the schema is managed by Alembic.

The journal and evidence tables are append-only: the migrations install triggers that refuse
UPDATE and DELETE, and the journal's hash chain catches anyone who removes the triggers first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Integer, MetaData, String, Text, create_engine, event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from aftermath.errors import AftermathError, CaseError, IntegrityError, StorageError

NAMING = {"ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
          "pk": "pk_%(table_name)s", "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


class Base(DeclarativeBase):
    """Declarative base with stable constraint names for migrations."""

    metadata = MetaData(naming_convention=NAMING)


class JournalRow(Base):
    """One journal entry (see ``aftermath.case.journal``)."""

    __tablename__ = "journal"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    subject: Mapped[str] = mapped_column(Text)
    data: Mapped[str] = mapped_column(Text)
    prev: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Incident(Base):
    """An incident opened in this case."""

    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    discovered_at: Mapped[str] = mapped_column(String(32))
    opened_at: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20), default="open")


class EvidenceRow(Base):
    """A file held as evidence or as a case document, with its hash and provenance."""

    __tablename__ = "evidence"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    stored_path: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    collector: Mapped[str] = mapped_column(String(200))
    collected_at: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")


def database_url(url: str, root: Path) -> str:
    """Resolve a relative SQLite path against the case folder."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite:///:memory:":
        return prefix + str(root / url[len(prefix):])
    return url


def make_engine(url: str) -> Engine:
    """An engine whose write transactions serialise, so journal sequence numbers never race."""
    try:
        engine = create_engine(url, future=True)
    except Exception as exc:  # noqa: BLE001 - any bad URL is the user's to fix
        raise CaseError(f"cannot use case store URL: {exc}") from exc
    if engine.dialect.name == "sqlite":
        _sqlite_immediate(engine)
    return engine


def _sqlite_immediate(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        dbapi_conn.execute("PRAGMA foreign_keys=ON")
        dbapi_conn.execute("PRAGMA busy_timeout=30000")

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def check_existing(engine: Engine) -> None:
    """Refuse a store that is missing, empty, not a database or not Aftermath's: opening never creates one.

    Only ``init`` creates a store. A store that silently came back empty would read as an intact journal
    of 0 entries and start a new chain: that must be an integrity error naming what is wrong.
    """
    where = store_name(engine)
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        path = Path(str(engine.url.database))
        if not path.exists():
            raise IntegrityError(f"case store {path} is missing (deleted or moved): restore it from a copy; "
                                 "'aftermath init' makes a new case, never a new store for this one")
        if path.is_file() and path.stat().st_size == 0:
            raise IntegrityError(f"case store {path} is empty (0 bytes, truncated): restore it from a copy")
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
    except SQLAlchemyError as exc:
        raise store_error(exc, engine) from exc
    if not {"alembic_version", "journal"} <= tables:
        raise IntegrityError(f"case store {where} is not an Aftermath case store (no journal): "
                             "check case.db in aftermath.toml, or restore the store from a copy")


def store_name(engine: Engine) -> str:
    """The store as a user knows it: the SQLite file, or the URL without its password."""
    if engine.dialect.name == "sqlite":
        return str(engine.url.database)
    return engine.url.render_as_string(hide_password=True)


# What the database said (lower case) -> the error a user should see; never the SQL or its parameters.
_STORE_ERRORS: list[tuple[str, type[AftermathError], str]] = [
    ("database or disk is full", StorageError, "no space left under the case store {where}: free some space"),
    ("disk i/o error", StorageError, "the disk under the case store {where} failed (I/O error): "
                                     "check the disk and free space"),
    ("readonly database", StorageError, "the case store {where} is on a read-only filesystem or file: "
                                        "make it writable"),
    ("database is locked", CaseError, "the case store {where} is locked by another Aftermath process: "
                                      "wait for it to finish, then run the command again"),
    ("file is not a database", IntegrityError, "case store {where} is not a database (damaged or replaced): "
                                               "restore it from a copy"),
    ("malformed", IntegrityError, "case store {where} is damaged (malformed database): restore it from a copy"),
    ("password authentication failed", CaseError, "the case store {where} refused the password: "
                                                  "check the credentials of case.db"),
]


def store_error(exc: SQLAlchemyError, engine: Engine) -> AftermathError:
    """Translate a database error of the case store into one line that says what to do."""
    reason = str(getattr(exc, "orig", None) or exc.__class__.__name__).strip().splitlines()[0]
    low = reason.lower()
    for needle, kind, message in _STORE_ERRORS:
        if needle in low:
            return kind(message.format(where=store_name(engine)))
    return CaseError(f"cannot use the case store {store_name(engine)}: {reason}")
