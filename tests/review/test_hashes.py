from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from aftermath.errors import UsageError
from aftermath.review.scanners.hashes import HashScanner, load_iocs, parse_iocs

BAD = b"MZ this is the dropper the intruder left\n"


def test_parse_accepts_all_three_algorithms_comments_and_descriptions() -> None:
    text = (f"# feed of 2024-03\n\n{hashlib.sha256(BAD).hexdigest().upper()}  dropper.exe\n"
            f"{hashlib.sha1(b'x').hexdigest()} # inline comment\n{hashlib.md5(b'y').hexdigest()}\n")
    iocs = parse_iocs(text, "feed.txt")
    assert [i.algorithm for i in iocs] == ["sha256", "sha1", "md5"]
    assert iocs[0].digest == hashlib.sha256(BAD).hexdigest() and iocs[0].description == "dropper.exe"


@pytest.mark.parametrize("line", ["abc", "z" * 64, hashlib.sha256(b"").hexdigest() + "0"])
def test_parse_rejects_malformed_lines_with_their_number(line: str) -> None:
    with pytest.raises(UsageError, match="feed.txt line 2"):
        parse_iocs(f"# ok\n{line}\n", "feed.txt")


@pytest.mark.parametrize("algorithm", ["sha256", "sha1", "md5"])
def test_scanner_matches_each_algorithm(algorithm: str) -> None:
    scanner = HashScanner(parse_iocs(hashlib.new(algorithm, BAD).hexdigest() + " dropper", "f"))
    [finding] = scanner.scan("/tmp/d.bin", BAD)
    assert finding.kind == "ioc" and finding.severity == "infected" and finding.rule.startswith(algorithm)
    assert "dropper" in finding.reason
    assert scanner.scan("/tmp/other", BAD + b"!") == []


def test_load_iocs_reads_files_and_reports_missing(tmp_path: Path) -> None:
    feed = tmp_path / "iocs.txt"
    feed.write_text(hashlib.md5(BAD).hexdigest() + "\n")
    assert len(load_iocs([feed])) == 1
    with pytest.raises(UsageError, match="cannot read"):
        load_iocs([tmp_path / "missing.txt"])
