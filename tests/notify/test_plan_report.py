from __future__ import annotations

import datetime as dt
import re

from aftermath.notify import engine, plan_report
from aftermath.notify.laws.schema import LAWS_DIR, load_rule
from aftermath.notify.people import Person


def sample_plan() -> dict:
    rules = [load_rule(p) for p in LAWS_DIR.rglob("*.toml") if p.name in ("tx.toml", "eu-gdpr.toml", "hipaa.toml")]
    crowd = ([Person(f"t{i}", "T", region="TX", elements=frozenset({"ssn"})) for i in range(260)]
             + [Person("d", "D", country="DE")] + [Person("c", "C", region="CA", elements=frozenset({"medical"}))])
    result = engine.plan(crowd, dt.datetime(2026, 11, 25, 10, tzinfo=dt.UTC), ["hipaa-covered-entity"], rules)
    return engine.to_json(result)


def test_html_has_counsel_notice_calendar_map_and_duties():
    data = sample_plan()
    page = plan_report.render_html(data)
    assert page.count("does not replace legal counsel") == 2
    cell = re.search(r'data-date="2026-11-28">(.*?)</td>', page, re.S)
    assert cell and "EU-GDPR: regulator" in cell.group(1)
    assert re.search(r'data-state="TX" data-count="260"', page)
    assert re.search(r'data-state="CA" data-count="1"', page)
    assert re.search(r'data-state="NY" data-count="0"', page)
    assert "DE 1" in page
    rows = re.findall(r"<tr>\s*<td>(\d{4}-\d\d-\d\d|<span class=\"asap\">)", page)
    dated = [r for r in rows if r[0].isdigit()]
    assert dated == sorted(dated) and rows[-1].startswith("<span")  # sorted, words-only last
    assert "As soon as possible" in page


def test_html_is_self_contained_and_escaped():
    data = sample_plan()
    data["obligations"][0]["notes"] = "<script>alert(1)</script>"
    page = plan_report.render_html(data)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert not re.search(r"<(script|link|img|iframe)\b", page)
    assert "http://" not in page and "https://" not in page


def test_calendar_spans_discovery_to_last_deadline():
    months = plan_report.calendar_months(sample_plan())
    assert months[0]["title"] == "November 2026"
    assert months[-1]["title"] == "March 2027"  # HIPAA annual report of a small breach: 2027-03-01
    days = [d for m in months for w in m["weeks"] for d in w if d["in_month"]]
    assert sum(d["discovery"] for d in days) == 1


def test_map_shading_grows_with_count():
    tiles = {t["code"]: t for t in plan_report.map_tiles({"US-TX": 10, "US-CA": 1, "DE": 5})}
    assert tiles["NY"]["fill"] == "#eeeeee"
    assert tiles["TX"]["fill"] < tiles["CA"]["fill"]  # deeper red (smaller green/blue) for more people
    assert tiles["TX"]["count"] == 10
    assert tiles["DE"]["count"] == 0  # Germany (DE) is not Delaware (US-DE)


def test_html_says_before_individual_notice_and_conditional_duties():
    rules = [load_rule(p) for p in LAWS_DIR.rglob("*.toml") if p.name in ("md.toml", "fl.toml")]
    crowd = ([Person(f"m{i}", "M", region="MD", elements=frozenset({"ssn"})) for i in range(3)]
             + [Person("f", "F", region="FL", elements=frozenset({"ssn"}))])
    page = plan_report.render_html(engine.to_json(engine.plan(crowd, dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
                                                              ["business"], rules)))
    assert "Maryland Attorney General <strong>(before individual notice)</strong>" in page
    assert "<em>Conditional:</em> only if the risk-of-harm exception is relied on instead of notifying" in page
