"""Attorney-general forms: each field of the law file's form answered from the plan and INCIDENT.toml."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aftermath.notify.laws.schema import load_all
from aftermath.notify.letters.run import letters
from tests.notify.letters.helpers import TODAY, write_inputs

COUNSEL = "(to be answered by counsel)"


def residents(prefix: str, n: int, city: str, region: str, postal: str) -> list[str]:
    return [f"{prefix}{i:04d},Person {prefix}{i},{i} Main St,{city},{region},{postal},US,{prefix}{i}@example.com,"
            "ssn;drivers_license,false,false,true" for i in range(n)]


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Letters for 501 Californians and 251 Oregonians: over both attorneys-general's thresholds."""
    folder = tmp_path_factory.mktemp("forms")
    people = residents("ca", 501, "Los Angeles", "CA", "90001") + residents("or", 251, "Portland", "OR", "97201")
    paths = write_inputs(folder / "in", people=people)
    letters(paths["plan"], paths["people"], paths["incident"], folder / "out", None, None, TODAY, pdf=False)
    return folder / "out" / "regulators"


def answers(out: Path, jurisdiction: str) -> dict[str, str]:
    (path,) = out.glob(f"*-{jurisdiction}-regulator-form.json")
    data = json.loads(path.read_text())
    labels = [f["label"] for f in data["fields"]]
    assert len(labels) == len(set(labels)) or jurisdiction == "US-OR"  # Oregon asks for a zip code twice
    return {f["label"]: f["answer"] for f in data["fields"]}


def test_california_form_has_the_resident_count_and_the_dates(out: Path) -> None:
    got = answers(out, "US-CA")
    assert list(got) == ["Sample of Notice (PDF)", "Date(s) of Breach (if known)", "Date(s) of Discovery of Breach",
                         "Date(s) Individual Notice Provided to Consumers",
                         "Type of Personal Information Involved in the Breach"]
    assert got["Date(s) of Breach (if known)"] == "2026-11-02 to 2026-11-14"
    assert got["Date(s) of Discovery of Breach"] == "2026-11-20"
    assert got["Date(s) Individual Notice Provided to Consumers"] == TODAY.isoformat()
    assert "Social Security number" in got["Type of Personal Information Involved in the Breach"]
    sample = out.parent / got["Sample of Notice (PDF)"]
    text = sample.read_text()
    assert "Notice of Data Breach" in text and "Dear [Name]," in text
    assert "Person ca" not in text and "@example.com" not in text and "Main St" not in text  # nothing personal
    (draft,) = out.glob("*-US-CA-regulator.txt")
    assert "Number of residents affected: 501" in draft.read_text()
    assert "regulator-form.txt" in draft.read_text() and "sample-notice-US-CA.txt" in draft.read_text()
    page = next(out.glob("*-US-CA-regulator-form.txt")).read_text()
    assert "https://oag.ca.gov/privacy/databreach/report-a-breach" in page and "2026-11-20" in page


def test_oregon_form_every_field_in_order_with_counts_dates_and_counsel(out: Path) -> None:
    got = answers(out, "US-OR")
    assert got["Number of Oregon Consumers Affected by the Breach"] == "251"
    assert got["Approximate Number of Individuals Affected by the Breach"] == "752"  # the plan's total
    assert got["Date(s) of Breach (if known): Start Date"] == "2026-11-02"
    assert got["Date(s) of Breach (if known): End Date"] == "2026-11-14"
    assert got["Date(s) Individual Notice Provided to Consumers"] == TODAY.isoformat()
    assert got["Breached Organization Name"] == "Riverside Supply Co."
    assert got["Zip Code"] == "62701"
    assert got["Was Substitute Notice Given (ORS 646.604(4)(d))?"] == "No"
    assert got["Report Type"] == got["Police Report Number"] == COUNSEL
    assert got["Sample of Consumer Notice (PDF)"] == "regulators/sample-notice-US-OR.txt"


def test_every_form_answer_is_known_and_every_form_cites_a_listed_source() -> None:
    forms = [(rule, r.form) for rule in load_all() for r in rule.regulators if r.form]
    assert {rule.jurisdiction for rule, _ in forms} >= {"US-CA", "US-OR", "US-TX", "US-NY", "US-MA", "US-IN"}
    for rule, form in forms:
        host = form.url.split("/")[2].removeprefix("www.")
        assert any(host in s for s in rule.sources), (rule.jurisdiction, form.url)
