"""protect end to end with the real restic binary, through the real CLI."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aftermath.case import Case
from aftermath.errors import UsageError
from aftermath.protect import backup, drill, records, schedule
from aftermath.protect import status as protect_status
from aftermath.protect.restic_cli import Restic
from tests.conftest import run_cli
from tests.integration.protect.conftest import Protected, make_db, make_share


def test_add_init_run_drill_status(tmp_path: Path):
    share, db = tmp_path / "share", tmp_path / "app.db"
    make_share(share, files=6)
    make_db(db, rows=10)
    assert run_cli("init", str(tmp_path / "c")).code == 0
    c = tmp_path / "c"
    assert run_cli("protect", "add", "share", "--path", str(share), cwd=c).code == 0
    assert run_cli("protect", "add", "customers", "--sqlite", str(db), cwd=c).code == 0
    listed = json.loads(run_cli("protect", "sources", "--json", cwd=c).out)
    assert [(s["name"], s["kind"]) for s in listed] == [("share", "path"), ("customers", "sqlite")]
    first = run_cli("protect", "init", cwd=c)
    assert first.code == 0 and "Created" in first.out
    again = run_cli("protect", "init", cwd=c)
    assert again.code == 0 and "Opened existing" in again.out
    ran = run_cli("protect", "run", "--time", "2024-05-01T10:00", cwd=c)
    assert ran.code == 0, ran.err
    case = Case.open(c)
    snaps = records.snapshots(case)
    assert {s.source for s in snaps} == {"share", "customers"}
    assert all(s.time.isoformat().startswith("2024-05-01T10:00") for s in snaps)
    # the manifest is a case document and the journal holds its hash
    share_rec = next(s for s in snaps if s.source == "share")
    manifest = records.load_manifest(case, share_rec)
    assert manifest.contents.files == 6 and manifest.contents.bytes == 6 * 4000
    cust = records.load_manifest(case, next(s for s in snaps if s.source == "customers"))
    assert {k: v.rows for k, v in cust.contents.tables.items()} == {"customers": 10, "orders": 10}
    # snapshots carry the source tag in restic itself
    restic = backup.restic_for(case)
    tagged = restic.snapshots(tag="aftermath:source=customers")
    assert [s.id for s in tagged] == [next(s.snapshot_id for s in snaps if s.source == "customers")]
    # full ids resolve the same way through restic itself (any backend) as from a local folder
    via_url = Restic({**restic.env, "RESTIC_REPOSITORY": "local:" + restic.env["RESTIC_REPOSITORY"]})
    shorts = [s.snapshot_id[:8] for s in snaps]
    assert via_url.full_ids(shorts) == restic.full_ids(shorts) == {s.snapshot_id[:8]: s.snapshot_id for s in snaps}
    drilled = run_cli("protect", "drill", "--json", cwd=c)
    assert drilled.code == 0, drilled.err
    assert all(o["ok"] for o in json.loads(drilled.out))
    status = json.loads(run_cli("protect", "status", "--json", cwd=c).out)
    assert [s["overdue"] for s in status] == [True, True]  # taken in 2024: far beyond 24 hours
    assert all(s["drill_ok"] is True for s in status)
    with pytest.raises(UsageError, match="exists already"):
        backup.add_source(case, "share", path=share)
    backup.run(case)
    assert [s.overdue for s in protect_status.status(case, datetime.now(UTC))] == [False, False]
    # the password never reaches the journal
    password = (c / ".aftermath" / "repo-password").read_text().strip()
    assert all(password not in json.dumps(e.data) + e.subject for e in case.entries())
    assert password not in (c / "aftermath.toml").read_text()


def test_drill_reports_mismatch_with_exit_1(protected: Protected):
    backup.run(protected.case)
    rec = records.latest_per_source(records.snapshots(protected.case))["customers"]
    # tamper with the stored expectation: the journal still holds the true hash, so use a fresh manifest record
    manifest = records.load_manifest(protected.case, rec)
    changed = manifest.to_json().replace(b'"rows": 50', b'"rows": 51', 1)
    doc = protected.case.save_document("manifest", "forged.json", changed)
    protected.case.write("protect.snapshot", "customers", {
        "source": "customers", "kind": "sqlite", "snapshot": rec.snapshot_id, "time": "2099-01-01T00:00:00+00:00",
        "manifest_sha256": doc.sha256, "manifest_id": doc.id})
    result = run_cli("protect", "drill", "--snapshot", rec.snapshot_id[:8], cwd=protected.root)
    assert result.code == 1
    assert "MISMATCH" in result.out and "rows" in result.out and "51" in result.out and "50" in result.out
    last = records.drills(protected.case)[-1]
    assert not last.ok and last.snapshot_id == rec.snapshot_id


def test_forget_applies_retention_and_prunes(protected: Protected):
    for day in range(1, 5):
        (protected.share / f"day{day}.txt").write_text(str(day))
        backup.run(protected.case, datetime(2024, 3, day, 12, tzinfo=UTC), only=["share"])
    cfg = protected.case.config
    cfg.protect.retention.daily, cfg.protect.retention.weekly, cfg.protect.retention.monthly = 2, 0, 0
    protected.case.save_config()
    result = run_cli("protect", "forget", cwd=protected.root)
    assert result.code == 0, result.err
    restic = backup.restic_for(protected.case)
    kept = restic.snapshots(tag=backup.source_tag("share"))
    assert [s.time.day for s in kept] == [3, 4]
    entry = protected.case.entries("protect.forget")[-1]
    assert len(entry.data["removed"]) == 2
    assert restic.check().ok


def test_schedule_prints_and_installs(protected: Protected, tmp_path: Path):
    printed = run_cli("protect", "schedule", "--cron", cwd=protected.root)
    assert printed.code == 0 and "protect run" in printed.out and "protect drill" in printed.out
    target = tmp_path / "etc"
    installed = run_cli("protect", "schedule", "--install", "--cron", "--target", str(target), cwd=protected.root)
    assert installed.code == 0, installed.err
    text = (target / "aftermath-protect").read_text()
    assert f"--case {protected.root} protect run" in text and "30 3 * * 0" in text
    units = schedule.plan(protected.case, ["/usr/bin/aftermath"], use_systemd=True)
    written = schedule.install(protected.case, units, use_systemd=True, target=tmp_path / "sd")
    assert sorted(p.name for p in written) == sorted(units)
    assert "OnCalendar=*-*-* 02:00:00" in (tmp_path / "sd" / "aftermath-protect.timer").read_text()
    assert protected.case.entries("protect.schedule")


def test_sqlite_backup_is_consistent_while_written(protected: Protected):
    import threading

    stop = threading.Event()

    def writer() -> None:
        con = sqlite3.connect(protected.db, timeout=30)
        i = 0
        while not stop.is_set():
            con.execute("INSERT INTO orders (customer, total) VALUES (?, ?)", (i, i))
            con.execute("UPDATE customers SET balance = balance + 1 WHERE id = ?", (i % 50 + 1,))
            con.commit()
            i += 1
        con.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        report = backup.run(protected.case, only=["customers"])
    finally:
        stop.set()
        thread.join()
    assert not report.failed
    (outcome,) = drill.drill(protected.case)
    assert outcome.ok, outcome
    rows = sqlite3.connect(protected.db).execute("SELECT count(*) FROM orders").fetchone()[0]
    assert rows > 50  # the writer really wrote during the run


def test_restore_latest_puts_a_source_back_and_refuses_to_overwrite(protected: Protected):
    from aftermath.errors import StateError
    from aftermath.protect import recovery

    backup.run(protected.case)
    with pytest.raises(StateError):
        recovery.restore_latest(protected.case, "share")  # still there: never overwritten
    before = sorted(p.read_bytes() for p in protected.share.rglob("*") if p.is_file())
    shutil.rmtree(protected.share)
    protected.db.unlink()
    recovery.restore_latest(protected.case, "share")
    recovery.restore_latest(protected.case, "customers")
    assert sorted(p.read_bytes() for p in protected.share.rglob("*") if p.is_file()) == before
    assert sqlite3.connect(protected.db).execute("SELECT count(*) FROM customers").fetchone()[0] == 50
