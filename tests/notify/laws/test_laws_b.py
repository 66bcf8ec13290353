"""Law-rule files for NE..WY, PR, GU and VI: each loads, is named right, and keeps verified facts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from aftermath.notify.laws.schema import LAWS_DIR, LawRule, Regulator, load_rule

CODES = ["NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN",
         "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "PR", "GU", "VI"]
TERRITORIES = {"PR", "GU", "VI"}


def _path(code: str) -> Path:
    return Path(LAWS_DIR) / "us" / f"{code.lower()}.toml"


def _rule(code: str) -> LawRule:
    return load_rule(_path(code))


def _regulator(rule: LawRule, word: str) -> Regulator:
    found = [r for r in rule.regulators if word.lower() in r.recipient.lower()]
    if len(found) > 1:  # the everyday duty, not one limited to some entities or to the risk-of-harm exception
        found = [r for r in found if r.applies_to_entities is None and not r.only_if_risk_of_harm_relied_on]
    assert len(found) == 1, f"{rule.jurisdiction}: expected one regulator matching {word!r}"
    return found[0]


@pytest.mark.parametrize("code", CODES)
def test_file_loads_and_is_named_for_its_jurisdiction(code: str) -> None:
    rule = _rule(code)
    assert rule.jurisdiction == f"US-{code}"
    assert _path(code).stem == code.lower()
    assert rule.applies_to_residents_of == [f"US-{code}"]
    assert rule.kind == ("us-territory" if code in TERRITORIES else "us-state")
    assert rule.citation.strip()
    assert rule.sources and all(s.startswith("https://") or s.startswith("http://") for s in rule.sources)
    assert rule.last_reviewed == dt.date(2026, 11, 27)
    assert rule.personal_information.with_name
    assert rule.individuals is not None and rule.individuals.deadline.text.strip()


@pytest.mark.parametrize("code", CODES)
def test_thresholds_and_deadlines_are_sane(code: str) -> None:
    rule = _rule(code)
    for reg in rule.regulators:
        assert reg.threshold >= 1
        assert reg.deadline.days is None or 0 <= reg.deadline.days <= 90
    if rule.consumer_reporting_agencies is not None:
        assert rule.consumer_reporting_agencies.threshold >= 1


def test_texas_attorney_general_250_residents_30_days_after_determination() -> None:
    rule = _rule("TX")
    ag = _regulator(rule, "attorney general")
    assert (ag.threshold, ag.deadline.days, ag.deadline.clock) == (250, 30, "determination")
    assert rule.individuals is not None and rule.individuals.deadline.days == 60
    assert rule.consumer_reporting_agencies is not None
    assert rule.consumer_reporting_agencies.threshold == 10001  # "more than 10,000"


def test_new_york_30_days_and_three_state_recipients() -> None:
    rule = _rule("NY")
    assert rule.individuals is not None and rule.individuals.deadline.days == 30
    for word in ("attorney general", "department of state", "state police", "financial services"):
        _regulator(rule, word)
    assert "account_credentials" in rule.personal_information.alone
    assert {"medical", "health_insurance"} <= set(rule.personal_information.with_name)
    assert rule.consumer_reporting_agencies is not None and rule.consumer_reporting_agencies.threshold == 5001


def test_oklahoma_2026_amendments() -> None:
    rule = _rule("OK")
    assert rule.effective == dt.date(2026, 1, 1)
    ag = _regulator(rule, "attorney general")
    assert (ag.threshold, ag.deadline.days, ag.deadline.clock) == (500, 60, "individual_notice")
    assert "biometric" in rule.personal_information.with_name
    assert "1,000" in ag.notes  # credit bureaus: 1,000 residents


def test_pennsylvania_attorney_general_and_credit_monitoring() -> None:
    rule = _rule("PA")
    ag = _regulator(rule, "attorney general")
    assert ag.threshold == 501  # "more than 500"
    cm = rule.credit_monitoring
    assert cm is not None and cm.required and cm.months == 12
    assert {"ssn", "drivers_license", "financial_account"} <= set(cm.when_elements)


def test_spot_checks_of_other_verified_deadlines() -> None:
    expected_days = {"WA": 30, "OR": 45, "NM": 45, "OH": 45, "TN": 45, "WI": 45, "RI": 45, "VT": 45, "SD": 60}
    for code, days in expected_days.items():
        rule = _rule(code)
        assert rule.individuals is not None and rule.individuals.deadline.days == days, code
    vt_ag = _regulator(_rule("VT"), "attorney general")
    assert (vt_ag.deadline.days, vt_ag.deadline.business_days) == (14, True)
    pr = _regulator(_rule("PR"), "consumer affairs")
    assert pr.deadline.days == 10
    assert _regulator(_rule("WA"), "attorney general").threshold == 501
    assert _regulator(_rule("UT"), "cyber center").threshold == 500
