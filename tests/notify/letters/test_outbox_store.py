"""Migration 0003 and the outbox on both case stores (SQLite and a real PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect

from aftermath.case import Case
from aftermath.case.core import MIGRATIONS, migrate
from aftermath.notify.delivery import outbox
from aftermath.notify.letters.run import letters
from tests.notify.letters.helpers import TODAY, many_people, write_inputs


def test_migration_0003_upgrades_an_empty_database_and_one_at_0001(tmp_path: Path) -> None:
    fresh = create_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    migrate(fresh)
    assert {"notices", "notice_suppressions"} <= set(inspect(fresh).get_table_names())
    old = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with old.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    assert "notices" not in inspect(old).get_table_names()
    migrate(old)
    assert {"notices", "notice_suppressions", "journal"} <= set(inspect(old).get_table_names())


def test_outbox_on_postgresql_claims_once_and_recovers_the_ambiguous_one(tmp_path: Path, postgres) -> None:  # type: ignore[no-untyped-def]
    url = postgres.createdb("outbox_pg").replace("postgresql://", "postgresql+psycopg://")
    case = Case.init(tmp_path / "pgcase", db=url)
    paths = write_inputs(tmp_path / "in", people=many_people(3))
    letters(paths["plan"], paths["people"], paths["incident"], case.root / "notices", case, None, TODAY, pdf=False)
    (first, _), *_ = outbox.due(case, outbox.now_text())
    assert outbox.claim(case, first, outbox.now_text()) is not None
    assert outbox.claim(case, first, outbox.now_text()) is None  # a claimed notice cannot be claimed twice
    assert outbox.recover(case) == 1
    assert outbox.claim(case, first, outbox.now_text()) is not None
    following = outbox.due(case, outbox.now_text())[0][0]
    ledger = outbox.Ledger(case)  # the sender's own path: the claim returns the bytes (UPDATE … RETURNING)
    try:
        claimed = ledger.step([], following, outbox.now_text())
        assert claimed is not None and claimed[0].startswith(b"Content-Type: multipart/alternative") and claimed[1] == 1
        done = [outbox.Outcome(following, "sent", "250 OK", outbox.now_text())]
        assert ledger.step(done, following, outbox.now_text()) is None  # recorded, and no longer claimable
    finally:
        ledger.close()
    assert outbox.counts(case)["sent"] == 1
    assert case.verify().ok
