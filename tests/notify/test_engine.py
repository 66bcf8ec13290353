from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from aftermath.notify import coverage, engine
from aftermath.notify.laws.schema import LAWS_DIR, LawRule, load_rule
from aftermath.notify.people import Person

D = dt.date
DISCOVERED = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def rule(**over: Any) -> LawRule:
    base: dict[str, Any] = {
        "jurisdiction": "US-ZZ", "name": "Zedland", "kind": "us-state", "applies_to_residents_of": ["US-ZZ"],
        "citation": "Z. Code § 1", "sources": ["https://example.org/z"], "last_reviewed": "2026-11-27",
        "personal_information": {"with_name": ["ssn", "drivers_license", "financial_account"], "alone": []},
        "safe_harbor": {"encryption": True, "unless_key_compromised": True},
        "risk_of_harm": {"allowed": False},
        "individuals": {"deadline": {"days": 60, "text": "within 60 days"}},
        "regulators": [{"recipient": "Zedland AG", "threshold": 250, "deadline": {"days": 30, "text": "30 days"}}],
    }
    for key, value in over.items():
        base[key] = value
    return LawRule.model_validate(base)


def people(n: int, region: str = "ZZ", elements: str = "ssn", country: str = "US", **kw: Any) -> list[Person]:
    return [Person(f"{region}{i}", f"Person {i}", region=region, country=country,
                   elements=frozenset(e for e in elements.split(";") if e), **kw) for i in range(n)]


def duties(result: engine.Plan, audience: str | None = None) -> list[engine.Obligation]:
    return [o for o in result.obligations if audience in (None, o.audience)]


def reasons(result: engine.Plan) -> dict[tuple[str, str], int]:
    return {(n.jurisdiction, n.reason): n.people for n in result.not_covered}


def real(name: str) -> LawRule:
    return next(load_rule(p) for p in LAWS_DIR.rglob(name))


# -- thresholds ---------------------------------------------------------------------------------------

def test_regulator_duty_at_exactly_the_threshold():
    result = engine.plan(people(250), DISCOVERED, ["business"], [rule()])
    ag = duties(result, "regulator")
    assert [(o.recipient, o.people, o.deadline) for o in ag] == [("Zedland AG", 250, D(2026, 4, 1))]
    assert result.below_threshold == ()


def test_regulator_duty_one_below_the_threshold_is_not_listed_but_recorded():
    result = engine.plan(people(249), DISCOVERED, ["business"], [rule()])
    assert duties(result, "regulator") == []
    assert result.below_threshold == (engine.BelowThreshold("US-ZZ", "Zedland AG", 249, 250),)
    assert duties(result, "individuals")[0].people == 249


def test_threshold_counts_only_covered_residents_of_the_jurisdiction():
    crowd = people(249) + people(1, elements="dob") + people(5, region="QQ")
    result = engine.plan(crowd, DISCOVERED, ["business"], [rule()])
    assert duties(result, "regulator") == []


def test_hipaa_small_and_large_breach_reports_switch_at_500():
    hipaa = real("hipaa.toml")
    small = engine.plan(people(499, region="TX"), DISCOVERED, ["hipaa-covered-entity"], [hipaa])
    large = engine.plan(people(500, region="TX"), DISCOVERED, ["hipaa-covered-entity"], [hipaa])
    assert [o.recipient for o in duties(small, "regulator")] == ["Secretary of HHS (annual report of small breaches)"]
    assert duties(small, "regulator")[0].deadline == D(2027, 3, 1)
    portal = "Secretary of HHS (Office for Civil Rights breach portal)"
    assert [o.recipient for o in duties(large, "regulator")] == [portal]
    assert duties(large, "regulator")[0].deadline == D(2026, 5, 1)


def test_hipaa_media_counts_each_state_separately_more_than_500():
    hipaa = real("hipaa.toml")
    crowd = people(501, region="CA") + people(500, region="TX")
    result = engine.plan(crowd, DISCOVERED, ["hipaa-covered-entity"], [hipaa])
    media = duties(result, "media")
    assert [(o.area, o.people) for o in media] == [("US-CA", 501)]
    assert "US-CA" in media[0].recipient
    texas = engine.BelowThreshold("US-HIPAA", "Prominent media outlets serving US-TX", 500, 501)
    assert texas in result.below_threshold


def test_ftc_safeguards_at_500_consumers():
    ftc = real("ftc-safeguards.toml")
    at_limit = engine.plan(people(500, region="NY"), DISCOVERED, ["financial-institution"], [ftc])
    below = engine.plan(people(499, region="NY"), DISCOVERED, ["financial-institution"], [ftc])
    assert [(o.recipient, o.deadline) for o in duties(at_limit)] == [
        ("Federal Trade Commission (online notification form)", D(2026, 4, 1))]
    assert duties(below) == []


