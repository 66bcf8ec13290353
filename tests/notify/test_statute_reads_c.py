"""Law-file corrections found by reading the statute text on 2026-12-01 (issue 10, branch j10c).

Each test fails on the law file as it was before the statute was read.
"""

from __future__ import annotations

from aftermath.notify.laws.schema import load_all
from tests.notify.test_statute_regressions import D, folk, of, run

RULES = {r.jurisdiction: r for r in load_all()}


def test_connecticut_deems_a_hipaa_entity_compliant_but_it_still_tells_the_attorney_general():
    # Conn. Gen. Stat. § 36a-701b(h): a person "subject to and in compliance with" HIPAA and HITECH "shall be deemed
    # to be in compliance with this section, provided that (1) any person required to provide notification to
    # Connecticut residents pursuant to HITECH shall also provide notice to the Attorney General not later than the
    # time when notice is provided to such residents".
    result = run(folk(3, "CT"), ("hipaa-covered-entity",), individual_notice=D(2026, 3, 20))
    assert [(o.audience, o.recipient, o.deadline) for o in of(result, "US-CT")] == [
        ("regulator", "Connecticut Attorney General", D(2026, 3, 20))]
    assert {o.audience for o in of(run(folk(3, "CT")), "US-CT")} == {"individuals", "regulator"}


def test_connecticut_harm_determination_no_longer_needs_law_enforcement_consultation():
    # § 36a-701b(b)(1) since P.A. 21-59: "after an appropriate investigation the person reasonably determines that
    # the breach will not likely result in harm"; the consultation with law-enforcement agencies was deleted.
    notes = RULES["US-CT"].risk_of_harm.notes
    assert "after an appropriate investigation the person reasonably determines" in notes
    assert "investigation and consultation with" not in notes


def test_michigan_deems_a_hipaa_entity_compliant_with_the_whole_section():
    # Mich. Comp. Laws § 445.72(10): "A person or agency that is subject to and complies with the health insurance
    # portability and accountability act of 1996 ... is considered to be in compliance with this section."
    people = folk(1001, "MI")
    assert {o.audience for o in of(run(people), "US-MI")} == {"individuals", "consumer_reporting_agencies"}
    for entity in ("hipaa-covered-entity", "hipaa-business-associate"):
        result = run(people, (entity,))
        assert of(result, "US-MI") == [], entity
        (why,) = [n for n in result.not_covered if n.jurisdiction == "US-MI"]
        assert why.reason.startswith(f"the organisation is exempt or deemed compliant as {entity}")


def test_iowa_does_not_apply_to_glba_or_hipaa_entities_that_comply_with_their_rules():
    # Iowa Code § 715C.2(7): "This section does not apply to any of the following: ... c. A person who is subject to
    # and complies with regulations promulgated pursuant to Tit. V of the federal Gramm-Leach-Bliley Act ... d. ...
    # the federal Health Insurance Portability and Accountability Act of 1996".
    people = folk(501, "IA")
    assert {o.audience for o in of(run(people), "US-IA")} == {"individuals", "regulator"}
    for entity in ("financial-institution", "hipaa-covered-entity", "hipaa-business-associate"):
        assert of(run(people, (entity,)), "US-IA") == [], entity


def test_missouri_deems_a_glba_financial_institution_compliant():
    # Mo. Rev. Stat. § 407.1500.3(3): "A financial institution that is: ... (c) Subject to and in compliance with the
    # provisions of Title V of the Gramm-Leach-Bliley Financial Modernization Act ... shall be deemed to be in
    # compliance with this section."
    people = folk(1001, "MO")
    assert {o.audience for o in of(run(people), "US-MO")} == {"individuals", "regulator", "consumer_reporting_agencies"}
    assert of(run(people, ("financial-institution",)), "US-MO") == []


def test_new_york_tells_financial_services_of_every_breach_of_residents_since_s2659b():
    # GBL § 899-aa(8)(a) as amended by S2659-B (signed 2024-12-21): "the person or business shall notify the state
    # attorney general, the department of state, the division of state police, and the department of financial
    # services ... Such notice shall be made without delaying notice to affected New York residents."
    result = run(folk(1, "NY"), individual_notice=D(2026, 3, 20))
    dfs = [(o.recipient, o.deadline) for o in of(result, "US-NY", "regulator") if "Financial Services" in o.recipient]
    assert dfs == [("New York Department of Financial Services (GBL 899-aa(8)(a) notice)", D(2026, 3, 20))]
