"""The commands as a user runs them, with the bad input the issue lists: one clear line, nothing half-written."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import event

from aftermath.case import Case
from aftermath.consult import output
from aftermath.errors import StateError
from tests.conftest import run_cli


def one_line(err: str) -> bool:
    return err.strip().count("\n") == 0 and err.startswith("aftermath: error:") and "Traceback" not in err


def test_consultation_from_the_command_line(worked: Case, tmp_path: Path):
    env = {"AFTERMATH_CASE": str(worked.root)}
    assert run_cli("consult", "contact", "Blue Harbor IR", "--role", "ir-firm", "--engaged", "now", env=env).code == 0
    assert run_cli("consult", "task", "Collect firewall logs", "--owner", "Sam", "--due", "2026-11-01",
                   env=env).code == 0
    assert run_cli("consult", "note", "counsel call at 10:00", "--privileged", env=env).code == 0
    listed = run_cli("consult", "list", env=env)
    assert listed.code == 0 and "PAST DUE" in listed.out and "Blue Harbor IR" in listed.out
    assert "counsel call" not in listed.out and "privileged entries not shown" in listed.out
    report = tmp_path / "report.html"
    done = run_cli("report", "--out", str(report), env=env)
    assert done.code == 0 and "2 privileged entries left out" in done.out.replace("\n", " ")
    assert "2 privileged entries were left out" in report.read_text()
    assert run_cli("timeline", "--format", "csv", "--out", str(tmp_path / "t.csv"), env=env).code == 0
    assert (tmp_path / "t.csv").read_text().startswith("datetime,timestamp,timestamp_desc,message")
    exports = Case.open(worked.root).entries("consult.")
    assert [e.action for e in exports][-2:] == ["consult.report", "consult.timeline"]


def test_bad_input_is_one_line_and_writes_nothing(worked: Case, tmp_path: Path):
    env = {"AFTERMATH_CASE": str(worked.root)}
    out = tmp_path / "x.age"
    bad_key = run_cli("package", "--recipient", "not-a-key", "--out", str(out), env=env)
    assert bad_key.code == 2 and one_line(bad_key.err) and "age public key" in bad_key.err
    key = tmp_path / "k"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    public = subprocess.run(["age-keygen", "-y", str(key)], check=True, capture_output=True, text=True).stdout.strip()
    missing = run_cli("package", "--recipient", public, "--include", "99", "--out", str(out), env=env)
    assert missing.code == 2 and one_line(missing.err) and "no evidence item 99" in missing.err
    run_cli("consult", "privilege", "--evidence", "2", env=env)
    privileged = run_cli("package", "--recipient", public, "--include", "2", "--out", str(out), env=env)
    assert privileged.code == 2 and one_line(privileged.err) and "privileged" in privileged.err
    assert not out.exists() and not list(tmp_path.glob(".*.part"))
    empty = tmp_path / "empty"
    assert run_cli("init", str(empty)).code == 0
    no_events = run_cli("timeline", "--out", str(tmp_path / "t.jsonl"), env={"AFTERMATH_CASE": str(empty)})
    assert no_events.code == 10 and one_line(no_events.err) and "no events yet" in no_events.err
    assert not (tmp_path / "t.jsonl").exists()


def test_report_while_another_writer_holds_the_store(worked: Case, tmp_path: Path):
    out = tmp_path / "report.html"
    holder = sqlite3.connect(worked.root / "case.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        locked = run_cli("report", "--out", str(out), env={"AFTERMATH_CASE": str(worked.root)})
    finally:
        holder.execute("ROLLBACK")
    # opening the case already waits for the lock (case/core.py); past it, the report's own write does the same
    assert locked.code != 0 and one_line(locked.err) and "locked" in locked.err
    assert not out.exists() and not list(tmp_path.glob(".*.part"))


def test_export_journaled_under_a_lock_leaves_no_file(worked: Case, tmp_path: Path):
    @event.listens_for(worked.engine, "connect")
    def _short_wait(dbapi_conn: object, _record: object) -> None:  # after the store's own 30 s: keep the test fast
        dbapi_conn.execute("PRAGMA busy_timeout=300")  # type: ignore[attr-defined]

    worked.engine.dispose()
    out = tmp_path / "report.html"
    holder = sqlite3.connect(worked.root / "case.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StateError, match="locked by another writer"):
            output.publish(worked, out, lambda fh: fh.write("<html>"), "consult.report", "report.html", {})
    finally:
        holder.execute("ROLLBACK")
    assert not out.exists() and not list(tmp_path.glob(".*.part"))
    assert worked.entries("consult.report") == []


def test_case_verify_names_changed_and_vanished_evidence(worked: Case):
    env = {"AFTERMATH_CASE": str(worked.root)}
    assert run_cli("case", "verify", env=env).code == 0
    changed, gone = worked.evidence(1).path, worked.evidence(2).path
    os.chmod(changed, 0o600)
    changed.write_bytes(b"edited")
    gone.unlink()
    result = run_cli("case", "verify", env=env)
    assert result.code == 1
    assert "Evidence 1 changed" in result.out and "Evidence 2 missing" in result.out
    assert "Journal intact" in result.out and "0 of 2 match" in result.out
