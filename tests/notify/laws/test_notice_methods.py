"""The law files' ``notice_methods`` (issue 15): the schema, every US file filled, the table that keeps them true.

``notice_methods.csv`` holds one row per law file with the rule, written from the sources named in the file:
every file with the rule needs its row and every row must match its file. A row with ``checked = file`` rests on
secondary sources, and its law file must then say so under ``uncertain`` (the pattern of test_uncertain_rows.py).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from pydantic import ValidationError

from aftermath.notify.laws.schema import LAWS_DIR, LawRule, NoticeMethods, Substitute, load_all, load_rule
from tests.notify.laws.test_uncertain_rows import MARK, names_its_sources

RULES = {r.jurisdiction: r for r in load_all()}
ROWS = {r["jurisdiction"]: r for r in csv.DictReader((Path(__file__).parent / "notice_methods.csv").open())}


def test_a_file_without_notice_methods_still_validates(tmp_path: Path) -> None:
    text = (LAWS_DIR / "us" / "ca.toml").read_text(encoding="utf-8")
    bare = tmp_path / "ca.toml"
    bare.write_text(text.split("\n[notice_methods]")[0] + "\n", encoding="utf-8")
    assert load_rule(bare).notice_methods is None
    assert RULES["US-SEC"].notice_methods is None  # no duty to individuals, no method


@pytest.mark.parametrize(("fields", "message"), [
    ({"electronic": "any", "citation": "x"}, "needs electronic_text"),
    ({"electronic": "customary", "electronic_text": " ", "citation": "x"}, "needs electronic_text"),
    ({"electronic": "fax", "citation": "x"}, "electronic"),
    ({"electronic": "esign", "citation": ""}, "citation"),
    ({"electronic": "esign", "citation": "x", "substitute": {"parts": ["website"], "text": "t"}}, "needs a trigger"),
    ({"electronic": "esign", "citation": "x", "substitute": {"cost_over": 1, "parts": [], "text": "t"}}, "parts"),
    ({"electronic": "esign", "citation": "x", "substitute": {"cost_over": 1, "parts": ["radio"], "text": "t"}},
     "parts"),
    ({"electronic": "esign", "citation": "x", "substitute": {"cost_over": -1, "parts": ["media"], "text": "t"}},
     "cost_over"),
    ({"electronic": "esign", "citation": "x", "postal": True}, "postal"),
])
def test_the_schema_refuses_a_rule_it_cannot_read(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        NoticeMethods.model_validate(fields)


def test_a_whole_rule_validates_with_its_defaults() -> None:
    nm = NoticeMethods.model_validate({"electronic": "any", "electronic_text": "E-mail notice", "citation": "§ 1",
                                       "substitute": {"people_over": 10, "parts": ["email"], "text": "t"}})
    assert nm.written and nm.telephone is None
    assert nm.substitute == Substitute(people_over=10, parts=["email"], text="t")
    assert nm.substitute.count == "residents" and nm.substitute.insufficient_contact_at_least == 1


US = sorted(j for j, r in RULES.items() if r.kind in ("us-state", "us-territory"))


@pytest.mark.parametrize("jurisdiction", US)
def test_every_us_state_and_territory_says_how_notice_may_be_given(jurisdiction: str) -> None:
    assert len(US) >= 55
    nm = RULES[jurisdiction].notice_methods
    assert nm is not None, f"{jurisdiction}: no notice_methods"
    assert nm.written


@pytest.mark.parametrize("jurisdiction", sorted(RULES))
def test_every_rule_has_its_row_and_matches_it(jurisdiction: str) -> None:
    rule = RULES[jurisdiction]
    if rule.notice_methods is None:
        assert jurisdiction not in ROWS
        assert rule.individuals is None or rule.kind not in ("us-state", "us-territory")
        return
    row = ROWS.get(jurisdiction)
    assert row is not None, f"{jurisdiction}: notice_methods without its row in notice_methods.csv"
    nm, sub = rule.notice_methods, rule.notice_methods.substitute
    assert nm.electronic == row["electronic"]
    assert (sub.cost_over if sub else None) == (int(row["cost_over"]) if row["cost_over"] else None)
    assert (sub.people_over if sub else None) == (int(row["people_over"]) if row["people_over"] else None)
    assert bool(sub and sub.insufficient_contact) == (row["insufficient_contact"] == "true")
    assert (";".join(sub.parts) if sub else "") == row["parts"]
    assert (sub.website_days if sub else None) == (int(row["website_days"]) if row["website_days"] else None)


@pytest.mark.parametrize("jurisdiction", sorted(j for j, r in ROWS.items() if r["checked"] == "file"))
def test_a_rule_not_read_in_the_statute_is_marked_uncertain(jurisdiction: str) -> None:
    entries = [e for e in RULES[jurisdiction].uncertain if e.startswith("Notice methods") and MARK in e]
    assert entries and all(names_its_sources(e) for e in entries), (
        f"{jurisdiction}: notice_methods is `checked = file` but no `uncertain` entry says it {MARK!r} and names them")


def test_a_row_read_in_the_statute_lists_the_statute_as_read() -> None:
    texts = {load_rule(p).jurisdiction: p.read_text(encoding="utf-8") for p in LAWS_DIR.rglob("*.toml")}
    for jurisdiction, row in ROWS.items():
        assert row["checked"] in ("statute", "file"), jurisdiction
        if row["checked"] == "statute":  # a source's line says "statute text read <date>: <the section>"
            nm = RULES[jurisdiction].notice_methods
            assert nm is not None
            section = nm.citation.split("§")[-1].split()[0]
            read = [line for line in texts[jurisdiction].splitlines() if "statute text read" in line]
            assert any(section in line for line in read), f"{jurisdiction}: no source read for § {section}"
            assert not [e for e in RULES[jurisdiction].uncertain if e.startswith("Notice methods") and MARK in e]
    assert any(r["checked"] == "statute" for r in ROWS.values())


def rule(j: str) -> LawRule:
    return RULES[j]


@pytest.mark.parametrize(("jurisdiction", "cost", "people", "electronic", "parts", "days"), [
    ("US-CA", 250_000, 500_000, "esign", ["email", "website", "media"], 30),     # Civ. Code § 1798.82(j)
    ("US-NY", 250_000, 500_000, "esign", ["attorney_general", "email", "website", "media"], None),  # GBL 899-aa(5)
    ("US-TX", 250_000, 500_000, "esign", ["email", "website", "media"], None),   # Bus. & Com. Code 521.053(f)
    ("US-FL", 250_000, 500_000, "any", ["website", "media"], None),               # § 501.171(4)(d), (f)
    ("US-MA", 250_000, 500_000, "esign", ["email", "website", "media"], None),   # c. 93H § 1
    ("US-AZ", 50_000, 100_000, "any", ["attorney_general", "website"], 45),       # § 18-552(F)
    ("US-ME", 5_000, 1_000, "esign", ["email", "website", "media"], None),        # 10 M.R.S. § 1347(4)
    ("US-PA", 100_000, 175_000, "customary", ["email", "website", "media"], None),  # 73 P.S. § 2302
    ("US-CO", 250_000, 250_000, "customary", ["email", "website", "media"], None),  # § 6-1-716(1)(f)
])
def test_the_thresholds_are_the_statutes(jurisdiction: str, cost: int, people: int, electronic: str,
                                         parts: list[str], days: int | None) -> None:
    nm = rule(jurisdiction).notice_methods
    assert nm is not None and nm.substitute is not None
    assert (nm.substitute.cost_over, nm.substitute.people_over) == (cost, people)
    assert nm.substitute.insufficient_contact
    assert nm.electronic == electronic and nm.substitute.parts == parts and nm.substitute.website_days == days


def test_hipaa_substitutes_only_for_ten_or_more_without_contact_details_and_gdpr_for_disproportionate_effort() -> None:
    hipaa = rule("US-HIPAA").notice_methods
    assert hipaa is not None and hipaa.substitute is not None
    assert hipaa.electronic == "esign"  # email only if the individual agrees (§ 164.404(d)(1))
    assert (hipaa.substitute.cost_over, hipaa.substitute.people_over) == (None, None)
    assert hipaa.substitute.insufficient_contact_at_least == 10 and hipaa.substitute.website_days == 90
    for j in ("EU-GDPR", "UK-GDPR", "AU-NDB"):
        nm = rule(j).notice_methods
        assert nm is not None and nm.substitute is not None and nm.substitute.disproportionate_effort, j
        assert not nm.substitute.insufficient_contact and nm.substitute.cost_over is None, j
    wi = rule("US-WI").notice_methods
    assert wi is not None and wi.substitute is not None and wi.substitute.cost_over is None  # contact details only
    ut = rule("US-UT").notice_methods
    assert ut is not None and ut.substitute is None  # newspaper publication is an ordinary method, not modelled
