"""The right advice for the cause: a SQLite file has no server, a plan from another case is not approved here."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.badinput.conftest import journal_length, new_case, one_line_error
from tests.conftest import run_cli


def test_a_sqlite_scope_source_that_is_no_database_is_not_told_about_a_server(tmp_path: Path) -> None:
    (tmp_path / "crm.db").write_text("hello\n")
    line = one_line_error(run_cli("notify", "scope", "-s", f"sqlite:///{tmp_path / 'crm.db'}",
                                  "--out", str(tmp_path / "people.csv"), cwd=tmp_path), 7)
    assert "not a SQLite database" in line and "server" not in line
    assert not (tmp_path / "people.csv").exists()


def test_a_locked_sqlite_scope_source_says_it_is_locked(tmp_path: Path) -> None:
    con = sqlite3.connect(tmp_path / "crm.db", isolation_level=None)
    con.execute("CREATE TABLE customers (name TEXT, email TEXT)")
    con.execute("BEGIN EXCLUSIVE")
    try:
        line = one_line_error(run_cli("notify", "scope", "-s", f"sqlite:///{tmp_path / 'crm.db'}",
                                      "--out", str(tmp_path / "people.csv"), cwd=tmp_path, timeout=120), 7)
    finally:
        con.execute("ROLLBACK")
        con.close()
    assert "locked" in line and "server" not in line


def test_a_plan_from_another_case_is_not_approved_here_not_a_wrong_password(case_root: Path, tmp_path: Path) -> None:
    other = new_case(tmp_path / "other")
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"format": "aftermath-restore-plan/1", "strategy": "last-clean",
                                "repository": str(other / "backups"), "created": "2026-11-30T00:00:00Z",
                                "entries": [], "snapshots": []}))
    entries = journal_length(case_root)
    result = run_cli("--case", str(case_root), "restore", "apply", str(plan), "--to", str(tmp_path / "staging"))
    line = one_line_error(result, 10)
    assert "not approved in this case" in line and "password" not in line
    assert journal_length(case_root) == entries
