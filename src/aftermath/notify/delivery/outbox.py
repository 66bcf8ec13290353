"""The outbox in the case store: notices stored once, claimed atomically, their server replies recorded.

Storing notices and changing a notice's status by hand (``mark-sent``) go through ``Case.write``. The
sender's per-message steps (claim, record the reply) are single-row transactions of their own, so that a
kill at any moment leaves at most the message in flight ``claimed``; each send run is journaled with its
counts and the SHA-256 of what it recorded (not one journal entry per message).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.orm import Session, defer

from aftermath.errors import UsageError
from aftermath.notify.delivery.store import NoticeRow, SuppressionRow

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from aftermath.case import Case

SENDABLE = ("pending", "retry")


def now_text(clock: dt.datetime | None = None) -> str:
    """A UTC timestamp as stored."""
    return (clock or dt.datetime.now(dt.UTC)).isoformat(timespec="milliseconds")


def case_key(case: Case) -> str:
    """A stable identity of the case: the hash of its first journal entry."""
    first = next(case.iter_entries(), None)
    return first.hash if first else str(case.root)


def suppressed(case: Case) -> set[str]:
    """Addresses never to mail again (lower case)."""
    with Session(case.engine) as s:
        return {a.lower() for a in s.scalars(select(SuppressionRow.address))}


class Filler:
    """Adds one ``letters`` run's notices to the outbox, batch by batch, each batch one journaled transaction.

    A notice already in the outbox (same stable id: same person, same channel) is kept as it is. A batch
    entry (``notify.outbox.add``) records the batch's counts and the SHA-256 of its notices' ids and hashes;
    at the end, one ``notify.letters`` entry records the run's totals and a running SHA-256 over every batch
    (no entry per notice). A crash between batches leaves whole batches stored: running ``letters`` again
    adds the rest, each once.
    """

    def __init__(self, case: Case) -> None:
        self.case = case
        self.added = self.kept = self.batches = 0
        self._digest = hashlib.sha256()

    def add(self, rows: Sequence[NoticeRow]) -> int:
        """Store the notices of ``rows`` not already in the outbox, in one journaled transaction; how many."""
        ids, existing = [r.id for r in rows], set[str]()
        with Session(self.case.engine) as s:
            for start in range(0, len(ids), 500):  # bounded: older SQLite allows 999 parameters a statement
                existing.update(s.scalars(select(NoticeRow.id).where(NoticeRow.id.in_(ids[start:start + 500]))))
        new = [r for r in rows if r.id not in existing]
        self.kept += len(rows) - len(new)
        if not new:
            return 0
        lines = "".join(f"{r.id}:{r.sha256}\n" for r in new).encode()
        self._digest.update(lines)
        self.batches += 1
        self.case.write("notify.outbox.add", f"{len(new)} notices stored in the outbox (batch {self.batches})",
                        {"batch": self.batches, "added": len(new), "already_stored": len(rows) - len(new),
                         "notices_sha256": hashlib.sha256(lines).hexdigest()}, rows=new)
        self.added += len(new)
        return len(new)

    def close(self, methods: dict[str, int]) -> tuple[int, int]:
        """Journal the run (counts, and the running hash over its batches); return (added, already stored)."""
        self.case.write("notify.letters", f"{self.added} notices stored in the outbox",
                        {"added": self.added, "already_stored": self.kept, "methods": methods,
                         "batches": self.batches, "notices_sha256": self._digest.hexdigest()})
        return self.added, self.kept


def recover(case: Case) -> int:
    """Return the messages a killed sender left claimed to the queue, marked ambiguous; return how many.

    Only called under the sender's lock, so a claimed row can only belong to a dead run. The server may
    or may not have accepted such a message: it is sent again with the same Message-ID.
    """
    with Session(case.engine) as s, s.begin():
        result = s.execute(update(NoticeRow).where(NoticeRow.status == "claimed")
                           .values(status="retry", ambiguous=NoticeRow.ambiguous + 1, next_attempt_at=None))
        return int(result.rowcount)  # type: ignore[attr-defined]


def due(case: Case, at: str, limit: int = 500) -> list[tuple[str, str]]:
    """The next notices to send: (id, recipient), oldest first."""
    query = (select(NoticeRow.id, NoticeRow.recipient)
             .where(NoticeRow.channel == "email", NoticeRow.status.in_(SENDABLE))
             .where((NoticeRow.next_attempt_at.is_(None)) | (NoticeRow.next_attempt_at <= at))
             .order_by(NoticeRow.created_at, NoticeRow.id).limit(limit))
    with Session(case.engine) as s:
        return [(r[0], r[1]) for r in s.execute(query)]


def next_retry(case: Case) -> str | None:
    """When the earliest postponed notice is due again (None when nothing waits)."""
    with Session(case.engine) as s:
        return s.scalar(select(func.min(NoticeRow.next_attempt_at))
                        .where(NoticeRow.channel == "email", NoticeRow.status.in_(SENDABLE)))


def claim(case: Case, nid: str, at: str) -> bytes | None:
    """Atomically take one notice for sending; its bytes, or None when another state holds it."""
    with Session(case.engine) as s, s.begin():
        done = s.execute(update(NoticeRow).where(NoticeRow.id == nid, NoticeRow.status.in_(SENDABLE))
                         .values(status="claimed", claimed_at=at, attempts=NoticeRow.attempts + 1))
        if done.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return s.scalar(select(NoticeRow.body).where(NoticeRow.id == nid))


def finish(case: Case, nid: str, status: str, reply: str, at: str, retry_at: str | None = None,
           suppress: str | None = None) -> int:
    """Record the outcome of one attempt (and suppress the address on a permanent failure); the attempts so far."""
    with Session(case.engine) as s, s.begin():
        s.execute(update(NoticeRow).where(NoticeRow.id == nid).values(
            status=status, reply=reply[:2000], next_attempt_at=retry_at,
            done_at=at if status not in SENDABLE else None))
        if suppress and s.get(SuppressionRow, suppress.lower()) is None:
            s.add(SuppressionRow(address=suppress.lower(), reason=reply[:500], at=at))
        return int(s.scalar(select(NoticeRow.attempts).where(NoticeRow.id == nid)) or 0)


@dataclass(frozen=True)
class Outcome:
    """The recorded result of one attempt: the new status, and what goes with it."""

    nid: str
    status: str
    reply: str
    at: str
    retry_at: str | None = None
    suppress: str | None = None


_NOTICES = cast(Table, NoticeRow.__table__)
_SUPPRESSIONS = cast(Table, SuppressionRow.__table__)
_SENDABLE = or_(*(_NOTICES.c.status == s for s in SENDABLE))  # not IN (...): no expanding parameter per execution
_CLAIM = (update(_NOTICES).where(_NOTICES.c.id == bindparam("nid"), _SENDABLE)
          .values(status="claimed", claimed_at=bindparam("at"), attempts=_NOTICES.c.attempts + 1)
          .returning(_NOTICES.c.body, _NOTICES.c.attempts))  # one statement: the claim gives the bytes to send
_FINISH = (update(_NOTICES).where(_NOTICES.c.id == bindparam("nid"))
           .values(status=bindparam("status"), reply=bindparam("reply"), next_attempt_at=bindparam("retry_at"),
                   done_at=bindparam("done_at")))


class Ledger:
    """The sender's own writes, on one connection held for the run: each step one short transaction.

    A step records the reply to the message a connection just sent and claims the next one it will send,
    together: one commit per message instead of two, and Core statements compiled once instead of an ORM
    session per write. The contract is unchanged: a notice is ``claimed`` (committed) before any byte of
    it goes to the server, and at any moment a connection has at most one claimed notice.
    """

    def __init__(self, case: Case) -> None:
        self._conn: Connection = case.engine.connect()

    def close(self) -> None:
        """Give the connection back."""
        self._conn.close()

    def step(self, done: Sequence[Outcome], nid: str | None, at: str) -> tuple[bytes, int] | None:
        """Record ``done``, then claim ``nid``; its bytes and attempts so far, or None when not claimable."""
        with self._conn.begin():
            for o in done:
                self._conn.execute(_FINISH, {"nid": o.nid, "status": o.status, "reply": o.reply[:2000],
                                             "retry_at": o.retry_at,
                                             "done_at": o.at if o.status not in SENDABLE else None})
                if o.suppress:
                    self._suppress(o.suppress, o.reply, o.at)
            row = self._conn.execute(_CLAIM, {"nid": nid, "at": at}).first() if nid is not None else None
            return None if row is None else (bytes(row[0]), int(row[1]))

    def _suppress(self, address: str, reply: str, at: str) -> None:
        table = _SUPPRESSIONS
        known = self._conn.execute(select(table.c.address).where(table.c.address == address.lower())).first()
        if known is None:
            self._conn.execute(table.insert().values(address=address.lower(), reason=reply[:500], at=at))


def counts(case: Case) -> dict[str, int]:
    """Email notices per status."""
    with Session(case.engine) as s:
        rows = s.execute(select(NoticeRow.status, func.count()).where(NoticeRow.channel == "email")
                         .group_by(NoticeRow.status))
        return {status: int(n) for status, n in rows}


def notices(case: Case) -> list[NoticeRow]:
    """Every notice (without loading the bodies' meaning; for status and reports)."""
    with Session(case.engine, expire_on_commit=False) as s:
        return list(s.scalars(select(NoticeRow).order_by(NoticeRow.created_at, NoticeRow.id)))


OUTCOMES = ("sent", "bounced", "moved_to_post")


def outcomes(case: Case) -> list[NoticeRow]:
    """Notices sent, bounced or moved to post, in the order of the reply that settled them (bodies not loaded)."""
    query = (select(NoticeRow).options(defer(NoticeRow.body)).where(NoticeRow.status.in_(OUTCOMES))
             .order_by(NoticeRow.done_at, NoticeRow.id))
    with Session(case.engine, expire_on_commit=False) as s:
        return list(s.scalars(query))


def find(case: Case, ids: Iterable[str]) -> list[NoticeRow]:
    """Notices by id, or by a unique prefix of one."""
    out = []
    with Session(case.engine, expire_on_commit=False) as s:
        for nid in ids:
            rows = list(s.scalars(select(NoticeRow).where(NoticeRow.id.startswith(nid)).limit(2)))
            if len(rows) != 1:
                raise UsageError(f"{'no' if not rows else 'more than one'} notice matches {nid!r}: "
                                 "see 'aftermath notify status --json'")
            out.append(rows[0])
    return out


def mark_sent(case: Case, nid: str, how: str, ref: str) -> NoticeRow:
    """Mark a regulator, bureau or media notice sent by hand (journaled with how and the reference)."""
    row = find(case, [nid])[0]
    if row.channel == "email":
        raise UsageError(f"notice {row.id[:12]} is an email notice: 'notify send' delivers it")
    row.status, row.reply, row.done_at = "sent", f"{how}: {ref}".strip(), now_text()
    case.write("notify.mark-sent", row.recipient, {"notice": row.id, "audience": row.audience, "how": how,
                                                   "ref": ref, "sha256": row.sha256}, rows=[row])
    return row
