"""A dashboard served on loopback over a case the demo built, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import io
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from rich.console import Console
from sqlalchemy import MetaData, text

from aftermath.case import Case
from aftermath.case.core import migrate
from aftermath.case.store import make_engine
from aftermath.demo.story import play
from aftermath.demo.world import World
from aftermath.web import users
from aftermath.web.app import create_app
from tests.web.conftest import store_url

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "a long demo password"
ROLES = {"lee": "lead", "rae": "responder", "cora": "counsel", "vic": "viewer"}


@pytest.fixture(scope="package")
def played(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the demo's whole story (SQLite store), played once for the browser tests, with one user per role.

    $AFTERMATH_E2E_DEMO names the folder of a demo already played ('aftermath demo --dir DIR'): a copy of it is
    used instead, which saves the minutes the story takes when working on the dashboard.
    """
    played = os.environ.get("AFTERMATH_E2E_DEMO")
    root = tmp_path_factory.mktemp("demo") / "riverside"
    if played:
        shutil.copytree(played, root, symlinks=True)
        case = Case.open(root / "case")
    else:
        case = Case.open(play(World(root), Console(file=io.StringIO())).case_dir)
    for name, role in ROLES.items():
        users.add(case, name, role, PASSWORD)
    case.engine.dispose()
    return root


@pytest.fixture(scope="package", params=["sqlite", "postgresql"])
def demo_case(request: pytest.FixtureRequest, played: Path, tmp_path_factory: pytest.TempPathFactory) -> Case:
    """A fresh copy of the played demo case for each store: as played (SQLite), or its store copied into a
    database of the PostgreSQL test server (the case's folder, evidence and repository copied alike)."""
    root = tmp_path_factory.mktemp(f"case-{request.param}") / "riverside"
    shutil.copytree(played, root, symlinks=True)
    url = store_url(request, "e2e")
    if url:
        copy_store(Case.open(root / "case"), url)
    case = Case.open(root / "case")
    assert case.engine.dialect.name == request.param
    return case


def copy_store(case: Case, url: str) -> None:
    """Copy every row of the case's store into the empty database at ``url`` and point the case at it."""
    target = make_engine(url)
    migrate(target)  # the same schema, made by the same migrations
    source_meta, target_meta = MetaData(), MetaData()
    source_meta.reflect(case.engine)
    target_meta.reflect(target)
    with case.engine.connect() as src, target.begin() as dst:
        for table in source_meta.sorted_tables:
            if table.name == "alembic_version":
                continue
            rows = [dict(r._mapping) for r in src.execute(table.select())]
            if rows:
                dst.execute(target_meta.tables[table.name].insert(), rows)
            for column in table.primary_key.columns:  # explicit ids were inserted: move the sequences past them
                sequence = dst.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                       {"t": table.name, "c": column.name}).scalar()
                if sequence and rows:
                    dst.execute(text("SELECT setval(:s, :v)"),
                                {"s": sequence, "v": max(r[column.name] for r in rows)})
    target.dispose()
    case.engine.dispose()
    case.config.case.db = url
    case.save_config()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="package")
def server(demo_case: Case) -> Iterator[str]:
    """The dashboard on a free loopback port, in a thread of the test process."""
    port = _free_port()
    config = uvicorn.Config(create_app(demo_case), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "the dashboard did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="package")
def browser(played: Path) -> Iterator[object]:
    # After the demo: Playwright's sync API keeps an event loop in this thread, and the demo's sweep needs one.
    # Package scope: the loop ends with the browser tests, so later tests (asyncio.run in SMTP, SSH) still work.
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: run scripts/system-deps.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture()
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: $AFTERMATH_SCREENSHOTS (docs/ when refreshing them), else a temporary folder."""
    folder = Path(os.environ.get("AFTERMATH_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
