from __future__ import annotations

import sqlite3
from pathlib import Path

from aftermath.errors import EXIT_CODES
from tests.conftest import run_cli


def test_case_commands_end_to_end(tmp_path: Path):
    assert run_cli("init", str(tmp_path / "c")).code == 0
    c = tmp_path / "c"
    assert run_cli("case", "open", "Ransomware", "--discovered", "2026-11-20T08:00", cwd=c).code == 0
    assert run_cli("case", "log", "isolated web01", cwd=c).code == 0
    shown = run_cli("case", "show", "--json", cwd=c)
    assert "isolated web01" in shown.out
    head = run_cli("case", "head", cwd=c).out.strip()
    assert run_cli("case", "verify", "--head", head, cwd=c).code == 0
    con = sqlite3.connect(c / "case.db")
    con.executescript("DROP TRIGGER journal_no_update; UPDATE journal SET subject='nothing' WHERE seq=3;")
    con.commit()
    bad = run_cli("case", "verify", cwd=c)
    assert bad.code == 1 and "entry 3" in bad.out


def test_errors_are_one_line_with_documented_code(tmp_path: Path):
    result = run_cli("case", "show", cwd=tmp_path, env={"AFTERMATH_CASE": ""})
    assert result.code == 3
    assert result.err.strip().count("\n") == 0 and "Traceback" not in result.err
    bad_date = run_cli("init", str(tmp_path / "c"))
    assert bad_date.code == 0
    result = run_cli("case", "open", "x", "--discovered", "yesterday", cwd=tmp_path / "c")
    assert result.code == 2 and "YYYY-MM-DD" in result.err


def test_exit_codes_are_unique_and_documented_in_readme():
    names = [name for name, _ in EXIT_CODES.values()]
    assert len(names) == len(set(names))
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for code, (name, _) in EXIT_CODES.items():
        assert f"| {code} | {name} |" in readme, f"exit code {code} missing from README"


def test_cli_reference_in_docs_matches_the_commands():
    from aftermath.cli.reference import render_reference

    docs = (Path(__file__).parents[2] / "docs" / "cli.md").read_text()
    assert docs == render_reference(), "run: python -m aftermath.cli.reference > docs/cli.md"
