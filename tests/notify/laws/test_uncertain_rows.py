"""Every duty whose words were not read in the statute says so in its law file (issue 10, last paragraph).

A row of ``expectations.csv`` with ``checked = file`` rests on the law file's own words, which came from
secondary sources. The law file must then say so under ``uncertain``: one entry that names the duty (the
residents, the consumer reporting agencies, or the regulator by the recipient's name up to any bracket) and
says that it "rests on secondary sources". The check is keyed on the CSV's audience and recipient only, so
it holds for every jurisdiction; a row read in the statute (``checked = statute``) needs no such entry.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from aftermath.notify.laws.schema import load_all

# Branch j10a checks its own jurisdictions only; the others are reviewed on another branch (j10b).
# At merge, when every jurisdiction's `file` rows carry their entries, remove this list and its filter.
ONLY = {"CA-PIPEDA", "UK-GDPR", "US-AL", "US-AZ", "US-CA", "US-CO", "US-CT", "US-DC", "US-DE", "US-FL",
        "US-FTC-GLBA", "US-GU", "US-HI", "US-HIPAA-BA", "US-IA", "US-ID", "US-IL", "US-KS", "US-KY", "US-LA",
        "US-MA", "US-MD", "US-ME", "US-MI", "US-MN", "US-MO", "US-MS", "US-MT"}

RULES = {r.jurisdiction: r for r in load_all()}
ROWS = list(csv.DictReader((Path(__file__).parent / "expectations.csv").open(encoding="utf-8")))
MARK = "rests on secondary sources"


def duty_words(row: dict[str, str]) -> str:
    """The words an `uncertain` entry must use to name the row's duty."""
    if row["audience"] == "individuals":
        return "residents"
    if row["audience"] == "consumer_reporting_agencies":
        return "consumer reporting agencies"
    if row["audience"] == "media":
        return "media"
    return row["recipient"].split(" (")[0]


def covers(entry: str, row: dict[str, str]) -> bool:
    return MARK in entry and duty_words(row).lower() in entry.lower()


FILE_ROWS = [r for r in ROWS if r["checked"] == "file" and r["jurisdiction"] in ONLY]


@pytest.mark.parametrize("row", FILE_ROWS, ids=lambda r: f"{r['jurisdiction']}/{duty_words(r)}"[:80])
def test_a_row_not_read_in_the_statute_is_marked_uncertain_in_its_law_file(row):
    entries = RULES[row["jurisdiction"]].uncertain
    assert any(covers(e, row) for e in entries), (
        f"{row['jurisdiction']}: the {duty_words(row)!r} duty is `checked = file` but no `uncertain` entry says it "
        f"{MARK!r}")


def test_the_check_tells_duties_apart():
    az = {"jurisdiction": "US-AZ", "audience": "regulator", "recipient": "Arizona Attorney General"}
    dhs = {**az, "recipient": "Director of the Arizona Department of Homeland Security"}
    entry = "Notice to Arizona Attorney General (threshold 1001): rests on secondary sources; not read."
    assert covers(entry, az)
    assert not covers(entry, dhs)
    assert not covers("Notice to Arizona Attorney General: read in the statute.", az)
    assert not covers(entry, {**az, "audience": "consumer_reporting_agencies"})


def test_only_names_real_jurisdictions():
    assert not ONLY - set(RULES)
