"""The dashboard's pages and the forms they post; each calls one package function or one reader."""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from aftermath.consult import records, status
from aftermath.notify.delivery.status import DONE
from aftermath.recover import workflow
from aftermath.web import pages, plots, users, views
from aftermath.web.auth import Denied

if TYPE_CHECKING:
    from aftermath.web.app import Web


def register(app: FastAPI, web: Web) -> None:
    """Attach every page and form."""
    _overview(app, web)
    _journal(app, web)
    _evidence(app, web)
    _consult(app, web)
    _contacts_and_notes(app, web)
    _backups(app, web)
    views.register(app, web)


def _overview(app: FastAPI, web: Web) -> None:
    @app.get("/")
    def overview(request: Request) -> Response:
        session, user = web.allowed(request, "read")
        file, keep = web.privileged_file(user)
        tasks = file.of("task", keep)
        engaged = sum(1 for c in file.of("contact", keep) if c.body.get("engaged"))
        open_tasks = sum(1 for t in tasks if status.task_state(t) == "open")
        latest, total = pages.journal_page(web.case, file, keep, 1)
        verdict = pages.verify_chain(web.case, web.chain, wait=False)
        done = sum(n for state, n in views.delivery(web.case)[1].items() if state in DONE)
        return web.render(request, "overview.html", user, session,
                          steps=pages.steps(pages.action_counts(web.case, web.chain), open_tasks, engaged, done),
                          deadlines=pages.deadlines(web.case, file, keep, web.clock())[:8],
                          latest=latest[:10], total=total, verdict=verdict,
                          head=web.case.head(), now=web.clock())


def _journal(app: FastAPI, web: Web) -> None:
    @app.get("/journal")
    def journal(request: Request, page: int = 1, action: str = "", actor: str = "") -> Response:
        session, user = web.allowed(request, "read")
        file, keep = web.privileged_file(user)
        entries, total = pages.journal_page(web.case, file, keep, page, action, actor)
        last = max((total + pages.PAGE_SIZE - 1) // pages.PAGE_SIZE, 1)
        return web.render(request, "journal.html", user, session, entries=entries, total=total, page=page,
                          last=last, action=action, actor=actor,
                          verdict=pages.verify_chain(web.case, web.chain, wait=False),
                          head=web.case.head())


def _evidence(app: FastAPI, web: Web) -> None:
    @app.get("/evidence")
    def evidence(request: Request, page: int = 1) -> Response:
        session, user = web.allowed(request, "read")
        file, keep = web.privileged_file(user)
        items, last = pages.evidence(web.case, file, keep, page)
        return web.render(request, "evidence.html", user, session, items=items, page=page, last=last)

    @app.post("/evidence/{item_id}/download")
    async def download(request: Request, item_id: int) -> Response:
        user, _form = await web.form(request, "read")
        file, keep = web.privileged_file(user)
        if not keep and item_id in file.privileged_evidence:
            raise Denied("this item is privileged")
        item = web.case.evidence(item_id)
        web.write(user, lambda: web.case.write("evidence.download", f"evidence {item.id}",
                                               {"sha256": item.sha256, "name": item.name, "by": user.name}))
        return FileResponse(item.path, filename=item.name, media_type="application/octet-stream")


def _consult(app: FastAPI, web: Web) -> None:
    @app.get("/consult")
    def consult(request: Request) -> Response:
        session, user = web.allowed(request, "read")
        file, keep = web.privileged_file(user)
        return web.render(request, "consult.html", user, session, contacts=file.of("contact", keep),
                          tasks=file.of("task", keep), decisions=file.of("decision", keep),
                          notes=file.of("note", keep), task_state=status.task_state,
                          contact_roles=records.ROLES)

    @app.post("/consult/task")
    async def add_task(request: Request) -> Response:
        user, form = await web.form(request, "change")
        body = {"owner": form.get("owner") or None, "due": form.get("due") or None}
        web.write(user, lambda: records.add(web.case, "task", form.get("title", ""), body,
                                            privileged=_privileged(user, form)))
        return RedirectResponse("/consult", 303)

    @app.post("/consult/task/{record_id}/state")
    async def task_state(request: Request, record_id: int) -> Response:
        user, form = await web.form(request, "change")
        _visible(web, user, record_id)
        web.write(user, lambda: records.set_task_state(web.case, record_id, form.get("state", "done")))
        return RedirectResponse("/consult", 303)

    @app.post("/consult/decision")
    async def decision(request: Request) -> Response:
        user, form = await web.form(request, "change")
        body = {"rationale": form.get("rationale") or None, "made_by": form.get("made_by") or user.name,
                "decided": form.get("decided") or None}
        web.write(user, lambda: records.add(web.case, "decision", form.get("title", ""), body,
                                            privileged=_privileged(user, form)))
        return RedirectResponse("/consult", 303)


def _contacts_and_notes(app: FastAPI, web: Web) -> None:
    @app.post("/consult/contact")
    async def add_contact(request: Request) -> Response:
        user, form = await web.form(request, "change")
        engaged = web.clock().astimezone(UTC).isoformat(timespec="minutes") if form.get("engaged") == "on" else None
        body = {name: form.get(name) or None for name in records.FIELDS["contact"] if name != "engaged"}
        web.write(user, lambda: records.add_contact(web.case, form.get("title", ""), body | {"engaged": engaged},
                                                    privileged=_privileged(user, form)))
        return RedirectResponse("/consult", 303)

    @app.post("/consult/contact/{record_id}/notified")
    async def notified(request: Request, record_id: int) -> Response:
        user, _form = await web.form(request, "change")
        _visible(web, user, record_id)
        when = web.clock().astimezone(UTC).replace(second=0, microsecond=0)  # to the minute, as the CLI
        web.write(user, lambda: records.mark_notified(web.case, record_id, when))
        return RedirectResponse("/consult", 303)

    @app.post("/consult/note")
    async def add_note(request: Request) -> Response:
        user, form = await web.form(request, "change")
        web.write(user, lambda: records.add(web.case, "note", form.get("title", ""), {},
                                            privileged=_privileged(user, form)))
        return RedirectResponse("/consult", 303)


def _backups(app: FastAPI, web: Web) -> None:
    @app.get("/backups")
    def backups(request: Request) -> Response:
        session, user = web.allowed(request, "read")
        timeline = views.snapshot_timeline(web.case)
        return web.render(request, "backups.html", user, session, plans=pages.restore_plans(web.case),
                          timeline=timeline, svg=plots.timeline_svg(timeline))

    @app.post("/backups/plan/{item_id}/approve")
    async def approve(request: Request, item_id: int) -> Response:
        user, form = await web.form(request, "approve")
        item = web.case.evidence(item_id)
        if item.kind != "restore-plan":
            raise Denied("this item is not a restore plan")
        web.write(user, lambda: workflow.approve(web.case, item.path, form.get("note", "")))
        return RedirectResponse("/backups", 303)


def _privileged(user: users.User, form: dict[str, str]) -> bool:
    # Only someone who may see privileged material may mark a new record privileged.
    return form.get("privileged") == "on" and user.may("privileged")


def _visible(web: Web, user: users.User, record_id: int) -> None:
    file, keep = web.privileged_file(user)
    if not keep and any(r.id == record_id and r.privileged for r in file.records):
        raise Denied("this record is privileged")
