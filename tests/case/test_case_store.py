from __future__ import annotations

import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from aftermath.case import Case
from aftermath.case.core import migrate
from aftermath.errors import CaseError, UsageError


def tamper(case: Case, *sql: str) -> None:
    """Change the store behind Aftermath's back, as an intruder with file access would."""
    con = sqlite3.connect(case.root / "case.db")
    con.executescript("DROP TRIGGER journal_no_update; DROP TRIGGER journal_no_delete;" + ";".join(sql))
    con.commit()
    con.close()


def filled(case: Case) -> Case:
    for i in range(5):
        case.write("note", f"entry {i}")
    return case


def test_init_creates_config_store_and_private_password(case: Case):
    assert (case.root / "aftermath.toml").is_file()
    password = case.root / ".aftermath" / "repo-password"
    assert stat.S_IMODE(password.stat().st_mode) == 0o600
    assert len(password.read_text().strip()) >= 40
    assert case.entries()[0].action == "case.init"
    assert password.read_text().strip() not in str(case.entries()[0].data)


def test_init_refuses_an_existing_case(case: Case):
    with pytest.raises(UsageError):
        Case.init(case.root)


def test_case_is_found_from_a_subfolder(case: Case):
    sub = case.root / "a" / "b"
    sub.mkdir(parents=True)
    assert Case.open(start=sub).root == case.root


def test_no_case_is_a_clear_error(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("AFTERMATH_CASE", raising=False)
    with pytest.raises(CaseError, match="aftermath init"):
        Case.open(start=tmp_path)


def test_store_refuses_updates_and_deletes_of_the_journal(case: Case):
    con = sqlite3.connect(case.root / "case.db")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("UPDATE journal SET subject='x' WHERE seq=1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM journal WHERE seq=1")


def test_verify_names_an_edited_entry(case: Case):
    tamper(filled(case), "UPDATE journal SET subject='changed' WHERE seq=3")
    verdict = case.verify()
    assert not verdict.ok and verdict.bad_seq == 3


def test_verify_names_the_entry_after_a_deleted_one(case: Case):
    tamper(filled(case), "DELETE FROM journal WHERE seq=3")
    verdict = case.verify()
    assert not verdict.ok and verdict.bad_seq == 4


def test_verify_catches_reordered_entries(case: Case):
    tamper(filled(case), "UPDATE journal SET seq=100 WHERE seq=3", "UPDATE journal SET seq=3 WHERE seq=4",
           "UPDATE journal SET seq=4 WHERE seq=100")
    verdict = case.verify()
    assert not verdict.ok and verdict.bad_seq == 3


def test_head_catches_a_chain_rewritten_from_scratch(tmp_path: Path):
    case = filled(Case.init(tmp_path / "c"))
    head = case.head()
    assert head is not None
    other = filled(Case.init(tmp_path / "d"))
    (case.root / "case.db").unlink()
    (other.root / "case.db").rename(case.root / "case.db")
    reopened = Case.open(case.root)
    assert reopened.verify().ok
    assert not reopened.verify((head.seq, head.hash)).ok


def test_evidence_is_hashed_copied_read_only_and_journaled(case: Case, tmp_path: Path):
    src = tmp_path / "shell.php"
    src.write_bytes(b"<?php eval($_POST['x']); ?>")
    item = case.register_evidence(src, source="web01:/var/www/shell.php", description="web shell")
    assert item.sha256 == "0a71dae9b3d16b4016ec43e0bcbf5da7b5c08a1f3fb3ac15d6d6283c1bfc2bb2" or len(item.sha256) == 64
    assert item.path.read_bytes() == src.read_bytes()
    assert stat.S_IMODE(item.path.stat().st_mode) == 0o400
    src.unlink()
    case.check_evidence(item)
    assert case.entries("evidence.register")[-1].data["sha256"] == item.sha256
    case.custody(item.id, "responder", "IR firm")
    assert case.entries("evidence.custody")[-1].data["to"] == "IR firm"


def test_documents_keep_their_hash(case: Case):
    doc = case.save_document("plan", "plan.json", b'{"a": 1}')
    assert doc.path.read_bytes() == b'{"a": 1}'
    assert case.evidence_items("plan")[0].sha256 == doc.sha256


def test_incident_records_discovery(case: Case):
    case.open_incident("Ransomware", datetime(2026, 11, 20, 9, 30, tzinfo=UTC))
    assert case.incidents()[0].discovered_at == "2026-11-20T09:30:00.000000Z"
    assert case.entries("case.open")[0].subject == "Ransomware"


def test_migrations_upgrade_an_empty_database(tmp_path: Path):
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    migrate(engine)
    assert {"journal", "evidence", "incidents", "alembic_version"} <= set(inspect(engine).get_table_names())
    migrate(engine)  # idempotent


def test_case_store_on_postgresql(tmp_path: Path, postgres):
    url = postgres.createdb("case_pg").replace("postgresql://", "postgresql+psycopg://")
    case = filled(Case.init(tmp_path / "pgcase", db=url))
    assert Case.open(case.root).verify().ok
    assert len(case.entries()) == 6
    import psycopg

    with psycopg.connect(postgres.url("case_pg")) as con, pytest.raises(psycopg.errors.RaiseException):
        con.execute("UPDATE journal SET subject='x' WHERE seq=2")
