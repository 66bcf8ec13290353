"""The Secure and Notify pages and the snapshot timeline the Backups page draws."""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aftermath.case.core import Case
from aftermath.notify.delivery import status as delivery_status
from aftermath.notify.delivery.store import NoticeRow
from aftermath.secure.contain import state as containment
from aftermath.web import plots

if TYPE_CHECKING:
    from aftermath.web.app import Web


def register(app: FastAPI, web: Web) -> None:
    """Attach the Secure and Notify pages."""
    @app.get("/secure")
    def secure(request: Request) -> Response:
        session, user = web.allowed(request, "read")
        return web.render(request, "secure.html", user, session, hosts=hosts(web.case),
                          collected=Counter(e.data.get("source", "?") for e in web.case.entries("evidence.register")))

    @app.get("/notify")
    def notify(request: Request) -> Response:
        session, user = web.allowed(request, "read")
        lines, counts, by_day = delivery(web.case)
        states = people_by_state(web.case)
        return web.render(request, "notify.html", user, session, lines=lines, counts=counts,
                          today=web.clock().date(), states=states, map_svg=plots.states_svg(states),
                          delivery_svg=plots.bars_svg(by_day, "notices done per day"))


def hosts(case: Case) -> list[dict[str, Any]]:
    """Hosts from the latest sweep report, ranked, with their isolation state."""
    reports = case.evidence_items("sweep-report")
    if not reports:
        return []
    try:
        doc = json.loads(reports[-1].path.read_bytes())
    except (OSError, ValueError):
        return []
    contain = [e for e in case.entries("secure.") if e.action != "secure.sweep"]
    findings = {h["host"]: h["findings"] for h in doc.get("hosts", [])}
    return [{**r, "details": findings.get(r["host"], []), "isolation": containment.state_of(contain, r["host"])}
            for r in doc.get("ranking", [])]


def delivery(case: Case) -> tuple[list[delivery_status.Line], dict[str, int], list[tuple[str, int]]]:
    """Notice duties by deadline, counts by status, and notices done per day."""
    with Session(case.engine) as session:
        rows = list(session.execute(select(NoticeRow.duties, NoticeRow.status, NoticeRow.channel,
                                           NoticeRow.audience, NoticeRow.person_id)).all())
        per_day = session.execute(select(func.substr(NoticeRow.done_at, 1, 10), func.count())
                                  .where(NoticeRow.done_at.is_not(None)).group_by(func.substr(NoticeRow.done_at, 1, 10))
                                  ).all()
    lines = delivery_status.summarise(rows)  # type: ignore[arg-type]  # rows carry the fields it reads
    counts = Counter(r.status for r in rows)
    return lines, dict(counts), sorted((str(d), int(n)) for d, n in per_day)


def people_by_state(case: Case) -> dict[str, int]:
    """People in scope per US state, from the latest scope's people list (counts only)."""
    items = case.evidence_items("notify-people")
    if not items:
        return {}
    import csv
    import io

    try:
        text = items[-1].path.read_text(encoding="utf-8")
    except OSError:
        return {}
    reader = csv.DictReader(io.StringIO(text))
    column = next((c for c in (reader.fieldnames or []) if c.lower() in ("state", "residence", "jurisdiction")), None)
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
