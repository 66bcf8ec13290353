"""The case store: SQLAlchemy 2 models and the engine; the schema is managed by Alembic.

The journal and evidence tables are append-only: the migrations install triggers that refuse
UPDATE and DELETE, and the journal's hash chain catches anyone who removes the triggers first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Integer, MetaData, String, Text, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from aftermath.errors import CaseError

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
