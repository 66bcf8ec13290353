"""PostgreSQL sources that cannot be drilled or reached: one line with the right advice, never a traceback."""

from __future__ import annotations

from pathlib import Path

from tests.badinput.conftest import one_line_error
from tests.conftest import Postgres, run_cli


def test_a_drill_as_a_role_without_createdb_says_what_to_grant(case_root: Path, postgres: Postgres) -> None:
    postgres.psql("postgres", "CREATE ROLE nocreate LOGIN NOCREATEDB")
    postgres.psql("postgres", "CREATE DATABASE nocreate_shop OWNER nocreate")
    url = f"postgresql://nocreate@{postgres.host}:{postgres.port}/nocreate_shop"
    with_case = ["--case", str(case_root)]
    assert run_cli(*with_case, "protect", "add", "shop", "--postgres", url).code == 0
    assert run_cli(*with_case, "protect", "init").code == 0
    run = run_cli(*with_case, "protect", "run")
    assert run.code == 0, run.err
    line = one_line_error(run_cli(*with_case, "protect", "drill"), 7)
    assert "may not create databases" in line and "ALTER ROLE nocreate CREATEDB" in line


def test_a_database_that_does_not_exist_is_named(case_root: Path, postgres: Postgres) -> None:
    url = f"postgresql://{postgres.user}@{postgres.host}:{postgres.port}/no_such_db"
    with_case = ["--case", str(case_root)]
    assert run_cli(*with_case, "protect", "add", "gone", "--postgres", url).code == 0
    assert run_cli(*with_case, "protect", "init").code == 0
    line = one_line_error(run_cli(*with_case, "protect", "run"), 7)
    assert "no_such_db" in line and "does not exist" in line and "unreachable" not in line
