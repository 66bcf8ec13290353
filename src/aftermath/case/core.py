"""The case: one folder with ``aftermath.toml``, the case store, evidence and documents.

Every write to the case goes through :meth:`Case.write`, which adds rows and their journal
entry in one transaction. Nothing else in Aftermath writes to the store.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import secrets
import socket
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from aftermath.case import config as cfg
from aftermath.case import journal
from aftermath.case.hashing import CHUNK, hash_file
from aftermath.case.store import (
    Base,
    EvidenceRow,
    Incident,
    JournalRow,
    check_existing,
    database_url,
    make_engine,
    store_error,
)
from aftermath.errors import IntegrityError, UsageError, from_os_error

MIGRATIONS = Path(__file__).parent / "migrations"


# Who acts in this thread or task when it is not the process's user (the dashboard's logged-in person).
_ACTING: ContextVar[str | None] = ContextVar("aftermath_acting", default=None)


def actor() -> str:
    """Who is acting: the person set by :func:`acting_as`, else $AFTERMATH_ACTOR, else user@host."""
    return _ACTING.get() or os.environ.get("AFTERMATH_ACTOR") or f"{getpass.getuser()}@{socket.gethostname()}"


@contextmanager
def acting_as(name: str) -> Iterator[None]:
    """Journal every write made inside the block under ``name`` (one request of one web user)."""
    token = _ACTING.set(name)
    try:
        yield
    finally:
        _ACTING.reset(token)


def migrate(engine: Engine) -> None:
    """Bring the case store's schema to the newest migration."""
    # Alembic is heavy to import (a third of a second here) and only needed when a case is opened.
    from alembic import command
    from alembic.config import Config as AlembicConfig

    alembic_cfg = AlembicConfig()
    alembic_cfg.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as conn:
            alembic_cfg.attributes["connection"] = conn
            command.upgrade(alembic_cfg, "head")
    except SQLAlchemyError as exc:
        raise store_error(exc, engine) from exc


