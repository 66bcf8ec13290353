"""PostgreSQL sources against a real server: streamed dumps, snapshot-consistent checksums, scratch drills."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from aftermath.case import Case
from aftermath.errors import UsageError
from aftermath.protect import backup, drill, postgres_db, records
from tests.conftest import Postgres, run_cli


def _shop(postgres: Postgres, name: str) -> str:
    url = postgres.createdb(name)
    postgres.psql(name, """
        CREATE SCHEMA sales;
        CREATE TABLE customers (id serial PRIMARY KEY, name text, joined timestamptz DEFAULT now(), score numeric);
        CREATE TABLE sales.orders (id serial PRIMARY KEY, customer int, total numeric(10,2), note text);
        INSERT INTO customers (name, score) SELECT 'c' || g, g * 1.25 FROM generate_series(1, 300) g;
        INSERT INTO sales.orders (customer, total, note) SELECT g % 300, g * 3.5, NULL FROM generate_series(1, 500) g;
    """)
    return url


def test_postgres_backup_streams_and_drill_restores_into_scratch_db(tmp_path: Path, postgres: Postgres):
    url = _shop(postgres, "shop")
    case = Case.init(tmp_path / "case")
    backup.add_source(case, "shop", postgres=url)
    backup.init_repository(case)
    stop = threading.Event()

    def writer() -> None:  # keeps changing the database while it is dumped
        with postgres_db.Target.from_url(url).connect(autocommit=True) as conn:
            while not stop.is_set():
                conn.execute("INSERT INTO customers (name, score) VALUES ('late', 1)")
                conn.execute("UPDATE sales.orders SET total = total + 1 WHERE id = 7")

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        report = backup.run(case)
    finally:
        stop.set()
        thread.join()
    assert not report.failed
    (taken,) = report.taken
    tables = taken.manifest.contents.tables
    assert set(tables) == {"public.customers", "sales.orders"}
    assert tables["sales.orders"].rows == 500 and tables["public.customers"].rows >= 300
    assert taken.manifest.location == "/shop.dump"
    # the dump was streamed: nothing was staged in the case
    staging = case.root / ".aftermath" / "tmp"
    assert not staging.exists() or not any(p.suffix == ".dump" for p in staging.iterdir())
    (outcome,) = drill.drill(case)
    assert outcome.ok, outcome.mismatches
    # the scratch database was dropped afterwards
    assert "aftermath_drill" not in postgres.psql("postgres", "SELECT datname FROM pg_database")
    entry = case.entries("protect.drill")[-1]
    assert entry.data["ok"] is True and entry.data["snapshot"] == taken.snapshot_id


def test_drill_catches_a_dump_that_does_not_match_its_manifest(tmp_path: Path, postgres: Postgres):
    url = _shop(postgres, "shop2")
    case = Case.init(tmp_path / "case")
    backup.add_source(case, "shop", postgres=url)
    backup.init_repository(case)
    (taken,) = backup.run(case).taken
    # a drill compares with the manifest, not with the live database: change the expectation instead
    forged = taken.manifest.to_json().replace(b'"rows": 500', b'"rows": 499')
    doc = case.save_document("manifest", "forged.json", forged)
    case.write("protect.snapshot", "shop", {"source": "shop", "kind": "postgres", "snapshot": taken.snapshot_id,
                                            "time": "2099-01-01T00:00:00+00:00", "manifest_sha256": doc.sha256,
                                            "manifest_id": doc.id})
    (outcome,) = drill.drill(case)
    assert not outcome.ok
    assert [m.item for m in outcome.mismatches] == ["table sales.orders rows"]


def test_unreachable_postgres_exits_7_with_one_line(tmp_path: Path, postgres: Postgres):
    case = Case.init(tmp_path / "case")
    backup.add_source(case, "gone", postgres=f"postgresql://{postgres.user}:hunter2@127.0.0.1:1/nothing")
    backup.init_repository(case)
    result = run_cli("protect", "run", cwd=case.root)
    assert result.code == 7
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "unreachable" in lines[0]
    assert "hunter2" not in result.err + result.out
    assert "hunter2" not in (case.root / "case.db").read_bytes().decode(errors="replace")
    assert not records.snapshots(case)


def test_password_in_url_goes_to_a_private_passfile_not_argv_nor_environment():
    target = postgres_db.Target.from_url("postgresql://alice:s3:c\\ret@db.example:5433/shop")
    assert "s3" not in target.conninfo
    with postgres_db.tool_env(target) as env:
        assert "s3" not in "".join(env.values()) and "PGPASSWORD" not in env
        passfile = Path(env["PGPASSFILE"])
        assert passfile.stat().st_mode & 0o777 == 0o600
        assert passfile.read_text() == "*:*:*:*:s3\\:c\\\\ret\n"
    assert not passfile.exists()
    assert target.with_db("x").dbname == "x"
    with pytest.raises(UsageError):
        postgres_db.Target.from_url("postgresql://[bad")
