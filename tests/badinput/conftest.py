"""The bad-input suite: each command with each kind of bad input fails with one clear line and loses nothing.

Every case asserts the exit code, that stderr is exactly one line starting ``aftermath: error:``, that no
output is half-written, and that no journal entry was made for work that failed. An exit code of 70 (a
traceback) anywhere here fails the suite.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import CliResult, run_cli

PREFIX = "aftermath: error:"


def one_line_error(result: CliResult, code: int) -> str:
    """Assert the promise: the exit code, and exactly one stderr line that starts with the prefix."""
    assert result.code != 70, f"traceback (a bug):\n{result.err}"
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(PREFIX), f"not one error line:\n{result.err}"
    assert result.code == code, f"exit {result.code}, expected {code}: {result.err}"
    return lines[0]


def journal_length(root: Path) -> int:
    """How many entries the case journal holds, read behind Aftermath's back."""
    con = sqlite3.connect(root / "case.db")
    try:
        return int(con.execute("SELECT count(*) FROM journal").fetchone()[0])
    finally:
        con.close()


def new_case(root: Path) -> Path:
    """A case made by the real ``aftermath init``."""
    result = run_cli("init", str(root))
    assert result.code == 0, result.err
    return root


@pytest.fixture(scope="session")
def template_case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return new_case(tmp_path_factory.mktemp("template") / "case")


@pytest.fixture()
def case_root(tmp_path: Path, template_case: Path) -> Path:
    """A fresh case (a copy of one made by the real ``aftermath init``: init costs a second)."""
    return Path(shutil.copytree(template_case, tmp_path / "case"))


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("this test mounts small filesystems and must run as root (CI does)")


@contextmanager
def tmpfs(where: Path, size: str = "1m", read_only: bool = False) -> Iterator[Path]:
    """A small tmpfs mounted by the test; read-only or nearly full filesystems for outputs."""
    need_root()
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)
    try:
        if read_only:
            subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def fill(folder: Path) -> None:
    """Fill a filesystem to the last byte."""
    with (folder / "filler").open("wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    try:
        with (folder / "filler2").open("wb") as fh:  # the last partial block
            while True:
                fh.write(b"\0")
                fh.flush()
    except OSError:
        pass


def files_under(folder: Path) -> set[str]:
    """Every file below a folder, relative (to show nothing half-written was left)."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="session")
def small_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A restic repository (made by the real binary) with three snapshots of a small folder."""
    base = tmp_path_factory.mktemp("repo")
    repo, password, data = base / "repo", base / "password", base / "data"
    password.write_text("badinput-password\n")
    data.mkdir()
    env = {**os.environ, "RESTIC_REPOSITORY": str(repo), "RESTIC_PASSWORD_FILE": str(password),
           "RESTIC_CACHE_DIR": str(base / "cache")}
    subprocess.run(["restic", "init"], env=env, check=True, capture_output=True)
    for i in range(3):
        (data / f"file{i}.txt").write_text(f"content {i}\n" * 100)
        subprocess.run(["restic", "backup", "--no-cache", str(data)], env=env, check=True, capture_output=True)
    return repo, password
