"""The scanners Aftermath ships, registered in one explicit list.

``default_scanners(rules=[], iocs=[], strict_rules=False)`` builds them: YARA (the default rule set plus
``rules``), hash indicators (when ``iocs`` are given), ransomware signs and program placement. Additions are built the
same way and passed to :func:`aftermath.review.run_review` or :func:`aftermath.review.scan_tree`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from aftermath.review.scanner import Scanner
from aftermath.review.scanners.hashes import HashScanner, load_iocs
from aftermath.review.scanners.placement import PlacementScanner
from aftermath.review.scanners.ransomware import RansomwareScanner
from aftermath.review.scanners.yara import YaraScanner


def _yara(rules: Sequence[Path], iocs: Sequence[Path], strict: bool) -> Scanner | None:
    return YaraScanner.from_paths(rules, strict=strict)


def _hashes(rules: Sequence[Path], iocs: Sequence[Path], strict: bool) -> Scanner | None:
    return HashScanner(load_iocs(iocs)) if iocs else None


def _ransomware(rules: Sequence[Path], iocs: Sequence[Path], strict: bool) -> Scanner | None:
    return RansomwareScanner()


def _placement(rules: Sequence[Path], iocs: Sequence[Path], strict: bool) -> Scanner | None:
    return PlacementScanner()


# The registry: name -> builder (rule paths, IOC paths, strict rules). Built-ins are listed exactly as an
# addition would be.
REGISTRY: list[tuple[str, Callable[[Sequence[Path], Sequence[Path], bool], Scanner | None]]] = [
    ("yara", _yara),
    ("hashes", _hashes),
    ("ransomware", _ransomware),
    ("placement", _placement),
]


def default_scanners(rules: Iterable[Path] = (), iocs: Iterable[Path] = (), *,
                     strict_rules: bool = False) -> list[Scanner]:
    """Every registered scanner that applies: YARA with the default rules plus ``rules``; IOCs if given.

    A rule file of ``rules`` that does not compile is skipped (named in the YARA scanner's ``skipped``),
    or, with ``strict_rules``, a :class:`~aftermath.errors.UsageError`.
    """
    rule_paths, ioc_paths = [Path(p) for p in rules], [Path(p) for p in iocs]
    built = (build(rule_paths, ioc_paths, strict_rules) for _, build in REGISTRY)
    return [scanner for scanner in built if scanner is not None]


__all__ = ["REGISTRY", "HashScanner", "PlacementScanner", "RansomwareScanner", "YaraScanner", "default_scanners"]
