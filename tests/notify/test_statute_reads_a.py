"""Law-file corrections found by reading the statute text on 2026-12-01 (issue 10, branch j10a).

Each test fails on the law file as it was before the statute was read.
"""

from __future__ import annotations

from aftermath.notify.laws.schema import load_all
from tests.notify.test_statute_regressions import D, folk, of, run

RULES = {r.jurisdiction: r for r in load_all()}


def test_pipeda_notice_to_organizations_cites_the_subsection_that_sets_its_time():
    # s. 10.2(2): "The notification shall be given as soon as feasible after the organization determines that the
    # breach has occurred."  s. 10.2(4) is about disclosure without consent, not about time.
    reg = next(r for r in RULES["CA-PIPEDA"].regulators if r.recipient.startswith("Government institutions"))
    assert "(s. 10.2(2))" in reg.deadline.text
    assert "10.2(4)" not in reg.deadline.text
    assert reg.deadline.clock == "determination"


def test_dc_deems_hipaa_and_glba_entities_compliant_for_residents_but_they_still_tell_the_attorney_general():
    # D.C. Code § 28-3852(g): deemed in compliance "with respect to the notification of residents"; "The person or
    # entity shall, in all cases, provide written notice ... to the Office of the Attorney General ... as required
    # under subsection (b-1)", which applies when "the breach affects 50 or more District residents".
    for entity in ("hipaa-covered-entity", "hipaa-business-associate", "financial-institution"):
        result = run(folk(50, "DC"), (entity,), individual_notice=D(2026, 3, 20))
        assert [(o.audience, o.recipient, o.deadline) for o in of(result, "US-DC")] == [
            ("regulator", "Office of the Attorney General for the District of Columbia", D(2026, 3, 20))], entity
        assert of(run(folk(49, "DC"), (entity,)), "US-DC") == []
    business = run(folk(50, "DC"))
    assert {o.audience for o in of(business, "US-DC")} == {"individuals", "regulator"}


def test_hawaii_deems_a_hipaa_health_plan_or_provider_compliant():
    # Haw. Rev. Stat. § 487N-2(g)(2): "Any health plan or healthcare provider that is subject to and in compliance
    # with" the HIPAA privacy and security standards "shall be deemed to be in compliance with this section".
    people = folk(1001, "HI")
    assert {o.audience for o in of(run(people), "US-HI")} == {"individuals", "regulator", "consumer_reporting_agencies"}
    result = run(people, ("hipaa-covered-entity",))
    assert of(result, "US-HI") == []
    (why,) = [n for n in result.not_covered if n.jurisdiction == "US-HI"]
    assert why.reason.startswith("the organisation is exempt or deemed compliant as hipaa-covered-entity")
