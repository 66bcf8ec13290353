"""Ranking hosts by how likely they are compromised: a pure function of their findings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aftermath.secure.sweep.model import Finding, Severity

WEIGHTS = {Severity.CRITICAL: 50, Severity.HIGH: 25, Severity.MEDIUM: 8, Severity.LOW: 2, Severity.INFO: 0}
REPEAT = 0.25  # further findings of the same check add a quarter: ten cron files are not ten intrusions
LIKELY, SUSPICIOUS = 50, 15


@dataclass(frozen=True)
class HostScore:
    """A host's place in the ranking."""

    host: str
    score: int
    verdict: str
    worst: Severity | None
    findings: int
    complete: bool = True


def score(findings: Iterable[Finding]) -> int:
    """0-100: the worst finding of each check counts fully, the rest of that check a quarter."""
    by_check: dict[str, list[int]] = {}
    for f in findings:
        by_check.setdefault(f.check, []).append(WEIGHTS[f.severity])
    total = 0.0
    for weights in by_check.values():
        weights.sort(reverse=True)
        total += weights[0] + REPEAT * sum(weights[1:])
    return min(100, round(total))


def verdict(points: int, worst: Severity | None, complete: bool) -> str:
    """Plain words for a score."""
    if worst == Severity.CRITICAL or points >= LIKELY:
        return "likely compromised"
    if points >= SUSPICIOUS:
        return "suspicious"
    return "no strong signs" if complete else "unknown (sweep incomplete)"


def rank(per_host: dict[str, list[Finding]], incomplete: Iterable[str] = ()) -> list[HostScore]:
    """Hosts from most to least likely compromised; ties by worst severity, then name."""
    partial = set(incomplete)
    scores = []
    for host, findings in per_host.items():
        points = score(findings)
        worst = max((f.severity for f in findings), default=None)
        complete = host not in partial
        scores.append(HostScore(host, points, verdict(points, worst, complete), worst, len(findings), complete))
    return sorted(scores, key=lambda s: (-s.score, -(s.worst if s.worst is not None else -1), s.host))
