from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, inspect

from aftermath.case import Case
from aftermath.case.core import migrate
from aftermath.consult import records
from aftermath.errors import UsageError


def test_every_record_is_journaled_with_its_id(worked: Case):
    entries = worked.entries("consult.")
    assert [e.action for e in entries] == ["consult.contact", "consult.contact", "consult.task", "consult.decision",
                                           "consult.decision"]
    assert [e.data["record"] for e in entries] == [1, 2, 3, 4, 5]
    assert entries[-1].data["privileged"] is True
    assert worked.verify().ok


def test_task_state_is_appended_never_rewritten(worked: Case):
    records.set_task_state(worked, 3, "done")
    assert records.get(worked, 3).state["state"] == "done"
    records.set_task_state(worked, 3, "open")
    assert records.get(worked, 3).state["state"] == "open"
    assert [e.data["value"] for e in worked.entries("consult.update.state")] == ["done", "open"]
    with pytest.raises(UsageError, match="no task 4"):
        records.set_task_state(worked, 4, "done")  # 4 is a decision
    with pytest.raises(UsageError, match="unknown task state"):
        records.set_task_state(worked, 3, "finished")


def test_tables_refuse_update_and_delete(worked: Case):
    records.set_task_state(worked, 3, "done")
    con = sqlite3.connect(worked.root / "case.db")
    for sql in ("UPDATE consult_records SET privileged=0 WHERE id=5", "DELETE FROM consult_records",
                "DELETE FROM consult_updates", "UPDATE consult_updates SET value='open'"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute(sql)


def test_marking_privileged_adds_a_mark_and_keeps_the_entry(worked: Case):
    note = worked.write("note", "counsel asked for the firewall logs")
    before = [e.hash for e in worked.entries()]
    assert records.mark_privileged(worked, seq=note.seq) == f"journal:{note.seq}"
    assert records.mark_privileged(worked, record_id=4) == "record:4"
    assert records.mark_privileged(worked, evidence_id=1) == "evidence:1"
    file = records.load(worked)
    assert [e.hash for e in worked.entries()][: len(before)] == before  # nothing rewritten
    assert file.privileged_seqs == {note.seq} and file.privileged_evidence == {1}
    assert [r.id for r in file.records if r.privileged] == [4, 5]
    assert file.withheld() == 4
    assert records.is_privileged(note.seq, "note", note.data, file)
    with pytest.raises(UsageError, match="no journal entry 999"):
        records.mark_privileged(worked, seq=999)
    with pytest.raises(UsageError, match="no evidence item 99"):
        records.mark_privileged(worked, evidence_id=99)


def test_insurer_notice_is_recorded(worked: Case):
    records.mark_notified(worked, 1, datetime(2026, 11, 21, 10, 0, tzinfo=UTC))
    assert records.get(worked, 1).state["notified"] == "2026-11-21T10:00:00.000000Z"


def test_bad_records_are_refused(case: Case):
    with pytest.raises(UsageError, match="unknown record kind"):
        records.add(case, "memo", "x", {})
    with pytest.raises(UsageError, match="has no field colour"):
        records.add(case, "task", "x", {"colour": "red"})
    with pytest.raises(UsageError, match="needs a title"):
        records.add(case, "note", "  ", {})
    assert case.entries("consult.") == []


def test_migration_upgrades_a_case_made_before_consultation(tmp_path):
    from alembic import command
    from alembic.config import Config

    from aftermath.case.core import MIGRATIONS

    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    assert "consult_records" not in inspect(engine).get_table_names()
    migrate(engine)
    assert {"consult_records", "consult_updates"} <= set(inspect(engine).get_table_names())
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    assert "consult_records" not in inspect(create_engine(f"sqlite:///{tmp_path / 'old.db'}")).get_table_names()
