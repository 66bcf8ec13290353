"""The consultation file: contacts and engagements, tasks, decisions, notes, and privilege marks.

Records and their updates are append-only rows (the migration refuses UPDATE and DELETE): a task is
closed, an insurer marked notified or an entry marked privileged by adding an update, never by
rewriting. Every row is added through :meth:`Case.write` with its journal entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from aftermath.case import journal
from aftermath.case.core import Case, actor
from aftermath.case.store import Base
from aftermath.errors import UsageError

KINDS = ("contact", "task", "decision", "note")
ROLES = ("ir-firm", "counsel", "insurer", "law-enforcement", "regulator", "staff", "other")
TASK_STATES = ("open", "done", "dropped")
# The fields of each kind's body; absent ones are stored as None so every reader sees the same shape.
FIELDS = {"contact": ("role", "organisation", "reach", "engaged", "policy", "claim", "report_number", "notice_within"),
          "task": ("owner", "due"), "decision": ("rationale", "made_by", "decided"), "note": ()}


class RecordRow(Base):
    """One contact, task, decision or note; ``body`` holds the kind's own fields as JSON."""

    __tablename__ = "consult_records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    privileged: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))


class UpdateRow(Base):
    """A later fact about a record or a journal entry: ``target`` is ``record:N`` or ``journal:SEQ``."""

    __tablename__ = "consult_updates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target: Mapped[str] = mapped_column(String(40), index=True)
    field: Mapped[str] = mapped_column(String(30))
    value: Mapped[str] = mapped_column(Text)
    at: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))


@dataclass(frozen=True)
class Record:
    """A record with its updates applied (latest value of each field wins)."""

    id: int
    kind: str
    title: str
    body: dict[str, Any]
    privileged: bool
    created_at: str
    actor: str
    state: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class File:
    """Everything the consultation holds, read in one pass."""

    records: list[Record]
    privileged_seqs: frozenset[int]
    privileged_evidence: frozenset[int] = frozenset()

    def of(self, kind: str, include_privileged: bool = True) -> list[Record]:
        """Records of one kind, oldest first."""
        return [r for r in self.records if r.kind == kind and (include_privileged or not r.privileged)]

    def withheld(self) -> int:
        """How many records and journal entries an export without ``--include-privileged`` leaves out."""
        return (sum(1 for r in self.records if r.privileged) + len(self.privileged_seqs)
                + len(self.privileged_evidence))


def add(case: Case, kind: str, title: str, body: dict[str, Any], privileged: bool = False) -> Record:
    """Add a record and its journal entry (``consult.<kind>``) in one transaction."""
    if kind not in KINDS:
        raise UsageError(f"unknown record kind {kind!r}: use one of {', '.join(KINDS)}")
    if not title.strip():
        raise UsageError(f"a {kind} needs a title or text")
    unknown = set(body) - set(FIELDS[kind])
    if unknown:
        raise UsageError(f"a {kind} has no field {', '.join(sorted(unknown))}: use {', '.join(FIELDS[kind])}")
    body = {name: body.get(name) for name in FIELDS[kind]}
    record_id = _next_id(case)
    at, who = journal.timestamp(), actor()
    row = RecordRow(id=record_id, kind=kind, title=title, body=json.dumps(body, sort_keys=True),
                    privileged=privileged, created_at=at, actor=who)
    case.write(f"consult.{kind}", title, {"record": record_id, "privileged": privileged, **body}, rows=[row],
               who=who)
    return Record(record_id, kind, title, body, privileged, at, who)


def add_contact(case: Case, name: str, body: dict[str, Any], privileged: bool = False) -> Record:
    """Add a contact after checking its role and notice period (the CLI and the dashboard alike)."""
    from aftermath.consult.status import parse_within

    role = body.get("role")
    if role not in ROLES:
        raise UsageError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if body.get("notice_within"):
        parse_within(str(body["notice_within"]))
    return add(case, "contact", name, body, privileged)


