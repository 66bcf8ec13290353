"""The dashboard's FastAPI application: a thin face over the case's own functions.

Every request is checked on the server: a session (else the login page), the role's permission for what
the request does, and for every POST the session's CSRF token. Writes go through the packages' functions
inside :func:`acting_as`, so the journal names the logged-in person.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException

from aftermath.case.core import Case, acting_as
from aftermath.consult import records
from aftermath.errors import AftermathError, UsageError
from aftermath.web import auth, pages, sessions, users
from aftermath.web import routes as page_routes
from aftermath.web.auth import Denied

HERE = Path(__file__).parent
COOKIE = "aftermath_session"
LOGIN_COOKIE = "aftermath_login"


class Web:
    """What the routes share: the case, the sessions, the templates, the clock and the cookie policy."""

    def __init__(self, case: Case, secure_cookie: bool, clock: Callable[[], datetime]) -> None:
        self.case = case
        self.throttle = auth.Throttle()
        self.chain = pages.ChainState()
        self.secure_cookie = secure_cookie
        self.clock = clock
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        # The first full check of a long chain takes seconds: done in the background, pages say so meanwhile.
        threading.Thread(target=pages.verify_chain, args=(case, self.chain), daemon=True,
                         name="verify-journal").start()

    def user(self, request: Request) -> tuple[sessions.Session, users.User]:
        """The logged-in session and user, or a redirect to the login page."""
        session = sessions.find(self.case, request.cookies.get(COOKIE), self.clock())
        user = users.get(self.case, session.user) if session else None
        if session is None or user is None or user.disabled:
            raise HTTPException(303, "log in first", headers={"Location": "/login"})
        if user.must_change and request.url.path != "/password":
            raise HTTPException(303, "set your own password first", headers={"Location": "/password"})
        return session, user

    def allowed(self, request: Request, what: str) -> tuple[sessions.Session, users.User]:
        """The session and user when the role allows ``what``; 403 otherwise."""
        session, user = self.user(request)
        if not user.may(what):
            raise Denied(f"the {user.role} role may not do this")
        return session, user

    async def form(self, request: Request, what: str) -> tuple[users.User, dict[str, str]]:
        """A POST's form after checking the role and the CSRF token."""
        session, user = self.allowed(request, what)
        form = {k: str(v) for k, v in (await request.form()).items()}
        if not auth.same(form.get("csrf"), session.csrf):
            raise Denied("the form's security token is missing or wrong: reload the page and try again")
        return user, form

    def write(self, user: users.User, action: Callable[[], Any]) -> Any:
        """Run a write of the packages under the user's name."""
        with acting_as(user.name):
            return action()

    def privileged_file(self, user: users.User) -> tuple[records.File, bool]:
        """The consultation file and whether this user may see its privileged part."""
        return records.load(self.case), user.may("privileged")

    def render(self, request: Request, name: str, user: users.User | None, session: sessions.Session | None,
               status: int = 200, **context: Any) -> HTMLResponse:
        """A page from its template with the user, the CSRF token and the case's name."""
        context |= {"me": user, "csrf": session.csrf if session else "", "case_name": self.case.config.case.name,
                    "path": request.url.path}
        return self.templates.TemplateResponse(request, name, context, status_code=status)


def create_app(case: Case, secure_cookie: bool = False, clock: Callable[[], datetime] = pages.now) -> FastAPI:
    """The dashboard over ``case``."""
    app = FastAPI(title="Aftermath", docs_url=None, redoc_url=None, openapi_url=None)
    web = Web(case, secure_cookie, clock)
    app.state.web = web
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    _errors(app, web)
    _login_routes(app, web)
    page_routes.register(app, web)
    return app


def _errors(app: FastAPI, web: Web) -> None:
    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 303:
            return RedirectResponse(str((exc.headers or {}).get("Location", "/login")), 303)
        return web.render(request, "error.html", None, None, exc.status_code, code=exc.status_code,
                          message=str(exc.detail))

    @app.exception_handler(AftermathError)
    async def _refused(request: Request, exc: AftermathError) -> Response:
        return web.render(request, "error.html", None, None, 400, code=400, message=exc.message)


def _login_routes(app: FastAPI, web: Web) -> None:
    @app.get("/login")
    def login_page(request: Request) -> Response:
        token = auth.new_token()
        response = web.render(request, "login.html", None, None, login_csrf=token, error="")
        _cookie(web, response, LOGIN_COOKIE, token)
        return response

    @app.post("/login")
    async def login(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        if not auth.same(form.get("csrf"), request.cookies.get(LOGIN_COOKIE)):
            raise Denied("the form's security token is missing or wrong: reload the login page")
        name, now = form.get("username", ""), web.clock()
        keys = [f"addr:{request.client.host if request.client else '?'}", f"user:{name}"]
        wait = web.throttle.blocked_for(keys, now)
        if wait:
            return _login_again(request, web, f"too many failed attempts: wait {int(wait.total_seconds()) + 1} s",
                                429)
        user = users.authenticate(web.case, name, form.get("password", ""))
        if user is None:
            return _failed(request, web, keys, name, now)
        web.throttle.succeeded(keys)
        sessions.forget_expired(web.case, now)
        session, row = sessions.new(user.name, now)
        web.case.write("web.login", user.name, {"role": user.role, "address": keys[0][5:]}, rows=[row],
                       who=user.name)
        response = RedirectResponse("/", 303)
        _cookie(web, response, COOKIE, session.token)
        response.delete_cookie(LOGIN_COOKIE)
        return response

    @app.get("/password")
    def password_page(request: Request) -> Response:
        session, user = web.user(request)
        return web.render(request, "password.html", user, session, error="")

    @app.post("/password")
    async def password(request: Request) -> Response:
        user, form = await web.form(request, "read")
        if form.get("new", "") != form.get("again", ""):
            raise UsageError("the two new passwords differ: type the same one twice")
        if users.authenticate(web.case, user.name, form.get("current", "")) is None:
            raise Denied("the current password is wrong")
        web.write(user, lambda: users.change_password(web.case, user, form.get("new", "")))
        return RedirectResponse("/", 303)

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        user, _form = await web.form(request, "read")
        sessions.end(web.case, request.cookies.get(COOKIE))
        web.case.write("web.logout", user.name, {}, who=user.name)
        response = RedirectResponse("/login", 303)
        response.delete_cookie(COOKIE)
        return response

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return FileResponse(HERE / "static" / "favicon.svg", media_type="image/svg+xml")


def _failed(request: Request, web: Web, keys: list[str], name: str, now: datetime) -> Response:
    count = web.throttle.failed(keys, now)
    if count == auth.LOCK_AFTER:
        web.case.write("web.login.locked", name[:100], {"address": keys[0][5:], "failures": count,
                                                        "minutes": int(auth.LOCK_FOR.total_seconds() // 60)})
    return _login_again(request, web, "wrong user name or password", 401)


def _login_again(request: Request, web: Web, error: str, status: int) -> Response:
    token = auth.new_token()
    response = web.render(request, "login.html", None, None, status, login_csrf=token, error=error)
    _cookie(web, response, LOGIN_COOKIE, token)
    return response


def _cookie(web: Web, response: Response, name: str, value: str) -> None:
    response.set_cookie(name, value, httponly=True, samesite="strict", secure=web.secure_cookie, path="/")
