"""A damaged repository under review: every file the reader could not use is in the result, exit 1."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cli


def _copy(repo: Path, tmp_path: Path) -> Path:
    target = tmp_path / "repo"
    subprocess.run(["cp", "-a", str(repo), str(target)], check=True)
    return target


def _flip(path: Path, offset: int = 40) -> None:
    os.chmod(path, 0o600)
    raw = bytearray(path.read_bytes())
    for i in range(offset, offset + 4):
        raw[i] ^= 0xFF
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("folder", ["snapshots", "index"])
def test_a_file_that_fails_authentication_is_reported_and_exits_1(small_repo: tuple[Path, Path], tmp_path: Path,
                                                                  folder: str) -> None:
    repo = _copy(small_repo[0], tmp_path)
    damaged = sorted((repo / folder).iterdir())[0]
    _flip(damaged)
    report = tmp_path / "review.json"
    result = run_cli("review", "--repo", str(repo), "--password-file", str(small_repo[1]), "--json", str(report),
                     "--workers", "1", cwd=tmp_path)
    assert result.code == 1, result.err
    errors = json.loads(report.read_text())["errors"]
    assert any(e["kind"] == "repository" and damaged.name[:8] in e["reason"] for e in errors), errors
    assert damaged.name[:8] in result.out  # the console says it too
