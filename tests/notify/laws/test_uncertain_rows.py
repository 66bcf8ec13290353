"""Every duty whose words were not read in the statute says so in its law file (issue 10, last paragraph).

A row of ``expectations.csv`` with ``checked = file`` rests on the law file's own words, which came from
secondary sources. The law file must then say so under ``uncertain``: one entry that names the duty (the
residents, the consumer reporting agencies, or the regulator by the recipient's name up to any bracket) and
says that it "rests on secondary sources", naming them (a site's name or a bracketed list). The check is keyed on
the CSV's audience and recipient only, so it holds for every row of every jurisdiction; a row read in the statute
(``checked = statute``) needs no such entry.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from aftermath.notify.laws.schema import load_all

RULES = {r.jurisdiction: r for r in load_all()}
ROWS = list(csv.DictReader((Path(__file__).parent / "expectations.csv").open(encoding="utf-8")))
MARK = "rests on secondary sources"
SITE = re.compile(r"\b[\w-]+\.(com|org|net|site|gov|ai|io|law|uk|ca)\b")


def duty_words(row: dict[str, str]) -> str:
    """The words an `uncertain` entry must use to name the row's duty."""
    if row["audience"] == "individuals":
        return "residents"
    if row["audience"] == "consumer_reporting_agencies":
        return "consumer reporting agencies"
    if row["audience"] == "media":
        return "media"
    return row["recipient"].split(" (")[0]


def names_its_sources(entry: str) -> bool:
    """A site by its domain anywhere in the entry, or a bracketed list after the words that it rests on them."""
    return bool(SITE.search(entry)) or "(" in entry.partition(MARK)[2]


def covers(entry: str, row: dict[str, str]) -> bool:
    return MARK in entry and duty_words(row).lower() in entry.lower() and names_its_sources(entry)


FILE_ROWS = [r for r in ROWS if r["checked"] == "file"]


@pytest.mark.parametrize("row", FILE_ROWS, ids=lambda r: f"{r['jurisdiction']}/{duty_words(r)}"[:80])
def test_a_row_not_read_in_the_statute_is_marked_uncertain_in_its_law_file(row):
    entries = RULES[row["jurisdiction"]].uncertain
    assert any(covers(e, row) for e in entries), (
        f"{row['jurisdiction']}: the {duty_words(row)!r} duty is `checked = file` but no `uncertain` entry says it "
        f"{MARK!r} and names them")


def test_the_check_tells_duties_apart():
    az = {"jurisdiction": "US-AZ", "audience": "regulator", "recipient": "Arizona Attorney General"}
    dhs = {**az, "recipient": "Director of the Arizona Department of Homeland Security"}
    entry = "Notice to Arizona Attorney General: rests on secondary sources (Perkins Coie chart); not read."
    assert covers(entry, az)
    assert not covers(entry, dhs)
    assert not covers("Notice to Arizona Attorney General: read in the statute.", az)
    assert not covers(entry, {**az, "audience": "consumer_reporting_agencies"})
    assert not covers("Notice to Arizona Attorney General: rests on secondary sources.", az)
