"""``notify status``: per jurisdiction and audience, where the notices stand and how many days are left (pure)."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aftermath.notify.delivery.store import STATUSES, NoticeRow

DONE = frozenset({"sent", "printed"})
WARN_DAYS = 3


@dataclass
class Line:
    """One jurisdiction and audience."""

    jurisdiction: str
    audience: str
    deadline: dt.date | None
    counts: Counter[str] = field(default_factory=Counter)
    replaced: int = 0  # moved to post, and the post letter exists: the duty is carried by it

    def days_left(self, today: dt.date) -> int | None:
        """Days until the deadline (negative when missed)."""
        return (self.deadline - today).days if self.deadline else None

    def flag(self, today: dt.date) -> str:
        """``done``, ``MISSED``, ``DUE SOON`` (within 3 days) or ``open``."""
        open_ = sum(n for s, n in self.counts.items() if s not in DONE) - self.replaced
        left = self.days_left(today)
        if not open_:
            return "done"
        if left is not None and left < 0:
            return "MISSED"
        return "DUE SOON" if left is not None and left <= WARN_DAYS else "open"


def summarise(rows: Iterable[NoticeRow]) -> list[Line]:
    """Group notices by each duty they serve."""
    rows = list(rows)
    on_paper = {r.person_id for r in rows if r.channel in ("post", "substitute") and r.audience == "individuals"}
    lines: dict[tuple[str, str], Line] = {}
    for row in rows:
        for jurisdiction, audience, deadline in json.loads(row.duties):
            key = (jurisdiction, audience)
            if key not in lines:
                lines[key] = Line(jurisdiction, audience, dt.date.fromisoformat(deadline) if deadline else None)
            lines[key].counts[row.status] += 1
            lines[key].replaced += row.status in ("moved_to_post", "bounced") and row.person_id in on_paper
    return sorted(lines.values(), key=lambda ln: (ln.deadline or dt.date.max, ln.jurisdiction, ln.audience))


def to_json(lines: Iterable[Line], today: dt.date) -> dict[str, Any]:
    """The documented JSON shape of ``notify status --json``."""
    out = [{"jurisdiction": ln.jurisdiction, "audience": ln.audience,
            "deadline": ln.deadline.isoformat() if ln.deadline else None, "days_left": ln.days_left(today),
            "flag": ln.flag(today), "replaced_by_post": ln.replaced,
            "counts": {s: ln.counts.get(s, 0) for s in STATUSES}} for ln in lines]
    return {"today": today.isoformat(), "duties": out,
            "missed": sum(1 for d in out if d["flag"] == "MISSED"),
            "due_soon": sum(1 for d in out if d["flag"] == "DUE SOON")}
