"""The Secure and Notify pages and the snapshot timeline the Backups page draws."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from aftermath.case.core import Case
from aftermath.case.store import EvidenceRow
from aftermath.notify.delivery import outbox
from aftermath.notify.delivery import status as delivery_status
from aftermath.notify.delivery.store import NoticeRow
from aftermath.secure.contain import state as containment
from aftermath.web import pages, plots

if TYPE_CHECKING:
    from aftermath.web.app import Web


def register(app: FastAPI, web: Web) -> None:
    """Attach the Secure and Notify pages."""
    @app.get("/secure")
    def secure(request: Request) -> Response:
        session, user = web.allowed(request, "read")
        found = collected(web.case)
        return web.render(request, "secure.html", user, session, hosts=hosts(web.case, found), collected=found)

    @app.get("/notify")
    def notify(request: Request) -> Response:
        session, user = web.allowed(request, "read")
        lines, counts, by_day = delivery(web.case)
        states = people_by_state(web.case)
        return web.render(request, "notify.html", user, session, lines=lines, counts=counts, manual=manual(web.case),
                          today=web.clock().date(), states=states, map_svg=plots.states_svg(states),
                          delivery_svg=plots.bars_svg(by_day, "notices done per day"))

    @app.post("/notify/{notice_id}/mark-sent")
    async def mark_sent(request: Request, notice_id: str) -> Response:
        user, form = await web.form(request, "change")
        web.write(user, lambda: outbox.mark_sent(web.case, notice_id, form.get("how", ""), form.get("ref", "")))
        return RedirectResponse("/notify", 303)


def manual(case: Case) -> list[dict[str, Any]]:
    """Notices to regulators, bureaus and media not yet sent: someone sends them by hand and marks them here."""
    with Session(case.engine) as session:
        rows = session.execute(select(NoticeRow.id, NoticeRow.audience, NoticeRow.recipient, NoticeRow.channel,
                                      NoticeRow.status)
                               .where(NoticeRow.audience != "individuals", NoticeRow.channel != "email",
                                      NoticeRow.status.not_in(delivery_status.DONE)).order_by(NoticeRow.id)
                               ).mappings().all()
    return [dict(row) for row in rows]


def hosts(case: Case, collected: Counter[str]) -> list[dict[str, Any]]:
    """Hosts from the latest sweep report, ranked, with their isolation state and evidence collected there."""
    reports = case.evidence_items("sweep-report")
    if not reports:
        return []
    try:
        doc = json.loads(reports[-1].path.read_bytes())
    except (OSError, ValueError):
        return []
    contain = [e for e in pages.entries(case, "secure.") if e.action != "secure.sweep"]
    findings = {h["host"]: h["findings"] for h in doc.get("hosts", [])}
    return [{**r, "details": findings.get(r["host"], []), "isolation": containment.state_of(contain, r["host"]),
             "evidence": sum(n for source, n in collected.items() if source.startswith(f"{r['host']}:"))}
            for r in doc.get("ranking", [])]


def collected(case: Case) -> Counter[str]:
    """Evidence items registered per source (host or tool)."""
    with Session(case.engine) as session:
        rows = session.execute(select(EvidenceRow.source, func.count()).where(EvidenceRow.kind == "evidence")
                               .group_by(EvidenceRow.source)).all()
    return Counter({str(source): int(n) for source, n in rows})


Delivery = tuple[list[delivery_status.Line], dict[str, int], list[tuple[str, int]]]
_DELIVERY: dict[tuple[str, Any], Delivery] = {}


def delivery(case: Case) -> Delivery:
    """Notice duties by deadline, counts by status, and notices done per day (kept while the outbox is unchanged)."""
    with Session(case.engine) as session:
        key = (str(case.root), tuple(session.execute(
            select(NoticeRow.status, func.count(), func.max(NoticeRow.done_at), func.sum(NoticeRow.attempts))
            .group_by(NoticeRow.status).order_by(NoticeRow.status)).all()))
    if key not in _DELIVERY:
        _DELIVERY.clear()
        _DELIVERY[key] = _delivery(case)
    return _DELIVERY[key]


def _delivery(case: Case) -> Delivery:
    with Session(case.engine) as session:
        rows = list(session.execute(select(NoticeRow.duties, NoticeRow.status, NoticeRow.channel,
                                           NoticeRow.audience, NoticeRow.person_id)).all())
        day = func.substr(NoticeRow.done_at, literal_column("1"), literal_column("10")).label("day")
        per_day = session.execute(select(day, func.count()).where(NoticeRow.done_at.is_not(None)).group_by(day)
                                  ).all()
    lines = delivery_status.summarise(rows)  # type: ignore[arg-type]  # rows carry the fields it reads
    counts = Counter(r.status for r in rows)
    return lines, dict(counts), sorted((str(d), int(n)) for d, n in per_day)


def people_by_state(case: Case) -> dict[str, int]:
    """People in scope per US state, from the latest scope's people list (counts only)."""
    items = case.evidence_items("notify-people")
    return _states_in(items[-1].path, items[-1].sha256) if items else {}


@lru_cache(maxsize=8)
def _states_in(path: Path, sha256: str) -> dict[str, int]:
    # A case document never changes (its hash is its name), so its counts are read once.
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return {}
    reader = csv.DictReader(io.StringIO(text))
    names = ("state", "region", "residence", "jurisdiction")
    column = next((c for c in (reader.fieldnames or []) if c.lower() in names), None)
    return dict(Counter((row.get(column) or "?").upper()[:2] for row in reader)) if column else {}


def snapshot_timeline(case: Case) -> list[dict[str, Any]]:
    """The latest review's snapshots, oldest first, with verdict and the findings first seen in each."""
    reviews = [r for r in case.evidence_items("review") if r.name.endswith(".json")]
    if not reviews:
        return []
    try:
        doc = json.loads(reviews[-1].path.read_bytes())
    except (OSError, ValueError):
        return []
    first: dict[str, dict[str, list[str]]] = {}
    for f in doc.get("findings", []):
        first.setdefault(f.get("first_seen", ""), {}).setdefault(str(f.get("kind")), []).append(str(f.get("path")))
    snaps = sorted(doc.get("snapshots", []), key=lambda s: s.get("time", ""))
    return [{"id": s["id"][:8], "first": [_summary(k, paths) for k, paths in first.get(s["id"], {}).items()],
             "time": s.get("time", "")[:16], "verdict": s.get("verdict", "?"),
             "paths": ", ".join(s.get("paths", [])),
             "last_clean": s["id"] == doc.get("last_clean")} for s in snaps]


def _summary(kind: str, paths: list[str]) -> str:
    shown = ", ".join(p.rsplit("/", 1)[-1] for p in paths[:3])
    return f"{kind}: {len(paths)} file{'s' if len(paths) != 1 else ''} ({shown}{', ...' if len(paths) > 3 else ''})"
