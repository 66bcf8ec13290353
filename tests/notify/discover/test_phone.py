"""A person's telephone number is kept as contact information for notices (E.164, read in the person's
country), never as an exposed element; a dialling-code or extension column is not a phone."""

from __future__ import annotations

from pathlib import Path

import pytest

from aftermath.notify.discover import scope
from aftermath.notify.discover.columns import hint
from aftermath.notify.discover.report import people_csv
from aftermath.notify.people import parse_people
from tests.notify.discover.test_residence_columns import HEADER, ROWS, write


@pytest.mark.parametrize(("column", "role"), [
    ("TelephoneNumber", "phone"), ("phone", "phone"), ("Mobile", "phone"), ("cell", "phone"), ("Tel", "phone"),
    ("home_phone_number", "phone"), ("TelephoneCountryCode", ""), ("phone_ext", ""), ("PhoneType", ""),
    ("fax", ""), ("phone_verified", ""),
])
def test_which_columns_hold_a_phone(column: str, role: str) -> None:
    assert hint(column).role == role
    if role:
        assert hint(column).negative  # its digits are never taken for a card or an account


def test_phones_are_kept_in_e164_by_country_and_are_not_elements(tmp_path: Path) -> None:
    r = scope([str(write(tmp_path / "fng.csv", HEADER, ROWS))], workers=1)
    phones = {p.email: p.phone for p in r.people}
    assert phones == {"ann@x.com": "+15125550100", "eleni@x.com": "+35725123456", "tom@x.com": "+441134960000",
                      "jo@x.com": "+15035550100"}
    assert all(e != "phone" for p in r.people for e in p.elements)
    assert all("phone" not in c.counts for c in r.columns)
    assert parse_people(people_csv(r)) == r.people  # written and read back with the phone column


def test_a_phone_from_another_row_of_the_same_person_joins_and_a_bad_one_is_dropped(tmp_path: Path) -> None:
    (tmp_path / "crm.csv").write_text("email,ssn,state,country\nann@x.com,123-45-6789,TX,US\n"
                                      "bo@x.com,123-45-6780,TX,US\n")
    (tmp_path / "tickets.csv").write_text("email,mobile\nann@x.com,512 555 0100\nbo@x.com,12\n")
    r = scope([str(tmp_path)], workers=1)
    assert {p.email: p.phone for p in r.people} == {"ann@x.com": "+15125550100", "bo@x.com": ""}


def test_the_first_filled_phone_column_wins(tmp_path: Path) -> None:
    (tmp_path / "crm.csv").write_text("email,ssn,country,home_phone,mobile\nann@x.com,123-45-6789,US,,512 555 0100\n"
                                      "bo@x.com,123-45-6780,US,512 555 0101,512 555 0102\n")
    r = scope([str(tmp_path)], workers=1)
    assert {p.email: p.phone for p in r.people} == {"ann@x.com": "+15125550100", "bo@x.com": "+15125550101"}
