"""A folder given to ``notify scope`` with one file it cannot read: that file is listed as skipped with why
(console, --json, HTML report), the other files are still scanned, and the exit code is 1."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import run_cli

GOOD = "name,email,ssn,state,zip,country\nAna Diaz,ana@example.org,123-45-6789,TX,78701,US\n"


def _mode_000(p: Path) -> None:
    p.with_suffix(".csv").write_text(GOOD)
    p.with_suffix(".csv").chmod(0)


# (how to make the bad file in the folder, words of the reason), with the case's name as its id
TABLE = [
    pytest.param(lambda p: p.with_suffix(".csv").write_bytes(b"name,email\n\xff,bo@example.org\n"),
                 "is not UTF-8 text", id="csv not UTF-8"),
    pytest.param(lambda p: os.mkfifo(p.with_suffix(".csv")), "not a regular file", id="fifo"),
    pytest.param(lambda p: p.with_suffix(".jsonl").symlink_to(p.parent / "gone.jsonl"), "not a regular file",
                 id="broken symlink"),
    pytest.param(lambda p: p.with_suffix(".xlsx").write_bytes(b"PK\x03\x04broken"),
                 "not a readable XLSX workbook", id="xlsx not a workbook"),
    pytest.param(lambda p: p.with_suffix(".db").write_text("hello\n"), "not a SQLite database",
                 id="sqlite not a database"),
    pytest.param(_mode_000, "Permission denied", id="mode 000",
                 marks=pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file of mode 000")),
]


@pytest.mark.parametrize(("damage", "says"), TABLE)
def test_an_unreadable_file_in_a_folder_is_skipped_and_the_scan_goes_on(damage: Callable[[Path], None], says: str,
                                                                        tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "a.csv").write_text(GOOD)
    damage(folder / "bad")
    (folder / "z.csv").write_text(GOOD.replace("Ana Diaz,ana", "Zoe Roe,zoe").replace("6789", "6780"))
    out, report = tmp_path / "people.csv", tmp_path / "scope.html"
    args = ["notify", "scope", "-s", str(folder), "--out", str(out), "--report", str(report), "--workers", "1"]
    result = run_cli(*args, cwd=tmp_path)
    assert result.code == 1, f"exit {result.code}: {result.err}"
    assert "aftermath: error" not in result.err and "Traceback" not in result.err
    assert f"skipped {folder}/bad." in result.out and says in result.out
    assert {line.split(",")[0] for line in out.read_text().splitlines()[1:]} == {"ana@example.org", "zoe@example.org"}
    assert says in report.read_text()
    data = json.loads(run_cli(*args, "--json", cwd=tmp_path).out)
    assert data["files_skipped"] == 1 and says in data["skipped_files"][0]["why"]
    assert data["skipped_files"][0]["path"].startswith(f"{folder}/bad.")
