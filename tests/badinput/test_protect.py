"""``protect`` with a locked source, a time in the future, a file that is no database, two runs at once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.badinput.conftest import journal_length, one_line_error
from tests.conftest import run_cli
from tests.integration.protect.conftest import make_db


def _actions(root: Path) -> list[str]:
    con = sqlite3.connect(root / "case.db")
    try:
        return [r[0] for r in con.execute("SELECT action FROM journal ORDER BY seq")]
    finally:
        con.close()


@pytest.fixture()
def sqlite_case(case_root: Path, tmp_path: Path) -> Path:
    """A case with one SQLite source, an initialised repository, and a short lock timeout."""
    make_db(tmp_path / "app.db")
    assert run_cli("--case", str(case_root), "protect", "add", "app", "--sqlite", str(tmp_path / "app.db")).code == 0
    assert run_cli("--case", str(case_root), "protect", "init").code == 0
    config = case_root / "aftermath.toml"
    config.write_text(config.read_text().replace("lock_timeout_seconds = 30.0", "lock_timeout_seconds = 2"))
    return case_root


@contextmanager
def _locked(db: Path) -> Iterator[None]:
    """The source database held under an exclusive lock by the test, as a busy application would.

    SQLite's locks are POSIX locks: the test must not open and close the file itself meanwhile.
    """
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    con.execute("INSERT INTO orders (customer, total) VALUES (1, 1.0)")
    try:
        yield
    finally:
        con.execute("ROLLBACK")
        con.close()


def _staged(root: Path) -> list[Path]:
    return list((root / ".aftermath" / "tmp").glob("*.sqlite")) if (root / ".aftermath" / "tmp").is_dir() else []


def test_a_locked_sqlite_source_times_out_with_one_line_and_leaves_no_copy(sqlite_case: Path, tmp_path: Path) -> None:
    before = (tmp_path / "app.db").read_bytes()  # read first: closing any descriptor drops this process's locks
    with _locked(tmp_path / "app.db"):
        started = time.monotonic()
        line = one_line_error(run_cli("--case", str(sqlite_case), "protect", "run", timeout=60), 7)
    assert "stayed locked" in line and time.monotonic() - started < 30
    assert _staged(sqlite_case) == []
    assert "protect.snapshot" not in _actions(sqlite_case)
    assert (tmp_path / "app.db").read_bytes() == before  # opened read-only: nothing written to it


def _start_run(root: Path) -> subprocess.Popen[bytes]:
    src = str(Path(__file__).resolve().parents[2] / "src")
    return subprocess.Popen([sys.executable, "-m", "aftermath", "--case", str(root), "protect", "run"],
                            env={**os.environ, "PYTHONPATH": src}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for(predicate: object, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_two_runs_at_once_the_second_is_refused_and_names_the_first(sqlite_case: Path, tmp_path: Path) -> None:
    config = sqlite_case / "aftermath.toml"
    config.write_text(config.read_text().replace("lock_timeout_seconds = 2", "lock_timeout_seconds = 20"))
    with _locked(tmp_path / "app.db"):
        first = _start_run(sqlite_case)
        try:
            _wait_for(lambda: _staged(sqlite_case))  # the first holds the case lock and waits on the source
            line = one_line_error(run_cli("--case", str(sqlite_case), "protect", "run"), 10)
            assert f"process {first.pid}" in line and "protect run" in line
        finally:
            first.send_signal(signal.SIGTERM)
            first.wait(30)
    assert _staged(sqlite_case) == []  # SIGTERM cleans up as Ctrl-C does


def test_a_killed_run_leaves_a_copy_that_the_next_run_removes(sqlite_case: Path, tmp_path: Path) -> None:
    with _locked(tmp_path / "app.db"):
        run = _start_run(sqlite_case)
        try:
            _wait_for(lambda: _staged(sqlite_case))
        finally:
            run.kill()
            run.wait(30)
    assert _staged(sqlite_case)
    result = run_cli("--case", str(sqlite_case), "protect", "run")
    assert result.code == 0, result.err
    assert _staged(sqlite_case) == []


def test_a_time_in_the_future_is_refused_before_any_work(sqlite_case: Path) -> None:
    entries = journal_length(sqlite_case)
    line = one_line_error(run_cli("--case", str(sqlite_case), "protect", "run", "--time", "2999-01-01"), 2)
    assert "in the future" in line and journal_length(sqlite_case) == entries


@pytest.mark.parametrize(("content", "says"), [(b"id,name\n1,Ada\n", "not a SQLite database"),
                                               (None, "does not exist")])
def test_a_file_that_is_no_sqlite_database_is_refused_at_add(case_root: Path, tmp_path: Path,
                                                             content: bytes | None, says: str) -> None:
    target = tmp_path / "customers.csv"
    if content is not None:
        target.write_bytes(content)
    entries = journal_length(case_root)
    line = one_line_error(run_cli("--case", str(case_root), "protect", "add", "c", "--sqlite", str(target)), 2)
    assert says in line and journal_length(case_root) == entries
