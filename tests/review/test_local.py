from __future__ import annotations

import os
from pathlib import Path

import pytest

from aftermath.errors import UsageError
from aftermath.review import scan_tree
from aftermath.review.scanners import default_scanners

SHELL = b'<?php system($_GET["c"]); ?>'


class Counting:
    name = "counting"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def path_key(self, path: str) -> str:
        return ""

    def scan(self, path: str, data: bytes) -> list:  # type: ignore[type-arg]
        self.calls.append(path)
        return []


def test_scan_tree_finds_shells_with_snapshot_style_paths(tmp_path: Path) -> None:
    (tmp_path / "srv" / "www" / "uploads").mkdir(parents=True)
    (tmp_path / "srv" / "www" / "uploads" / "x.php").write_bytes(SHELL)
    (tmp_path / "srv" / "www" / "index.html").write_text("<h1>hi</h1>")
    os.symlink("/etc/passwd", tmp_path / "srv" / "link")
    found = scan_tree(tmp_path, default_scanners())
    assert {(f.kind, f.path) for f in found} == {("yara", "/srv/www/uploads/x.php"),
                                                 ("placement", "/srv/www/uploads/x.php")}
    assert all(len(f.sha256) == 64 for f in found)


def test_scan_tree_scans_identical_files_once_but_reports_each(tmp_path: Path) -> None:
    for name in ("a.php", "b.php"):
        (tmp_path / name).write_bytes(SHELL)
    counter = Counting()
    found = scan_tree(tmp_path, [*default_scanners(), counter])
    assert sorted(f.path for f in found if f.kind == "yara") == ["/a.php", "/b.php"]
    assert counter.calls == ["/a.php"]


def test_scan_tree_reports_unreadable_files_and_goes_on(tmp_path: Path) -> None:
    (tmp_path / "x.php").write_bytes(SHELL)
    locked = tmp_path / "locked.txt"
    locked.write_text("secret")
    errors: list[str] = []

    class Failing(Counting):
        def scan(self, path: str, data: bytes) -> list:  # type: ignore[type-arg]
            raise RuntimeError("boom")

    found = scan_tree(tmp_path, [*default_scanners(), Failing()], errors)
    assert any(f.path == "/x.php" for f in found)
    assert any("boom" in e for e in errors)


def test_scan_tree_needs_a_folder(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        scan_tree(tmp_path / "missing", [])
