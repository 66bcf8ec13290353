"""The incident report: built from what the case holds, with no template for the user to write.

``gather`` reads the case in one pass over the journal and returns plain data; ``render_html`` and
``render_pdf`` turn it into the document counsel, the insurer and the IR firm read. Privileged records
and entries are left out unless asked for, and the first page says how many were left out.
"""

from __future__ import annotations

import json
from collections import deque
from datetime import UTC, datetime
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from aftermath import __version__
from aftermath.case.core import Case
from aftermath.case.store import EvidenceRow, JournalRow
from aftermath.consult import records, status
from aftermath.errors import StateError
from aftermath.notify.delivery import outbox
from aftermath.notify.delivery import status as delivery

# Routine entries that would drown the narrative; they stay in the timeline export.
ROUTINE = ("protect.snapshot", "protect.check", "protect.forget", "consult.update.")
NARRATIVE_CAP = 400
COLUMNS = (JournalRow.seq, JournalRow.at, JournalRow.actor, JournalRow.action, JournalRow.subject, JournalRow.data)
# What the report reads from each kind of journal entry, with defaults: entries written by older versions
# (or by hand) that lack a field still make a report.
SHAPES: dict[str, dict[str, Any]] = {
    "secure.sweep": {"score": 0, "verdict": "unknown", "findings": {}},
    "notify.scope": {"people": 0, "sources": [], "snapshot": None, "elements": {}, "residence": {}},
    "review.run": {"repository": "", "snapshots": 0, "verdicts": {}, "findings": 0, "errors": 0, "first_bad": None,
                   "last_clean": None},
}


def gather(case: Case, include_privileged: bool = False, now: datetime | None = None) -> dict[str, Any]:
    """Everything the report shows, as plain data (the clock is an argument)."""
    now = now or datetime.now(UTC)
    incidents = case.incidents()
    if not incidents:
        raise StateError("the case has no incident yet: open one with 'aftermath case open' before a report")
    file = records.load(case)
    incident = incidents[0]
    discovered = datetime.fromisoformat(incident.discovered_at.replace("Z", "+00:00"))
    journal = _read_journal(case, file, include_privileged)
    keep = include_privileged
    tasks = file.of("task", keep)
    obligations = _obligations(case, file, discovered, now, keep)
    head = case.head()
    return {
        "generated": now.isoformat(timespec="seconds"), "version": __version__, "case": case.config.case.name,
        "incident": {"title": incident.title, "discovered": incident.discovered_at, "opened": incident.opened_at,
                     "others": [i.title for i in incidents[1:]]},
        "head": f"{head.seq}:{head.hash}" if head else "",
        "withheld": 0 if keep else file.withheld(), "include_privileged": keep,
        "contacts": [_contact(c) for c in file.of("contact", keep)],
        "narrative": journal["narrative"], "narrative_total": journal["narrative_total"],
        "hosts": journal["hosts"], "sources": [s.model_dump() for s in case.config.protect.sources],
        "people": journal["people"], "evidence": _evidence(case, file, journal["custody"], keep),
        "review": journal["review"], "restore": journal["restore"], "obligations": obligations,
        "notices": _notices(case),
        "decisions": [_plain(d) for d in file.of("decision", keep)],
        "tasks": [{**_plain(t), "state": status.task_state(t), "overdue": t in status.overdue(tasks, now)}
                  for t in tasks if status.task_state(t) == "open"],
        "notes": [_plain(n) for n in file.of("note", keep)],
    }


def _read_journal(case: Case, file: records.File, include_privileged: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"narrative": deque(maxlen=NARRATIVE_CAP), "narrative_total": 0, "hosts": {},
                           "people": None, "review": None, "restore": [], "custody": {}}
    query = select(*COLUMNS).order_by(JournalRow.seq).execution_options(yield_per=5000)
    with Session(case.engine) as session:
        for row in session.execute(query):  # plain rows, not ORM objects: a third of the time
            data = json.loads(row.data) if _needs_data(row.action) else {}
            if not include_privileged and records.is_privileged(row.seq, row.action, data, file):
                continue
            _take(out, row, data)
    out["narrative"] = [_line(row) for row in out["narrative"]]  # only the newest are shown: memory stays flat
    out["hosts"] = sorted(out["hosts"].values(), key=lambda h: -h["score"])
    return out


def _needs_data(action: str) -> bool:
    return action in SHAPES or action == "evidence.custody" or action.startswith(("consult.", "restore.")) \
        or action == "protect.drill"


def _line(row: Any) -> dict[str, Any]:
    return {"seq": row.seq, "at": row.at, "actor": row.actor, "action": row.action, "subject": row.subject}


