"""Regressions for the wrong answers found by checking ``notify plan`` against the statutes (issue 10).

Each test runs the engine on the real law files and fails on the engine and files before the fix.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from aftermath.notify import engine
from aftermath.notify.laws.schema import load_all
from aftermath.notify.people import Person, parse_people

RULES = load_all()
DISCOVERED = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
D = dt.date


def folk(n: int, region: str, elements: str = "ssn", country: str = "US", name: str = "Pat Doe",
         **kw: Any) -> list[Person]:
    return [Person(f"{country}{region}{i}", name, region=region, country=country,
                   elements=frozenset(elements.split(";")), **kw) for i in range(n)]


def run(people: list[Person], types: tuple[str, ...] = ("business",), **events: dt.date) -> engine.Plan:
    return engine.plan(people, DISCOVERED, types, RULES, events)


def of(result: engine.Plan, code: str, audience: str | None = None) -> list[engine.Obligation]:
    return [o for o in result.obligations if o.jurisdiction == code and audience in (None, o.audience)]


def recipients(result: engine.Plan, code: str) -> list[str]:
    return [o.recipient for o in of(result, code, "regulator")]


# 1. Encryption with a stolen key ------------------------------------------------------------------------

def test_600_floridians_whose_encrypted_ssns_were_taken_with_the_key_are_owed_notice():
    result = run(folk(600, "FL", encrypted=True, key_compromised=True))
    assert [o.people for o in of(result, "US-FL", "individuals")] == [600]
    assert recipients(result, "US-FL") == ["Florida Department of Legal Affairs (Attorney General)",
                                           "Florida Department of Legal Affairs (written determination that "
                                           "notice is not required)"]
    assert not [n for n in result.not_covered if n.jurisdiction == "US-FL"]


@pytest.mark.parametrize("code", ["AR", "CT", "FL", "GA", "ID", "KS", "KY", "LA", "ME", "MO", "MS", "MT", "ND", "OH",
                                  "PR", "UT", "VI", "WI"])
def test_no_state_exempts_encrypted_data_whose_key_was_taken(code):
    country, region = ("US", code)
    result = run(folk(3, region, country=country, encrypted=True, key_compromised=True))
    assert [o.people for o in of(result, f"US-{code}", "individuals")] == [3]
    assert all("not compromised" not in n.reason for n in result.not_covered)


# 2. Entity exemptions take effect ---------------------------------------------------------------------

@pytest.mark.parametrize(("code", "entity"), [("MN", "financial-institution"), ("NM", "financial-institution"),
                                              ("NM", "hipaa-covered-entity"), ("TN", "financial-institution"),
                                              ("TN", "hipaa-covered-entity")])
def test_an_exempt_organisation_gets_no_duty_and_the_reason(code, entity):
    people = folk(2000, code)
    assert of(run(people), f"US-{code}"), "a plain business still owes the duties"
    result = run(people, (entity,))
    assert of(result, f"US-{code}") == []
    (why,) = [n for n in result.not_covered if n.jurisdiction == f"US-{code}"]
    assert why.people == 2000 and why.reason.startswith(f"the organisation is exempt or deemed compliant as {entity}")


# 3. Hour deadlines follow their clock -----------------------------------------------------------------

def test_minnesota_48_hours_run_from_the_recorded_determination():
    people = folk(501, "MN")
    (before,) = of(run(people), "US-MN", "consumer_reporting_agencies")
    assert before.deadline_at == dt.datetime(2026, 3, 4, 9, 0, tzinfo=dt.UTC)
    (after,) = of(run(people, determination=D(2026, 3, 5)), "US-MN", "consumer_reporting_agencies")
    assert after.deadline_at == dt.datetime(2026, 3, 7, 0, 0, tzinfo=dt.UTC)
    assert "the determination that a breach occurred" in after.deadline_text


def test_new_york_dfs_72_hours_run_from_determining_the_incident():
    result = run(folk(1, "NY"), ("financial-institution",), determination=D(2026, 3, 4))
    (dfs,) = [o for o in of(result, "US-NY", "regulator") if o.recipient == "New York Department of Financial Services"]
    assert dfs.deadline_at == dt.datetime(2026, 3, 7, 0, 0, tzinfo=dt.UTC)


# 4. "Whichever is sooner" -----------------------------------------------------------------------------

def test_arkansas_attorney_general_is_due_with_an_earlier_individual_notice():
    people = folk(1001, "AR")
    assert [o.deadline for o in of(run(people), "US-AR", "regulator")] == [D(2026, 4, 16)]
    early = run(people, individual_notice=D(2026, 3, 10))
    assert [o.deadline for o in of(early, "US-AR", "regulator")] == [D(2026, 3, 10)]


def test_vermont_preliminary_notice_is_due_when_consumers_are_told_if_that_is_sooner():
    people = folk(1, "VT")
    (late,) = [o for o in of(run(people), "US-VT", "regulator") if o.recipient == "Vermont Attorney General"]
    assert late.deadline == D(2026, 3, 20)  # 14 business days
    (early,) = [o for o in of(run(people, individual_notice=D(2026, 3, 5)), "US-VT", "regulator")
                if o.recipient == "Vermont Attorney General"]
    assert early.deadline == D(2026, 3, 5)
    assert "whichever is sooner" in early.notes


# 5. "Before" is said and ordered ----------------------------------------------------------------------

@pytest.mark.parametrize("code", ["MD", "NJ"])
def test_regulator_told_before_residents_is_labelled_and_listed_first(code):
    result = run(folk(10, code), individual_notice=D(2026, 3, 20))
    duties = of(result, f"US-{code}")
    regulator = next(o for o in duties if o.audience == "regulator")
    individuals = next(o for o in duties if o.audience == "individuals")
    assert regulator.relation == "before individual notice"
    assert "[before individual notice]" in regulator.deadline_text
    assert regulator.deadline == D(2026, 3, 20)
    assert duties.index(regulator) < duties.index(individuals)
    assert engine.to_json(result)["obligations"][0]["relation"] in ("", "before individual notice")


# 6. "More than" thresholds ----------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "audience"), [("IA", "regulator"), ("PA", "consumer_reporting_agencies")])
def test_more_than_500_does_not_fire_at_exactly_500(code, audience):
    assert of(run(folk(500, code)), f"US-{code}", audience) == []
    assert [o.people for o in of(run(folk(501, code)), f"US-{code}", audience)] == [501]


# 7. Territories given as countries --------------------------------------------------------------------

@pytest.mark.parametrize("code", ["PR", "GU", "VI"])
def test_territory_written_as_a_country_is_found(code):
    result = run(folk(2, "", country=code))
    assert [o.people for o in of(result, f"US-{code}", "individuals")] == [2]
    assert result.unmapped_people == 0
    assert dict(result.places) == {f"US-{code}": 2}


def test_american_samoa_has_no_file_and_says_so_under_its_us_code():
    result = run(folk(1, "", country="AS"))
    assert [(n.jurisdiction, n.reason) for n in result.not_covered] == [("US-AS", engine.NO_RULE)]


# 9. Missing duties ------------------------------------------------------------------------------------

def test_virginia_medical_information_law_binds_public_bodies():
    people = folk(3, "VA", "medical")
    assert of(run(people), "US-VA-MED") == []
    result = run(people, ("public-body",))
    assert sorted(recipients(result, "US-VA-MED")) == ["Virginia Commissioner of Health",
                                                       "Virginia Office of the Attorney General"]
    assert [o.people for o in of(result, "US-VA-MED", "individuals")] == [3]


def test_new_york_hipaa_entity_copies_its_hhs_notice_to_the_attorney_general_in_5_business_days():
    result = run(folk(1, "NY"), ("hipaa-covered-entity",), hhs_notice=D(2026, 4, 1))
    (copy,) = [o for o in of(result, "US-NY", "regulator") if "HIPAA" in o.recipient]
    assert copy.deadline == D(2026, 4, 8) and copy.clock == "hhs_notice"


def test_illinois_deems_a_hipaa_entity_compliant_but_it_still_copies_the_attorney_general():
    result = run(folk(600, "IL"), ("hipaa-covered-entity",), hhs_notice=D(2026, 4, 1))
    assert [(o.audience, o.recipient, o.deadline) for o in of(result, "US-IL")] == [
        ("regulator", "Illinois Attorney General (copy of the HIPAA breach notice to HHS)", D(2026, 4, 8))]


@pytest.mark.parametrize(("country", "code"), [("DE", "EU-GDPR"), ("GB", "UK-GDPR")])
def test_gdpr_unintelligible_data_needs_no_individual_notice_but_the_regulator_still_hears(country, code):
    safe = run(folk(4, "", "", country=country, encrypted=True))
    assert of(safe, code, "individuals") == []
    assert [o.people for o in of(safe, code, "regulator")] == [4]
    assert "excuses only the notice to individuals here" in of(safe, code, "regulator")[0].notes
    leaked = run(folk(4, "", "", country=country, encrypted=True, key_compromised=True))
    assert [o.people for o in of(leaked, code, "individuals")] == [4]


# 10. Elements -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "element"), [("FL", "precise_geolocation"), ("FL", "biometric"),
                                               ("IA", "passport"), ("IA", "taxpayer_id"), ("MO", "military_id"),
                                               ("MO", "state_id"), ("MD", "military_id"), ("MD", "genetic"),
                                               ("CT", "irs_ip_pin"), ("ND", "electronic_signature")])
def test_elements_the_statutes_name_are_covered(code, element):
    assert [o.people for o in of(run(folk(1, code, element)), f"US-{code}", "individuals")] == [1]


def test_pennsylvania_medical_information_binds_only_state_agencies():
    assert of(run(folk(1, "PA", "medical")), "US-PA") == []


def test_alabama_counts_username_and_password_only_with_a_name():
    assert of(run(folk(1, "AL", "account_credentials", name="")), "US-AL") == []
    assert of(run(folk(1, "AL", "account_credentials")), "US-AL", "individuals")


def test_people_file_accepts_the_new_elements_and_still_reads_old_files():
    header = "id,name,street,city,region,postal_code,country,email,elements,encrypted,key_compromised\n"
    rows = "1,Ann,,,FL,,US,,state_id;genetic;precise_geolocation;irs_ip_pin;electronic_signature,false,false\n"
    rows += "2,Bob,,,TX,,US,,ssn;dob,true,false\n"
    ann, bob = parse_people(header + rows)
    assert ann.elements == {"state_id", "genetic", "precise_geolocation", "irs_ip_pin", "electronic_signature"}
    assert bob.elements == {"ssn", "dob"}


# Schema: what statutes say, without special cases in code ---------------------------------------------

@pytest.mark.parametrize(("code", "regulator"), [
    ("ME", "Maine Department of Professional and Financial Regulation (the bureau that licenses or regulates the "
           "entity)"),
    ("VT", "Vermont Department of Financial Regulation"),
    ("NH", "The business's primary regulator (RSA 358-A:3, I: the banking or insurance department)"),
])
def test_a_state_licensed_entity_tells_its_regulator_instead_of_the_attorney_general(code, regulator):
    people = folk(1, code)
    plain = [r for r in recipients(run(people), f"US-{code}") if "determination" not in r]
    assert regulator not in plain and any("Attorney General" in r for r in plain)
    licensed = [r for r in recipients(run(people, ("state-regulated-financial",)), f"US-{code}")
                if "determination" not in r]
    assert licensed == [regulator]


def test_a_duty_that_exists_only_when_the_risk_of_harm_exception_is_relied_on_says_so_and_follows_its_date():
    result = run(folk(1, "FL"), no_harm_determination=D(2026, 3, 20))
    (written,) = [o for o in of(result, "US-FL", "regulator") if o.condition]
    assert written.condition == engine.RISK_CONDITION
    assert written.deadline == D(2026, 4, 19) and written.clock == "no_harm_determination"
    assert engine.to_json(result)["obligations"][0].keys() >= {"condition", "relation"}


def test_new_york_written_determination_goes_to_the_attorney_general_only_above_500():
    def written(n: int) -> list[engine.Obligation]:
        return [o for o in of(run(folk(n, "NY")), "US-NY", "regulator") if o.condition]
    assert written(500) == []
    assert [o.people for o in written(501)] == [501]


def test_an_element_triggered_duty_arises_only_for_that_element():
    employer = "Virginia Attorney General (employee tax-withholding data)"
    assert employer not in recipients(run(folk(2, "VA", "ssn")), "US-VA")
    result = run(folk(2, "VA", "ssn") + folk(1, "VA", "taxpayer_id;ssn"))
    (duty,) = [o for o in of(result, "US-VA", "regulator") if o.recipient == employer]
    assert duty.people == 1


def _zedland(**agencies: Any) -> Any:
    from aftermath.notify.laws.schema import LawRule
    return LawRule.model_validate({
        "jurisdiction": "US-ZZ", "name": "Zedland", "kind": "us-state", "applies_to_residents_of": ["US-ZZ"],
        "citation": "Z § 1", "sources": ["https://example.org/z"], "last_reviewed": "2026-11-27",
        "personal_information": {"with_name": ["ssn"]}, "risk_of_harm": {"allowed": False},
        "individuals": {"deadline": {"text": "without unreasonable delay"}},
        "consumer_reporting_agencies": {"threshold": 1001, "deadline": {"text": "without delay"}, **agencies}})


def test_a_threshold_that_counts_all_affected_people_counts_beyond_the_state():
    crowd = folk(10, "ZZ") + folk(991, "QQ")
    residents_only = engine.plan(crowd, DISCOVERED, ["business"], [_zedland()])
    assert of(residents_only, "US-ZZ", "consumer_reporting_agencies") == []
    everyone = engine.plan(crowd, DISCOVERED, ["business"], [_zedland(count="all_affected")])
    (cra,) = of(everyone, "US-ZZ", "consumer_reporting_agencies")
    assert cra.people == 10 and "all 1001 people affected" in cra.notes


def test_an_unknown_count_lists_duties_below_their_threshold_with_the_condition():
    result = engine.plan(folk(3, "TX"), DISCOVERED, ["business"], RULES, count_known=False)
    (ag,) = of(result, "US-TX", "regulator")
    assert ag.condition == engine.COUNT_CONDITION.format(threshold=250)
    assert engine.to_json(result)["count_known"] is False
    assert of(engine.plan(folk(3, "TX"), DISCOVERED, ["business"], RULES), "US-TX", "regulator") == []


def test_texas_counts_everyone_notified_for_the_consumer_reporting_agencies():
    crowd = folk(20, "TX") + folk(9981, "OK")
    (cra,) = of(run(crowd), "US-TX", "consumer_reporting_agencies")
    assert cra.people == 20 and "all 10001 people affected" in cra.notes
    assert of(run(folk(20, "TX") + folk(9980, "OK")), "US-TX", "consumer_reporting_agencies") == []
