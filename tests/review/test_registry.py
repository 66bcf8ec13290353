from __future__ import annotations

import hashlib
from pathlib import Path

from aftermath.review.scanner import Scanner, path_key
from aftermath.review.scanners import REGISTRY, default_scanners


def test_registry_lists_every_builtin_once() -> None:
    assert [name for name, _ in REGISTRY] == ["yara", "hashes", "ransomware", "placement"]


def test_default_scanners_without_and_with_iocs(tmp_path: Path) -> None:
    assert [s.name for s in default_scanners()] == ["yara", "ransomware", "placement"]
    feed = tmp_path / "iocs.txt"
    feed.write_text(hashlib.sha256(b"evil").hexdigest() + "\n")
    scanners = default_scanners(iocs=[feed])
    assert [s.name for s in scanners] == ["yara", "hashes", "ransomware", "placement"]
    assert all(isinstance(s, Scanner) for s in scanners)
    [hit] = [f for s in scanners for f in s.scan("/x", b"evil")]
    assert hit.kind == "ioc"


def test_scanner_without_path_key_depends_on_the_whole_path() -> None:
    class Plain:
        name = "plain"

        def scan(self, path: str, data: bytes) -> list:  # type: ignore[type-arg]
            return []

    assert path_key(Plain(), "/a/b") == "/a/b"
