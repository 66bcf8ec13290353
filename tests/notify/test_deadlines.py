from __future__ import annotations

import datetime as dt

import pytest

from aftermath.notify.deadlines import add_business_days, due, is_business_day, parse_discovered
from aftermath.notify.laws.schema import Deadline

D = dt.date
UTC = dt.UTC


def at(y: int, m: int, d: int, h: int = 0, mi: int = 0, tz: dt.tzinfo = UTC) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=tz)


@pytest.mark.parametrize(("start", "n", "expected"), [
    (D(2026, 1, 9), 4, D(2026, 1, 15)),     # Friday: skips the weekend
    (D(2026, 1, 10), 1, D(2026, 1, 12)),    # from a Saturday: Monday is the first
    (D(2026, 11, 25), 4, D(2026, 12, 2)),   # Thanksgiving (26th) skipped, the Friday after counts
    (D(2026, 12, 24), 4, D(2026, 12, 31)),  # Christmas and a weekend
    (D(2026, 12, 30), 4, D(2027, 1, 6)),    # New Year's Day across the year boundary
    (D(2026, 7, 2), 1, D(2026, 7, 6)),      # Independence Day observed on Friday 3 July 2026
    (D(2026, 6, 18), 1, D(2026, 6, 22)),    # Juneteenth (Friday) and the weekend
    (D(2026, 1, 16), 1, D(2026, 1, 20)),    # Martin Luther King Jr. Day (Monday 19th)
    (D(2026, 3, 2), 0, D(2026, 3, 2)),
])
def test_business_days_skip_weekends_and_federal_holidays(start, n, expected):
    assert add_business_days(start, n) == expected


def test_business_day_predicate():
    assert is_business_day(D(2026, 11, 27))          # day after Thanksgiving is not a federal holiday
    assert not is_business_day(D(2026, 11, 26))
    assert not is_business_day(D(2026, 11, 28))      # Saturday
    assert not is_business_day(D(2027, 12, 24))      # Christmas 2027 (Saturday) observed on Friday 24th


def test_calendar_days_from_discovery_and_leap_years():
    sixty = Deadline(days=60, text="within 60 days")
    assert due(sixty, at(2026, 3, 2)).date == D(2026, 5, 1)
    assert due(Deadline(days=30, text="x"), at(2028, 2, 1)).date == D(2028, 3, 2)
    # a weekend due date is not moved (conservative)
    assert due(Deadline(days=4, text="x"), at(2026, 1, 9)).date == D(2026, 1, 13)
    assert due(Deadline(days=1, text="x"), at(2026, 1, 9)).date == D(2026, 1, 10)


def test_business_day_deadline_from_discovery():
    result = due(Deadline(days=4, business_days=True, text="four business days"), at(2026, 11, 25, 9))
    assert result.date == D(2026, 12, 2)
    assert "4 business days" in result.text


def test_gdpr_hours_give_timestamp_and_date():
    result = due(Deadline(hours=72, text="within 72 hours"), at(2026, 11, 25, 10, 30))
    assert result.at == at(2026, 11, 28, 10, 30)
    assert result.date == D(2026, 11, 28)
    assert "2026-11-28T10:30+00:00" in result.text
    assert result.note == ""


def test_hours_keep_the_discovery_offset_for_the_date():
    east = dt.timezone(dt.timedelta(hours=-5))
    result = due(Deadline(hours=72, text="x"), at(2026, 11, 25, 23, 30, east))
    assert result.date == D(2026, 11, 28)  # 23:30 local on the 28th, already the 29th in UTC
    assert "2026-11-28T23:30-05:00" in result.text


def test_hours_without_a_time_count_from_midnight_and_say_so():
    result = due(Deadline(hours=72, text="x"), at(2026, 11, 25), time_known=False)
    assert result.at == at(2026, 11, 28)
    assert "00:00" in result.note


def test_words_only_has_no_date_and_is_asap():
    result = due(Deadline(text="in the most expedient time possible"), at(2026, 1, 1))
    assert result.date is None and result.asap
    assert result.text == "in the most expedient time possible"
    assert "as soon as possible" in result.note


def test_determination_clock_uses_the_recorded_event_or_discovery():
    rule = Deadline(days=30, clock="determination", text="x")
    assert due(rule, at(2026, 3, 1)).date == D(2026, 3, 31)
    assert "Counted from discovery" in due(rule, at(2026, 3, 1)).note
    recorded = due(rule, at(2026, 3, 1), {"determination": D(2026, 3, 10)})
    assert recorded.date == D(2026, 4, 9)
    assert "2026-03-10" in recorded.note


def test_individual_notice_clock_latest_date_until_recorded():
    ag_copy = Deadline(days=15, clock="individual_notice", text="within 15 days of notifying residents")
    latest = due(ag_copy, at(2026, 3, 1), individuals_due=D(2026, 4, 30))
    assert latest.date == D(2026, 5, 15)
    assert "latest allowed" in latest.note
    recorded = due(ag_copy, at(2026, 3, 1), {"individual_notice": D(2026, 3, 20)}, individuals_due=D(2026, 4, 30))
    assert recorded.date == D(2026, 4, 4)
    unknown = due(ag_copy, at(2026, 3, 1), individuals_due=None)
    assert unknown.date is None and unknown.asap
    assert "no fixed date" in unknown.note


def test_materiality_clock_counts_business_days_from_determination():
    sec = Deadline(days=4, business_days=True, clock="materiality", text="four business days")
    assumed = due(sec, at(2026, 11, 25))
    assert assumed.date == D(2026, 12, 2)
    assert "material" in assumed.note
    recorded = due(sec, at(2026, 11, 25), {"materiality": D(2026, 12, 18)})
    assert recorded.date == D(2026, 12, 24)  # Fri 18 -> 21, 22, 23, 24 (Christmas is the 25th)


def test_calendar_year_end_clock():
    annual = Deadline(days=60, clock="calendar_year_end", text="60 days after the end of the year")
    assert due(annual, at(2026, 5, 1)).date == D(2027, 3, 1)
    assert due(annual, at(2027, 1, 2)).date == D(2028, 2, 29)


def test_parse_discovered():
    assert parse_discovered("2026-11-25") == (at(2026, 11, 25), False)
    assert parse_discovered("2026-11-25T14:30") == (at(2026, 11, 25, 14, 30), True)
    value, known = parse_discovered("2026-11-25T14:30+02:00")
    assert known and value.utcoffset() == dt.timedelta(hours=2)
    with pytest.raises(ValueError):
        parse_discovered("25/11/2026")


def test_deadline_rejects_days_and_hours_together():
    with pytest.raises(ValueError, match="days or hours"):
        Deadline(days=1, hours=2, text="x")
