"""``notify bounces``: read delivery-status notifications and other bounces; match each to its notice.

Addresses and permanence come from flufl.bounce (RFC 3464 DSNs and the many shapes real servers send).
What it lacks is done here: reading .eml files, mbox files and Maildir folders, and finding the
notice each bounce is about: by the original Message-ID quoted in the bounce, else by the failed address.
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
from sqlalchemy.orm import Session

from aftermath.errors import UsageError
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
        rows = list(s.scalars(select(NoticeRow).where(NoticeRow.channel == "email")))
        held = {a.lower() for a in s.scalars(select(SuppressionRow.address))}
    by_id = {r.message_id: r for r in rows}
    by_address: dict[str, NoticeRow] = {r.recipient.lower(): r for r in rows}
    changed: dict[str, NoticeRow] = {}
    new_suppressed: dict[str, SuppressionRow] = {}
    digest = hashlib.sha256()
    for path in paths:
        for where, msg in read_messages(path):
            digest.update(msg.as_bytes())
            _one(where, msg, by_id, by_address, held, changed, new_suppressed, result)
    data = {"files": [str(p) for p in paths], "sha256": digest.hexdigest(), **result.counts,
            "unmatched": len(result.unmatched)}
    case.write("notify.bounces", f"{sum(result.counts.values())} bounces imported", data,
               rows=[*changed.values(), *new_suppressed.values()])
    return result


def _one(where: str, msg: Message, by_id: dict[str, NoticeRow], by_address: dict[str, NoticeRow], held: set[str],
         changed: dict[str, NoticeRow], suppressed: dict[str, SuppressionRow], result: Import) -> None:
    temporary, permanent = all_failures(msg)
    if not temporary and not permanent:
        result.counts["not_a_bounce"] += 1
        result.unmatched.append(f"{where}: not a bounce (no failed recipient found)")
        return
    ids = quoted_ids(msg)
    hard = {a.decode("utf-8", "replace").lower() for a in permanent}
    soft = {a.decode("utf-8", "replace").lower() for a in temporary} - hard
    for address in sorted(hard | soft):
        row = next((by_id[i] for i in ids if i in by_id and by_id[i].recipient.lower() == address), None)
        row = row or by_address.get(address)
        if row is None:
            result.counts["unmatched"] += 1
            result.unmatched.append(f"{where}: no notice was sent to {address}"
                                    + (f" (quoted Message-ID {ids[0]})" if ids else ""))
            continue
        _mark(row, address, address in hard, held, changed, suppressed, result)


def _mark(row: NoticeRow, address: str, hard: bool, held: set[str], changed: dict[str, NoticeRow],
          suppressed: dict[str, SuppressionRow], result: Import) -> None:
    at = now_text()
    if hard:
        row.status, row.reply, row.done_at = "bounced", f"hard bounce from {address}", at
        if address not in held and address not in suppressed:
            suppressed[address] = SuppressionRow(address=address, reason="hard bounce", at=at)
        result.counts["hard"] += 1
    elif row.status == "sent":
        row.status, row.reply, row.next_attempt_at = "retry", f"soft bounce from {address}", None
        result.counts["soft"] += 1
    else:
        result.counts["soft_ignored"] += 1
        return
    changed[row.id] = row
