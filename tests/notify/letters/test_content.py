"""What each notice must carry (the union of its laws), the method, and the incident file's checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from aftermath.errors import UsageError
from aftermath.notify.laws.schema import load_all
from aftermath.notify.letters.codes import assign, read_codes
from aftermath.notify.letters.content import check_incident, compose, load_blocks, rules_for
from aftermath.notify.letters.incident import EXAMPLE, Incident, load_incident
from aftermath.notify.people import Person

RULES = [r for r in load_all() if "business" in r.applies_to_entities]
BLOCKS = load_blocks()


def person(region: str, elements: str = "ssn", **kw: object) -> Person:
    return Person(id=f"id-{region}", name="Pat Doe", street="1 Main St", city="Town", region=region,
                  postal_code="00000", email="pat@example.com", elements=frozenset(elements.split(";")),
                  **kw)  # type: ignore[arg-type]


def letter_for(region: str, elements: str = "ssn"):  # type: ignore[no-untyped-def]
    p = person(region, elements)
    return compose(p, rules_for(p, RULES), BLOCKS)


def test_massachusetts_letter_never_describes_the_nature_of_the_breach() -> None:
    ma = letter_for("MA")
    assert "what_happened" not in ma.blocks
    assert {"police_report", "security_freeze"} <= ma.blocks
    assert "what_happened" in letter_for("CT").blocks


def test_credit_monitoring_months_follow_each_state_for_ssn() -> None:
    assert letter_for("CT").monitoring_months == 24
    assert letter_for("DE").monitoring_months == 12
    assert letter_for("MA").monitoring_months == 18
    assert letter_for("MA", "financial_account_access").monitoring_months == 0


def test_california_letter_says_whether_law_enforcement_delayed_it_and_lists_the_bureaus() -> None:
    ca = letter_for("CA", "drivers_license")
    assert {"law_enforcement_delay", "crb_contacts", "dates", "notice_date"} <= ca.blocks
    assert ca.why["law_enforcement_delay"] == ("US-CA",)


def test_union_of_laws_when_a_federal_regime_also_applies() -> None:
    p = person("NC")
    federal = [r for r in load_all() if r.jurisdiction == "US-HIPAA"]
    state = rules_for(p, [r for r in RULES if r.jurisdiction == "US-NC"])
    both = compose(p, state + federal, BLOCKS)
    alone = compose(p, state, BLOCKS)
    assert alone.blocks <= both.blocks
    assert both.jurisdictions == ("US-NC", "US-HIPAA")
    assert "regulator_contacts" in both.blocks and "US-NC" in both.regulators


def test_missing_field_names_the_jurisdiction_and_the_field() -> None:
    incident = load_incident(EXAMPLE)
    blank = Incident.model_validate({**incident.model_dump(), "incident": {
        **incident.incident.model_dump(), "law_enforcement_delay": None}})
    with pytest.raises(UsageError, match=r"'incident.law_enforcement_delay' is empty but US-CA requires it"):
        check_incident([letter_for("CA")], blank, BLOCKS)
    check_incident([letter_for("CT")], blank, BLOCKS)  # Connecticut does not ask


def test_monitoring_offer_shorter_than_the_law_is_refused() -> None:
    incident = load_incident(EXAMPLE)
    short = Incident.model_validate({**incident.model_dump(), "credit_monitoring": {
        **incident.credit_monitoring.model_dump(), "months": 12}})
    with pytest.raises(UsageError, match=r"'credit_monitoring.months' is 12 but US-CT requires 24"):
        check_incident([letter_for("CT")], short, BLOCKS)


def test_unknown_element_in_the_incident_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "INCIDENT.toml"
    bad.write_text(EXAMPLE.read_text() + 'shoe_size = "your shoe size"\n')
    with pytest.raises(UsageError, match=r"field 'elements': .*unknown element 'shoe_size'"):
        load_incident(bad)


def test_codes_one_per_person_stable_and_never_shared(tmp_path: Path) -> None:
    first = assign(["a", "b"], ["C1", "C2", "C3"], {})
    assert first == {"a": "C1", "b": "C2"}
    again = assign(["a", "b", "c"], ["C2", "C3", "C9"], first)
    assert again["a"] == "C1" and again["b"] == "C2" and again["c"] == "C3"
    assert len(set(again.values())) == 3
    with pytest.raises(UsageError, match="not enough enrolment codes: 1 more"):
        assign(["a", "b"], ["C1"], {})
    dup = tmp_path / "codes.csv"
    dup.write_text("code\nX\nY\nX\n")
    with pytest.raises(UsageError, match="code 'X' appears twice"):
        read_codes(dup)
