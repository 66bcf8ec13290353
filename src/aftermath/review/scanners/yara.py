"""YARA rules through yara-x: the default rule set that ships with Aftermath plus the user's own.

Rules are compiled once; each thread gets its own ``yara_x.Scanner``. A scanner may not be shared between
threads, nor even dropped on another thread (yara-x raises "unsendable" there), so each thread keeps its
scanners in a module-level cache of its own that only that thread ever empties. A rule's ``severity`` meta
("encrypted", "infected", "suspicious") sets what a match means (default "infected");
its ``description`` meta becomes the finding's reason.

Users' rule sets written for LOKI or THOR use external variables (``filename``, ``filepath``,
``extension``, ``filetype``, ``owner``): they are defined to the compiler and set for each file, as those
scanners do (the owner is not known from a file's content and path, so it is empty). A rule file that
does not compile is skipped and named in ``skipped`` with the reason, unless ``strict``.
"""

from __future__ import annotations

import itertools
import posixpath
import re
import threading
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import yara_x

from aftermath.errors import UsageError
from aftermath.review import filetype
from aftermath.review.scanner import Finding, Severity, extension, file_name

RULE_SUFFIXES = (".yar", ".yara")
_THREAD = threading.local()  # this thread's yara_x scanners by rule set; made, used and dropped on it alone
_KEEP = 4  # rule sets whose scanner a thread keeps (the oldest is dropped, on that thread, to make room)
_TOKENS = itertools.count()
SEVERITIES: tuple[Severity, ...] = ("encrypted", "infected", "suspicious")
EXTERNALS = ("filename", "filepath", "extension", "filetype", "owner")


def default_rule_files() -> list[Path]:
    """The rule files shipped in ``aftermath/review/rules``."""
    root = resources.files("aftermath.review") / "rules"
    return sorted(Path(str(p)) for p in root.iterdir() if p.name.endswith(RULE_SUFFIXES))


def expand_rule_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given; folders replaced by their ``*.yar``/``*.yara`` files (recursively, sorted)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in RULE_SUFFIXES))
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError(f"rules {path} not found: give a .yar file or a folder of them")
    return files


def namespaces(files: Iterable[Path]) -> list[str]:
    """Each file's namespace: its stem, with ``_2``, ``_3``... when an earlier file has the same stem (a user's
    ``webshells.yar`` beside the default one, or two folders' ``rules.yar``), so no two files share one."""
    names: list[str] = []
    for path in files:
        stem = name = re.sub(r"[^A-Za-z0-9_]", "_", path.stem) or "rules"
        number = 1
        while name in names:
            number += 1
            name = f"{stem}_{number}"
        names.append(name)
    return names


def compile_rules(files: Iterable[Path], strict: bool = True) -> tuple[yara_x.Rules, list[tuple[Path, str]]]:
    """Compile rule files into one rule set, each file in its own namespace (see :func:`namespaces`).

    Returns the rules and the files skipped because they do not compile, with the first line of the
    reason; with ``strict`` such a file is a :class:`UsageError` instead.
    """
    compiler = yara_x.Compiler()
    for name in EXTERNALS:
        compiler.define_global(name, "")
    skipped: list[tuple[Path, str]] = []
    files = list(files)
    for path, namespace in zip(files, namespaces(files), strict=True):
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read rules {path}: {exc}") from exc
        compiler.new_namespace(namespace)
        try:
            compiler.add_source(source, origin=str(path))
        except yara_x.CompileError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "compile error"
            if strict:
                raise UsageError(f"YARA rules {path} do not compile: {first}: fix them or leave out --strict-rules"
                                 ) from exc
            skipped.append((path, first))
    return compiler.build(), skipped


def uses_externals(files: Iterable[Path]) -> bool:
    """Whether any of these rule files mentions one of the external variables (then results depend on the path)."""
    words = re.compile(r"\b(" + "|".join(EXTERNALS) + r")\b")
    return any(words.search(p.read_text(encoding="utf-8", errors="replace")) for p in files)


class YaraScanner:
    """Scan content with compiled YARA-X rules; content-only (the path does not change the result)."""

    name = "yara"

    def __init__(self, rules: yara_x.Rules, timeout_seconds: int = 60, *, by_path: bool = False,
                 skipped: Iterable[tuple[Path, str]] = ()) -> None:
        self.rules = rules
        self.timeout_seconds = timeout_seconds
        # rules that read the file's name or folder (external variables) see the path too
        self.content_only = not by_path
        self.skipped = list(skipped)
        self._token = next(_TOKENS)

    @classmethod
    def from_paths(cls, extra: Iterable[Path] = (), *, defaults: bool = True, strict: bool = True) -> YaraScanner:
        """The default rule set (unless ``defaults`` is false) plus the user's files and folders.

        With ``strict`` false, a user's rule file that does not compile is skipped (see ``skipped``).
        """
        own = expand_rule_paths(extra)
        files = (default_rule_files() if defaults else []) + own
        if not files:
            raise UsageError("no YARA rules to scan with: give --rules FILE_OR_DIR")
        rules, skipped = compile_rules(files, strict)
        return cls(rules, by_path=uses_externals(own), skipped=skipped)

    def path_key(self, path: str) -> str:
        """Nothing for content-only rules; the whole path for rules that read external variables."""
        return "" if self.content_only else path

    def _scanner(self) -> Any:
        mine: dict[int, Any] | None = getattr(_THREAD, "scanners", None)
        if mine is None:
            mine = _THREAD.scanners = {}
        scanner = mine.get(self._token)
        if scanner is None:
            while len(mine) >= _KEEP:
                del mine[next(iter(mine))]
            scanner = mine[self._token] = yara_x.Scanner(self.rules)
            scanner.set_timeout(self.timeout_seconds)
        return scanner

    def scan(self, path: str, data: bytes) -> list[Finding]:
        """One finding per matching rule."""
        scanner = self._scanner()
        if not self.content_only:
            self._set_externals(scanner, path, data)
        try:
            results = scanner.scan(data)
        except yara_x.TimeoutError:
            return [Finding("yara", "scan-timeout", path, "suspicious",
                            f"YARA rules did not finish within {self.timeout_seconds} s on this file: "
                            "check it by hand", self.name)]
        return [self._finding(path, rule) for rule in results.matching_rules]

    @staticmethod
    def _set_externals(scanner: Any, path: str, data: bytes) -> None:
        """The values LOKI and THOR give their external variables, for this file."""
        kind = filetype.detect(data[:4096])
        scanner.set_global("filename", file_name(path))
        scanner.set_global("filepath", posixpath.dirname(path))
        scanner.set_global("extension", extension(path))
        scanner.set_global("filetype", (kind or "").upper())

    def _finding(self, path: str, rule: Any) -> Finding:
        meta = dict(rule.metadata)
        severity = meta.get("severity", "infected")
        if severity not in SEVERITIES:
            severity = "infected"
        reason = str(meta.get("description") or f"matches YARA rule {rule.identifier}")
        return Finding("yara", f"{rule.namespace}:{rule.identifier}", path, severity, reason, self.name)
