"""Restore plans: pure decisions about which version of every path comes back, and why.

Two strategies:

- ``last-clean``: everything from the last clean restore point the review found.
- ``surgical``: for every path, the newest clean version older than the first sign of encryption.
  Versions the review flags are left out (an older clean version is taken when there is one);
  files that only appear after the compromise began are listed for a person to decide; executables
  and scripts that are new since the last clean point are held back.

Snapshots are grouped as restic groups them (host and paths), so each group's set of paths comes
from its own newest usable snapshot. Nothing here reads a repository: the caller lists the snapshots.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, Literal

Action = Literal["restore", "hold", "decide"]
Strategy = Literal["last-clean", "surgical"]
BAD_VERDICTS = ("infected", "encrypted")
SCRIPT_SUFFIXES = frozenset({
    ".php", ".phtml", ".php5", ".php7", ".phar", ".jsp", ".jspx", ".asp", ".aspx", ".ashx", ".cgi", ".pl",
    ".py", ".rb", ".sh", ".bash", ".zsh", ".ps1", ".psm1", ".bat", ".cmd", ".vbs", ".js", ".exe", ".dll",
    ".so", ".elf", ".bin", ".jar", ".war", ".msi", ".scr", ".com",
})


@dataclass(frozen=True)
class Version:
    """One path as it is in one snapshot."""

    snapshot: str
    time: datetime
    path: str
    type: str
    identity: tuple[str, ...]
    size: int
    mode: int
    mtime: datetime | None = None
    linktarget: str | None = None


@dataclass(frozen=True)
class SnapshotInfo:
    """A snapshot as the planner needs it: when, which group, what the review said."""

    id: str
    time: datetime
    group: str
    verdict: str = "clean"


@dataclass(frozen=True)
class ReviewFacts:
    """What the review found: verdicts per snapshot and flagged (path, snapshot) pairs with reasons."""

    verdicts: Mapping[str, str]
    flagged: Mapping[tuple[str, str], tuple[str, ...]]
    last_clean: str | None


@dataclass(frozen=True)
class Entry:
    """One line of the plan: a path, what happens to it, from which snapshot, and why."""

    path: str
    action: Action
    reason: str
    snapshot: str | None = None
    time: str | None = None
    type: str = "file"
    identity: tuple[str, ...] = ()
    size: int = 0
    mode: int = 0o644
    mtime: str | None = None
    linktarget: str | None = None


@dataclass
class Plan:
    """A restore plan a person can read and approve."""

    strategy: Strategy
    repository: str
    created: str
    entries: list[Entry] = field(default_factory=list)
    last_clean: str | None = None
    first_compromise: str | None = None
    first_encrypted: str | None = None
    snapshots: list[str] = field(default_factory=list)
    review_sha256: str | None = None

    def totals(self) -> dict[str, Any]:
        """Counts and bytes per action."""
        out: dict[str, Any] = {}
        for action in ("restore", "hold", "decide"):
            chosen = [e for e in self.entries if e.action == action and e.type == "file"]
            out[action] = {"files": len(chosen), "bytes": sum(e.size for e in chosen)}
        return out

    def to_json(self) -> dict[str, Any]:
        """The plan document (what is saved in the case, hashed and approved)."""
        data = asdict(self)
        data["format"] = "aftermath-restore-plan/1"
        data["totals"] = self.totals()
        for entry in data["entries"]:
            entry["identity"] = list(entry["identity"])
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        """Read a plan document back."""
        if data.get("format") != "aftermath-restore-plan/1":
            raise ValueError("not an Aftermath restore plan (format aftermath-restore-plan/1)")
        entries = [Entry(**{**e, "identity": tuple(e["identity"])}) for e in data["entries"]]
        keys = ("strategy", "repository", "created", "last_clean", "first_compromise", "first_encrypted",
                "snapshots", "review_sha256")
        return cls(entries=entries, **{k: data.get(k) for k in keys})  # type: ignore[arg-type]


class PlanError(ValueError):
    """The inputs do not allow a plan (no clean point, unknown snapshot)."""


def is_executable(version: Version) -> bool:
    """Executables and scripts: by name, or by the executable bit on a regular file."""
    return PurePosixPath(version.path).suffix.lower() in SCRIPT_SUFFIXES or bool(version.mode & 0o111)


def _entry(version: Version, action: Action, reason: str) -> Entry:
    return Entry(path=version.path, action=action, reason=reason, snapshot=version.snapshot,
                 time=version.time.isoformat(), type=version.type, identity=version.identity, size=version.size,
                 mode=version.mode, mtime=version.mtime.isoformat() if version.mtime else None,
                 linktarget=version.linktarget)


def _first(snapshots: list[SnapshotInfo], verdicts: tuple[str, ...], facts: ReviewFacts) -> SnapshotInfo | None:
    bad = [s for s in snapshots if facts.verdicts.get(s.id, s.verdict) in verdicts]
    return min(bad, key=lambda s: s.time) if bad else None


def last_clean_points(snapshots: list[SnapshotInfo], facts: ReviewFacts) -> list[SnapshotInfo]:
    """Per group, the newest snapshot older than the first infected or encrypted one (of any group)."""
    first_bad = _first(snapshots, BAD_VERDICTS, facts)
    points = []
    for group in sorted({s.group for s in snapshots}):
        older = [s for s in snapshots if s.group == group and (first_bad is None or s.time < first_bad.time)]
        if older:
            points.append(max(older, key=lambda s: s.time))
    return points


def plan_last_clean(snapshots: list[SnapshotInfo], listing: Mapping[str, Mapping[str, Version]],
                    facts: ReviewFacts, repository: str, created: str, snapshot: str | None = None) -> Plan:
    """Everything from the last clean restore point of each group (or the one snapshot given)."""
    if snapshot is not None:
        if snapshot not in listing:
            raise PlanError(f"snapshot {snapshot[:8]} is not in the repository any more (pruned?): review again")
        chosen = [snapshot]
    else:
        chosen = [s.id for s in last_clean_points(snapshots, facts)]
        if not chosen:
            raise PlanError("the review found no clean restore point: every snapshot is infected or encrypted")
    plan = Plan("last-clean", repository, created, last_clean=facts.last_clean, snapshots=chosen)
    for snap_id in chosen:
        for path, version in sorted(listing[snap_id].items()):
            reasons = facts.flagged.get((path, snap_id))
            if reasons:
                plan.entries.append(_entry(version, "hold", "flagged by the review: " + "; ".join(reasons)))
            else:
                plan.entries.append(_entry(version, "restore", f"as in the last clean snapshot {snap_id[:8]}"))
    return plan


def plan_surgical(snapshots: list[SnapshotInfo], listing: Mapping[str, Mapping[str, Version]],
                  facts: ReviewFacts, repository: str, created: str, include_new: bool = False) -> Plan:
    """Per path, the newest clean version before the first sign of encryption (see module docs)."""
    first_bad = _first(snapshots, BAD_VERDICTS, facts)
    first_enc = _first(snapshots, ("encrypted",), facts)
    plan = Plan("surgical", repository, created, last_clean=facts.last_clean,
                first_compromise=first_bad.id if first_bad else None,
                first_encrypted=first_enc.id if first_enc else None)
    clean_time = _time_of(snapshots, facts.last_clean)
    for group in sorted({s.group for s in snapshots}):
        usable = sorted((s for s in snapshots if s.group == group and (first_enc is None or s.time < first_enc.time)),
                        key=lambda s: s.time)
        if not usable:
            continue
        plan.snapshots.append(usable[-1].id)
        for path in sorted(listing[usable[-1].id]):
            plan.entries.append(_decide_path(path, usable, listing, facts, first_bad, clean_time, include_new))
    return plan


def _time_of(snapshots: list[SnapshotInfo], snap_id: str | None) -> datetime | None:
    return next((s.time for s in snapshots if s.id == snap_id), None)


def _decide_path(path: str, usable: list[SnapshotInfo], listing: Mapping[str, Mapping[str, Version]],
                 facts: ReviewFacts, first_bad: SnapshotInfo | None, clean_time: datetime | None,
                 include_new: bool) -> Entry:
    history = [listing[s.id][path] for s in usable if path in listing[s.id]]
    newest = history[-1]
    clean = [v for v in history if (path, v.snapshot) not in facts.flagged]
    if not clean:
        reasons = facts.flagged[(path, newest.snapshot)]
        return _entry(newest, "hold", "flagged by the review in every version: " + "; ".join(reasons))
    chosen = clean[-1]
    note = "" if chosen is newest else f"; newer version in {newest.snapshot[:8]} flagged, older clean one taken"
    appeared = history[0].time
    if first_bad is not None and appeared >= first_bad.time:
        if newest.type == "file" and is_executable(newest):
            return _entry(chosen, "hold", "executable or script new since the compromise began: held back" + note)
        if not include_new:
            return _entry(chosen, "decide", "appeared only after the compromise began: a person must decide" + note)
        return _entry(chosen, "restore", "new since the compromise began, included on request" + note)
    if clean_time is not None and appeared > clean_time and newest.type == "file" and is_executable(newest):
        return _entry(chosen, "hold", "executable or script new since the last clean point: held back" + note)
    return _entry(chosen, "restore", f"newest clean version, from {chosen.snapshot[:8]}" + note)
