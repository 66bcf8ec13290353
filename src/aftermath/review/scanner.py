"""The scanner contract: a small object with ``name`` and ``scan(path, data) -> list[Finding]``.

Implementations live in :mod:`aftermath.review.scanners` and are registered in one explicit list there.

Content is scanned once per distinct content (the tuple of its blob IDs), not once per path. A scanner
whose result depends on part of the path (its extension, its folder) says which part with
``path_key(path) -> str``: the walk calls ``scan`` once per distinct (content, key); one that never looks
at the path says ``content_only = True``. A scanner with neither is treated as depending on the whole
path, which is always correct and only slower.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, Protocol, runtime_checkable

Severity = Literal["encrypted", "infected", "suspicious"]
Verdict = Literal["encrypted", "infected", "suspicious", "clean"]

# Most severe first: a snapshot's verdict is the first of these that any of its findings carries.
SEVERITY_ORDER: tuple[Verdict, ...] = ("encrypted", "infected", "suspicious", "clean")


@dataclass(frozen=True)
class Finding:
    """One thing a scanner found in one file, with the reason in plain words.

    ``kind`` names the family ("yara", "ioc", "ransomware", "placement"); ``rule`` the rule or indicator
    that matched; ``severity`` what it means for a snapshot's verdict.
    """

    kind: str
    rule: str
    path: str
    severity: Severity
    reason: str
    scanner: str = ""
    sha256: str = ""

    def at(self, path: str, sha256: str | None = None) -> Finding:
        """The same finding for another path holding the same content."""
        return replace(self, path=path, sha256=self.sha256 if sha256 is None else sha256)


@runtime_checkable
class Scanner(Protocol):
    """What every scanner provides. ``scan`` must not keep ``data`` and must be safe to call from threads."""

    name: str

    def scan(self, path: str, data: bytes) -> list[Finding]:
        """Findings for one file's content (``path`` is where it was seen)."""
        ...


def content_only(scanner: Scanner) -> bool:
    """True for scanners that declare ``content_only = True``: their result never depends on the path."""
    return getattr(scanner, "content_only", False) is True


def path_key(scanner: Scanner, path: str) -> str:
    """The part of ``path`` a scanner's result depends on (the whole path when it does not say)."""
    if content_only(scanner):
        return ""
    key = getattr(scanner, "path_key", None)
    return str(key(path)) if callable(key) else path


def file_name(path: str) -> str:
    """The last component of a POSIX path."""
    return path.rsplit("/", 1)[-1]


def extension(path: str) -> str:
    """The lower-case extension of a path's file name, with its dot ("" when there is none)."""
    name = file_name(path)
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""
