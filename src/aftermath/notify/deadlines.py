"""Deadline arithmetic for notification duties: pure functions of a rule's deadline and the known events.

Calendar days run from the day the clock starts (a duty due "within 30 days" of discovery on 1 March is
due on 31 March). Business days skip Saturdays, Sundays and US federal holidays (the ``holidays``
package, observed dates included). Hours run from the exact time of their clock (GDPR's 72 hours from
discovery); when only a date is known (of discovery, or of a recorded event), the clock is taken to start
at 00:00 of that day, the earliest it could have started.

Calendar-day deadlines that fall on a weekend are NOT moved: breach statutes rarely say they are, so the
conservative reading is the earlier date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import holidays

from aftermath.notify.laws.schema import Deadline, Period

CLOCK_WORDS = {
    "discovery": "discovery of the breach",
    "determination": "the determination that a breach occurred",
    "individual_notice": "notice to the affected individuals",
    "materiality": "the determination that the incident is material",
    "calendar_year_end": "the end of the calendar year of discovery",
    "hhs_notice": "notice to the Secretary of HHS (HIPAA)",
    "no_harm_determination": "the written determination that harm is unlikely",
}
# Clocks that start at a later event: until it is recorded, counted from discovery (the earliest it could be).
FALLBACKS = {
    "determination": ("Counted from discovery until the date of the determination is recorded "
                      "(the conservative reading)."),
    "materiality": ("The clock starts when the incident is determined to be material, which must be done without "
                    "unreasonable delay; until that date is recorded the date shown assumes the determination is "
                    "made on the day of discovery."),
    "hhs_notice": ("Runs from the notice to HHS; until its date is recorded (--event hhs_notice=DATE) the date shown "
                   "assumes HHS is notified on the day of discovery, the earliest it could be."),
    "no_harm_determination": ("Runs from the written determination that harm is unlikely; until its date is "
                              "recorded (--event no_harm_determination=DATE) it is counted from discovery."),
}


@cache
def _us_holidays(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("US", years=year).keys())


def is_business_day(day: dt.date) -> bool:
    """A weekday that is not a US federal holiday (or its observed day)."""
    return day.weekday() < 5 and day not in _us_holidays(day.year)


def add_business_days(start: dt.date, count: int) -> dt.date:
    """The ``count``-th business day after ``start`` (``start`` itself is never counted)."""
    day, left = start, count
    while left > 0:
        day += dt.timedelta(days=1)
        if is_business_day(day):
            left -= 1
    return day


def add_days(start: dt.date, count: int) -> dt.date:
    """``count`` calendar days after ``start``."""
    return start + dt.timedelta(days=count)


def parse_discovered(text: str) -> tuple[dt.datetime, bool]:
    """Parse ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM[+offset]``: (aware datetime, whether a time was given).

    A date alone means 00:00 UTC of that day; naive times are UTC. Raises ValueError when unparseable.
    """
    value = dt.datetime.fromisoformat(text.strip())
    time_known = "T" in text.strip() or " " in text.strip()
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)), time_known


@dataclass(frozen=True)
class Due:
    """When one duty is due, and how that was worked out."""

    date: dt.date | None
    at: dt.datetime | None
    text: str
    clock: str
    note: str = ""

    @property
    def asap(self) -> bool:
        """Words only ("most expedient time possible"): no date, act as soon as possible."""
        return self.date is None


def due(deadline: Deadline, discovered: dt.datetime, events: Mapping[str, dt.date] | None = None,
        individuals_due: dt.date | None = None, time_known: bool = True) -> Due:
    """Work out a duty's due date from its rule, the discovery time and the events recorded so far.

    ``events`` maps a clock name (``determination``, ``individual_notice``, ``materiality``, ...) to the date
    it happened. ``individuals_due`` is the same law's deadline for notifying residents: a duty that runs from
    individual notice is, until that notice is recorded, due at the latest that deadline allows. With
    ``earliest_of``, every clock is worked out and the earliest dated one wins ("whichever is sooner").
    """
    events = events or {}
    if deadline.days is None and deadline.hours is None:
        return Due(None, None, deadline.text, deadline.clock, _words_note(deadline))
    options = [_due_period(p, deadline.text, discovered, events, individuals_due, time_known)
               for p in (deadline, *deadline.earliest_of)]
    dated = [o for o in options if o.date is not None]
    if not dated:
        return options[0]
    best = min(dated, key=_moment)
    if len(options) > 1 and best is not options[0]:
        return Due(best.date, best.at, best.text, best.clock,
                   " ".join(n for n in [best.note, "The earliest of the statute's clocks (whichever is sooner)."]
                            if n))
    return best


def _moment(when: Due) -> dt.datetime:
    if when.at is not None:
        return when.at
    assert when.date is not None
    return dt.datetime.combine(when.date, dt.time(23, 59), tzinfo=dt.UTC)


def _due_period(period: Period, words: str, discovered: dt.datetime, events: Mapping[str, dt.date],
                individuals_due: dt.date | None, time_known: bool) -> Due:
    if period.hours is not None:
        return _due_hours(period, words, period.hours, discovered, events, time_known)
    start, note = _clock_start(period, discovered.date(), events, individuals_due)
    if start is None:
        return Due(None, None, words, period.clock, note)
    days = period.days or 0
    date = add_business_days(start, days) if period.business_days else add_days(start, days)
    unit = "business days" if period.business_days else "days"
    text = f"{words} ({days} {unit} after {CLOCK_WORDS[period.clock]})"
    return Due(date, None, text, period.clock, note)


def _due_hours(period: Period, words: str, hours: int, discovered: dt.datetime, events: Mapping[str, dt.date],
               time_known: bool) -> Due:
    """Hours follow their clock: from the discovery time, or from 00:00 UTC of a recorded event's day."""
    if period.clock == "discovery":
        start, note = discovered, "" if time_known else (
            "The discovery time was not given: the hours are counted from 00:00 of the discovery day, the earliest "
            "the clock could have started; give --discovered with a time for the exact deadline.")
    else:
        day, note = _clock_start(period, discovered.date(), events, None)
        if day is None or period.clock not in events:
            start = discovered
        else:
            start = dt.datetime.combine(day, dt.time(0, 0), tzinfo=dt.UTC)
            note = (f"{note} Only the date was recorded: the hours are counted from 00:00 UTC of that day, the "
                    "earliest the clock could have started.")
    at = start + dt.timedelta(hours=hours)
    text = f"{words} (by {at.isoformat(timespec='minutes')}, {hours} hours after {CLOCK_WORDS[period.clock]})"
    return Due(at.date(), at, text, period.clock, note)


def _clock_start(deadline: Period, discovered: dt.date, events: Mapping[str, dt.date],
                 individuals_due: dt.date | None) -> tuple[dt.date | None, str]:
    clock = deadline.clock
    if clock == "discovery":
        return discovered, ""
    if clock == "calendar_year_end":
        return dt.date(discovered.year, 12, 31), ""
    if clock in events:
        return events[clock], f"Counted from {CLOCK_WORDS[clock]} recorded on {events[clock].isoformat()}."
    if clock in FALLBACKS:
        return discovered, FALLBACKS[clock]
    if individuals_due is not None:
        return individuals_due, ("Runs from notice to the individuals; until that date is recorded, the date shown "
                                 "is the latest allowed: the individuals' deadline "
                                 f"({individuals_due.isoformat()}) plus the period.")
    return None, ("Runs from notice to the individuals, whose deadline has no fixed date: due within the period "
                  "after those notices go out.")


def _words_note(deadline: Deadline) -> str:
    if deadline.clock == "discovery":
        return "No fixed number of days: act as soon as possible."
    return f"No fixed number of days; the clock is {CLOCK_WORDS[deadline.clock]}: act as soon as possible."