# -- coverage and not_covered ---------------------------------------------------------------------------

def test_safe_harbour_without_and_with_key_compromise():
    safe = people(3, encrypted=True)
    leaked = [Person("k", "K", region="ZZ", elements=frozenset({"ssn"}), encrypted=True, key_compromised=True)]
    result = engine.plan(safe + leaked, DISCOVERED, ["business"], [rule()])
    assert duties(result, "individuals")[0].people == 1
    assert duties(result, "individuals")[0].person_ids == ("k",)
    assert reasons(result) == {("US-ZZ", coverage.SAFE_HARBOUR): 3}


def test_safe_harbour_that_holds_even_when_the_key_leaked_quotes_the_statute_and_never_claims_the_key_is_safe():
    words = "encrypted data is exempt whether or not the key was acquired"
    lenient = rule(safe_harbor={"encryption": True, "unless_key_compromised": False, "key_compromised_text": words})
    leaked = people(2, encrypted=True, key_compromised=True)
    result = engine.plan(leaked, DISCOVERED, ["business"], [lenient])
    assert duties(result) == []
    assert reasons(result) == {("US-ZZ", coverage.KEY_TAKEN_EXEMPT + words): 2}
    assert all("not compromised" not in why for _, why in reasons(result))


def test_a_key_that_survives_theft_without_the_statutes_words_is_refused():
    with pytest.raises(ValueError, match="key_compromised_text"):
        rule(safe_harbor={"encryption": True, "unless_key_compromised": False})


def test_no_safe_harbour_covers_encrypted_people_and_notes_it():
    strict = rule(safe_harbor={"encryption": False}, regulators=[])
    result = engine.plan(people(2, encrypted=True), DISCOVERED, ["business"], [strict])
    assert duties(result, "individuals")[0].people == 2
    assert "no automatic encryption safe harbour" in duties(result, "individuals")[0].notes


def test_not_covered_reasons_are_grouped_with_counts_and_no_personal_data():
    crowd = (people(2, elements="dob") + people(3, elements="") + people(1, region="QQ")
             + [Person("n", "", region="ZZ", elements=frozenset({"ssn"}))] + people(4))
    result = engine.plan(crowd, DISCOVERED, ["business"], [rule()])
    assert reasons(result) == {
        ("US-ZZ", "only elements that are not personal information here: dob"): 2,
        ("US-ZZ", coverage.NO_ELEMENTS): 3,
        ("US-ZZ", coverage.NO_NAME): 1,
        ("US-QQ", engine.NO_RULE): 1,
    }
    assert result.unmapped_people == 1
    dumped = str(engine.to_json(result)["not_covered"])
    assert "Person" not in dumped and "ZZ0" not in dumped


def test_dob_counts_where_the_law_says_so():
    with_dob = rule(personal_information={"with_name": ["ssn", "dob"]})
    result = engine.plan(people(2, elements="dob"), DISCOVERED, ["business"], [with_dob])
    assert duties(result, "individuals")[0].people == 2


def test_alone_elements_count_without_a_name():
    alone = rule(personal_information={"with_name": ["ssn"], "alone": ["account_credentials"]})
    nameless = [Person("a", "", region="ZZ", elements=frozenset({"account_credentials"}))]
    assert duties(engine.plan(nameless, DISCOVERED, ["business"], [alone]), "individuals")[0].people == 1


def test_any_record_covers_people_with_no_elements():
    gdpr = real("eu-gdpr.toml")
    result = engine.plan(people(2, region="", country="DE", elements=""), DISCOVERED, ["business"], [gdpr])
    assert {o.audience for o in duties(result)} == {"individuals", "regulator"}
    assert result.not_covered == ()


def test_person_without_state_is_flagged_when_no_rule_applies():
    result = engine.plan([Person("1", "A", elements=frozenset({"ssn"}))], DISCOVERED, ["business"], [rule()])
    assert reasons(result) == {("US", engine.NO_RULE): 1}


# -- entity types ---------------------------------------------------------------------------------------

def test_federal_rules_apply_only_to_their_entity_types():
    rules = [real("hipaa.toml"), real("sec-8k.toml"), real("ftc-safeguards.toml"), rule()]
    crowd = people(600, region="ZZ", elements="ssn;medical")
    plain = engine.plan(crowd, DISCOVERED, ["business"], rules)
    assert {o.jurisdiction for o in plain.obligations} == {"US-ZZ"}
    every = engine.plan(crowd, DISCOVERED, ["hipaa-covered-entity", "public-company", "financial-institution"], rules)
    assert {o.jurisdiction for o in every.obligations} == {"US-ZZ", "US-HIPAA", "US-SEC", "US-FTC-GLBA"}
    assert every.entity_types == ("business", "financial-institution", "hipaa-covered-entity", "public-company")


