"""Several columns claim a residence role (as in a Fake Name Generator export): the one whose values
validate is used, a dialling code never counts as a country, disagreements are flagged, and a file that
leaves people without residence is reported loudly."""

from __future__ import annotations

import csv
from pathlib import Path

from aftermath.notify.discover import scope
from aftermath.notify.discover.record import render, summary
from aftermath.notify.discover.residence import country_code, pick, rank

HEADER = ["Number", "GivenName", "Surname", "StreetAddress", "City", "State", "StateFull", "ZipCode", "Country",
          "CountryFull", "EmailAddress", "TelephoneNumber", "TelephoneCountryCode", "CCNumber", "CVV2"]
ROWS = [
    ["1", "Ann", "Lee", "1 Main St", "Austin", "TX", "Texas", "78701", "US", "United States", "ann@x.com",
     "512-555-0100", "1", "4111111111111111", "123"],
    ["2", "Eleni", "Georgiou", "Odos 5", "Limassol", "", "", "3041", "CY", "Cyprus", "eleni@x.com",
     "25 123456", "357", "4012888888881881", "456"],
    ["3", "Tom", "Hardy", "5 High St", "Leeds", "", "", "LS1 4AP", "GB", "United Kingdom", "tom@x.com",
     "0113 496 0000", "44", "5555555555554444", "789"],
    ["4", "Jo", "Ray", "2 Oak Ave", "Portland", "OR", "Oregon", "97201", "US", "Canada", "jo@x.com",
     "503-555-0100", "1", "378282246310005", "1234"],
]


def write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_dialling_codes_and_full_names_do_not_override_the_country(tmp_path: Path):
    r = scope([str(write(tmp_path / "crm.csv", HEADER, ROWS))], workers=1)
    got = {p.email: (p.country, p.region) for p in r.people}
    assert got == {"ann@x.com": ("US", "TX"), "eleni@x.com": ("CY", ""), "tom@x.com": ("GB", ""),
                   "jo@x.com": ("US", "OR")}
    assert r.merged.flags["jo@x.com"] == ("country columns disagree: Country says US, CountryFull says CA",)
    assert all(not f for pid, f in r.merged.flags.items() if pid != "jo@x.com")
    used = {c.column: (c.role, c.valid, c.ranking) for c in r.columns if c.role == "country"}
    assert used == {"Country": ("country", 4, "used for country (validates best; also tried CountryFull)"),
                    "CountryFull": ("country", 4, "not used for country: Country validates better")}
    assert not any(c.role for c in r.columns if c.column == "TelephoneCountryCode")
    assert r.residence_warning() == ""


def test_the_column_that_validates_wins_whatever_its_position(tmp_path: Path):
    header = ["email", "ssn", "country", "country_name"]
    rows = [[f"p{i}@x.com", f"123-45-{6780 + i}", "", "Germany" if i % 2 else "FR"] for i in range(6)]
    rows[0][2] = "Freedonia"
    r = scope([str(write(tmp_path / "t.csv", header, rows))], workers=1)
    assert [p.country for p in r.people] == ["FR", "DE", "FR", "DE", "FR", "DE"]
    assert "country_name" in next(c.ranking for c in r.columns if c.column == "country")


def test_many_people_without_residence_are_reported_loudly(tmp_path: Path):
    header = ["email", "ssn", "Country", "zip"]
    rows = [[f"p{i}@x.com", f"123-45-{6780 + i}", "Atlantis" if i < 3 else "USA", "78701"] for i in range(8)]
    r = scope([str(write(tmp_path / "t.csv", header, rows))], workers=1)
    assert r.residence_unknown() == 3
    warning = r.residence_warning()
    assert warning.startswith("3 of 8 people (38%) have no country or US state")
    assert "t.csv.Country (country, 5 of 8 valid)" in warning and "t.csv.zip (postal_code, 8 of 8 valid)" in warning
    texts = render(r, tmp_path / "r.html", None)
    assert 'id="residence-warning"' in texts["report"] and "t.csv.Country" in texts["report"]
    data = summary(r, texts)
    assert data["residence_unknown"] == 3 and data["residence_warning"] == warning


def test_validators():
    assert [country_code(v) for v in ("1", "357", "+44", "Cyprus", "CYP", "cy", "UK", "Russia", "Atlantis")] == [
        "ZZ", "ZZ", "ZZ", "CY", "CY", "CY", "GB", "RU", "ZZ"]
    assert rank("country", [["1", "357", "44"], ["US", "", "GB"], ["United States", "Cyprus", "United Kingdom"]]) \
        == ([2, 1, 0], [0, 2, 3])
    assert pick("region", ["State", "StateFull"], ["NY", "New York"]) == ("NY", "")
    assert pick("region", ["State", "StateFull"], ["", "New York"]) == ("New York", "")
    assert pick("region", ["State", "StateFull"], ["NY", "Ohio"])[1] == \
        "region columns disagree: State says NY, StateFull says OH"


def test_the_state_column_that_agrees_with_the_zip_codes_wins(tmp_path: Path):
    header = ["email", "ssn", "state", "state_name", "zip"]
    rows = [["a@x.com", "123-45-6781", "NY", "TX", "78701"], ["b@x.com", "123-45-6782", "NY", "OR", "97201"],
            ["c@x.com", "123-45-6783", "NY", "California", "90210"]]
    r = scope([str(write(tmp_path / "t.csv", header, rows))], workers=1)
    assert [p.region for p in r.people] == ["TX", "OR", "CA"]
    assert r.merged.flags["a@x.com"] == ("region columns disagree: state_name says TX, state says NY",)
    assert next(c.ranking for c in r.columns if c.column == "state_name").startswith(
        "used for region (agrees best with the ZIP codes")
