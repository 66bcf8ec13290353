"""Usage errors and values to refuse: one line naming --help, exit 2, nothing journaled."""

from __future__ import annotations

from pathlib import Path

import pytest

from aftermath.notify.people import COLUMNS
from tests.badinput.conftest import journal_length, one_line_error
from tests.conftest import run_cli

# (arguments, exit code, words the line must hold); {case}, {file}, {empty} and {badpeople} are filled in by the test
TABLE: list[tuple[list[str], int, str]] = [
    (["bogus"], 2, "No such command 'bogus': see 'aftermath --help'"),
    (["review", "--bogus"], 2, "see 'aftermath review --help'"),
    (["review", "--workers", "0", "--repo", "x"], 2, "--workers"),
    (["notify", "scope", "-s", "x", "--out", "y", "--workers", "-1"], 2, "--workers"),
    (["secure", "sweep", "--host", "local", "--since", "-1"], 2, "--since"),
    (["case", "log"], 2, "Missing argument"),
    (["--case", "{case}", "case", "open", "fire", "--discovered", "2999-01-01"], 2, "in the future"),
    (["--case", "{case}", "notify", "plan", "--people", "{file}", "--discovered", "2999-01-01"], 2, "in the future"),
    (["--case", "{case}", "protect", "run", "--time", "2999-01-01"], 2, "in the future"),
    (["--case", "{case}", "review", "--repo", "{file}", "--password-file", "{file}"], 5, "is a file"),
    (["--case", "{case}", "review", "--repo", "{case}", "--password-file", "{empty}"], 4, "is empty"),
    (["--case", "{case}", "restore", "plan", "--strategy", "newest"], 2, "last-clean or surgical"),
    (["--case", "{case}", "notify", "plan", "--people", "{badpeople}", "--discovered", "2026-11-20"], 2,
     "line 2, column '(row)'"),
    (["--case", "{case}", "notify", "plan", "--people", "{empty}", "--discovered", "2026-11-20"], 2, "header"),
    (["--case", "{case}", "protect", "add", "x", "--sqlite", "{file}"], 2, "not a SQLite database"),
    (["--case", "{case}", "case", "custody", "999", "--to", "lawyer"], 2, "no evidence item 999"),
]


@pytest.mark.parametrize(("args", "code", "says"), TABLE, ids=[" ".join(t[0]) for t in TABLE])
def test_bad_usage_is_one_line_and_journals_nothing(args: list[str], code: int, says: str, case_root: Path,
                                                    tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("id,name\n")
    (tmp_path / "empty").write_text("\n")
    unterminated = '1,"Ana,,,TX,,US,,ssn,false,false\n2,Bo,,,TX,,US,,ssn,false,false\n'
    (tmp_path / "bad.csv").write_text(",".join(COLUMNS) + "\n" + unterminated)
    filled = [a.format(case=case_root, file=tmp_path / "file.txt", empty=tmp_path / "empty",
                       badpeople=tmp_path / "bad.csv") for a in args]
    entries = journal_length(case_root)
    line = one_line_error(run_cli(*filled, cwd=tmp_path), code)
    assert says in line
    assert journal_length(case_root) == entries
