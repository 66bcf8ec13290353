"""Mistyped commands and options: click's usage message and exit 2, never a traceback or exit 70."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli


@pytest.mark.parametrize(("args", "says"), [
    (["bogus"], "No such command 'bogus'"),
    (["review", "--bogus"], "No such option: --bogus"),
    (["review", "--workers", "0", "--repo", "x"], "Invalid value for '--workers'"),
    (["review", "--since"], "requires an argument"),
])
def test_usage_errors_exit_2_with_the_reason(args: list[str], says: str, tmp_path: Path) -> None:
    result = run_cli(*args, cwd=tmp_path)
    assert result.code == 2, result.err
    assert says in result.err and "Traceback" not in result.err and "internal error" not in result.err


def test_help_and_version_exit_0(tmp_path: Path) -> None:
    assert run_cli("--help", cwd=tmp_path).code == 0
    assert run_cli("review", "--help", cwd=tmp_path).code == 0
    version = run_cli("--version", cwd=tmp_path)
    assert version.code == 0 and version.out.startswith("aftermath ")
