"""Hash indicators of compromise: lists of SHA-256, SHA-1 or MD5 values, one per line.

File format: one hex digest per line, optionally followed by whitespace and a description; blank lines
and ``#`` comments are ignored. The digest's length says its algorithm (64 SHA-256, 40 SHA-1, 32 MD5).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from aftermath.errors import UsageError
from aftermath.review.scanner import Finding

ALGORITHMS = {64: "sha256", 40: "sha1", 32: "md5"}
HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class Indicator:
    """One known-bad digest, where it came from and what it is said to be."""

    algorithm: str
    digest: str
    source: str
    description: str = ""


def parse_iocs(text: str, source: str) -> list[Indicator]:
    """Indicators from the text of an IOC file; a malformed line is a UsageError naming it."""
    found: list[Indicator] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        digest, _, description = line.partition(" ")
        digest = digest.strip().lower()
        algorithm = ALGORITHMS.get(len(digest))
        if algorithm is None or not set(digest) <= HEX:
            raise UsageError(f"{source} line {number}: {digest[:70]!r} is not a SHA-256, SHA-1 or MD5 hex digest")
        found.append(Indicator(algorithm, digest, source, description.strip()))
    return found


def load_iocs(paths: Iterable[Path]) -> list[Indicator]:
    """Indicators from every file given."""
    found: list[Indicator] = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read IOC file {path}: {exc}") from exc
        found.extend(parse_iocs(text, str(path)))
    return found


class HashScanner:
    """Compute only the digests that the indicator lists use and look them up; content-only."""

    name = "hashes"

    def __init__(self, indicators: Iterable[Indicator]) -> None:
        self.by_algorithm: dict[str, dict[str, Indicator]] = {}
        for ioc in indicators:
            self.by_algorithm.setdefault(ioc.algorithm, {}).setdefault(ioc.digest, ioc)

    content_only = True

    def path_key(self, path: str) -> str:
        """Digests depend on the content only."""
        return ""

    def scan(self, path: str, data: bytes) -> list[Finding]:
        """A finding per indicator that the content's digest matches."""
        stream = self.stream(path)
        stream.update(data)
        return stream.findings()

    def stream(self, path: str) -> _Digests:
        """The same check fed chunk by chunk (for contents too large to hold whole)."""
        return _Digests(self, path)


class _Digests:
    """The digests one content needs, computed incrementally."""

    def __init__(self, scanner: HashScanner, path: str) -> None:
        self.scanner, self.path = scanner, path
        self.hashes = {algorithm: hashlib.new(algorithm) for algorithm in scanner.by_algorithm}

    def update(self, chunk: bytes) -> None:
        """Take the next chunk."""
        for h in self.hashes.values():
            h.update(chunk)

    def findings(self) -> list[Finding]:
        """A finding per indicator that a digest matches."""
        findings = []
        for algorithm, h in self.hashes.items():
            ioc = self.scanner.by_algorithm[algorithm].get(h.hexdigest())
            if ioc is not None:
                what = f" ({ioc.description})" if ioc.description else ""
                findings.append(Finding("ioc", f"{algorithm}:{ioc.digest}", self.path, "infected",
                                        f"its {algorithm.upper()} is on the indicator list {ioc.source}{what}",
                                        self.scanner.name))
        return findings