@contextmanager
def store_errors(engine: Engine) -> Iterator[None]:
    """Database errors of the case store become one line naming the cause (never the SQL or its data)."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise store_error(exc, engine) from exc


@dataclass(frozen=True)
class Evidence:
    """A registered evidence file or case document."""

    id: int
    kind: str
    name: str
    sha256: str
    size: int
    path: Path
    source: str
    collector: str
    collected_at: str
    description: str


class Case:
    """An open case folder."""

    def __init__(self, root: Path, config: cfg.Config, engine: Engine) -> None:
        self.root = root
        self.config = config
        self.engine = engine

    # -- opening -------------------------------------------------------------------------
    @classmethod
    def open(cls, explicit: Path | None = None, start: Path | None = None) -> Case:
        """Find and open the case (``--case``, ``$AFTERMATH_CASE``, or the folder and its parents)."""
        root = cfg.find_root(explicit, start)
        config = cfg.load(root / cfg.CONFIG_NAME)
        engine = make_engine(database_url(config.case.db, root))
        check_existing(engine)  # only init creates a store: a missing or emptied one is an integrity error
        migrate(engine)
        return cls(root, config, engine)

    @classmethod
    def init(cls, root: Path, repo: str | None = None, password_file: Path | None = None,
             db: str | None = None) -> Case:
        """Create a new case folder with its config, store and (by default) a generated password."""
        root = root.resolve()
        if (root / cfg.CONFIG_NAME).exists():
            raise UsageError(f"{root} already holds a case: use it, or choose another folder")
        if password_file is not None and not password_file.is_file():
            raise UsageError(f"password file {password_file} does not exist: create it, or leave out "
                             "--password-file to have a random one generated")
        created: list[Path] = []
        try:
            engine, config = _create(root, repo, password_file, db, created)
        except BaseException:
            _remove_created(created)  # a retry must not find a half-made case ("File exists")
            raise
        case = cls(root, config, engine)
        case.write("case.init", str(root), {"db": _redact_url(config.case.db), "repository": config.repository.url})
        return case

    def save_config(self) -> None:
        """Write the current config back to ``aftermath.toml`` (atomically)."""
        cfg.save(self.config, self.root / cfg.CONFIG_NAME)

    # -- the one write path --------------------------------------------------------------
    def write(self, action: str, subject: str, data: dict[str, Any] | None = None,
              rows: Iterable[Base] = (), who: str | None = None) -> journal.Entry:
        """Add ``rows`` and one journal entry describing them, in one transaction."""
        try:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                if self.engine.dialect.name == "postgresql":
                    session.execute(text("LOCK TABLE journal IN EXCLUSIVE MODE"))
                session.add_all(list(rows))
                last = session.scalars(select(JournalRow).order_by(JournalRow.seq.desc()).limit(1)).first()
                entry = journal.make_entry(_to_entry(last) if last else None, journal.timestamp(),
                                           who or actor(), action, subject, data or {})
                session.add(JournalRow(seq=entry.seq, at=entry.at, actor=entry.actor, action=entry.action,
                                       subject=entry.subject, data=json.dumps(entry.data, sort_keys=True),
                                       prev=entry.prev, hash=entry.hash))
            return entry
        except SQLAlchemyError as exc:
            raise store_error(exc, self.engine) from exc

    # -- reading the journal -------------------------------------------------------------
    def entries(self, action_prefix: str | None = None) -> list[journal.Entry]:
        """Journal entries in sequence order, optionally only those whose action starts with a prefix."""
        query = select(JournalRow).order_by(JournalRow.seq)
        if action_prefix:
            query = query.where(JournalRow.action.startswith(action_prefix))
        with store_errors(self.engine), Session(self.engine) as session:
            return [_to_entry(row) for row in session.scalars(query)]

    def iter_entries(self) -> Iterator[journal.Entry]:
        """Stream every entry in stored order (for verification of long journals)."""
        with store_errors(self.engine), Session(self.engine) as session:
            for row in session.scalars(select(JournalRow).order_by(JournalRow.seq).execution_options(yield_per=1000)):
                yield _to_entry(row)

    def verify(self, head: tuple[int, str] | None = None) -> journal.Verdict:
        """Recompute the hash chain (see :func:`aftermath.case.journal.verify`)."""
        return journal.verify(self.iter_entries(), head)

    def head(self) -> journal.Entry | None:
        """The newest journal entry."""
        with store_errors(self.engine), Session(self.engine) as session:
            row = session.scalars(select(JournalRow).order_by(JournalRow.seq.desc()).limit(1)).first()
            return _to_entry(row) if row else None

    # -- incidents -----------------------------------------------------------------------
    def open_incident(self, title: str, discovered: datetime) -> Incident:
        """Open an incident; its discovery time starts every legal clock."""
        journal.check_past(discovered, utcnow(), "--discovered", "give the time the breach was discovered")
        at = journal.timestamp(discovered)
        incident = Incident(title=title, discovered_at=at, opened_at=journal.timestamp(), status="open")
        self.write("case.open", title, {"discovered_at": at}, rows=[incident])
        return incident

    def incidents(self) -> list[Incident]:
        """All incidents, oldest first."""
        with store_errors(self.engine), Session(self.engine, expire_on_commit=False) as session:
            return list(session.scalars(select(Incident).order_by(Incident.id)))

    # -- evidence and documents ----------------------------------------------------------
    @property
    def evidence_dir(self) -> Path:
        """Where evidence files are kept, content-addressed and read-only."""
        return self.root / "evidence"

    def register_evidence(self, path: Path, *, source: str, collector: str | None = None,
                          description: str = "", kind: str = "evidence", copy: bool = True,
                          name: str | None = None) -> Evidence:
        """Hash a file, copy it into the case read-only (unless ``copy`` is false), and journal it."""
        try:
            if copy:
                stored, digest, size = self._store_stream_from(path)
            else:
                digest, size = hash_file(path)
                stored = path.resolve()
        except OSError as exc:
            raise from_os_error(exc, f"registering evidence {path}") from exc
        return self._record_evidence(kind, name or path.name, digest, size, stored, source, collector, description)

    def save_document(self, kind: str, name: str, content: bytes, *, source: str = "aftermath",
                      description: str = "") -> Evidence:
        """Keep a document the case produced (a review, a plan, a manifest) with its hash."""
        with tempfile.NamedTemporaryFile(dir=self._tmp_dir(), delete=False) as tmp:
            tmp.write(content)
        try:
            stored, digest, size = self._store_stream_from(Path(tmp.name))
        finally:
            Path(tmp.name).unlink(missing_ok=True)
        return self._record_evidence(kind, name, digest, size, stored, source, None, description)

    def custody(self, evidence_id: int, handed_from: str, handed_to: str, note: str = "") -> journal.Entry:
        """Record a hand-over of an evidence item (chain of custody)."""
        item = self.evidence(evidence_id)
        return self.write("evidence.custody", f"evidence {item.id}",
                          {"sha256": item.sha256, "from": handed_from, "to": handed_to, "note": note})

    def evidence(self, evidence_id: int) -> Evidence:
        """One evidence item by id."""
        with Session(self.engine) as session:
            row = session.get(EvidenceRow, evidence_id)
            if row is None:
                raise UsageError(f"no evidence item {evidence_id}: see 'aftermath case evidence'")
            return self._to_evidence(row)

    def evidence_items(self, kind: str | None = None) -> list[Evidence]:
        """All evidence items, optionally of one kind."""
        query = select(EvidenceRow).order_by(EvidenceRow.id)
        if kind:
            query = query.where(EvidenceRow.kind == kind)
        with store_errors(self.engine), Session(self.engine) as session:
            return [self._to_evidence(row) for row in session.scalars(query)]

    def check_evidence(self, item: Evidence) -> None:
        """Re-hash a stored item; raise if it changed since it was registered."""
        digest, _ = hash_file(item.path)
        if digest != item.sha256:
            raise IntegrityError(f"evidence {item.id} ({item.name}) no longer matches its SHA-256")

    def _record_evidence(self, kind: str, name: str, digest: str, size: int, stored: Path, source: str,
                         collector: str | None, description: str) -> Evidence:
        row = EvidenceRow(kind=kind, name=name, sha256=digest, size=size, stored_path=self._rel(stored),
                          source=source, collector=collector or actor(), collected_at=journal.timestamp(),
                          description=description)
        self.write(f"{kind}.register", name, {"sha256": digest, "size": size, "source": source,
                                               "path": row.stored_path, "description": description}, rows=[row])
        with Session(self.engine) as session:
            fresh = session.scalars(select(EvidenceRow).order_by(EvidenceRow.id.desc()).limit(1)).one()
            return self._to_evidence(fresh)

    def _store_stream_from(self, path: Path) -> tuple[Path, str, int]:
        digest, size = hashlib.sha256(), 0
        with path.open("rb") as src, tempfile.NamedTemporaryFile(dir=self._tmp_dir(), delete=False) as tmp:
            size = _copy_hashing(src, tmp, digest)
            tmp.flush()
            os.fsync(tmp.fileno())
        hexdigest = digest.hexdigest()
        target = self.evidence_dir / hexdigest[:2] / hexdigest
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            Path(tmp.name).unlink()
        else:
            os.chmod(tmp.name, 0o400)
            os.replace(tmp.name, target)
        return target, hexdigest, size

    def _tmp_dir(self) -> Path:
        tmp = self.root / ".aftermath" / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return tmp

    def _rel(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(self.root))
        except ValueError:
            return str(path.resolve())

    def _to_evidence(self, row: EvidenceRow) -> Evidence:
        path = Path(row.stored_path)
        return Evidence(row.id, row.kind, row.name, row.sha256, row.size,
                        path if path.is_absolute() else self.root / path, row.source, row.collector,
                        row.collected_at, row.description)


def _copy_hashing(src: BinaryIO, dst: Any, digest: Any) -> int:
    size = 0
    while chunk := src.read(CHUNK):
        digest.update(chunk)
        dst.write(chunk)
        size += len(chunk)
    return size


def _to_entry(row: JournalRow) -> journal.Entry:
    return journal.Entry(row.seq, row.at, row.actor, row.action, row.subject, json.loads(row.data),
                         row.prev, row.hash)


def _create(root: Path, repo: str | None, password_file: Path | None, db: str | None,
            created: list[Path]) -> tuple[Engine, cfg.Config]:
    """Make the case's folder, password, store and config, noting in ``created`` each thing made."""
    config = cfg.Config()
    config.case.name = root.name
    if db:
        config.case.db = db
    if repo:
        config.repository.url = repo
    if password_file:
        config.repository.password_file = str(password_file.resolve())
    try:
        _mkdir(root, created)
        if not password_file:
            _generate_password(root / ".aftermath" / "repo-password", created)
        engine = make_engine(database_url(config.case.db, root))
        if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
            store = Path(str(engine.url.database))
            if not store.exists():
                created.append(store)
        migrate(engine)
        cfg.save(config, root / cfg.CONFIG_NAME)
    except OSError as exc:
        raise from_os_error(exc, f"creating the case in {root}") from exc
    return engine, config


def _mkdir(path: Path, created: list[Path]) -> None:
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    created.extend(reversed(missing))


def _remove_created(created: list[Path]) -> None:
    """Undo a failed init, newest first; what cannot be removed stays (the error says what failed)."""
    for path in reversed(created):
        with suppress(OSError):
            path.rmdir() if path.is_dir() else path.unlink(missing_ok=True)


def _generate_password(path: Path, created: list[Path]) -> None:
    _mkdir(path.parent, created)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    created.append(path)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(32) + "\n")


def _redact_url(url: str) -> str:
    """Hide a password embedded in a database URL before it reaches the journal."""
    if "://" in url and "@" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}" if ":" in creds else url
    return url


def utcnow() -> datetime:
    """The current aware UTC time (the default clock at the edges)."""
    return datetime.now(UTC)
