"""The tamper-evident journal: pure functions that hash entries and verify a chain.

``hash = sha256(prev || canonical JSON of {seq, at, actor, action, subject, data})``, with
``prev`` the previous entry's hash (64 zeros for the first). Editing, deleting or reordering any
entry breaks every later link; rewriting the whole chain is caught by checking a head written
down outside (``aftermath case head``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class Entry:
    """One journal entry as stored."""

    seq: int
    at: str
    actor: str
    action: str
    subject: str
    data: dict[str, Any]
    prev: str
    hash: str


def canonical(value: Any) -> bytes:
    """Canonical JSON: sorted keys, no spaces, UTF-8; the same value always gives the same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


CLOCK_SLACK = timedelta(minutes=5)  # clocks differ a little; beyond this a time is in the future


def check_past(when: datetime, now: datetime, option: str, instead: str) -> None:
    """Refuse a time in the future (a discovery, a snapshot): it would move every clock that counts from it."""
    from aftermath.errors import UsageError

    if when > now + CLOCK_SLACK:
        raise UsageError(f"{option} {when.isoformat()} is in the future: {instead}")


def timestamp(now: datetime | None = None) -> str:
    """An aware UTC time as ISO 8601 with microseconds and a Z."""
    now = now or datetime.now(UTC)
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(prev: str, seq: int, at: str, actor: str, action: str, subject: str, data: dict[str, Any]) -> str:
    """The hash that links an entry to the one before it."""
    body = {"seq": seq, "at": at, "actor": actor, "action": action, "subject": subject, "data": data}
    return hashlib.sha256(prev.encode() + canonical(body)).hexdigest()


def make_entry(prev: Entry | None, at: str, actor: str, action: str, subject: str, data: dict[str, Any]) -> Entry:
    """Build the next entry after ``prev``."""
    seq = prev.seq + 1 if prev else 1
    prev_hash = prev.hash if prev else GENESIS
    data = json.loads(canonical(data))  # what is hashed is exactly what is stored
    return Entry(seq, at, actor, action, subject, data, prev_hash,
                 entry_hash(prev_hash, seq, at, actor, action, subject, data))


@dataclass(frozen=True)
class Verdict:
    """The result of verifying a chain."""

    ok: bool
    entries: int
    bad_seq: int | None = None
    reason: str = ""


def verify(entries: Iterable[Entry], head: tuple[int, str] | None = None, after: Entry | None = None) -> Verdict:
    """Recompute the chain in stored order and name the first entry that does not match.

    ``after`` is an entry already verified: ``entries`` then start right after it (a dashboard re-checks only
    what was written since), and the count includes it and those before it.
    """
    prev_hash, expected_seq, count, head_seen = GENESIS, 1, 0, head is None
    if after is not None:
        prev_hash, expected_seq, count = after.hash, after.seq + 1, after.seq
    for entry in entries:
        count += 1
        if entry.seq != expected_seq:
            return Verdict(False, count, entry.seq,
                           f"entry {entry.seq} found where entry {expected_seq} should be (deleted or reordered)")
        if entry.prev != prev_hash:
            return Verdict(False, count, entry.seq, f"entry {entry.seq} does not link to the entry before it")
        if entry.hash != entry_hash(entry.prev, entry.seq, entry.at, entry.actor, entry.action,
                                    entry.subject, entry.data):
            return Verdict(False, count, entry.seq, f"entry {entry.seq} was changed after it was written")
        if head is not None and entry.seq == head[0]:
            if entry.hash != head[1]:
                return Verdict(False, count, entry.seq,
                               f"entry {entry.seq} is not the one recorded as head (chain rewritten)")
            head_seen = True
        prev_hash, expected_seq = entry.hash, expected_seq + 1
    if not head_seen and head is not None:
        return Verdict(False, count, head[0], f"entry {head[0]} recorded as head is missing (chain truncated)")
    return Verdict(True, count)


def parse_head(text: str) -> tuple[int, str]:
    """Parse ``SEQ:HASH`` as printed by ``aftermath case head``."""
    seq, sep, digest = text.partition(":")
    if not sep or not seq.isdigit() or len(digest) != 64:
        raise ValueError("head must look like SEQ:HASH, as printed by 'aftermath case head'")
    return int(seq), digest.lower()
