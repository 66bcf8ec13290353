"""Ransomware signs in one file: known ransomware extensions, ransom-note names and notes, and content
whose real type no longer matches its name (or that turned high-entropy where its type is not compressed).

Entropy alone cannot tell compressed from encrypted data, so it is only used where the name promises a
type that is not compressed (text, or a known signature that is missing). The burst of renames, rewrites
and deletions between snapshots is a repository-level sign: see :mod:`aftermath.review.churn`.
"""

from __future__ import annotations

import fnmatch
import re
import threading
from collections.abc import Iterable, Sequence
from importlib import resources

import yara_x

from aftermath.review import filetype
from aftermath.review.scanner import Finding, Severity, file_name

ONION_V3 = re.compile(rb"[a-z2-7]{56}\.onion")
DEMAND = re.compile(rb"(?i)\b(bitcoin|btc|monero|xmr|ransom|decrypt\w*|tox\s*id|pay(ment)?)\b")
# One picture format under another's name (a JPEG saved as .png, as Joomla ships its template previews) is
# common on the web, where browsers read the bytes, not the name; ransomware does not write valid pictures.
IMAGE_TYPES = frozenset({"png", "jpeg", "gif", "bmp", "tiff"})
NOTE_MAX = 256 * 1024  # ransom notes are short; a larger file with a note's name is not read as one


def _patterns(name: str) -> tuple[str, ...]:
    text = (resources.files("aftermath.review") / "rules" / name).read_text(encoding="utf-8")
    lines = (line.split("#", 1)[0].strip().lower() for line in text.splitlines())
    return tuple(line for line in lines if line)


