"""Sessions live in the case store: they survive a restart, end at logout, expiry and disabling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import text

from aftermath.case import Case
from aftermath.web import pages, sessions, users
from aftermath.web.app import COOKIE, create_app
from tests.web.conftest import csrf_of, login

START = datetime(2026, 12, 1, 8, tzinfo=UTC)


def _restarted(case: Case, cookie: str, now: list[datetime] | None = None) -> TestClient:
    """A new app (as after a restart of the server) over the same store, reopened, and the browser's cookie."""
    clock = (lambda: now[0]) if now else pages.now
    client = TestClient(create_app(Case.open(case.root), clock=clock))
    client.cookies.set(COOKIE, cookie)
    return client


def _stored(case: Case) -> list[tuple[str, ...]]:
    with case.engine.connect() as conn:
        return [tuple(str(v) for v in row) for row in conn.execute(text("SELECT * FROM web_sessions"))]


def test_a_session_survives_a_restart_and_only_its_hash_is_stored(both_stores_case: Case):
    client = login(TestClient(create_app(both_stores_case)), "rae")
    cookie = client.cookies[COOKIE]
    token = csrf_of(client, "/consult")
    stored = _stored(both_stores_case)
    assert len(stored) == 1
    assert not any(cookie in value or token in value for value in stored[0])  # neither the token nor the CSRF
    assert sessions.token_hash(cookie) in stored[0]

    after = _restarted(both_stores_case, cookie)
    page = after.get("/consult", follow_redirects=False)
    assert page.status_code == 200 and "rae (responder)" in page.text
    # The same CSRF token still works after the restart: a task added by the restarted server, under rae.
    assert after.post("/consult/task", data={"title": "Still logged in", "csrf": token},
                      follow_redirects=False).status_code == 303
    assert both_stores_case.entries("consult.task")[-1].actor == "rae"


def test_logout_deletes_the_session_everywhere(both_stores_case: Case):
    client = login(TestClient(create_app(both_stores_case)), "lee")
    cookie = client.cookies[COOKIE]
    assert client.post("/logout", data={"csrf": csrf_of(client)}, follow_redirects=False).status_code == 303
    assert _stored(both_stores_case) == []
    assert [e.actor for e in both_stores_case.entries("web.logout")] == ["lee"]
    response = _restarted(both_stores_case, cookie).get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"


def test_an_idle_session_expires_across_a_restart(both_stores_case: Case):
    now = [START]
    client = login(TestClient(create_app(both_stores_case, clock=lambda: now[0])), "lee")
    cookie = client.cookies[COOKIE]
    now[0] = START + timedelta(hours=7)
    assert _restarted(both_stores_case, cookie, now).get("/", follow_redirects=False).status_code == 200
    now[0] = START + timedelta(hours=14)  # seen at 7 h: idle only 7 h
    assert _restarted(both_stores_case, cookie, now).get("/", follow_redirects=False).status_code == 200
    now[0] = START + timedelta(hours=22, minutes=1)
    response = _restarted(both_stores_case, cookie, now).get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert _stored(both_stores_case) == []  # the expired row is gone


def test_disabling_a_user_ends_their_sessions_but_not_others(both_stores_case: Case):
    vic = login(TestClient(create_app(both_stores_case)), "vic")
    lee = login(TestClient(create_app(both_stores_case)), "lee")
    users.disable(both_stores_case, "vic")
    assert len(_stored(both_stores_case)) == 1
    response = _restarted(both_stores_case, vic.cookies[COOKIE]).get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert _restarted(both_stores_case, lee.cookies[COOKIE]).get("/").status_code == 200


def test_last_seen_is_written_at_most_once_a_minute(web_case: Case):
    session, row = sessions.new("lee", START)
    web_case.write("web.login", "lee", rows=[row])
    seen = sessions.find(web_case, session.token, START + timedelta(seconds=30))
    assert seen is not None and seen.last_seen == START and seen.csrf == session.csrf
    seen = sessions.find(web_case, session.token, START + timedelta(minutes=2))
    assert seen is not None and seen.last_seen == START + timedelta(minutes=2)
    assert sessions.find(web_case, "not a token", START) is None
    assert sessions.find(web_case, None, START) is None
