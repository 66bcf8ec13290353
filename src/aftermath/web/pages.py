"""What each dashboard page shows, read from the case store; nothing here writes.

Privilege is applied here, once: a reader who may not see privileged material gets lists without it.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from aftermath.case import journal
from aftermath.case.core import Case
from aftermath.case.store import EvidenceRow, JournalRow
from aftermath.consult import records, report, status

PAGE_SIZE = 50
EVIDENCE_PAGE = 100


@dataclass
class ChainState:
    """The journal verified so far: after the first full pass, only entries written since are checked."""

    last: journal.Entry | None = None
    verdict: journal.Verdict | None = None
    counts: Counter[str] = field(default_factory=Counter)  # entries per action, counted while verifying
    lock: threading.Lock = field(default_factory=threading.Lock)


def verify_chain(case: Case, state: ChainState, wait: bool = True) -> journal.Verdict | None:
    """Verify the entries written since the last call; None when another thread is verifying and not ``wait``."""
    if not state.lock.acquire(blocking=wait):
        return None
    try:
        if state.verdict is not None and not state.verdict.ok:
            return state.verdict
        after = state.last.seq if state.last else 0
        query = select(JournalRow).where(JournalRow.seq > after).order_by(JournalRow.seq)
        with Session(case.engine) as session:
            verdict = journal.verify(_counted(session.scalars(query.execution_options(yield_per=2000)), state),
                                     after=state.last)
        state.verdict = verdict
        return verdict
    finally:
        state.lock.release()


def _counted(rows: Iterable[JournalRow], state: ChainState) -> Iterator[journal.Entry]:
    for row in rows:
        entry = _entry(row)
        yield entry
        state.counts[entry.action] += 1
        state.last = entry


def action_counts(case: Case, state: ChainState) -> Counter[str]:
    """Entries per action: from the verified chain, or counted by the store while it is being verified."""
    if state.verdict is not None and state.verdict.ok and not state.lock.locked():
        return state.counts
    with Session(case.engine) as session:
        rows = session.execute(select(JournalRow.action, func.count()).group_by(JournalRow.action)).all()
    return Counter({str(action): int(n) for action, n in rows})


def steps(counts: dict[str, int], tasks_open: int, engaged: int, notices_done: int = 0) -> list[dict[str, Any]]:
    """The four steps of the response and what is done in each (from the journal's actions and the outbox)."""
    def has(*prefixes: str) -> int:
        return sum(n for a, n in counts.items() if a.startswith(prefixes))

    return [
        {"name": "Secure", "items": [("sweep done", has("secure.sweep")), ("hosts isolated", has("secure.isolate")),
                                     ("evidence collected", has("evidence.register", "secure.collect"))]},
        {"name": "Consult", "items": [("experts engaged", engaged), ("open tasks", tasks_open),
                                      ("decisions", has("consult.decision"))]},
        {"name": "Recover", "items": [("backups reviewed", has("review")), ("restore approved", has("restore.approve")),
                                      ("restore verified", has("restore.verify")),
                                      ("promoted", has("restore.promote"))]},
        {"name": "Notify", "items": [("scope runs", has("notify.scope")), ("duties planned", has("notify.plan")),
                                     ("notices sent or printed", notices_done)]},
    ]


def deadlines(case: Case, file: records.File, keep: bool, now: datetime) -> list[dict[str, Any]]:
    """Legal, insurer and task deadlines, soonest first."""
    incidents = case.incidents()
    found: list[dict[str, Any]] = []
    if incidents:
        discovered = datetime.fromisoformat(incidents[0].discovered_at.replace("Z", "+00:00"))
        found = report._obligations(case, file, discovered, now, keep)  # noqa: SLF001 - the report's own reading
    for task in file.of("task", keep):
        if status.task_state(task) == "open" and task.body.get("due"):
            found.append({"due": str(task.body["due"]), "what": f"task: {task.title}", "to": task.body.get("owner")
                          or "", "people": "", "state": "due", "citation": ""})
    return sorted(found, key=lambda d: str(d["due"]))


def journal_page(case: Case, file: records.File, keep: bool, page: int, action: str = "",
                 who: str = "") -> tuple[list[journal.Entry], int]:
    """One page of entries, newest first, and the number of matching entries (privileged ones left out)."""
    query = select(JournalRow)
    count = select(func.count()).select_from(JournalRow)
    conditions = ([starts(JournalRow.action, action)] if action else []) + ([JournalRow.actor == who] if who else [])
    query, count = query.where(*conditions), count.where(*conditions)
    skip = max(page - 1, 0) * PAGE_SIZE
    with Session(case.engine) as session:
        total = int(session.scalar(count) or 0)
        if conditions:
            query = query.order_by(JournalRow.seq.desc()).offset(skip).limit(PAGE_SIZE)
        else:  # sequence numbers have no gaps: a page is a range of them, found through the primary key
            query = query.where(JournalRow.seq <= total - skip).order_by(JournalRow.seq.desc()).limit(PAGE_SIZE)
        found = [_entry(r) for r in session.scalars(query)]
    return [e for e in found if keep or not records.is_privileged(e.seq, e.action, e.data, file)], total


def evidence(case: Case, file: records.File, keep: bool, page: int = 1) -> tuple[list[dict[str, Any]], int]:
    """One page of evidence items and case documents, with hashes and custody hand-overs; and the page count."""
    hidden = [] if keep else sorted(file.privileged_evidence)
    query = select(*EvidenceRow.__table__.columns).where(EvidenceRow.id.not_in(hidden)).order_by(EvidenceRow.id)
    with Session(case.engine) as session:
        total = int(session.scalar(select(func.count()).select_from(EvidenceRow).where(EvidenceRow.id.not_in(hidden)))
                    or 0)
        rows = session.execute(query.offset(max(page - 1, 0) * EVIDENCE_PAGE).limit(EVIDENCE_PAGE)).mappings().all()
        subjects = [f"evidence {row['id']}" for row in rows]
        handovers = session.execute(select(JournalRow.subject, JournalRow.at, JournalRow.data)
                                    .where(JournalRow.action == "evidence.custody", JournalRow.subject.in_(subjects))
                                    .order_by(JournalRow.seq)).all()
    custody: dict[str, list[dict[str, Any]]] = {}
    for subject, at, data in handovers:
        custody.setdefault(subject, []).append({"at": at, **json.loads(data)})
    pages = max((total + EVIDENCE_PAGE - 1) // EVIDENCE_PAGE, 1)
    return [{**row, "custody": custody.get(f"evidence {row['id']}", [])} for row in rows], pages


def restore_plans(case: Case) -> list[dict[str, Any]]:
    """Saved restore plans with their approvals, verifications and promotions."""
    approvals = {e.subject: e for e in entries(case, "restore.approve")}
    verified = [e for e in entries(case, "restore.verify") if e.data.get("ok")]
    promoted = entries(case, "restore.promote")
    out = []
    for item in case.evidence_items("restore-plan"):
        try:
            totals = json.loads(item.path.read_bytes()).get("entries", [])
        except (OSError, ValueError):
            totals = []
        sha = item.sha256
        out.append({"id": item.id, "name": item.name, "sha256": sha, "at": item.collected_at,
                    "entries": len(totals), "approval": approvals.get(sha),
                    "verified": any(e.data.get("plan") == sha for e in verified),
                    "promoted": any(e.data.get("plan") == sha for e in promoted)})
    return out


def starts(column: Any, prefix: str) -> Any:
    """``column`` starts with ``prefix``, as a range the column's index serves (LIKE would scan the table)."""
    return and_(column >= prefix, column < prefix + "\uffff")


def entries(case: Case, prefix: str) -> list[journal.Entry]:
    """Journal entries whose action starts with ``prefix``, in order, through the action index."""
    with Session(case.engine) as session:
        rows = session.scalars(select(JournalRow).where(starts(JournalRow.action, prefix)).order_by(JournalRow.seq))
        return [_entry(row) for row in rows]


def now() -> datetime:
    """The current time (UTC)."""
    return datetime.now(UTC)


def _entry(row: JournalRow) -> journal.Entry:
    return journal.Entry(row.seq, row.at, row.actor, row.action, row.subject, json.loads(row.data), row.prev,
                         row.hash)