def update(case: Case, target: str, field_name: str, value: str) -> None:
    """Append an update (task state, insurer notified, privilege mark) and journal it."""
    row = UpdateRow(target=target, field=field_name, value=value, at=journal.timestamp(), actor=actor())
    case.write(f"consult.update.{field_name}", target, {"target": target, "field": field_name, "value": value},
               rows=[row])


def set_task_state(case: Case, record_id: int, state: str) -> None:
    """Close (``done``), drop or reopen a task."""
    if state not in TASK_STATES:
        raise UsageError(f"unknown task state {state!r}: use one of {', '.join(TASK_STATES)}")
    get(case, record_id, "task")
    update(case, f"record:{record_id}", "state", state)


def mark_notified(case: Case, record_id: int, when: datetime) -> None:
    """Record when the insurer (or any contact) was given notice of the incident."""
    get(case, record_id, "contact")
    update(case, f"record:{record_id}", "notified", journal.timestamp(when))


def mark_privileged(case: Case, *, record_id: int | None = None, seq: int | None = None,
                    evidence_id: int | None = None) -> str:
    """Mark a record, a journal entry or an evidence item privileged (at counsel's direction); returns the target."""
    if evidence_id is not None:
        case.evidence(evidence_id)
        target = f"evidence:{evidence_id}"
    elif record_id is not None:
        get(case, record_id)
        target = f"record:{record_id}"
    elif seq is not None:
        head = case.head()
        if head is None or not 1 <= seq <= head.seq:
            raise UsageError(f"no journal entry {seq}: see 'aftermath case show'")
        target = f"journal:{seq}"
    else:
        raise UsageError("name a record (--record N), a journal entry (--entry SEQ) or evidence (--evidence ID) "
                         "to mark privileged")
    update(case, target, "privileged", "true")
    return target


def get(case: Case, record_id: int, kind: str | None = None) -> Record:
    """One record with its updates; a wrong id or kind is a usage error."""
    match = next((r for r in load(case).records if r.id == record_id), None)
    if match is None or (kind is not None and match.kind != kind):
        what = f"{kind} " if kind else "record "
        raise UsageError(f"no {what}{record_id}: see 'aftermath consult list'")
    return match


def load(case: Case) -> File:
    """Read every record and update; apply the updates in order."""
    with Session(case.engine) as session:
        rows = list(session.scalars(select(RecordRow).order_by(RecordRow.id)))
        updates = list(session.scalars(select(UpdateRow).order_by(UpdateRow.id)))
    state: dict[str, dict[str, str]] = {}
    for u in updates:
        state.setdefault(u.target, {})[u.field] = u.value
    records = [_record(row, state.get(f"record:{row.id}", {})) for row in rows]
    return File(records, _marked(state, "journal:"), _marked(state, "evidence:"))


def is_privileged(seq: int, action: str, data: dict[str, Any], file: File) -> bool:
    """A journal entry is privileged when it was marked, or when it records or updates a privileged record."""
    if seq in file.privileged_seqs or data.get("privileged") is True:
        return True
    if not action.startswith("consult."):
        return False
    ref = data.get("record")
    target = str(data.get("target", ""))
    if ref is None and target.startswith("record:") and data.get("field") != "privileged":
        ref = int(target.split(":", 1)[1])
    return ref is not None and any(r.id == ref and r.privileged for r in file.records)


def _marked(state: dict[str, dict[str, str]], prefix: str) -> frozenset[int]:
    return frozenset(int(t[len(prefix):]) for t, s in state.items()
                     if t.startswith(prefix) and s.get("privileged") == "true")


def _record(row: RecordRow, state: dict[str, str]) -> Record:
    privileged = row.privileged or state.get("privileged") == "true"
    body = {name: None for name in FIELDS.get(row.kind, ())} | json.loads(row.body)
    return Record(row.id, row.kind, row.title, body, privileged, row.created_at, row.actor, state)


def _next_id(case: Case) -> int:
    # Ids are chosen before the write so the journal entry can name its record; a concurrent writer that
    # picked the same id fails on the primary key (one clear error) instead of mislinking.
    with Session(case.engine) as session:
        return int(session.scalar(select(func.max(RecordRow.id))) or 0) + 1
