"""Law-file corrections found by reading the statute text on 2026-12-01 (issue 10, branch j10a).

Each test fails on the law file as it was before the statute was read.
"""

from __future__ import annotations

from aftermath.notify.laws.schema import load_all

RULES = {r.jurisdiction: r for r in load_all()}


def test_pipeda_notice_to_organizations_cites_the_subsection_that_sets_its_time():
    # s. 10.2(2): "The notification shall be given as soon as feasible after the organization determines that the
    # breach has occurred."  s. 10.2(4) is about disclosure without consent, not about time.
    reg = next(r for r in RULES["CA-PIPEDA"].regulators if r.recipient.startswith("Government institutions"))
    assert "(s. 10.2(2))" in reg.deadline.text
    assert "10.2(4)" not in reg.deadline.text
    assert reg.deadline.clock == "determination"
