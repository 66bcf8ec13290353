from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aftermath.consult.records import Record
from aftermath.consult.status import insurer_deadlines, overdue, parse_within
from aftermath.errors import UsageError

FOUND = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def insurer(within: str | None, notified: str | None = None, role: str = "insurer") -> Record:
    state = {"notified": notified} if notified else {}
    return Record(1, "contact", "Harbor", {"role": role, "policy": "P-1", "notice_within": within}, False, "", "",
                  state)


def task(due: str | None, state: str = "open") -> Record:
    return Record(2, "task", "t", {"owner": None, "due": due}, False, "", "", {"state": state})


@pytest.mark.parametrize(("text", "delta"), [("72h", timedelta(hours=72)), ("72 hours", timedelta(hours=72)),
                                             ("30d", timedelta(days=30)), ("1 day", timedelta(days=1))])
def test_notice_periods(text: str, delta: timedelta):
    assert parse_within(text) == delta


@pytest.mark.parametrize("text", ["soon", "3w", "", "h72"])
def test_bad_notice_period_is_a_usage_error(text: str):
    with pytest.raises(UsageError, match="bad notice period"):
        parse_within(text)


def test_insurer_deadline_runs_from_discovery_and_has_a_state():
    due = FOUND + timedelta(hours=72)
    [open_] = insurer_deadlines([insurer("72h")], FOUND, FOUND + timedelta(hours=1))
    assert (open_.due, open_.state) == (due, "due")
    assert insurer_deadlines([insurer("72h")], FOUND, due + timedelta(seconds=1))[0].state == "overdue"
    assert insurer_deadlines([insurer("72h", "2026-11-22T10:00:00Z")], FOUND, due)[0].state == "met"
    assert insurer_deadlines([insurer("72h", "2026-11-23T08:00:01Z")], FOUND, due)[0].state == "late"
    assert insurer_deadlines([insurer(None), insurer("72h", role="counsel")], FOUND, FOUND) == []


def test_open_tasks_past_due_are_flagged():
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    late, today, closed, undated = task("2026-11-21"), task("2026-11-22"), task("2026-11-01", "done"), task(None)
    timed = task("2026-11-22T11:00")
    assert overdue([late, today, closed, undated, timed], now) == [late, timed]
