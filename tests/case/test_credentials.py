"""Database passwords are kept out of aftermath.toml, in a private credentials file, and warned about."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from aftermath.case import Case
from aftermath.case.config import CREDENTIALS, split_password
from aftermath.protect import backup
from tests.conftest import run_cli


@pytest.mark.parametrize(("url", "bare", "password"), [
    ("postgresql://bob:hun:ter2@db:5432/shop", "postgresql://bob@db:5432/shop", "hun:ter2"),
    ("postgresql+psycopg://bob:p%40ss@db/x?sslmode=require", "postgresql+psycopg://bob@db/x?sslmode=require", "p%40ss"),
    ("postgresql://bob@db/shop", "postgresql://bob@db/shop", None),
    ("sqlite:///case.db", "sqlite:///case.db", None),
])
def test_split_password(url: str, bare: str, password: str | None) -> None:
    assert split_password(url) == (bare, password)


def test_a_source_password_lives_in_the_credentials_file_and_comes_back_on_open(case: Case) -> None:
    backup.add_source(case, "shop", postgres="postgresql://bob:hun:ter2@127.0.0.1:5999/shop")
    assert "hun:ter2" not in (case.root / "aftermath.toml").read_text()
    credentials = case.root / CREDENTIALS
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600 and "hun:ter2" in credentials.read_text()
    again = Case.open(case.root)
    assert again.config.protect.sources[0].url == "postgresql://bob:hun:ter2@127.0.0.1:5999/shop"
    again.save_config()  # saving again keeps it apart
    assert "hun:ter2" not in (case.root / "aftermath.toml").read_text()


def test_a_password_on_the_command_line_is_warned_about(case: Case) -> None:
    result = run_cli("--case", str(case.root), "protect", "add", "shop", "--postgres",
                     "postgresql://bob:hunter2@127.0.0.1:5999/shop")
    assert result.code == 0 and "aftermath: warning: a password on the command line" in result.err
    assert "hunter2" not in result.err + result.out + (case.root / "aftermath.toml").read_text()


def test_init_with_a_db_password_keeps_it_out_of_the_config(tmp_path: Path, postgres) -> None:  # noqa: ANN001
    postgres.psql("postgres", "CREATE ROLE storeowner LOGIN PASSWORD 'st0re' CREATEDB")
    postgres.psql("postgres", "CREATE DATABASE casestore OWNER storeowner")
    url = f"postgresql+psycopg://storeowner:st0re@{postgres.host}:{postgres.port}/casestore"
    result = run_cli("init", str(tmp_path / "c"), "--db", url)
    assert result.code == 0, result.err
    assert "st0re" not in (tmp_path / "c" / "aftermath.toml").read_text()
    assert run_cli("--case", str(tmp_path / "c"), "case", "verify").code == 0
