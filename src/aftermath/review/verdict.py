"""Pure decisions: a snapshot's verdict, the last clean restore point, and the findings timeline.

No I/O here; everything takes plain values so it can be tested exhaustively.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from aftermath.review.scanner import SEVERITY_ORDER, Finding, Verdict

BAD: frozenset[Verdict] = frozenset({"encrypted", "infected"})


def verdict_of(severities: Iterable[str]) -> Verdict:
    """The most severe of the given severities: encrypted > infected > suspicious > clean."""
    present = set(severities)
    return next((v for v in SEVERITY_ORDER if v in present), "clean")


def last_clean(verdicts: Sequence[tuple[str, Verdict]]) -> str | None:
    """The newest snapshot older than the first infected or encrypted one (snapshots oldest first).

    Suspicious snapshots are shown but do not move it. With no bad snapshot it is the newest one;
    when the very first snapshot is bad there is none.
    """
    clean: str | None = None
    for snapshot_id, verdict in verdicts:
        if verdict in BAD:
            return clean
        clean = snapshot_id
    return clean


@dataclass(frozen=True)
class Occurrence:
    """A finding as it spans snapshots: same kind, rule, path and content."""

    finding: Finding
    snapshots: tuple[str, ...]  # oldest first

    @property
    def first_seen(self) -> str:
        """The oldest snapshot that holds it."""
        return self.snapshots[0]

    @property
    def last_seen(self) -> str:
        """The newest snapshot that holds it."""
        return self.snapshots[-1]


def finding_key(finding: Finding) -> tuple[str, str, str, str]:
    """What makes two findings the same across snapshots."""
    return (finding.kind, finding.rule, finding.path, finding.sha256)


def timeline(order: Sequence[str], per_snapshot: Mapping[str, Sequence[Finding]]) -> list[Occurrence]:
    """Merge each snapshot's findings into occurrences, sorted by first appearance, then severity and path."""
    seen: dict[tuple[str, str, str, str], tuple[Finding, list[str]]] = {}
    for snapshot_id in order:
        for finding in per_snapshot.get(snapshot_id, ()):
            entry = seen.setdefault(finding_key(finding), (finding, []))
            if not entry[1] or entry[1][-1] != snapshot_id:
                entry[1].append(snapshot_id)
    position = {s: i for i, s in enumerate(order)}
    occurrences = [Occurrence(f, tuple(snaps)) for f, snaps in seen.values()]
    occurrences.sort(key=lambda o: (position[o.first_seen], SEVERITY_ORDER.index(o.finding.severity),
                                    o.finding.path, o.finding.kind, o.finding.rule))
    return occurrences


def settled(findings: Iterable[Finding]) -> frozenset[tuple[str, str]]:
    """The placement findings of a group's first snapshot, as (path, content): the state the history starts from."""
    return frozenset((f.path, f.sha256) for f in findings if f.kind == "placement")


def without_settled(findings: Sequence[Finding], baseline: frozenset[tuple[str, str]]) -> list[Finding]:
    """Findings minus placement findings already there, unchanged, in the first snapshot.

    A program in a folder named like a data folder that was there from the start is the application's
    own layout; one that appears later, or whose content changes, is what an intruder leaves.
    """
    return [f for f in findings if f.kind != "placement" or (f.path, f.sha256) not in baseline]
