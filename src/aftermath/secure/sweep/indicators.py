"""Indicator files (--ioc) and YARA rules: the review's default rule files and compile path, plus --rules."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from pathlib import Path

from aftermath.errors import UsageError
from aftermath.review.scanners import yara
from aftermath.review.scanners.yara import YaraScanner, default_rule_files, expand_rule_paths
from aftermath.secure.sweep.model import Iocs, IpNetwork, YaraMatch

HEX = re.compile(r"^[0-9a-fA-F]+$")


def load_iocs(paths: list[Path]) -> Iocs:
    """Read indicator files: one IP, network (CIDR), SHA-256 or MD5 per line; '#' starts a comment."""
    nets: list[IpNetwork] = []
    hashes: set[str] = set()
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read indicator file {path}: {exc}") from exc
        for number, raw in enumerate(lines, 1):
            item = raw.split("#", 1)[0].strip()
            if not item:
                continue
            if HEX.match(item) and len(item) in (32, 64):
                hashes.add(item.lower())
                continue
            try:
                nets.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise UsageError(f"{path}:{number}: {item!r} is not an IP address, network, SHA-256 or MD5") \
                    from None
    return Iocs(tuple(nets), frozenset(hashes))


def rule_files(extra: list[Path]) -> list[Path]:
    """The review's default rule files, then those given with --rules (folders: their .yar/.yara files)."""
    return default_rule_files() + expand_rule_paths(extra)


def compile_rules(files: list[Path]) -> YaraScanner:
    """Compile rule files as the review does (each file in its own namespace, LOKI/THOR external variables set
    per file); a file that does not compile is a usage error naming it, since the sweep has no
    ``--strict-rules`` to choose otherwise."""
    rules, skipped = yara.compile_rules(files, strict=False)
    if skipped:
        path, reason = skipped[0]
        raise UsageError(f"YARA rules {path} do not compile: {reason}: fix them or leave them out of --rules")
    return YaraScanner(rules, by_path=yara.uses_externals(files))


def scan_folder(rules: YaraScanner, folder: Path, prefix: str = "scan") -> list[YaraMatch]:
    """Scan every file the probe sent (under ``folder/scan``); paths are reported as on the host.

    Safe from any thread: the review's scanner keeps a yara-x scanner per thread. A file the rules do not
    finish within the scanner's time limit is not a match (the review reports it as suspicious instead).
    """
    matches = []
    base = folder / prefix
    for path in sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else []:
        data = path.read_bytes()
        host_path = "/" + path.relative_to(base).as_posix()
        hits = tuple(sorted({f.rule.split(":", 1)[1] for f in rules.scan(host_path, data) if ":" in f.rule}))
        if hits:
            matches.append(YaraMatch(host_path, hits, hashlib.sha256(data).hexdigest()))
    return matches
