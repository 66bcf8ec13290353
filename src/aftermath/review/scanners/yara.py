"""YARA rules through yara-x: the default rule set that ships with Aftermath plus the user's own.

Rules are compiled once; each thread gets its own ``yara_x.Scanner`` (a scanner is not shared between
threads). A rule's ``severity`` meta ("encrypted", "infected", "suspicious") sets what a match means
(default "infected"); its ``description`` meta becomes the finding's reason.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import yara_x

from aftermath.errors import UsageError
from aftermath.review.scanner import Finding, Severity

RULE_SUFFIXES = (".yar", ".yara")
SEVERITIES: tuple[Severity, ...] = ("encrypted", "infected", "suspicious")


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


def compile_rules(files: Iterable[Path]) -> yara_x.Rules:
    """Compile rule files into one rule set, each file in its own namespace (its stem)."""
    compiler = yara_x.Compiler()
    for path in files:
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read rules {path}: {exc}") from exc
        compiler.new_namespace(path.stem)
        try:
            compiler.add_source(source, origin=str(path))
        except yara_x.CompileError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "compile error"
            raise UsageError(f"YARA rules {path} do not compile: {first}") from exc
    return compiler.build()


class YaraScanner:
    """Scan content with compiled YARA-X rules; content-only (the path does not change the result)."""

    name = "yara"

    def __init__(self, rules: yara_x.Rules, timeout_seconds: int = 60) -> None:
        self.rules = rules
        self.timeout_seconds = timeout_seconds
        self._local = threading.local()

    @classmethod
    def from_paths(cls, extra: Iterable[Path] = (), *, defaults: bool = True) -> YaraScanner:
        """The default rule set (unless ``defaults`` is false) plus the user's files and folders."""
        files = (default_rule_files() if defaults else []) + expand_rule_paths(extra)
        if not files:
            raise UsageError("no YARA rules to scan with: give --rules FILE_OR_DIR")
        return cls(compile_rules(files))

    content_only = True

    def path_key(self, path: str) -> str:
        """YARA rules see the content only."""
        return ""

    def _scanner(self) -> Any:
        scanner = getattr(self._local, "scanner", None)
        if scanner is None:
            scanner = yara_x.Scanner(self.rules)
            scanner.set_timeout(self.timeout_seconds)
            self._local.scanner = scanner
        return scanner

    def scan(self, path: str, data: bytes) -> list[Finding]:
        """One finding per matching rule."""
        try:
            results = self._scanner().scan(data)
        except yara_x.TimeoutError:
            return [Finding("yara", "scan-timeout", path, "suspicious",
                            f"YARA rules did not finish within {self.timeout_seconds} s on this file: "
                            "check it by hand", self.name)]
        return [self._finding(path, rule) for rule in results.matching_rules]

    def _finding(self, path: str, rule: Any) -> Finding:
        meta = dict(rule.metadata)
        severity = meta.get("severity", "infected")
        if severity not in SEVERITIES:
            severity = "infected"
        reason = str(meta.get("description") or f"matches YARA rule {rule.identifier}")
        return Finding("yara", f"{rule.namespace}:{rule.identifier}", path, severity, reason, self.name)
