"""A command imports what it needs: its own module, not the case store or SSH when it does not use them.

Each test runs ``aftermath`` in a fresh interpreter exactly as ``python -m aftermath`` does, then lists
``sys.modules``. These tests check which modules were imported, never how long it took.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aftermath.cli.main import COMMAND_MODULES, command_module
from tests.conftest import run_cli

SRC = Path(__file__).resolve().parents[2] / "src"
HEAVY = ("sqlalchemy", "alembic", "asyncssh")
# aftermath.review.session imports aftermath.case.Case (an annotation there), which loads SQLAlchemy;
# the migrations (Alembic) and SSH still stay out of a review.
REVIEW_HEAVY = ("sqlalchemy", "alembic", "asyncssh", "jinja2")
TOP_LEVEL = ("init", "case", "protect", "review", "restore", "notify", "secure", "demo")
# What ``python -m aftermath ARGS`` does, then the modules it imported, whatever way it exited.
RUN = """import json, runpy, sys
args, report = json.loads(sys.argv[1]), sys.argv[2]
sys.argv = ["aftermath", *args]
try:
    runpy.run_module("aftermath", run_name="__main__", alter_sys=True)
    code = 0
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else 1
with open(report, "w") as fh:
    json.dump({"code": code, "modules": sorted(sys.modules)}, fh)
"""


def imported(*args: str, cwd: Path) -> tuple[int, set[str]]:
    """Run ``aftermath ARGS`` outside any case; its exit code and the modules it imported."""
    report = cwd / "modules.json"
    env = {**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "200", "AFTERMATH_CASE": ""}
    subprocess.run([sys.executable, "-c", RUN, json.dumps(args), str(report)], cwd=cwd, env=env,
                   capture_output=True, timeout=120, check=False)
    result = json.loads(report.read_text())
    report.unlink()
    return result["code"], set(result["modules"])


def other_commands(loaded: set[str], command: str) -> set[str]:
    """Command modules imported besides the command's own (cli.case is light and lends its date parser)."""
    return {m for m in COMMAND_MODULES if f"aftermath.cli.{m}" in loaded} - {command, "case"}


@pytest.mark.parametrize(("argv", "expected"), [
    ([], None),
    (["--help"], None),
    (["-h"], None),
    (["--version"], None),
    (["review", "--help"], "review"),
    (["--case", "/srv/case", "--debug", "review", "--repo", "x"], "review"),
    (["--case=/srv/case", "restore", "plan"], "restore"),
    (["init", "/srv/case"], "case"),
    (["--case", "review"], None),  # 'review' is the case folder here: no command
    (["reveiw"], None),  # no such command: all are registered, so click's error is as before
    (["--bogus", "review"], None),
])
def test_command_module_is_found_after_the_global_options(argv: list[str], expected: str | None):
    assert command_module(argv) == expected


def test_review_help_imports_review_only_and_no_store_migrations_or_ssh(tmp_path: Path):
    code, loaded = imported("review", "--help", cwd=tmp_path)
    assert code == 0
    assert "aftermath.cli.review" in loaded
    assert other_commands(loaded, "review") == set()
    assert [m for m in REVIEW_HEAVY if m in loaded] == []


def test_review_without_a_case_fails_on_the_repository_without_opening_a_store(tmp_path: Path):
    (tmp_path / "password").write_text("any\n")  # an empty one is refused before the repository is looked at
    code, loaded = imported("review", "--repo", str(tmp_path / "none"), "--password-file", str(tmp_path / "password"),
                            cwd=tmp_path)
    assert code == 5
    assert "aftermath.restic.repository" in loaded
    assert [m for m in REVIEW_HEAVY if m in loaded] == []


@pytest.mark.parametrize("command", ["init", "case", "protect", "restore", "secure"])
def test_help_of_a_command_loads_neither_the_case_store_nor_ssh(tmp_path: Path, command: str):
    code, loaded = imported(command, "--help", cwd=tmp_path)
    assert code == 0
    assert f"aftermath.cli.{command_module([command])}" in loaded
    assert other_commands(loaded, command) == set()
    assert [m for m in HEAVY if m in loaded] == []


def test_opening_a_case_still_loads_the_store_and_its_migrations(tmp_path: Path):
    assert run_cli("init", str(tmp_path / "c")).code == 0
    code, loaded = imported("case", "show", "--json", cwd=tmp_path / "c")
    assert code == 0
    assert {"sqlalchemy", "alembic"} <= loaded


def test_top_level_help_lists_every_command(tmp_path: Path):
    result = run_cli("--help", cwd=tmp_path)
    assert result.code == 0
    listed = {line.strip(" │|").split()[0] for line in result.out.splitlines() if line.strip(" │|")}
    assert set(TOP_LEVEL) <= listed


def test_reference_registers_every_command_whatever_the_command_line(tmp_path: Path):
    script = ("import sys; sys.argv = ['aftermath', 'review', '--help']\n"
              "from aftermath.cli.reference import render_reference\nprint(render_reference())")
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env={"PYTHONPATH": str(SRC)},
                         capture_output=True, text=True, timeout=120, check=True).stdout
    for command in TOP_LEVEL:
        assert f"## aftermath {command}\n" in out
    assert "## aftermath secure isolate\n" in out
