"""Dashboard users and roles: append-only rows written through :meth:`Case.write`, argon2 password hashes.

A user is added, disabled or given a new password by adding a row; the newest row of a name is that user.
What each role may do is one pure table (:data:`PERMISSIONS`), checked on the server for every request.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Boolean, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from aftermath.case import journal
from aftermath.case.core import Case, actor
from aftermath.case.store import Base
from aftermath.errors import UsageError
from aftermath.web import sessions

ROLES = ("lead", "responder", "counsel", "viewer")
# What each role may do; anything not listed is refused.
PERMISSIONS: dict[str, frozenset[str]] = {
    "lead": frozenset({"read", "change", "privileged", "approve", "users"}),
    "responder": frozenset({"read", "change"}),
    "counsel": frozenset({"read", "change", "privileged"}),
    "viewer": frozenset({"read"}),
}
MIN_PASSWORD = 12
_HASHER = PasswordHasher()
# Verifying against this keeps an unknown name as slow as a wrong password (no user enumeration by timing).
_DUMMY_HASH = _HASHER.hash("not a password of anyone")


class UserRow(Base):
    """One state of a dashboard user."""

    __tablename__ = "web_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean)
    must_change: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))


@dataclass(frozen=True)
class User:
    """A user as it stands now."""

    name: str
    role: str
    disabled: bool
    password_hash: str = field(repr=False)
    must_change: bool = False  # a one-time password: the user sets their own before anything else

    def may(self, what: str) -> bool:
        """Whether this user's role allows ``what`` (read, change, privileged, approve, users)."""
        return may(self.role, what)


def may(role: str, what: str) -> bool:
    """Whether ``role`` allows ``what``."""
    return what in PERMISSIONS.get(role, frozenset())


def check_name(name: str) -> str:
    """A user name: letters, digits, dot, dash, underscore, at most 100 characters."""
    if not name or len(name) > 100 or not all(c.isalnum() or c in "._-" for c in name):
        raise UsageError(f"{name!r} is not a usable user name: use letters, digits, '.', '-' or '_'")
    return name


def add(case: Case, name: str, role: str, password: str, one_time: bool = False) -> User:
    """Add a user (or replace an existing one's role and password); journaled as ``web.user.add``."""
    check_name(name)
    if role not in ROLES:
        raise UsageError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    row = _row(name, role, _HASHER.hash(_checked(password)), False, one_time)
    case.write("web.user.add", name, {"role": role, "one_time_password": one_time}, rows=[row])
    return User(name, role, False, row.password_hash, one_time)


def change_password(case: Case, user: User, new: str) -> None:
    """Set a user's own password (ends a one-time password); journaled as ``web.user.password``."""
    if authenticate(case, user.name, new) is not None:
        raise UsageError("the new password is the old one: choose another")
    row = _row(user.name, user.role, _HASHER.hash(_checked(new)), False, False)
    case.write("web.user.password", user.name, {"role": user.role}, rows=[row])


def _checked(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"the password is too short: use at least {MIN_PASSWORD} characters")
    return password


def disable(case: Case, name: str) -> None:
    """Disable a user: they can no longer log in and their sessions end; journaled."""
    user = get(case, name)
    if user is None:
        raise UsageError(f"no user {name!r}: see 'aftermath user list'")
    case.write("web.user.disable", name, {"role": user.role},
               rows=[_row(name, user.role, user.password_hash, True, user.must_change)])
    sessions.end_user(case, name)  # after the journaled disable: a disabled user is refused anyway


def users(case: Case) -> list[User]:
    """Every user as it stands now, by name."""
    with Session(case.engine) as session:
        rows = list(session.scalars(select(UserRow).order_by(UserRow.id)))
    latest = {row.name: row for row in rows}
    return [_user(r) for _, r in sorted(latest.items())]


def get(case: Case, name: str) -> User | None:
    """One user as it stands now, or None."""
    with Session(case.engine) as session:
        row = session.scalars(select(UserRow).where(UserRow.name == name).order_by(UserRow.id.desc())
                              .limit(1)).first()
    return _user(row) if row else None


def authenticate(case: Case, name: str, password: str) -> User | None:
    """The user when the name and password match an enabled user, else None (same cost either way)."""
    user = get(case, name)
    ok: bool
    try:
        ok = _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        ok = False
    return user if ok and user is not None and not user.disabled else None


def _row(name: str, role: str, password_hash: str, disabled: bool, must_change: bool) -> UserRow:
    return UserRow(name=name, role=role, password_hash=password_hash, disabled=disabled, must_change=must_change,
                   at=journal.timestamp(), actor=actor())


def _user(row: UserRow) -> User:
    return User(row.name, row.role, row.disabled, row.password_hash, row.must_change)
