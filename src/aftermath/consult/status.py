"""Pure decisions over the consultation file: the insurer's notice deadline, overdue tasks.

Cyber policies require notice to the insurer within a set time of discovery ("within 72 hours", "within
30 days"); missing it can cost the cover. That deadline is computed like a legal one, from the
incident's discovery time, and shows with the notification duties.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aftermath.consult.records import Record
from aftermath.errors import UsageError

_WITHIN = re.compile(r"^\s*(\d+)\s*(h|hours?|d|days?)\s*$", re.IGNORECASE)


def parse_within(text: str) -> timedelta:
    """``72h``, ``72 hours``, ``30d`` or ``30 days`` as a duration."""
    match = _WITHIN.match(text)
    if not match:
        raise UsageError(f"bad notice period {text!r}: use hours or days, e.g. 72h or 30d")
    count, unit = int(match.group(1)), match.group(2).lower()
    return timedelta(hours=count) if unit.startswith("h") else timedelta(days=count)


@dataclass(frozen=True)
class Deadline:
    """A dated duty of the business with its state (``due``, ``overdue``, ``met``, ``late``)."""

    what: str
    to: str
    due: datetime
    state: str
    done_at: str | None = None


def insurer_deadlines(contacts: list[Record], discovered: datetime, now: datetime) -> list[Deadline]:
    """The notice each insurer's policy requires, from discovery; met when the contact was marked notified."""
    found = []
    for c in contacts:
        within = c.body.get("notice_within")
        if c.body.get("role") != "insurer" or not within:
            continue
        due = discovered + parse_within(str(within))
        done = c.state.get("notified")
        found.append(Deadline(f"notice to insurer under policy {c.body.get('policy') or '?'} (within {within})",
                              c.title, due, _state(due, done, now), done))
    return found


def _state(due: datetime, done: str | None, now: datetime) -> str:
    if done:
        return "met" if datetime.fromisoformat(done.replace("Z", "+00:00")) <= due else "late"
    return "overdue" if now > due else "due"


def task_state(task: Record) -> str:
    """The task's current state (``open`` until an update says otherwise)."""
    return task.state.get("state", "open")


def overdue(tasks: list[Record], now: datetime) -> list[Record]:
    """Open tasks whose due date has passed, oldest due first (a due date alone means the end of that day)."""
    late = [t for t in tasks if task_state(t) == "open" and t.body.get("due") and due_of(t) < now]
    return sorted(late, key=due_of)


def due_of(task: Record) -> datetime:
    """A task's due moment (aware, UTC when no offset was given); a date alone means the end of that day."""
    text = str(task.body["due"])
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if len(text) == 10:
        moment += timedelta(days=1) - timedelta(microseconds=1)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
