"""Statute reads for the second half of the jurisdictions (issue 10, last paragraph).

Where a row was read in the statute (``checked = statute``), the law file must list the page read. These tests
cover the jurisdictions US-NC to US-WV and US-SEC. That a ``checked = file`` row is marked under ``uncertain`` is
checked for every jurisdiction by tests/notify/laws/test_uncertain_rows.py.

The last tests pin the two questions settled on 2026-12-01: Pennsylvania's residents deadline (no 30-day
rule was found for businesses) and Wisconsin's consumer reporting agency threshold (kept at 1,000).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pytest

from aftermath.notify import engine
from aftermath.notify.laws.schema import LawRule, load_all
from aftermath.notify.people import Person

LAWS = Path(__file__).resolve().parents[2] / "src" / "aftermath" / "notify" / "laws"
ROWS = list(csv.DictReader((Path(__file__).parent / "laws" / "expectations.csv").open(encoding="utf-8")))
MINE = re.compile(r"^US-(N[CHJMVY]|O[HKR]|PA|RI|SC|SD|SEC|T[NX]|UT|VA|VA-MED|VI|VT|WA|WI|WV)$")
RULES = {r.jurisdiction: r for r in load_all()}
DISCOVERED = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _rows(checked: str) -> list[dict[str, str]]:
    return [r for r in ROWS if MINE.match(r["jurisdiction"]) and r["checked"] == checked]


def _source_file(rule: LawRule) -> Path:
    hits = [p for p in LAWS.rglob("*.toml") if f'jurisdiction = "{rule.jurisdiction}"' in p.read_text("utf-8")]
    assert len(hits) == 1, rule.jurisdiction
    return hits[0]


def test_the_rows_of_these_jurisdictions_are_all_there():
    assert {r["jurisdiction"] for r in ROWS if MINE.match(r["jurisdiction"])} == {
        "US-NC", "US-NH", "US-NJ", "US-NM", "US-NV", "US-NY", "US-OH", "US-OK", "US-OR", "US-PA", "US-RI", "US-SC",
        "US-SD", "US-SEC", "US-TN", "US-TX", "US-UT", "US-VA", "US-VA-MED", "US-VI", "US-VT", "US-WA", "US-WI",
        "US-WV"}


@pytest.mark.parametrize("row", _rows("statute"),
                         ids=lambda r: f"{r['jurisdiction']}/{r['recipient']}"[:80])
def test_a_row_read_in_the_statute_lists_the_page_read(row):
    text = _source_file(RULES[row["jurisdiction"]]).read_text("utf-8")
    assert re.search(r'^\s+"https?://[^"]+",\s+# statute text read 2026-12-01', text, re.M)


def test_the_texas_attorney_general_row_is_read_in_the_enrolled_bill():
    row = next(r for r in ROWS if (r["jurisdiction"], r["recipient"]) == ("US-TX", "Texas Attorney General"))
    assert row["checked"] == "statute" and "at least 250 residents" in row["quote"]
    text = _source_file(RULES["US-TX"]).read_text("utf-8")
    assert "Texas-2023-SB768-Enrolled.html\",  # statute text read 2026-12-01" in text


def _people(n: int, region: str) -> list[Person]:
    return [Person(f"{region}{i}", "Pat Doe", region=region, country="US", elements=frozenset({"ssn"}))
            for i in range(n)]


def test_texas_attorney_general_at_250_is_due_30_days_after_the_determination():
    determined = dt.date(2026, 3, 5)
    for n, listed in ((249, False), (250, True)):
        result = engine.plan(_people(n, "TX"), DISCOVERED, ("business",), list(RULES.values()),
                             {"determination": determined})
        due = [o.deadline for o in result.obligations
               if o.jurisdiction == "US-TX" and o.recipient == "Texas Attorney General"]
        assert due == ([determined + dt.timedelta(days=30)] if listed else [])


def test_pennsylvania_residents_have_no_30_day_deadline_and_the_file_says_why():
    rule = RULES["US-PA"]
    assert rule.individuals is not None
    assert rule.individuals.deadline.days is None
    assert rule.individuals.deadline.text == "without unreasonable delay"
    settled = [u for u in rule.uncertain if u.startswith("Residents deadline, settled 2026-12-01")]
    assert len(settled) == 1 and "30 days" in settled[0] and "Act 33" in settled[0]
    result = engine.plan(_people(3, "PA"), DISCOVERED, ("business",), list(RULES.values()), {})
    residents = [o for o in result.obligations if o.jurisdiction == "US-PA" and o.audience == "individuals"]
    assert [o.asap for o in residents] == [True]


def test_wisconsin_consumer_reporting_agencies_are_owed_at_exactly_1000():
    rule = RULES["US-WI"]
    assert rule.consumer_reporting_agencies is not None
    assert rule.consumer_reporting_agencies.threshold == 1000
    assert any(u.startswith("Consumer reporting agencies threshold (§ 134.98(2)(br))") and "more than 1,000" in u
               for u in rule.uncertain)
    for n, owed in ((999, False), (1000, True)):
        result = engine.plan(_people(n, "WI"), DISCOVERED, ("business",), list(RULES.values()), {})
        cra = [o for o in result.obligations
               if o.jurisdiction == "US-WI" and o.audience == "consumer_reporting_agencies"]
        assert bool(cra) is owed


def _plan(n: int, region: str, element: str, types: tuple[str, ...] = ("business",)) -> engine.Plan:
    people = [Person(f"{region}{i}", "Pat Doe", region=region, country="US", elements=frozenset({element}))
              for i in range(n)]
    return engine.plan(people, DISCOVERED, types, list(RULES.values()), {})


def test_virginia_medical_information_law_owes_no_consumer_reporting_agency_notice():
    """Va. Code § 32.1-127.1:05(E) sends the more-than-1,000 notice to the Attorney General and the Commissioner of
    Health only; the file used to copy § 18.2-186.6(E) and add the consumer reporting agencies."""
    result = _plan(1001, "VA", "medical", ("public-body",))
    mine = [o for o in result.obligations if o.jurisdiction == "US-VA-MED"]
    assert sorted((o.audience, o.recipient) for o in mine) == [
        ("individuals", "Affected residents (Virginia (medical information))"),
        ("regulator", "Virginia Commissioner of Health"),
        ("regulator", "Virginia Office of the Attorney General")]
    assert RULES["US-VA-MED"].consumer_reporting_agencies is None
    assert all("more than 1,000" in o.notes and "(E)" in o.notes for o in mine if o.audience == "regulator")


def test_virginia_medical_notice_content_is_the_four_items_of_the_section():
    assert RULES["US-VA-MED"].letter_content == [
        "the incident in general terms",
        "the type of medical information subject to the unauthorized access and acquisition",
        "the general acts of the entity to protect the medical information from further unauthorized access",
        "a telephone number the person may call for further information and assistance, if one exists"]


def test_south_dakota_consumer_reporting_agencies_are_owed_for_any_number():
    """SDCL 22-40-24 sets no minimum; summaries saying 'more than 1,000' are wrong."""
    result = _plan(1, "SD", "ssn")
    assert [o.people for o in result.obligations
            if o.jurisdiction == "US-SD" and o.audience == "consumer_reporting_agencies"] == [1]