def _take(out: dict[str, Any], row: Any, data: dict[str, Any]) -> None:
    if row.action == "evidence.custody":  # one item (case custody) or a package of several
        for subject in [f"evidence {i['id']}" for i in data.get("items", [])] or [row.subject]:
            out["custody"].setdefault(subject, []).append({**_line(row), **data})
    if row.action == "secure.sweep":
        out["hosts"][row.subject] = {"host": row.subject, "at": row.at, **_shape(row.action, data)}
    elif row.action == "notify.scope":
        out["people"] = _shape(row.action, data)
    elif row.action == "review.run":
        out["review"] = {"at": row.at, **_shape(row.action, data)}
    elif row.action.startswith("restore.") or row.action == "protect.drill":
        out["restore"].append({**_line(row), "data": _short(data)})
    if not row.action.startswith(ROUTINE) and not row.action.endswith(".register"):
        out["narrative_total"] += 1
        out["narrative"].append(row)


def _shape(action: str, data: dict[str, Any]) -> dict[str, Any]:
    return {key: data.get(key, default) for key, default in SHAPES[action].items()}


def _obligations(case: Case, file: records.File, discovered: datetime, now: datetime,
                 keep: bool) -> list[dict[str, Any]]:
    found = [{"due": d.due.isoformat(timespec="minutes"), "what": d.what, "to": d.to, "people": "",
              "state": d.state, "citation": "insurance policy"}
             for d in status.insurer_deadlines(file.of("contact", keep), discovered, now)]
    plans = case.evidence_items("notify-plan")
    plan = next((p for p in reversed(plans) if p.name.endswith(".json")), None)
    if plan is not None:
        try:
            doc = json.loads(plan.path.read_bytes())
        except (OSError, ValueError):
            doc = {"obligations": []}
        for o in doc.get("obligations", []):
            due = o.get("deadline_at") or o.get("deadline")
            found.append({"due": due or "as soon as possible", "what": f"notice to {o['audience']}",
                          "to": f"{o['jurisdiction']} {o.get('recipient') or ''}".strip(), "people": o["people"],
                          "state": _due_state(due, now), "citation": o.get("citation", "")})
    return sorted(found, key=lambda o: o["due"])


def _notices(case: Case) -> list[dict[str, Any]]:
    """Notices sent, bounced and moved to post, per jurisdiction and audience (from the notices outbox)."""
    return [{"jurisdiction": ln.jurisdiction, "audience": ln.audience,
             **{s: ln.counts.get(s, 0) for s in outbox.OUTCOMES}}
            for ln in delivery.summarise(outbox.outcomes(case))]


def _due_state(due: str | None, now: datetime) -> str:
    if not due:
        return "due"
    moment = datetime.fromisoformat(due)
    if moment.tzinfo is None:
        moment = moment.replace(hour=23, minute=59, tzinfo=UTC)
    return "overdue" if now > moment else "due"


def _evidence(case: Case, file: records.File, custody: dict[str, list[dict[str, Any]]],
              keep: bool) -> list[dict[str, Any]]:
    # plain rows: ten thousand items cost a second as ORM objects with Paths, a fraction of it as tuples
    with Session(case.engine) as session:
        rows = session.execute(select(*EvidenceRow.__table__.columns).order_by(EvidenceRow.id)).mappings().all()
    return [{**row, "path": row["stored_path"], "custody": custody.get(f"evidence {row['id']}", [])}
            for row in rows if keep or row["id"] not in file.privileged_evidence]


def _contact(c: records.Record) -> dict[str, Any]:
    return {**_plain(c), "notified": c.state.get("notified")}


def _plain(r: records.Record) -> dict[str, Any]:
    return {"id": r.id, "title": r.title, "body": r.body, "privileged": r.privileged, "at": r.created_at,
            "actor": r.actor}


def _short(data: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in data.items() if isinstance(v, (str, int, float, bool)))[:300]


@cache
def _env() -> Environment:
    return Environment(loader=PackageLoader("aftermath.consult", "templates"), undefined=StrictUndefined,
                       autoescape=select_autoescape(["html", "j2"]))


def render_html(data: dict[str, Any]) -> str:
    """The report as one self-contained HTML page (print styles included)."""
    return _env().get_template("report.html.j2").render(r=data)


def render_pdf(html: str) -> bytes:
    """The same page as PDF, through WeasyPrint."""
    from weasyprint import HTML  # heavy: imported only when a PDF is asked for

    return bytes(HTML(string=html).write_pdf())
