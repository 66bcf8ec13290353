"""`aftermath restore ...` through the real CLI, after real `protect run` backups and a real review."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import run_cli


def sql(db: Path, *statements: str) -> None:
    con = sqlite3.connect(db)
    for statement in statements:
        con.execute(statement)
    con.commit()
    con.close()


@pytest.fixture()
def reviewed(tmp_path: Path):
    """A case with a SQLite source and a web folder: clean, clean, web shell dropped, one more day."""
    case, www, db = tmp_path / "case", tmp_path / "srv" / "www", tmp_path / "app.db"
    www.mkdir(parents=True)
    (www / "index.php").write_text("<?php echo 'hello'; ?>")
    sql(db, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)", "INSERT INTO customers VALUES (1, 'Ana')")
    assert run_cli("init", str(case)).code == 0
    for args in (["protect", "add", "db", "--sqlite", str(db)], ["protect", "add", "web", "--path", str(www)],
                 ["protect", "init"]):
        assert run_cli(*args, cwd=case).code == 0
    for day in (1, 2, 3, 4):
        if day == 2:
            sql(db, "INSERT INTO customers VALUES (2, 'Bo')")
        if day == 3:
            (www / "up.php").write_text("<?php eval(base64_decode($_POST['x'])); ?>")
            sql(db, "INSERT INTO customers VALUES (3, 'Cy')")
        result = run_cli("protect", "run", "--time", f"2026-11-0{day}T23:00", cwd=case)
        assert result.code == 0, result.err
    review = run_cli("review", "--json", str(tmp_path / "review.json"), cwd=case)
    assert review.code == 1, review.err  # the web shell was found
    return case, www, db, tmp_path / "review.json"


def test_restore_cli_plan_apply_verify_promote(reviewed, tmp_path: Path):
    case, www, db, review = reviewed
    plan = tmp_path / "plan.json"
    out = run_cli("restore", "plan", "--strategy", "surgical", "--review", str(review), "--json", str(plan), cwd=case)
    assert out.code == 0, out.err
    entries = {e["path"]: e for e in json.loads(plan.read_text())["entries"]}
    shell = next(p for p in entries if p.endswith("up.php"))
    assert entries[shell]["action"] == "hold"
    refused = run_cli("restore", "apply", str(plan), "--to", str(tmp_path / "staging"), cwd=case)
    assert refused.code == 10 and "not approved" in refused.err
    assert run_cli("restore", "approve", str(plan), cwd=case).code == 0
    applied = run_cli("restore", "apply", str(plan), "--to", str(tmp_path / "staging"), cwd=case)
    assert applied.code == 0, applied.err
    verified = run_cli("restore", "verify", str(tmp_path / "staging"), "--plan", str(plan), cwd=case)
    assert verified.code == 0, verified.out + verified.err
    assert "database(s) match their manifest" in verified.out
    staged_www = tmp_path / "staging" / str(www).lstrip("/")
    assert not (staged_www / "up.php").exists()
    promoted = run_cli("restore", "promote", str(staged_www), "--target", str(www), cwd=case)
    assert promoted.code == 0, promoted.err
    assert not (www / "up.php").exists() and (www / "index.php").exists()
    assert list(www.parent.glob("www.aftermath-old-*/up.php"))  # the old tree kept aside, shell and all


def test_verify_fails_naming_a_database_that_differs_from_its_manifest(reviewed, tmp_path: Path):
    case, _www, _db, review = reviewed
    plan = tmp_path / "plan.json"
    assert run_cli("restore", "plan", "--strategy", "last-clean", "--review", str(review), "--json", str(plan),
                   cwd=case).code == 0
    assert run_cli("restore", "approve", str(plan), cwd=case).code == 0
    staging = tmp_path / "staging"
    assert run_cli("restore", "apply", str(plan), "--to", str(staging), cwd=case).code == 0
    staged_db = staging / "db.sqlite"  # the SQLite source is stored under its source name
    staged_db.chmod(0o644)
    sql(staged_db, "DELETE FROM customers WHERE id = 1")
    result = run_cli("restore", "verify", str(staging), "--plan", str(plan), cwd=case)
    assert result.code == 1
    assert "customers" in result.out and "content differs" in result.out


def test_verify_rescan_catches_a_shell_restored_from_an_unreviewed_snapshot(reviewed, tmp_path: Path):
    case, _www, _db, _review = reviewed
    plan = tmp_path / "plan.json"
    snaps = json.loads(Path(_review).read_text())["snapshots"]
    infected = next(s["id"] for s in snaps if s["verdict"] == "infected")
    bare = tmp_path / "no-findings.json"
    data = json.loads(Path(_review).read_text())
    data["findings"] = []  # as if the review had missed it: verification must still catch it
    bare.write_text(json.dumps(data))
    assert run_cli("restore", "plan", "--strategy", "last-clean", "--snapshot", infected, "--review", str(bare),
                   "--json", str(plan), cwd=case).code == 0
    assert run_cli("restore", "approve", str(plan), cwd=case).code == 0
    staging = tmp_path / "staging"
    assert run_cli("restore", "apply", str(plan), "--to", str(staging), cwd=case).code == 0
    result = run_cli("restore", "verify", str(staging), "--plan", str(plan), cwd=case)
    assert result.code == 1 and "rescan" in result.out and "up.php" in result.out