def test_business_associate_notifies_the_covered_entity_only():
    ba = real("hipaa-business-associate.toml")
    result = engine.plan(people(10, region="ZZ", elements="medical"), DISCOVERED, ["hipaa-business-associate"],
                         [ba, real("hipaa.toml")])
    assert [(o.jurisdiction, o.recipient, o.deadline) for o in result.obligations] == [
        ("US-HIPAA-BA", "Each covered entity whose PHI was involved", D(2026, 5, 1))]


def test_state_rule_limited_to_some_entity_types():
    banks_exempt = rule(applies_to_entities=["business", "public-company"])
    assert duties(engine.plan(people(1), DISCOVERED, ["financial-institution"], [banks_exempt]))
    only_hipaa = rule(applies_to_entities=["hipaa-covered-entity"])
    assert duties(engine.plan(people(1), DISCOVERED, ["business"], [only_hipaa])) == []


# -- clocks, notes and order ----------------------------------------------------------------------------

def california_like(individual_days: int | None) -> LawRule:
    deadline: dict[str, Any] = {"text": "most expedient time possible"}
    if individual_days:
        deadline["days"] = individual_days
    return rule(individuals={"deadline": deadline}, regulators=[{
        "recipient": "Attorney General (copy of the letter)", "threshold": 500,
        "deadline": {"days": 15, "clock": "individual_notice", "text": "within 15 days of notifying residents"}}])


def test_relative_clock_gives_the_latest_date_until_the_event_is_recorded():
    result = engine.plan(people(500), DISCOVERED, ["business"], [california_like(30)])
    ag = duties(result, "regulator")[0]
    assert ag.deadline == D(2026, 4, 16) and ag.clock == "individual_notice"
    assert "latest allowed" in ag.notes
    recorded = engine.plan(people(500), DISCOVERED, ["business"], [california_like(30)],
                           events={"individual_notice": D(2026, 3, 10)})
    assert duties(recorded, "regulator")[0].deadline == D(2026, 3, 25)


def test_relative_clock_after_a_words_only_duty_is_asap():
    result = engine.plan(people(500), DISCOVERED, ["business"], [california_like(None)])
    assert all(o.deadline is None and o.asap for o in result.obligations)
    assert result.obligations[0].deadline_text.startswith("As soon as possible")


def test_sec_materiality_clock_with_and_without_the_event():
    sec = real("sec-8k.toml")
    assumed = engine.plan(people(1), dt.datetime(2026, 11, 25, tzinfo=dt.UTC), ["public-company"], [sec])
    assert duties(assumed)[0].deadline == D(2026, 12, 2)
    assert "determination is made on the day of discovery" in duties(assumed)[0].notes
    recorded = engine.plan(people(1), dt.datetime(2026, 11, 25, tzinfo=dt.UTC), ["public-company"], [sec],
                           events={"materiality": D(2026, 12, 18)})
    assert duties(recorded)[0].deadline == D(2026, 12, 24)


def test_gdpr_72_hours_and_words_only_individuals_sorted_last():
    gdpr = real("eu-gdpr.toml")
    result = engine.plan(people(3, region="", country="FR") + people(2, region="BY", country="DE"),
                         dt.datetime(2026, 11, 25, 14, 5, tzinfo=dt.UTC), ["business"], [gdpr, rule()])
    first, last = result.obligations[0], result.obligations[-1]
    assert (first.jurisdiction, first.audience, first.people) == ("EU-GDPR", "regulator", 5)
    assert first.deadline == D(2026, 11, 28)
    assert first.deadline_at == dt.datetime(2026, 11, 28, 14, 5, tzinfo=dt.UTC)
    assert "2026-11-28T14:05+00:00" in first.deadline_text
    assert (last.audience, last.deadline, last.asap) == ("individuals", None, True)
    assert "counsel decides" in last.notes  # risk-of-harm exception noted, duty still listed


def test_obligations_are_sorted_by_deadline_then_words_only():
    late = rule(jurisdiction="US-AA", applies_to_residents_of=["US-ZZ"], regulators=[],
                individuals={"deadline": {"days": 10, "text": "10 days"}})
    words = rule(jurisdiction="US-BB", applies_to_residents_of=["US-ZZ"], regulators=[],
                 individuals={"deadline": {"text": "most expedient time"}})
    result = engine.plan(people(300), DISCOVERED, ["business"], [words, rule(), late])
    assert [(o.jurisdiction, o.deadline) for o in result.obligations] == [
        ("US-AA", D(2026, 3, 12)), ("US-ZZ", D(2026, 4, 1)), ("US-ZZ", D(2026, 5, 1)), ("US-BB", None)]


