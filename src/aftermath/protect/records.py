"""What the journal says about snapshots and drills: the history ``status`` and ``drill`` work from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aftermath.errors import IntegrityError, StateError, UsageError
from aftermath.protect.manifest import Manifest

if TYPE_CHECKING:
    from aftermath.case import Case


@dataclass(frozen=True)
class SnapshotRecord:
    """One ``protect.snapshot`` journal entry."""

    seq: int
    source: str
    kind: str
    snapshot_id: str
    time: datetime
    manifest_id: int
    manifest_sha256: str


@dataclass(frozen=True)
class DrillRecord:
    """One ``protect.drill`` journal entry."""

    seq: int
    at: datetime
    source: str
    snapshot_id: str
    ok: bool
    problems: list[Any]


def snapshots(case: Case) -> list[SnapshotRecord]:
    """Every snapshot aftermath took, in journal order."""
    out = []
    for e in case.entries("protect.snapshot"):
        d = e.data
        out.append(SnapshotRecord(e.seq, d["source"], d["kind"], d["snapshot"], datetime.fromisoformat(d["time"]),
                                  int(d["manifest_id"]), d["manifest_sha256"]))
    return out


def drills(case: Case) -> list[DrillRecord]:
    """Every drill result, in journal order."""
    return [DrillRecord(e.seq, datetime.fromisoformat(e.at), e.data["source"], e.data["snapshot"], bool(e.data["ok"]),
                        list(e.data.get("problems", []))) for e in case.entries("protect.drill")]


def latest_per_source(records: list[SnapshotRecord]) -> dict[str, SnapshotRecord]:
    """The newest snapshot of each source (by snapshot time, then journal order)."""
    best: dict[str, SnapshotRecord] = {}
    for r in records:
        cur = best.get(r.source)
        if cur is None or (r.time, r.seq) >= (cur.time, cur.seq):
            best[r.source] = r
    return best


def find(records: list[SnapshotRecord], snapshot_id: str) -> SnapshotRecord:
    """The record of a snapshot given its full or short id."""
    hits = {r.snapshot_id: r for r in records if r.snapshot_id.startswith(snapshot_id.lower())}
    if not hits:
        raise StateError(f"snapshot {snapshot_id} has no manifest in this case: drill snapshots taken by "
                         "'aftermath protect run'")
    if len(hits) > 1:
        raise UsageError(f"snapshot id {snapshot_id} is ambiguous: give more characters")
    return next(iter(hits.values()))


def load_manifest(case: Case, record: SnapshotRecord) -> Manifest:
    """Read a snapshot's manifest from the case after checking it against the hash in the journal."""
    item = case.evidence(record.manifest_id)
    if item.sha256 != record.manifest_sha256:
        raise IntegrityError(f"manifest of snapshot {record.snapshot_id[:8]} does not match the journal")
    case.check_evidence(item)
    return Manifest.from_json(item.path.read_bytes())
