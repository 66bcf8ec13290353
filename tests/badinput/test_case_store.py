"""A case store that is gone, emptied, foreign, damaged or full: one line, the right code, never a new chain."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.badinput.conftest import fill, journal_length, new_case, one_line_error, tmpfs
from tests.conftest import run_cli


def _delete(root: Path) -> None:
    (root / "case.db").unlink()


def _truncate(root: Path) -> None:
    (root / "case.db").write_bytes(b"")


def _garbage(root: Path) -> None:
    (root / "case.db").write_bytes(b"this is not a database\n" * 100)


def _foreign(root: Path) -> None:
    (root / "case.db").unlink()
    con = sqlite3.connect(root / "case.db")
    con.execute("CREATE TABLE customers (id INTEGER)")
    con.commit()
    con.close()


def _latin1_config(root: Path) -> None:
    config = root / "aftermath.toml"
    config.write_bytes(config.read_bytes() + "# café\n".encode("latin-1"))


DAMAGES: list[tuple[str, Callable[[Path], None], int, str]] = [
    ("deleted", _delete, 6, "is missing"),
    ("truncated", _truncate, 6, "is empty"),
    ("not a database", _garbage, 6, "is not a database"),
    ("foreign database", _foreign, 6, "not an Aftermath case store"),
    ("config not UTF-8", _latin1_config, 3, "not UTF-8"),
]
COMMANDS = [["case", "verify"], ["case", "log", "note"], ["case", "show"], ["protect", "status"]]


@pytest.mark.parametrize(("name", "damage", "code", "says"), DAMAGES, ids=[d[0] for d in DAMAGES])
@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_a_damaged_case_is_one_line_and_never_a_new_store(case_root: Path, name: str, damage: Callable[[Path], None],
                                                          code: int, says: str, command: list[str]) -> None:
    root = case_root
    damage(root)
    before = (root / "case.db").read_bytes() if (root / "case.db").exists() else None
    line = one_line_error(run_cli("--case", str(root), *command), code)
    assert says in line
    after = (root / "case.db").read_bytes() if (root / "case.db").exists() else None
    assert after == before, "opening the case changed or created its store"


def test_verify_without_head_says_what_it_cannot_prove(case_root: Path) -> None:
    result = run_cli("--case", str(case_root), "case", "verify")
    assert result.code == 0 and "not that none was cut" in result.out


def test_a_failed_init_leaves_nothing_and_the_retry_works(tmp_path: Path) -> None:
    root = tmp_path / "new"
    one_line_error(run_cli("init", str(root), "--db", "nosuchdriver://x"), 3)
    assert not root.exists()
    (tmp_path / "kept").mkdir()
    one_line_error(run_cli("init", str(tmp_path / "kept"), "--db", "sqlite:////nonexistent/dir/x.db"), 3)
    assert list((tmp_path / "kept").iterdir()) == []
    assert run_cli("init", str(tmp_path / "kept")).code == 0


def test_init_with_a_missing_password_file_is_refused(tmp_path: Path) -> None:
    line = one_line_error(run_cli("init", str(tmp_path / "c"), "--password-file", str(tmp_path / "nope")), 2)
    assert "does not exist" in line and not (tmp_path / "c").exists()


@pytest.mark.root
def test_a_full_disk_under_the_store_is_exit_8_and_shows_no_sql(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "small", size="2m") as small:
        root = new_case(small / "case")
        shutil.rmtree(root / "backups", ignore_errors=True)
        entries = journal_length(root)
        fill(small)
        big = "x" * 100_000
        line = one_line_error(run_cli("--case", str(root), "case", "log", big), 8)
        assert "no space left" in line and "INSERT" not in line and big[:50] not in line
        assert journal_length(root) == entries
