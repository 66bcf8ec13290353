"""The login throttle, token comparison and refusals of the dashboard (sessions: :mod:`aftermath.web.sessions`).

Failed logins slow down, then lock, per address and per user name (:func:`wait_after`, a pure function of the
failures so far). The counts live in the server's memory; a lock that was reached is journaled.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from starlette.exceptions import HTTPException

FREE_FAILURES = 3          # failures allowed before any wait
LOCK_AFTER = 10            # failures in a row that lock for LOCK_FOR
LOCK_FOR = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=1)  # failures older than this no longer count


class Denied(HTTPException):
    """A request the role or the token does not allow (403)."""

    def __init__(self, detail: str) -> None:
        super().__init__(403, detail)


def wait_after(failures: int) -> timedelta:
    """How long to wait before the next attempt after ``failures`` failures in a row."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    if failures >= LOCK_AFTER:
        return LOCK_FOR
    return timedelta(seconds=2 ** (failures - FREE_FAILURES))


@dataclass
class _Failures:
    count: int
    last: datetime


@dataclass
class Throttle:
    """Failed logins per key (address, user name), in memory (thread-safe)."""

    failures: dict[str, _Failures] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def blocked_for(self, keys: list[str], now: datetime) -> timedelta:
        """How long the next login for these keys (address, user name) must wait."""
        with self.lock:
            waits = [f.last + wait_after(f.count) - now for k in keys
                     if (f := self.failures.get(k)) and now - f.last < FORGET_AFTER]
        return max([w for w in waits if w > timedelta(0)], default=timedelta(0))

    def failed(self, keys: list[str], now: datetime) -> int:
        """Count one failure for each key; returns the highest count (LOCK_AFTER and up means locked)."""
        with self.lock:
            for k in keys:
                f = self.failures.get(k)
                count = f.count + 1 if f and now - f.last < FORGET_AFTER else 1
                self.failures[k] = _Failures(count, now)
            return max(self.failures[k].count for k in keys)

    def succeeded(self, keys: list[str]) -> None:
        """Forget the failures of these keys."""
        with self.lock:
            for k in keys:
                self.failures.pop(k, None)


def same(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two tokens; a missing one never matches."""
    return bool(a) and bool(b) and secrets.compare_digest(str(a), str(b))


def new_token() -> str:
    """A fresh random token (the login form's CSRF cookie)."""
    return secrets.token_urlsafe(32)
