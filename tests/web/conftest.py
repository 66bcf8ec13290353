from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aftermath.case import Case
from aftermath.consult import records
from aftermath.recover.plan import Plan
from aftermath.recover.workflow import plan_bytes
from aftermath.web import users
from aftermath.web.app import create_app

PASSWORD = "correct horse battery"


@pytest.fixture()
def web_case(tmp_path: Path) -> Case:
    return build_case(tmp_path / "case")


def store_url(request: pytest.FixtureRequest, prefix: str) -> str | None:
    """The store of a test parametrized over "sqlite" (None: the default) and "postgresql" (a new database of
    the test server, through psycopg)."""
    if request.param == "sqlite":
        return None
    postgres = request.getfixturevalue("postgres")
    return str(postgres.createdb(f"{prefix}_{uuid.uuid4().hex[:8]}").replace("postgresql://", "postgresql+psycopg://"))


@pytest.fixture(params=["sqlite", "postgresql"])
def both_stores_case(request: pytest.FixtureRequest, tmp_path: Path) -> Case:
    """The web test case on SQLite, and on PostgreSQL as a team shares a case."""
    return build_case(tmp_path / "case", db=store_url(request, "web"))


def build_case(root: Path, db: str | None = None) -> Case:
    """Four users (one per role), a task, a privileged note and an unapproved restore plan."""
    case = Case.init(root, db=db)
    for name, role in [("lee", "lead"), ("rae", "responder"), ("cora", "counsel"), ("vic", "viewer")]:
        users.add(case, name, role, PASSWORD)
    records.add(case, "task", "Rotate the VPN keys", {"owner": "rae", "due": "2026-12-03"})
    records.add(case, "note", "Counsel's view on the SEC filing: hold", {}, privileged=True)
    plan = Plan("surgical", "/srv/backups", "2026-12-01T10:00:00+00:00")
    case.save_document("restore-plan", "plan-surgical.json", plan_bytes(plan))
    return case


def login(client: TestClient, name: str, password: str = PASSWORD) -> TestClient:
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    response = client.post("/login", data={"username": name, "password": password, "csrf": token},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


def csrf_of(client: TestClient, path: str = "/") -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)  # type: ignore[union-attr]


@pytest.fixture()
def client(web_case: Case) -> TestClient:
    return TestClient(create_app(web_case))
