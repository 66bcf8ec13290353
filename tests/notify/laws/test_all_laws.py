"""Every law file in the package loads and validates; shared invariants across jurisdictions."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from aftermath.notify.laws.schema import LAWS_DIR, LawFileError, load_all, load_rule

RULES = load_all()
PLACE = re.compile(r"^(\*|[A-Z]{2}|[A-Z]{2}-[A-Z0-9]{1,3})$")


def test_every_file_loads_and_jurisdictions_are_unique():
    files = sorted(LAWS_DIR.rglob("*.toml"))
    assert len(RULES) == len(files) >= 9
    codes = [r.jurisdiction for r in RULES]
    assert len(codes) == len(set(codes)), "two files claim the same jurisdiction"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.jurisdiction)
def test_rule_invariants(rule):
    assert rule.citation.strip() and rule.sources
    assert all(s.startswith(("https://", "http://")) for s in rule.sources)
    assert dt.date(2018, 1, 1) <= rule.last_reviewed <= dt.date.today() + dt.timedelta(days=400)
    assert all(PLACE.match(p) for p in rule.applies_to_residents_of), rule.applies_to_residents_of
    assert rule.individuals or rule.regulators, "a rule with no duty at all"
    thresholds = [r.threshold for r in rule.regulators]
    assert all(t >= 1 for t in thresholds)
    assert all(r.below is None or r.below > r.threshold for r in rule.regulators)


@pytest.mark.parametrize("code", ["US-HIPAA", "US-HIPAA-BA", "US-FTC-GLBA", "US-SEC", "EU-GDPR", "UK-GDPR",
                                  "CA-PIPEDA", "AU-NDB"])
def test_federal_and_international_files_present_and_reviewed(code):
    rule = next(r for r in RULES if r.jurisdiction == code)
    assert rule.last_reviewed == dt.date(2026, 11, 27)
    assert rule.uncertain, "say where the file is unsure"


def test_federal_files_are_limited_to_their_entity_types():
    federal = {r.jurisdiction: set(r.applies_to_entities) for r in RULES if r.kind == "federal"}
    assert federal == {"US-HIPAA": {"hipaa-covered-entity"}, "US-HIPAA-BA": {"hipaa-business-associate"},
                       "US-FTC-GLBA": {"financial-institution"}, "US-SEC": {"public-company"}}


def test_a_broken_file_is_rejected_with_its_name(tmp_path):
    bad = tmp_path / "zz.toml"
    bad.write_text('jurisdiction = "US-ZZ"\nname = "Z"\n')
    with pytest.raises(LawFileError, match="zz.toml"):
        load_rule(bad)
    bad.write_text("not = [toml")
    with pytest.raises(LawFileError, match="zz.toml"):
        load_rule(bad)
