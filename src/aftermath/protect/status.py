"""``protect status``: each source's last snapshot, its age against the interval, the last drill.

Everything here is decided by a pure function over the journal's records and a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from aftermath.case.config import Source
from aftermath.protect import records

if TYPE_CHECKING:
    from aftermath.case import Case

GRACE = 1.1  # a scheduled run may start a little late; only beyond 10% is it overdue


@dataclass(frozen=True)
class SourceStatus:
    """Where one source stands."""

    source: str
    kind: str
    snapshot_id: str | None
    snapshot_time: datetime | None
    age_hours: float | None
    overdue: bool
    drill_ok: bool | None
    drill_at: datetime | None
    drill_snapshot: str | None
    drill_overdue: bool

    def as_json(self) -> dict[str, object]:
        """A JSON-ready form."""
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.__dict__.items()}


FUTURE_SLACK_HOURS = 5 / 60  # clocks differ a little; a snapshot from later than this is not on time


def compute(sources: list[Source], snaps: list[records.SnapshotRecord], drills: list[records.DrillRecord],
            now: datetime, interval_hours: float, drill_interval_days: float) -> list[SourceStatus]:
    """Status of every configured source at ``now`` (pure)."""
    latest = records.latest_per_source(snaps)
    out = []
    for s in sources:
        snap = latest.get(s.name)
        age = (now - snap.time).total_seconds() / 3600 if snap else None
        drill = next((d for d in reversed(drills) if d.source == s.name), None)
        drill_age_days = (now - drill.at).total_seconds() / 86400 if drill else None
        out.append(SourceStatus(
            s.name, s.kind, snap.snapshot_id if snap else None, snap.time if snap else None, age,
            age is None or age > interval_hours * GRACE or age < -FUTURE_SLACK_HOURS,  # a future time proves nothing
            drill.ok if drill else None, drill.at if drill else None, drill.snapshot_id if drill else None,
            drill_age_days is None or drill_age_days > drill_interval_days * GRACE))
    return out


def status(case: Case, now: datetime) -> list[SourceStatus]:
    """Status of the case's sources from its journal."""
    cfg = case.config.protect
    return compute(cfg.sources, records.snapshots(case), records.drills(case), now, cfg.interval_hours,
                   cfg.drill_interval_days)
