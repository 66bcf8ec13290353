"""The outcome of a review, and its JSON form (the contract ``recover`` and scripts read)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aftermath.review.scanner import Finding, Verdict
from aftermath.review.verdict import Occurrence

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class SnapshotReview:
    """One snapshot's verdict and the findings it holds."""

    id: str
    time: datetime
    paths: list[str]
    hostname: str
    verdict: Verdict
    findings: list[Finding]
    files: int
    unreadable: int = 0  # files whose content could not be read (see errors)


@dataclass(frozen=True)
class ReadError:
    """Content or a tree that could not be read: what, where, and why (never trusted, never scanned)."""

    path: str
    blob: str
    pack: str | None
    reason: str
    snapshots: tuple[str, ...] = ()
    kind: str = "content"  # "content", or "repository": a snapshot, index or pack file the reader could not use


@dataclass(frozen=True)
class Stats:
    """How much work the review did."""

    files_total: int  # files in all reviewed snapshots, counted once per snapshot
    distinct_contents: int  # distinct contents among them (each read and scanned once)
    bytes_scanned: int
    seconds: float
    snapshots: int = 0
    scans: int = 0  # scanner calls
    windowed: int = 0  # contents larger than the window: YARA scanned them in overlapping windows


@dataclass
class ReviewResult:
    """Everything a review found; ``to_json()`` gives the documented schema."""

    repository: str
    snapshots: list[SnapshotReview]
    findings: list[Occurrence]
    last_clean: str | None
    stats: Stats
    errors: list[ReadError] = field(default_factory=list)
    partial: list[dict[str, str]] = field(default_factory=list)  # files only partly scanned, and why
    scanners: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when every snapshot is clean and everything was read; else 1."""
        dirty = any(s.verdict != "clean" for s in self.snapshots)
        return 1 if dirty or self.errors else 0

    def counts(self) -> dict[str, int]:
        """How many snapshots have each verdict."""
        out = {"encrypted": 0, "infected": 0, "suspicious": 0, "clean": 0}
        for s in self.snapshots:
            out[s.verdict] += 1
        return out

    def summary(self) -> dict[str, Any]:
        """The short form written to the case journal."""
        first_bad = next((s.id for s in self.snapshots if s.verdict in ("infected", "encrypted")), None)
        return {"repository": self.repository, "snapshots": len(self.snapshots), "verdicts": self.counts(),
                "findings": len(self.findings), "first_bad": first_bad, "last_clean": self.last_clean,
                "errors": len(self.errors), "scanners": self.scanners,
                "stats": {"files_total": self.stats.files_total,
                          "distinct_contents": self.stats.distinct_contents,
                          "bytes_scanned": self.stats.bytes_scanned, "seconds": round(self.stats.seconds, 3)}}

    def to_json(self) -> dict[str, Any]:
        """The review as JSON-ready data (snapshot references are full ids)."""
        return {
            "schema": SCHEMA_VERSION,
            "repository": self.repository,
            "snapshots": [_snapshot(s) for s in self.snapshots],
            "findings": [_occurrence(o) for o in self.findings],
            "last_clean": self.last_clean,
            "stats": {"files_total": self.stats.files_total, "distinct_contents": self.stats.distinct_contents,
                      "bytes_scanned": self.stats.bytes_scanned, "seconds": round(self.stats.seconds, 3),
                      "snapshots": self.stats.snapshots, "scans": self.stats.scans,
                      "windowed": self.stats.windowed},
            "errors": [{"kind": e.kind, "path": e.path, "blob": e.blob, "pack": e.pack, "reason": e.reason,
                        "snapshots": list(e.snapshots)} for e in self.errors],
            "partial": self.partial,
            "scanners": self.scanners,
        }


def _snapshot(s: SnapshotReview) -> dict[str, Any]:
    return {"id": s.id, "time": s.time.isoformat(), "paths": s.paths, "hostname": s.hostname,
            "verdict": s.verdict, "files": s.files, "unreadable": s.unreadable,
            "findings": [{"kind": f.kind, "rule": f.rule, "path": f.path, "sha256": f.sha256,
                          "severity": f.severity} for f in s.findings]}


def _occurrence(o: Occurrence) -> dict[str, Any]:
    f = o.finding
    return {"kind": f.kind, "rule": f.rule, "path": f.path, "sha256": f.sha256, "first_seen": o.first_seen,
            "last_seen": o.last_seen, "snapshots": list(o.snapshots), "severity": f.severity,
            "reason": f.reason, "scanner": f.scanner}