def test_notes_carry_credit_monitoring_assessment_and_risk_of_harm():
    monitored = rule(credit_monitoring={"required": True, "months": 24, "when_elements": ["ssn"]},
                     risk_of_harm={"allowed": True, "notes": "unless no reasonable likelihood of harm"},
                     assessment={"days": 30, "text": "assess within 30 days"}, letter_content=["what happened"])
    ob = duties(engine.plan(people(1), DISCOVERED, ["business"], [monitored]), "individuals")[0]
    assert "24 months of credit monitoring" in ob.notes
    assert "unless no reasonable likelihood of harm" in ob.notes
    assert "Assessment of the suspected breach due by 2026-04-01" in ob.notes
    assert ob.letter_content == ("what happened",)
    no_ssn = engine.plan(people(1, elements="drivers_license"), DISCOVERED, ["business"], [monitored])
    assert "credit monitoring" not in duties(no_ssn, "individuals")[0].notes


def test_australia_assessment_deadline_is_in_the_notes():
    result = engine.plan(people(1, region="NSW", country="AU"), DISCOVERED, ["business"], [real("au-ndb.toml")])
    assert all("due by 2026-04-01" in o.notes for o in result.obligations)
    oaic = "Office of the Australian Information Commissioner (OAIC)"
    assert {o.recipient for o in duties(result, "regulator")} == {oaic}


# -- the JSON contract and purity -----------------------------------------------------------------------

def test_json_shape():
    result = engine.plan(people(250) + people(1, elements="dob"), DISCOVERED, ["business"], [rule()],
                         time_known=False)
    data = engine.to_json(result)
    assert data["discovered"] == "2026-03-02" and data["people_total"] == 251
    for ob in data["obligations"]:
        assert {"jurisdiction", "audience", "recipient", "people", "deadline", "deadline_text", "citation", "notes",
                "clock"} <= set(ob)
        assert ob["audience"] in engine.AUDIENCES
        assert "person_ids" not in ob
    assert data["not_covered"] == [{"jurisdiction": "US-ZZ", "people": 1,
                                    "reason": "only elements that are not personal information here: dob"}]
    assert data["people_by_place"] == {"US-ZZ": 251}
    assert engine.to_json(result, with_ids=True)["obligations"][0]["person_ids"][0] == "ZZ0"
    assert engine.to_json(engine.plan([], DISCOVERED, [], [rule()]))["discovered"] == "2026-03-02T09:00:00+00:00"


def test_plan_is_pure_and_repeatable():
    crowd, rules = people(300), [rule(), real("eu-gdpr.toml")]
    before = copy.deepcopy((crowd, [r.model_dump() for r in rules]))
    first = engine.plan(crowd, DISCOVERED, ["business"], rules)
    second = engine.plan(crowd, DISCOVERED, ["business"], rules)
    assert first == second
    assert (crowd, [r.model_dump() for r in rules]) == before


@pytest.mark.parametrize("count", [0, 1])
def test_no_people_or_one_gives_consistent_totals(count):
    result = engine.plan(people(count), DISCOVERED, ["business"], [rule()])
    assert result.people_total == count
    assert len(duties(result, "individuals")) == count


def test_a_regulator_limited_to_entity_types_is_told_only_by_those() -> None:
    """New York's DFS hears from the financial institutions it regulates, not from every business."""
    ny = real("us/ny.toml")
    residents = people(3, region="NY")
    dfs = "New York Department of Financial Services"

    def recipients(*types: str) -> set[str]:
        return {o.recipient for o in duties(engine.plan(residents, DISCOVERED, types, [ny]), "regulator")}

    assert dfs not in recipients() and "New York Attorney General" in recipients()
    bank = recipients("financial-institution")
    assert dfs in bank and "New York Attorney General" in bank
    limited = rule(regulators=[{"recipient": "Zedland Bank Board", "applies_to_entities": ["financial-institution"],
                                "deadline": {"days": 5, "text": "5 days"}}])
    assert duties(engine.plan(people(1), DISCOVERED, ["hipaa-covered-entity"], [limited]), "regulator") == []
    with pytest.raises(ValueError):
        rule(regulators=[{"recipient": "X", "applies_to_entities": ["bakery"], "deadline": {"text": "soon"}}])
