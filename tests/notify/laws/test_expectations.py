"""The law files against an expectations table, and the engine against both (issue 10).

``expectations.csv`` has one row per jurisdiction and duty: its threshold, period and clock, and the words
that decide them (``quote``). ``checked`` says where the words come from: ``statute`` when they were read in
the statute (or in a review of it), ``file`` when they were taken from the law file's own words and still
wait for that review. The tests walk every row:

- every duty of every law file has its row, and every row its duty (a new law file without rows fails);
- the quote decides the threshold ("more than 500" is 501, "500 or more" is 500) and names the period;
- the engine lists the duty at the threshold and not one person below it;
- each law file's first row lists the elements that count with a name and alone, and the engine covers a
  person with each element of the vocabulary exactly when the row says it should;
- the engine's date follows the row's clock without events (the documented fallback) and with every event
  recorded (the event's date plus the period), the earliest of several clocks, and never after the
  individuals' date for a duty owed before or with their notice.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from aftermath.notify import coverage, engine
from aftermath.notify.deadlines import add_business_days
from aftermath.notify.laws.schema import ELEMENTS, ENTITY_TYPES, Deadline, LawRule, Period, load_all
from aftermath.notify.people import Person

RULES = {r.jurisdiction: r for r in load_all()}
ROWS = list(csv.DictReader((Path(__file__).parent / "expectations.csv").open(encoding="utf-8")))
DISCOVERED = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
EVENTS = {"determination": dt.date(2026, 3, 5), "materiality": dt.date(2026, 3, 4),
          "individual_notice": dt.date(2026, 3, 12), "hhs_notice": dt.date(2026, 3, 9),
          "no_harm_determination": dt.date(2026, 3, 10)}
WORDS = {"four": 4, "five": 5, "ten": 10, "fourteen": 14, "fifteen": 15, "thirty": 30, "forty-five": 45, "sixty": 60,
         "ninety": 90, "seventy-two": 72, "forty-eight": 48, "five hundred": 500, "one thousand": 1000,
         "two hundred fifty": 250}
NUMBER = r"(\d[\d,]*|" + "|".join(sorted(WORDS, key=len, reverse=True)) + ")"
MORE = re.compile(rf"\b(more than|over|exceeding|exceeds)\s+{NUMBER}", re.I)
AT_LEAST = re.compile(rf"\bat least\s+{NUMBER}|{NUMBER}\s+or more\b", re.I)
# A duty that "does not apply if ... 1,000 or fewer" are told (MCL 445.72(8)(a)) starts above that number.
OR_FEWER = re.compile(rf"{NUMBER}\s+or fewer\b", re.I)


def _number(text: str) -> int:
    return WORDS[text.lower()] if text.lower() in WORDS else int(text.replace(",", ""))


def _key(row: dict[str, str]) -> tuple[str, str, str]:
    return row["jurisdiction"], row["audience"], row["recipient"]


def _duties(rule: LawRule) -> dict[tuple[str, str, str], tuple[int, Deadline, Any]]:
    out: dict[tuple[str, str, str], tuple[int, Deadline, Any]] = {}
    if rule.individuals:
        out[(rule.jurisdiction, "individuals", f"Affected residents ({rule.name})")] = (
            1, rule.individuals.deadline, None)
    for reg in rule.regulators:
        out[(rule.jurisdiction, "regulator", reg.recipient)] = (reg.threshold, reg.deadline, reg)
    if rule.consumer_reporting_agencies:
        cra = rule.consumer_reporting_agencies
        out[(rule.jurisdiction, "consumer_reporting_agencies", "Nationwide consumer reporting agencies")] = (
            cra.threshold, cra.deadline, cra)
    if rule.media:
        out[(rule.jurisdiction, "media", "Prominent media outlets")] = (rule.media.threshold, rule.media.deadline,
                                                                      rule.media)
    return out


DUTIES = {k: v for rule in RULES.values() for k, v in _duties(rule).items()}


def test_every_duty_of_every_law_file_has_its_row_and_every_row_its_duty():
    rows = [_key(r) for r in ROWS]
    assert len(rows) == len(set(rows)), "one row per jurisdiction and duty"
    assert sorted(set(DUTIES) - set(rows)) == [], "law-file duties without an expectations row"
    assert sorted(set(rows) - set(DUTIES)) == [], "expectations rows without a duty in the law files"
    assert {r["checked"] for r in ROWS} <= {"statute", "file"}
    assert all(r["quote"].strip() for r in ROWS)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: "/".join(_key(r))[:80])
def test_the_file_says_what_the_row_says(row):
    threshold, deadline, _ = DUTIES[_key(row)]
    assert threshold == int(row["threshold"])
    assert deadline.days == (int(row["days"]) if row["days"] else None)
    assert deadline.hours == (int(row["hours"]) if row["hours"] else None)
    assert deadline.business_days == (row["business_days"] == "yes")
    assert deadline.clock == row["clock"]


@pytest.mark.parametrize("row", [r for r in ROWS if int(r["threshold"]) > 1], ids=lambda r: "/".join(_key(r))[:80])
def test_the_quote_decides_the_threshold(row):
    more, at_least = MORE.search(row["quote"]), AT_LEAST.search(row["quote"])
    fewer = OR_FEWER.search(row["quote"])
    assert more or at_least or fewer, f"no words for the threshold in {row['quote']!r}"
    if fewer and not (more or at_least):
        expected = _number(fewer.group(1)) + 1
    elif more and (not at_least or more.start() < at_least.start()):
        expected = _number(more.group(2)) + 1
    else:
        assert at_least is not None
        expected = _number(at_least.group(1) or at_least.group(2))
    assert int(row["threshold"]) == expected


@pytest.mark.parametrize("row", [r for r in ROWS if r["days"] not in ("", "0") or r["hours"]],
                         ids=lambda r: "/".join(_key(r))[:80])
def test_the_quote_names_the_period(row):
    period = int(row["days"] or row["hours"])
    names = {str(period), f"{period}th"} | {w for w, n in WORDS.items() if n == period}
    assert any(re.search(rf"\b{re.escape(n)}\b", row["quote"], re.I) for n in names), row["quote"]


def _place(rule: LawRule) -> tuple[str, str]:
    where = rule.applies_to_residents_of[0]
    if where in ("*", "US"):
        return "US", "TX"
    country, _, region = where.partition("-")
    return country, region


def _types(rule: LawRule, extra: Any) -> list[str]:
    """Entity types under which the duty applies, no exemption takes effect and no regulator replaces it."""
    wanted = set(getattr(extra, "applies_to_entities", None) or rule.applies_to_entities)
    exempt = {e.entity for e in rule.exempt_entities}
    exempt |= {t for r in rule.regulators if r.replaces and r.replaces == getattr(extra, "recipient", None)
               for t in r.applies_to_entities or ()}
    return [t for t in ENTITY_TYPES if t in wanted and t not in exempt] or ["business"]


def _people(rule: LawRule, n: int) -> list[Person]:
    info = rule.personal_information
    element = (info.with_name or info.alone or ["ssn"])[0]
    country, region = _place(rule)
    return [Person(f"p{i}", "Pat Doe", region=region, country=country, elements=frozenset({element}))
            for i in range(n)]


def _find(result: engine.Plan, row: dict[str, str]) -> list[engine.Obligation]:
    return [o for o in result.obligations if (o.jurisdiction, o.audience) == (row["jurisdiction"], row["audience"])
            and (o.recipient == row["recipient"] or o.recipient.startswith(row["recipient"] + " serving "))]


@pytest.mark.parametrize("row", [r for r in ROWS if int(r["threshold"]) > 1], ids=lambda r: "/".join(_key(r))[:80])
def test_the_engine_lists_the_duty_at_the_threshold_and_not_below(row):
    rule = RULES[row["jurisdiction"]]
    _, _, extra = DUTIES[_key(row)]
    n, types = int(row["threshold"]), _types(rule, extra)
    assert _find(engine.plan(_people(rule, n - 1), DISCOVERED, types, [rule]), row) == []
    assert [o.people for o in _find(engine.plan(_people(rule, n), DISCOVERED, types, [rule]), row)] == [n]


def _expected(period: Period, events: dict[str, dt.date], individuals_due: dt.date | None) -> dt.date | None:
    """The due date worked out from the row's clock by plain arithmetic (the engine's rules, written again)."""
    day = DISCOVERED.date()
    if period.clock == "calendar_year_end":
        start: dt.date | None = dt.date(day.year, 12, 31)
    elif period.clock in events:
        start = events[period.clock]
    elif period.clock == "individual_notice":
        start = individuals_due
    else:
        start = day
    if start is None:
        return None
    if period.hours is not None:
        moment = DISCOVERED if period.clock not in events else dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC)
        return (moment + dt.timedelta(hours=period.hours)).date()
    days = period.days or 0
    return add_business_days(start, days) if period.business_days else start + dt.timedelta(days=days)


def _individuals_due(rule: LawRule, events: dict[str, dt.date]) -> dt.date | None:
    if not rule.individuals or (rule.individuals.deadline.days is None and rule.individuals.deadline.hours is None):
        return None
    return _expected(rule.individuals.deadline, events, None)


@pytest.mark.parametrize("recorded", [False, True], ids=["no events", "every event recorded"])
@pytest.mark.parametrize("row", [r for r in ROWS if r["days"] or r["hours"]], ids=lambda r: "/".join(_key(r))[:80])
def test_the_engine_date_follows_the_clock(row, recorded):
    rule = RULES[row["jurisdiction"]]
    threshold, deadline, extra = DUTIES[_key(row)]
    events = dict(EVENTS) if recorded else {}
    individuals_due = _individuals_due(rule, events)
    options = [d for p in (deadline, *deadline.earliest_of) if (d := _expected(p, events, individuals_due))]
    expected = min(options) if options else None
    relation = getattr(extra, "relation", None)
    if relation in ("before", "with") and individuals_due and expected and expected > individuals_due:
        expected = individuals_due
    result = engine.plan(_people(rule, threshold), DISCOVERED, _types(rule, extra), [rule], events)
    assert [o.deadline for o in _find(result, row)] == [expected]


ELEMENT_ROWS = [r for r in ROWS if r["with_name"] or r["alone"]]


def test_every_law_file_has_one_row_with_its_elements():
    assert sorted(r["jurisdiction"] for r in ELEMENT_ROWS) == sorted(RULES)


@pytest.mark.parametrize("row", ELEMENT_ROWS, ids=lambda r: r["jurisdiction"])
def test_every_element_is_covered_exactly_where_the_row_says(row):
    rule = RULES[row["jurisdiction"]]
    with_name = {e for e in row["with_name"].split(";") if e}
    alone = {e for e in row["alone"].split(";") if e not in ("", "-")}
    info = rule.personal_information
    assert (set(info.with_name), set(info.alone)) == (with_name, alone)
    for element in ELEMENTS:
        named = Person("p", "Pat Doe", elements=frozenset({element}))
        nameless = Person("q", "", elements=frozenset({element}))
        assert (coverage.exclusion(named, rule) is None) == (info.any_record or element in with_name | alone), element
        assert (coverage.exclusion(nameless, rule) is None) == (info.any_record or element in alone), element
