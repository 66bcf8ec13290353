"""Dashboard sessions kept in the case store, so a restart of the server logs nobody out.

The browser holds a random token in its cookie; the store holds only the token's SHA-256, so a copy of the
store opens no session. The session's CSRF token is derived from the cookie's token (HMAC), never stored.
A session ends after :data:`IDLE` without a request (its row is deleted when next seen, or at the next
login), at logout (deleted), and when its user is disabled (all their rows deleted). A request refreshes the
last-seen time at most once a minute, so reading pages does not write on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, Delete, Integer, String, delete, select, update
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.orm import Session as DbSession

from aftermath.case.core import Case, store_errors
from aftermath.case.store import Base

IDLE = timedelta(hours=8)       # a working day of inactivity ends a session
TOUCH = timedelta(minutes=1)    # last-seen is written at most this often


class SessionRow(Base):
    """One logged-in browser: the hash of its cookie's token, never the token."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    started: Mapped[str] = mapped_column(String(32))
    last_seen: Mapped[str] = mapped_column(String(32))


@dataclass(frozen=True)
class Session:
    """One logged-in browser as the request sees it."""

    token: str
    user: str
    csrf: str
    last_seen: datetime


def token_hash(token: str) -> str:
    """What the store keeps of a session's token."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_of(token: str) -> str:
    """The session's CSRF token: derived from its cookie's token, so it needs no storing."""
    return hmac.new(token.encode(), b"aftermath csrf", hashlib.sha256).hexdigest()


def expired(last_seen: datetime, now: datetime) -> bool:
    """Whether a session last seen at ``last_seen`` has been idle too long at ``now``."""
    return now - last_seen > IDLE


def _at(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds")


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def new(user: str, now: datetime) -> tuple[Session, SessionRow]:
    """A new session for ``user`` and the row to store with its ``web.login`` journal entry."""
    token = secrets.token_urlsafe(32)
    row = SessionRow(token_hash=token_hash(token), name=user, started=_at(now), last_seen=_at(now))
    return Session(token, user, csrf_of(token), _when(row.last_seen)), row


def find(case: Case, token: str | None, now: datetime) -> Session | None:
    """The live session of a cookie, its last-seen time refreshed; None when unknown or idle too long."""
    if not token:
        return None
    digest = token_hash(token)
    with store_errors(case.engine), DbSession(case.engine) as db, db.begin():
        row = db.scalars(select(SessionRow).where(SessionRow.token_hash == digest)).first()
        if row is None:
            return None
        last = _when(row.last_seen)
        if expired(last, now):
            db.delete(row)
            return None
        if now - last >= TOUCH:
            db.execute(update(SessionRow).where(SessionRow.id == row.id).values(last_seen=_at(now)))
            last = now
        return Session(token, row.name, csrf_of(token), last)


def end(case: Case, token: str | None) -> bool:
    """Log one session out (its row is deleted); whether there was one."""
    if not token:
        return False
    with store_errors(case.engine), DbSession(case.engine) as db, db.begin():
        return _deleted(db, delete(SessionRow).where(SessionRow.token_hash == token_hash(token))) > 0


def end_user(case: Case, user: str) -> int:
    """End every session of ``user`` (when disabled); how many ended."""
    with store_errors(case.engine), DbSession(case.engine) as db, db.begin():
        return _deleted(db, delete(SessionRow).where(SessionRow.name == user))


def forget_expired(case: Case, now: datetime) -> int:
    """Delete the rows of sessions idle too long; how many."""
    with store_errors(case.engine), DbSession(case.engine) as db, db.begin():
        rows = [r for r in db.scalars(select(SessionRow)) if expired(_when(r.last_seen), now)]
        for row in rows:
            db.delete(row)
        return len(rows)


def _deleted(db: DbSession, statement: Delete) -> int:
    result: CursorResult[Any] = db.execute(statement)  # type: ignore[assignment]  # a DELETE gives a cursor
    return int(result.rowcount)