class _AnyOf:
    """Shell wildcards matched fast: ``*literal`` by one ``endswith``, ``*literal*`` by one search, the
    rest by one regular expression; the first pattern in the list that matches is the one named."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = tuple(patterns)
        self.suffixes: dict[str, int] = {}
        self.infixes: dict[str, int] = {}
        others: list[str] = []
        self.group_of: dict[int, int] = {}  # group number in the regex -> pattern index
        group = 1
        for index, pattern in enumerate(self.patterns):
            body = pattern[1:]
            if pattern.startswith("*") and not any(c in body for c in "*?["):
                self.suffixes.setdefault(body, index)
            elif pattern.startswith("*") and pattern.endswith("*") and not any(c in body[:-1] for c in "*?["):
                self.infixes.setdefault(body[:-1], index)
            else:
                regex = fnmatch.translate(pattern)
                self.group_of[group] = index
                group += 1 + re.compile(regex).groups  # translate() may add groups of its own
                others.append(f"({regex})")
        self.suffix_tuple = tuple(self.suffixes)
        self.infix_re = re.compile("|".join(map(re.escape, self.infixes)) or r"(?!)")
        self.regex = re.compile("|".join(others) or r"(?!)")

    def first(self, name: str) -> str | None:
        """The first pattern that matches the whole name, or None."""
        hits: list[int] = []
        if name.endswith(self.suffix_tuple):
            hits += [i for suffix, i in self.suffixes.items() if name.endswith(suffix)]
        if self.infix_re.search(name):
            hits += [i for infix, i in self.infixes.items() if infix in name]
        match = self.regex.match(name)
        if match is not None:
            hits += [i for g, i in self.group_of.items() if match.group(g) is not None]
        return self.patterns[min(hits)] if hits else None


ENTROPY_SAMPLE = 16 * 1024  # random bytes show 7.9+ bits per byte over 16 KiB; more only costs time
FULL_SAMPLE, FULL_BITS = 4096, 7.2  # a sample of 4 KiB or more: random at 7.2 bits per byte or more
SHORT_SAMPLE, SHORT_BITS = 512, 6.0  # a shorter one (at least 512 bytes): at 6.0 or more
# Shannon entropy computed by YARA-X's math module: the same sum as filetype.entropy, in Rust (18 us a
# sample instead of 0.3-0.6 ms through collections.Counter, measured; tests/review/test_ransomware.py
# checks that both give the same answers).
_RANDOM_RULE = ('import "math"\nrule random_bytes { condition: '
                f"(filesize >= {FULL_SAMPLE} and math.entropy(0, filesize) >= {FULL_BITS}) or "
                f"(filesize >= {SHORT_SAMPLE} and filesize < {FULL_SAMPLE} "
                f"and math.entropy(0, filesize) >= {SHORT_BITS}) }}")
_THREAD = threading.local()  # a yara_x scanner may only be used (and dropped) on the thread that made it


def high_entropy(head: bytes) -> bool:
    """True when a sample looks like random bytes (encrypted or compressed)."""
    scanner = getattr(_THREAD, "random", None)
    if scanner is None:
        scanner = _THREAD.random = yara_x.Scanner(yara_x.compile(_RANDOM_RULE))
    return bool(scanner.scan(head[:ENTROPY_SAMPLE]).matching_rules)


class RansomwareScanner:
    """Per-file ransomware signs; the result depends on the content and the file name."""

    name = "ransomware"
    head_bytes = NOTE_MAX + 1  # all it reads of a file: the type, the entropy sample and a note's text

    def __init__(self, extensions: Iterable[str] | None = None, note_names: Iterable[str] | None = None) -> None:
        self.extensions = tuple(extensions) if extensions is not None else _patterns("ransomware_extensions.txt")
        self.note_names = tuple(note_names) if note_names is not None else _patterns("ransom_note_names.txt")
        self._extension_re = _AnyOf(["*" + p for p in self.extensions])
        self._note_re = _AnyOf(self.note_names)

    def path_key(self, path: str) -> str:
        """Only the file name matters (extension, note name)."""
        return file_name(path).lower()

    def scan(self, path: str, data: bytes) -> list[Finding]:
        """Findings for the name and the content of one file."""
        name = file_name(path).lower()
        findings: list[Finding] = []
        ext_rule = self._ransom_extension(name)
        if ext_rule:
            findings.append(self._finding(path, "ransomware-extension", "encrypted",
                                          f"its extension matches {ext_rule!r}, used by ransomware for the "
                                          "files it encrypted"))
            name = name[: name.rfind(".")] if "." in name else name  # judge the content by the name before it
        note = self._note(path, name, data)
        if note:
            findings.append(note)
        content = self._content(path, name, data)
        if content:
            findings.append(content)
        return findings

    def _ransom_extension(self, name: str) -> str | None:
        found = self._extension_re.first(name)
        return found[1:] if found else None

    def _note(self, path: str, name: str, data: bytes) -> Finding | None:
        if self._note_re.first(name) is None:
            return None
        sample = data[:NOTE_MAX]
        if len(data) <= NOTE_MAX and (ONION_V3.search(sample) or len(DEMAND.findall(sample)) >= 2):
            return self._finding(path, "ransom-note", "encrypted",
                                 "a ransom note: named like one and asks for payment or gives a Tor address")
        return self._finding(path, "ransom-note-name", "suspicious",
                             "named like a ransom note (its text has no Tor address or payment demand)")

    def _content(self, path: str, name: str, data: bytes) -> Finding | None:
        if len(data) < 16:
            return None
        ext = name[name.rfind("."):] if "." in name[1:] else ""
        head = data[: filetype.HEAD]
        if ext in filetype.TEXT_EXTENSIONS:
            if not filetype.looks_like_text(head) and high_entropy(head):
                return self._finding(path, "entropy", "encrypted",
                                     f"a {ext} file should be text but its bytes look random: likely encrypted")
            return None
        expected = filetype.EXPECTED.get(ext)
        if expected is None:
            return None
        actual = filetype.detect(head)
        if actual in expected or (actual in IMAGE_TYPES and expected <= IMAGE_TYPES):
            return None
        if actual is None and filetype.looks_like_text(head):  # encryption never yields readable text
            return None
        if actual is None and high_entropy(head):
            return self._finding(path, "type-mismatch", "encrypted",
                                 f"a {ext} file should start like {'/'.join(sorted(expected))} but its bytes "
                                 "look random: likely encrypted")
        found = f"it starts like {actual}" if actual else "its first bytes match no known type"
        return self._finding(path, "type-mismatch", "suspicious",
                             f"a {ext} file should start like {'/'.join(sorted(expected))}, but {found}")

    def _finding(self, path: str, rule: str, severity: Severity, reason: str) -> Finding:
        return Finding("ransomware", rule, path, severity, reason, self.name)
