"""``notify bounces``: read delivery-status notifications and other bounces; match each to its notice.

Addresses and permanence come from flufl.bounce (RFC 3464 DSNs and the many shapes real servers send).
What it lacks is done here: reading .eml files, mbox files and Maildir folders, and finding the
notice each bounce is about: by the VERP token of the return path it came back to (``send --verp``), else by
the original Message-ID quoted in the bounce, else by the failed address; each match says which.
A hard bounce suppresses the address (the person moves to post when ``letters`` runs again); a soft one
puts the notice back in the queue. The import is journaled once, with counts and the files' hashes.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import mailbox
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import TYPE_CHECKING

from flufl.bounce import all_failures
from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from aftermath.errors import UsageError
from aftermath.notify.delivery import shapes, verp
from aftermath.notify.delivery.outbox import now_text
from aftermath.notify.delivery.store import NoticeRow, SuppressionRow

if TYPE_CHECKING:
    from aftermath.case import Case

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\s]+>)", re.IGNORECASE | re.MULTILINE)


@dataclass
class Import:
    """What one import found."""

    counts: Counter[str] = field(default_factory=Counter)
    unmatched: list[str] = field(default_factory=list)
    matched: list[str] = field(default_factory=list)  # one line per bounced notice: how it was matched


def read_messages(path: Path) -> Iterator[tuple[str, Message]]:
    """Every message in an .eml file, an mbox file or a Maildir folder, with where it came from."""
    if path.is_dir():
        if not (path / "cur").is_dir() and not (path / "new").is_dir():
            raise UsageError(f"{path} is a folder but not a Maildir (no cur/ or new/): name the files instead")
        for key, msg in mailbox.Maildir(path, create=False).iteritems():
            yield f"{path}:{key}", msg
        return
    try:
        head = path.open("rb").read(5)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    if head == b"From ":
        for i, item in enumerate(mailbox.mbox(path, create=False)):
            yield f"{path}#{i + 1}", item
        return
    if path.suffix.lower() in (".mbox", ".mbx"):
        raise UsageError(f"{path} is not an mbox file (it does not start with a 'From ' line): "
                         "check the export, or rename a single message to .eml")
    yield str(path), email.message_from_bytes(path.read_bytes(), policy=email.policy.compat32)


def quoted_ids(msg: Message) -> list[str]:
    """Message-IDs quoted in a bounce (its attached original or original headers), not its own."""
    own = (msg.get("Message-ID") or "").strip()
    found = [m.decode("ascii", "replace") for m in MESSAGE_ID.findall(msg.as_bytes())]
    return [m for m in dict.fromkeys(found) if m != own]


def import_bounces(case: Case, paths: Sequence[Path]) -> Import:
    """Match every bounce in ``paths`` to its notice; mark, suppress, journal once."""
    result = Import()
    with Session(case.engine, expire_on_commit=False) as s:
        rows = list(s.scalars(select(NoticeRow).options(defer(NoticeRow.body)).where(NoticeRow.channel == "email")))
        held = {a.lower() for a in s.scalars(select(SuppressionRow.address))}
    index = _Index({verp.token(r.message_id): r for r in rows}, {r.message_id: r for r in rows},
                   {r.recipient.lower(): r for r in rows})
    changed: dict[str, NoticeRow] = {}
    new_suppressed: dict[str, SuppressionRow] = {}
    digest = hashlib.sha256()
    for path in paths:
        for where, msg in read_messages(path):
            digest.update(msg.as_bytes())
            for match in _one(where, msg, index, result):
                _mark(match, held, changed, new_suppressed, result)
    data = {"files": [str(p) for p in paths], "sha256": digest.hexdigest(), **result.counts,
            "unmatched": len(result.unmatched)}
    seen = sum(v for k, v in result.counts.items() if not k.startswith("by_"))
    case.write("notify.bounces", f"{seen} bounces imported", data, rows=[*changed.values(), *new_suppressed.values()])
    return result


HOW = {"verp": "VERP return path", "message_id": "quoted Message-ID", "address": "recipient address"}


@dataclass(frozen=True)
class _Index:
    """The email notices by VERP token, by Message-ID and by recipient address."""

    by_token: dict[str, NoticeRow]
    by_id: dict[str, NoticeRow]
    by_address: dict[str, NoticeRow]


@dataclass(frozen=True)
class _Match:
    """One bounced notice: where the bounce was, which address failed, hard or soft, and how it was found."""

    where: str
    row: NoticeRow
    address: str
    hard: bool
    how: str


@dataclass(frozen=True)
class Failures:
    """The failed recipients a bounce names (lower case): ``hard`` (permanent) and ``soft`` (temporary)."""

    hard: frozenset[str]
    soft: frozenset[str]


def failures(msg: Message) -> Failures:
    """Who failed, and whether for good: flufl.bounce's reading, with what it lacks (``shapes``).

    A recipient's DSN status class decides hard or soft over flufl.bounce's reading of the DSN's action;
    Amazon SES notifications and plain-text bounces it has no reader for are read by hand.
    """
    ses = shapes.amazon_ses(msg)
    if ses is not None:
        return Failures(ses.hard, ses.soft - ses.hard)
    temporary, permanent = all_failures(msg)
    kinds = {a: "soft" for a in _addresses(temporary)} | {a: "hard" for a in _addresses(permanent)}
    kinds |= shapes.dsn_statuses(msg)  # a recipient's status class decides; "delivered" is no failure
    if not kinds:  # nothing structured: the words of a bounce no reader knows
        text = shapes.plain_text(msg)
        return Failures(text.hard, text.soft - text.hard)
    kinds = {a: k for a, k in kinds.items() if k != "delivered" and a not in shapes.not_recipients(msg)}
    if len(kinds) > 1:  # the bounce's own recipient when it also sent the original (a parser's echo)
        kinds = {a: k for a, k in kinds.items() if a not in shapes.original_sender(msg)} or kinds
    hard = frozenset(a for a, k in kinds.items() if k == "hard")
    return Failures(hard, frozenset(kinds) - hard)


def _addresses(found: frozenset[bytes] | set[bytes]) -> list[str]:
    """flufl.bounce's findings that are addresses (it can return a fragment of text), lower case."""
    out = (a.decode("utf-8", "replace").strip().lower() for a in found)
    return [a for a in out if shapes.is_address(a)]


