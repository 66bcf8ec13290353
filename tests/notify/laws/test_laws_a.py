"""Law-rule files for AL..MT (batch A): each loads, is named for its jurisdiction, and spot facts hold."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from aftermath.notify.laws.schema import LAWS_DIR, LawRule, load_rule

CODES = ("AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
         "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT")
REVIEWED = dt.date(2026, 11, 27)


def _rule(code: str) -> LawRule:
    return load_rule(LAWS_DIR / "us" / f"{code.lower()}.toml")


@pytest.mark.parametrize("code", CODES)
def test_file_loads_and_names_its_jurisdiction(code: str) -> None:
    path: Path = LAWS_DIR / "us" / f"{code.lower()}.toml"
    rule = load_rule(path)
    assert rule.jurisdiction == f"US-{code}"
    assert rule.applies_to_residents_of == [f"US-{code}"]
    assert rule.kind == "us-state"
    assert rule.citation.strip()
    assert rule.sources and all(s.startswith(("http://", "https://")) for s in rule.sources)
    assert rule.last_reviewed >= REVIEWED
    assert rule.individuals is not None and rule.individuals.deadline.text.strip()


@pytest.mark.parametrize("code", CODES)
def test_thresholds_are_positive_and_deadlines_have_words(code: str) -> None:
    rule = _rule(code)
    for reg in rule.regulators:
        assert reg.threshold >= 1 and reg.deadline.text.strip()
    if rule.consumer_reporting_agencies is not None:
        assert rule.consumer_reporting_agencies.threshold >= 1


def test_california_sb446_deadlines() -> None:
    ca = _rule("CA")
    assert ca.individuals is not None
    assert (ca.individuals.deadline.days, ca.individuals.deadline.clock) == (30, "discovery")
    (ag,) = ca.regulators
    assert (ag.threshold, ag.deadline.days, ag.deadline.clock) == (501, 15, "individual_notice")
    assert ca.risk_of_harm.allowed is False
    assert "account_credentials" in ca.personal_information.alone


def test_connecticut_monitoring_and_attorney_general_timing() -> None:
    ct = _rule("CT")
    assert ct.credit_monitoring is not None and ct.credit_monitoring.required
    assert ct.credit_monitoring.months == 24
    assert set(ct.credit_monitoring.when_elements) == {"ssn", "taxpayer_id"}
    assert ct.individuals is not None and ct.individuals.deadline.days == 60
    (ag,) = ct.regulators
    assert (ag.deadline.days, ag.deadline.clock) == (0, "individual_notice")


def test_florida_thirty_days_and_department_at_500() -> None:
    fl = _rule("FL")
    assert fl.individuals is not None
    assert (fl.individuals.deadline.days, fl.individuals.deadline.clock) == (30, "determination")
    (dla,) = [r for r in fl.regulators if not r.only_if_risk_of_harm_relied_on]
    assert (dla.threshold, dla.deadline.days) == (500, 30)
    (written,) = [r for r in fl.regulators if r.only_if_risk_of_harm_relied_on]
    assert (written.deadline.days, written.deadline.clock) == (30, "no_harm_determination")
    assert fl.consumer_reporting_agencies is not None and fl.consumer_reporting_agencies.threshold == 1001


@pytest.mark.parametrize(("code", "months", "elements"), [
    ("DE", 12, {"ssn"}), ("DC", 18, {"ssn", "taxpayer_id"}), ("MA", 18, {"ssn"}),
    ("CA", 12, {"ssn", "drivers_license"}),
])
def test_credit_monitoring_offers(code: str, months: int, elements: set[str]) -> None:
    cm = _rule(code).credit_monitoring
    assert cm is not None and cm.required and cm.months == months
    assert set(cm.when_elements) == elements


def test_iowa_attorney_general_runs_from_resident_notice_in_business_days() -> None:
    (ag,) = _rule("IA").regulators
    assert (ag.deadline.days, ag.deadline.business_days, ag.deadline.clock) == (5, True, "individual_notice")


def test_minnesota_agencies_within_48_hours_and_no_glba_institutions() -> None:
    mn = _rule("MN")
    assert mn.consumer_reporting_agencies is not None
    assert (mn.consumer_reporting_agencies.threshold, mn.consumer_reporting_agencies.deadline.hours) == (501, 48)
    assert mn.consumer_reporting_agencies.deadline.clock == "determination"
    assert [e.entity for e in mn.exempt_entities] == ["financial-institution"]


def test_indiana_ssn_counts_alone_and_colorado_account_access_alone() -> None:
    assert "ssn" in _rule("IN").personal_information.alone
    assert "financial_account_access" in _rule("CO").personal_information.alone


def test_district_of_columbia_is_modelled_as_state_with_a_note() -> None:
    dc = _rule("DC")
    assert dc.kind == "us-state" and "us-territory" in dc.notes
    (ag,) = dc.regulators
    assert ag.threshold == 50


def test_every_file_of_this_batch_is_present() -> None:
    present = {p.stem.upper() for p in (LAWS_DIR / "us").glob("*.toml")}
    assert set(CODES) <= present
