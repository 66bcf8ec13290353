from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aftermath.case import Case
from aftermath.errors import UsageError
from aftermath.web import auth, users
from aftermath.web.app import create_app
from aftermath.web.serving import check_listen
from tests.conftest import run_cli
from tests.web.conftest import PASSWORD, login


def test_pages_redirect_to_login_without_a_session(client: TestClient):
    for path in ("/", "/journal", "/evidence", "/consult", "/backups", "/secure", "/notify"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/login", path


def test_session_cookie_is_httponly_and_strict_and_secure_under_tls(web_case: Case):
    for secure in (False, True):
        client = TestClient(create_app(web_case, secure_cookie=secure), base_url="https://testserver")
        page = client.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        response = client.post("/login", data={"username": "lee", "password": PASSWORD, "csrf": token},
                               follow_redirects=False)
        cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("aftermath_session="))
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert ("Secure" in cookie) is secure


def test_login_without_its_token_is_refused(client: TestClient):
    client.get("/login")
    response = client.post("/login", data={"username": "lee", "password": PASSWORD})
    assert response.status_code == 403


def test_wrong_password_then_slowdown_then_lock_is_journaled(web_case: Case):
    now = [datetime(2026, 12, 1, 9, tzinfo=UTC)]
    client = TestClient(create_app(web_case, clock=lambda: now[0]))

    def attempt(password: str) -> int:
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore
        return client.post("/login", data={"username": "lee", "password": password, "csrf": token},
                           follow_redirects=False).status_code

    assert [attempt("wrong") for _ in range(3)] == [401, 401, 401]
    assert attempt(PASSWORD) == 429  # slowed down: even the right password waits
    for _ in range(auth.LOCK_AFTER - 3):
        now[0] += timedelta(minutes=2)  # past each wait
        assert attempt("wrong") == 401
    assert [e.subject for e in web_case.entries("web.login.locked")] == ["lee"]
    now[0] += timedelta(minutes=10)
    assert attempt(PASSWORD) == 429  # still locked
    now[0] += timedelta(minutes=6)
    assert attempt(PASSWORD) == 303  # the lock ends


def test_wait_grows_then_locks():
    waits = [auth.wait_after(n) for n in range(12)]
    assert waits[:3] == [timedelta(0)] * 3
    assert waits[3] < waits[4] < waits[5]
    assert waits[auth.LOCK_AFTER] == auth.LOCK_FOR == waits[11]


def test_disabled_user_cannot_log_in_and_is_logged_out(client: TestClient, web_case: Case):
    login(client, "vic")
    users.disable(web_case, "vic")
    assert client.get("/", follow_redirects=False).status_code == 303
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore
    assert client.post("/login", data={"username": "vic", "password": PASSWORD, "csrf": token}).status_code == 401


def test_login_is_journaled_under_the_user(client: TestClient, web_case: Case):
    login(client, "cora")
    assert [(e.actor, e.subject) for e in web_case.entries("web.login")] == [("cora", "cora")]


@pytest.mark.parametrize(("host", "tls", "insecure", "outcome"), [
    ("127.0.0.1", False, False, None), ("::1", False, False, None), ("localhost", False, False, None),
    ("0.0.0.0", False, False, "refuse"), ("192.0.2.1", False, True, "warn"), ("0.0.0.0", True, False, None),
])
def test_listen_rules(tmp_path: Path, host: str, tls: bool, insecure: bool, outcome: str | None):
    cert = key = None
    if tls:
        cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
        cert.write_text("x")
        key.write_text("x")
    if outcome == "refuse":
        with pytest.raises(UsageError, match="refusing to listen"):
            check_listen(host, cert, key, insecure)
        return
    warning = check_listen(host, cert, key, insecure)
    assert (warning is not None and "without TLS" in warning) == (outcome == "warn")


def test_serve_refuses_a_public_address_without_tls(web_case: Case):
    result = run_cli("--case", str(web_case.root), "serve", "--host", "0.0.0.0")
    assert result.code == 2 and "refusing to listen on 0.0.0.0" in result.err


def test_user_cli_adds_from_stdin_lists_and_disables(tmp_path: Path):
    case = Case.init(tmp_path / "c")
    import subprocess
    import sys

    src = str(Path(__file__).resolve().parents[2] / "src")
    proc = subprocess.run([sys.executable, "-m", "aftermath", "--case", str(case.root), "user", "add", "dana",
                           "--role", "lead"], input="a long enough secret\n", text=True, capture_output=True,
                          env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin", "AFTERMATH_ACTOR": "admin"})
    assert proc.returncode == 0, proc.stderr
    assert users.authenticate(case, "dana", "a long enough secret") is not None
    assert "a long enough secret" not in "".join(str(e.data) for e in case.entries())
    assert run_cli("--case", str(case.root), "user", "disable", "dana").code == 0
    listed = run_cli("--case", str(case.root), "user", "list")
    assert "dana" in listed.out and "disabled" in listed.out
    assert users.authenticate(case, "dana", "a long enough secret") is None
    assert [e.action for e in case.entries("web.user")] == ["web.user.add", "web.user.disable"]


def test_a_one_time_password_must_be_replaced_before_anything_else(web_case: Case):
    users.add(web_case, "dana", "lead", "one time password 1", one_time=True)
    client = TestClient(create_app(web_case))
    login(client, "dana", "one time password 1")
    response = client.get("/backups", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/password"
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/password").text).group(1)  # type: ignore
    bad = client.post("/password", data={"csrf": token, "current": "one time password 1", "new": "short",
                                         "again": "short"})
    assert bad.status_code == 400 and "too short" in bad.text
    ok = client.post("/password", data={"csrf": token, "current": "one time password 1",
                                        "new": "my own long password", "again": "my own long password"},
                     follow_redirects=False)
    assert ok.status_code == 303
    assert client.get("/backups").status_code == 200
    assert users.authenticate(web_case, "dana", "one time password 1") is None
    assert users.authenticate(web_case, "dana", "my own long password") is not None
    assert [e.actor for e in web_case.entries("web.user.password")] == ["dana"]


def test_serve_answers_on_loopback_and_sends_pages_to_the_login(web_case: Case):
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    src = str(Path(__file__).resolve().parents[2] / "src")
    proc = subprocess.Popen([sys.executable, "-m", "aftermath", "--case", str(web_case.root), "serve", "--port",
                             str(port)], env={**os.environ, "PYTHONPATH": src}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as response:  # follows to /login
                    body = response.read().decode()
                    break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()  # type: ignore
                time.sleep(0.2)
        assert response.url.endswith("/login") and 'name="username"' in body
        assert "htmx" in urllib.request.urlopen(f"http://127.0.0.1:{port}/static/htmx.min.js").read(200).decode()
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