def _one(where: str, msg: Message, index: _Index, result: Import) -> list[_Match]:
    """The notices one bounce is about (each once; hard wins); what cannot be matched is noted in ``result``."""
    failed_ = failures(msg)
    hard, failed = failed_.hard, failed_.hard | failed_.soft
    if not failed:
        result.counts["not_a_bounce"] += 1
        result.unmatched.append(f"{where}: not a bounce (no failed recipient found)")
        return []
    tokens = [t for t in verp.tokens_in(msg) if t in index.by_token]
    if tokens:  # the bounce came back to one notice's own return path: it is about that message alone
        mine = index.by_token[tokens[0]].recipient.lower()
        return [_Match(where, index.by_token[tokens[0]], mine, mine in hard if mine in failed else bool(hard), "verp")]
    ids = [i for i in quoted_ids(msg) if i in index.by_id]
    found: dict[str, _Match] = {}
    for address in sorted(failed):
        how = "message_id"
        row: NoticeRow | None = next((index.by_id[i] for i in ids if index.by_id[i].recipient.lower() == address), None)
        if row is None:
            row, how = index.by_address.get(address), "address"
        if row is None and len(ids) == 1:  # one message of ours quoted, the failed address rewritten on the way
            row, how = index.by_id[ids[0]], "message_id"
        if row is None:
            result.counts["unmatched"] += 1
            quoted = quoted_ids(msg)
            result.unmatched.append(f"{where}: no notice was sent to {address}"
                                    + (f" (quoted Message-ID {quoted[0]})" if quoted else ""))
            continue
        known = found.get(row.id)
        if known is None or (address in hard and not known.hard):
            found[row.id] = _Match(where, row, address, address in hard, how)
    return list(found.values())


def _mark(match: _Match, held: set[str], changed: dict[str, NoticeRow], suppressed: dict[str, SuppressionRow],
          result: Import) -> None:
    at, row = now_text(), match.row
    kind = "hard" if match.hard else "soft" if row.status == "sent" else "soft_ignored"
    result.counts[kind] += 1
    result.counts[f"by_{match.how}"] += 1
    result.matched.append(f"{match.where}: {kind.replace('_', ' ')} bounce from {match.address}: notice "
                          f"{row.id[:12]} to {row.recipient}, matched by {HOW[match.how]}")
    if kind == "hard":
        row.status, row.reply, row.done_at = "bounced", f"hard bounce from {match.address}", at
        address = row.recipient.lower()  # the address we mail is the one never to mail again
        if address not in held and address not in suppressed:
            suppressed[address] = SuppressionRow(address=address, reason="hard bounce", at=at)
    elif kind == "soft":
        row.status, row.reply, row.next_attempt_at = "retry", f"soft bounce from {match.address}", None
    else:
        return
    changed[row.id] = row
