"""Indicator files (--ioc) and YARA rules (the package's webshell rules, plus review's shared rules)."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from pathlib import Path

import yara_x

from aftermath.errors import UsageError
from aftermath.secure.sweep.model import Iocs, IpNetwork, YaraMatch

RULES = Path(__file__).with_name("rules")
SHARED_RULES = Path(__file__).parents[2] / "review" / "rules"
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
    """The default rules, the shared rules of review/ (when present), and any given with --rules."""
    files = sorted(RULES.glob("*.yar"))
    if SHARED_RULES.is_dir():
        files += sorted(SHARED_RULES.glob("*.yar"))
    for path in extra:
        files += sorted(path.glob("*.yar")) if path.is_dir() else [path]
    return files


def compile_rules(files: list[Path]) -> yara_x.Rules:
    """Compile rule files, each in its own namespace; a broken file is a usage error naming it."""
    compiler = yara_x.Compiler()
    for index, path in enumerate(files):
        try:
            compiler.new_namespace(f"r{index}_{re.sub(r'[^A-Za-z0-9_]', '_', path.stem)}")
            compiler.add_source(path.read_text(encoding="utf-8"), origin=str(path))
        except OSError as exc:
            raise UsageError(f"cannot read YARA rules {path}: {exc.strerror}") from exc
        except yara_x.CompileError as exc:
            raise UsageError(f"YARA rules {path} do not compile: {str(exc).splitlines()[0]}") from exc
    return compiler.build()


def scan_folder(rules: yara_x.Rules, folder: Path, prefix: str = "scan") -> list[YaraMatch]:
    """Scan every file the probe sent (under ``folder/scan``); paths are reported as on the host."""
    scanner = yara_x.Scanner(rules)
    matches = []
    base = folder / prefix
    for path in sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else []:
        data = path.read_bytes()
        hits = tuple(sorted(r.identifier for r in scanner.scan(data).matching_rules))
        if hits:
            matches.append(YaraMatch("/" + path.relative_to(base).as_posix(), hits, hashlib.sha256(data).hexdigest()))
    return matches
