"""Outputs on a read-only or a full filesystem: one line, exit 8, no stray file, no journal entry.

A read-only output folder is refused before any work; a full one fails when written, and then nothing
is journaled for the work whose outputs could not be kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aftermath.notify.people import COLUMNS
from tests.badinput.conftest import files_under, fill, journal_length, one_line_error, tmpfs
from tests.conftest import run_cli

pytestmark = pytest.mark.root  # the filesystems are tmpfs mounts the tests make

PEOPLE = ",".join(COLUMNS) + "\n1,Ana Díaz,1 Main St,Austin,TX,78701,US,a@x.org,ssn;dob,false,false\n"


@pytest.fixture()
def read_only(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "ro", read_only=True) as folder:
        yield folder


@pytest.fixture()
def full(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "full", size="256k") as folder:
        fill(folder)
        yield folder


def _commands(case: Path, out: Path, repo: tuple[Path, Path], people: Path) -> dict[str, list[str]]:
    c = ["--case", str(case)]
    r = ["--repo", str(repo[0]), "--password-file", str(repo[1]), "--workers", "1"]
    return {
        "review --json": [*c, "review", *r, "--json", str(out / "review.json")],
        "review --html": [*c, "review", *r, "--html", str(out / "review.html")],
        "notify plan --json": [*c, "notify", "plan", "--people", str(people), "--discovered", "2026-11-20",
                               "--json", str(out / "plan.json")],
        "notify plan --html": [*c, "notify", "plan", "--people", str(people), "--discovered", "2026-11-20",
                               "--html", str(out / "plan.html")],
        "notify scope --out": [*c, "notify", "scope", "-s", str(people), "--out", str(out / "people.csv")],
    }


NAMES = ["review --json", "review --html", "notify plan --json", "notify plan --html", "notify scope --out"]


@pytest.mark.parametrize("name", NAMES)
def test_a_read_only_output_folder_is_refused_before_the_work(name: str, case_root: Path, read_only: Path,
                                                              small_repo: tuple[Path, Path], tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text(PEOPLE)
    entries = journal_length(case_root)
    line = one_line_error(run_cli(*_commands(case_root, read_only, small_repo, people)[name]), 8)
    assert "read-only" in line
    assert journal_length(case_root) == entries


@pytest.mark.parametrize("name", NAMES)
def test_a_full_output_folder_leaves_no_half_file_and_no_journal_entry(name: str, case_root: Path, full: Path,
                                                                       small_repo: tuple[Path, Path],
                                                                       tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text(PEOPLE * 1 + "".join(f"{i},Person {i},,,TX,,US,,ssn,false,false\n" for i in range(2, 400)))
    before = files_under(full)
    entries = journal_length(case_root)
    line = one_line_error(run_cli(*_commands(case_root, full, small_repo, people)[name]), 8)
    assert "no space left" in line
    assert files_under(full) == before
    assert journal_length(case_root) == entries


def test_init_on_a_read_only_filesystem_is_one_line_and_leaves_nothing(read_only: Path) -> None:
    line = one_line_error(run_cli("init", str(read_only / "case")), 8)
    assert "read-only" in line and not (read_only / "case").exists()


def test_init_on_a_full_filesystem_is_one_line_and_the_retry_is_not_blocked(full: Path) -> None:
    one_line_error(run_cli("init", str(full / "case")), 8)
    assert files_under(full) <= {"filler", "filler2"}
    (full / "filler").unlink()
    assert run_cli("init", str(full / "case")).code == 0
