"""The method follows every law that covers the person (issue 15): substitute notice, email without consent."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from aftermath.case import Case
from aftermath.notify.laws.schema import LawRule, load_all
from aftermath.notify.letters.incident import EXAMPLE
from aftermath.notify.letters.methods import Facts, decide, substitute_requirements
from aftermath.notify.people import Person
from tests.conftest import run_cli
from tests.notify.letters.helpers import write_inputs

RULES = {r.jurisdiction: r for r in load_all()}


def person(**kw: str) -> Person:
    base = {"id": "1", "name": "A", "street": "1 Main", "city": "X", "postal_code": "1", "email": "a@example.com"}
    return Person(**{**base, **kw})  # type: ignore[arg-type]


def laws(*codes: str) -> list[LawRule]:
    return [RULES[c] for c in codes]


def facts(**kw: object) -> Facts:
    base: dict[str, object] = {"residents": {"US-CA": 100, "US-HIPAA": 100, "US-FL": 100, "US-CO": 100},
                               "notified": 100, "all_affected": 100}
    return Facts(**{**base, **kw})  # type: ignore[arg-type]


def test_a_california_resident_gets_substitute_notice_when_the_cost_is_over_250000() -> None:
    how = decide(person(), laws("US-CA"), False, False, facts(cost_usd=300_000))
    assert (how.channel, how.basis) == ("email", "substitute")  # email to those with an address is part of it
    assert "cost estimate $300,000 over US-CA's $250,000 (Cal. Civ. Code § 1798.82(j))" in how.reason
    no_email = decide(person(email=""), laws("US-CA"), False, False, facts(cost_usd=300_000))
    assert (no_email.channel, no_email.basis) == ("substitute", "substitute")
    at = decide(person(), laws("US-CA"), False, False, facts(cost_usd=250_000))  # "would exceed": not at
    assert (at.channel, at.basis) == ("post", "default")


def test_hipaa_keeps_a_patient_with_an_address_on_post_and_the_reason_names_it() -> None:
    how = decide(person(), laws("US-CA", "US-HIPAA"), False, False, facts(cost_usd=300_000))
    assert how.channel == "post"
    assert "no substitute notice: US-HIPAA allows substitute notice only with insufficient contact details for 10 " \
           "or more people (45 C.F.R. § 164.404(d))" in how.reason
    consented = decide(person(), laws("US-CA", "US-HIPAA"), True, False, facts(cost_usd=300_000))
    assert (consented.channel, consented.basis) == ("email", "consent")


def test_every_rule_must_allow_substitute_notice_for_it_to_be_chosen() -> None:
    with_pa = facts(cost_usd=150_000, residents={"US-CA": 100, "US-PA": 100})
    assert decide(person(), laws("US-PA"), False, False, with_pa).basis == "substitute"  # over PA's $100,000
    both = decide(person(), laws("US-PA", "US-CA"), False, False, with_pa)  # a person covered by both
    assert both.channel == "post" and "US-CA allows substitute notice only with cost over $250,000" in both.reason


def test_email_without_consent_where_the_law_allows_it() -> None:
    fl = decide(person(), laws("US-FL"), False, False, facts())
    assert (fl.channel, fl.basis) == ("email", "without consent")
    assert "US-FL allows it (Fla. Stat. § 501.171(4)(d), (4)(f)" in fl.reason
    assert decide(person(), laws("US-CA"), False, False, facts()).channel == "post"  # E-SIGN: consent needed
    assert decide(person(), laws("US-FL", "US-HIPAA"), False, False, facts()).channel == "post"  # HIPAA: agreement
    assert decide(person(), laws("US-FL"), False, True, facts()).channel == "post"  # a suppressed address


def test_customary_email_needs_the_business_to_say_email_is_its_channel() -> None:
    assert decide(person(), laws("US-CO"), False, False, facts()).channel == "post"
    how = decide(person(), laws("US-CO"), False, False, facts(email_primary_channel=True))
    assert (how.channel, how.basis) == ("email", "without consent")
    assert "primary channel" in how.reason and "US-CO" in how.reason


@pytest.mark.parametrize(("residents", "basis"), [(1000, "default"), (1001, "substitute")])
def test_the_head_count_threshold_is_strictly_more(residents: int, basis: str) -> None:
    f = facts(residents={"US-ME": residents}, notified=residents, all_affected=residents)
    how = decide(person(), laws("US-ME"), False, False, f)
    assert how.basis == basis
    if basis == "substitute":
        assert "1,001 people to notify, over US-ME's 1,000" in how.reason


@pytest.mark.parametrize(("lacking", "basis"), [(9, "no address"), (10, "substitute")])
def test_hipaa_substitutes_for_missing_contact_details_only_from_ten_people(lacking: int, basis: str) -> None:
    how = decide(person(street="", email=""), laws("US-HIPAA"), False, False, facts(lacking={"US-HIPAA": lacking}))
    assert (how.channel, how.basis) == ("substitute", basis)
    if basis == "substitute":
        assert "10 or more needed" in how.reason


def test_a_law_file_without_a_method_rule_never_allows_substitute_or_email_without_consent() -> None:
    bare = RULES["US-FL"].model_copy(update={"notice_methods": None})
    how = decide(person(), [bare], False, False, facts(cost_usd=10_000_000))
    assert how.channel == "post"
    assert decide(person(), [bare, RULES["US-CA"]], False, False, facts(cost_usd=10_000_000)).reason.endswith(
        "US-FL's law file has no notice-method rule")


def test_the_cost_is_shared_pro_rata_unless_the_incident_gives_a_law_its_own() -> None:
    half = facts(cost_usd=300_000, residents={"US-CA": 50}, notified=100)
    assert decide(person(), laws("US-CA"), False, False, half).channel == "post"  # $150,000 for CA's 50
    own = facts(cost_usd=300_000, residents={"US-CA": 50}, notified=100, cost_by_jurisdiction={"US-CA": 260_000})
    how = decide(person(), laws("US-CA"), False, False, own)
    assert how.basis == "substitute" and "$260,000 over US-CA's $250,000" in how.reason


def test_gdpr_public_communication_needs_disproportionate_effort() -> None:
    p = person(country="DE", region="")
    assert decide(p, laws("EU-GDPR"), False, False, facts()).basis == "without consent"  # Art. 34 names no channel
    how = decide(p, laws("EU-GDPR"), False, False, facts(disproportionate_effort=True))
    assert how.basis == "substitute" and "disproportionate effort" in how.reason
    assert "(GDPR Art. 34(1), 34(3)(c))" in how.reason


@pytest.mark.parametrize(("kw", "consent", "suppressed", "channel"), [
    ({}, False, False, "post"),
    ({}, True, False, "email"),
    ({}, True, True, "post"),
    ({"street": ""}, False, False, "email"),
    ({"street": "", "email": ""}, True, False, "substitute"),
    ({"street": ""}, True, True, "substitute"),
])
def test_without_rules_the_method_follows_consent_and_contact_details(kw: dict[str, str], consent: bool,
                                                                      suppressed: bool, channel: str) -> None:
    assert decide(person(**kw), [], consent, suppressed, facts()).channel == channel


def test_the_substitute_requirements_name_what_each_statute_requires() -> None:
    text = substitute_requirements(laws("US-CA", "US-AZ", "US-HIPAA"))
    assert "US-CA (Cal. Civ. Code § 1798.82(j)):" in text
    assert "conspicuous posting of the notice on the business's website, for at least 30 days" in text
    assert "notification to major statewide media" in text
    assert "a written letter to the attorney general" in text and "for at least 45 days" in text
    assert "for at least 90 days" in text and "toll-free number" in text


def test_letters_choose_substitute_notice_from_the_incident_cost_estimate(case: Case, tmp_path: Path) -> None:
    people = [f"c{i},Cal {i},{i} Main St,Los Angeles,CA,90001,US,{f'c{i}@example.com' if i % 2 else ''},"
              f"financial_account_access,false,false,false" for i in range(4)]
    people.append("f1,Flo Ray,9 Bay Rd,Miami,FL,33101,US,flo@example.com,financial_account_access,false,false,false")
    people.append("t1,Tex Ode,5 Elm St,Austin,TX,78701,US,tex@example.com,financial_account_access,false,false,false")
    incident = EXAMPLE.read_text().replace("[elements]", "[notice]\ncost_estimate_usd = 400000\n"
                                           "cost_by_jurisdiction = { \"US-TX\" = 1000 }\n\n[elements]")
    paths = write_inputs(tmp_path / "in", people, incident)
    out = tmp_path / "out"
    result = run_cli("notify", "letters", "--plan", str(paths["plan"]), "--people", str(paths["people"]),
                     "--incident", str(paths["incident"]), "--out", str(out), "--no-pdf")
    assert result.code == 0, result.err
    rows = {r["person_id"]: r for r in csv.DictReader((out / "methods.csv").open())}
    assert {p: r["method"] for p, r in rows.items()} == {
        "c0": "substitute", "c1": "email", "c2": "substitute", "c3": "email", "f1": "email", "t1": "post"}
    assert "over US-CA's $250,000" in rows["c0"]["reason"] and "email is part of it" in rows["c1"]["reason"]
    assert rows["f1"]["reason"].startswith("email without consent: US-FL allows it")
    assert rows["t1"]["reason"] == "postal address (default method)"
    table = " ".join(re.sub(r"[^\w ]", " ", result.out).split())
    assert "substitute substitute 2" in table and "email substitute 2" in table
    assert "email without consent 1" in table and "post default 1" in table
    requirements = (out / "substitute" / "requirements.txt").read_text()
    assert "US-CA" in requirements and "for at least 30 days" in requirements and "US-TX" not in requirements
    assert "in place of a letter to 2 affected people" in (out / "substitute" / "media.txt").read_text()
