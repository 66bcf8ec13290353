from __future__ import annotations

import pytest

from aftermath.notify.people import COLUMNS, PeopleFileError, Person, format_people, parse_people

HEADER = ",".join(COLUMNS)


def test_round_trip():
    people = [Person("1", "Ana Díaz", "1 Main St", "Austin", "TX", "78701", "US", "a@x.org",
                     frozenset({"ssn", "dob"})), Person("2", "Bo", country="DE", elements=frozenset({"passport"}))]
    assert parse_people(format_people(people)) == people


@pytest.mark.parametrize(("row", "line", "column"), [
    ("1,A,,,TX,,US,,ssn;shoe_size,false,false", 2, "elements"),
    ("1,A,,,TX,,USA,,ssn,false,false", 2, "country"),
    ("1,A,,,TX,,US,,ssn,maybe,false", 2, "encrypted"),
    (",A,,,TX,,US,,ssn,false,false", 2, "id"),
    ("1,A,,,TX,,US,,ssn,false,false,extra", 2, "(extra)"),
])
def test_malformed_rows_name_line_and_column(row, line, column):
    with pytest.raises(PeopleFileError) as err:
        parse_people(f"{HEADER}\n{row}\n")
    assert f"line {line}, column '{column}'" in str(err.value)


def test_missing_column_and_duplicate_id():
    with pytest.raises(PeopleFileError, match="column 'email'"):
        parse_people("id,name,street,city,region,postal_code,country,elements,encrypted,key_compromised\n")
    with pytest.raises(PeopleFileError, match="line 3, column 'id'"):
        parse_people(f"{HEADER}\n1,A,,,TX,,US,,ssn,,\n1,B,,,TX,,US,,ssn,,\n")


@pytest.mark.parametrize("rows", [
    '1,"Ana Díaz,,,TX,,US,,ssn,false,false\n2,Bo,,,TX,,US,,ssn;dob,false,false\n',  # unterminated quote
    '1,"Ana"x,,,TX,,US,,ssn,false,false\n',  # text after a closing quote
])
def test_bad_quotes_are_an_error_naming_the_line_not_a_long_name(rows):
    with pytest.raises(PeopleFileError, match=r"line 2, column '\(row\)'.*quotes"):
        parse_people(f"{HEADER}\n{rows}")


def test_a_file_without_the_phone_column_still_reads_and_phone_is_empty():
    assert "phone" not in HEADER
    [p] = parse_people(f"{HEADER}\n1,A,,,TX,,US,,ssn,false,false\n")
    assert p.phone == "" and p.elements == {"ssn"}


@pytest.mark.parametrize(("country", "written", "kept"), [
    ("US", "(512) 555-0100", "+15125550100"),
    ("DE", "030 1234567", "+49301234567"),
    ("GB", "+44 20 7946 0958", "+442079460958"),
    ("ZZ", "+1 512 555 0100", "+15125550100"),
    ("US", "", ""),
])
def test_phone_is_read_in_the_persons_country_and_kept_in_e164(country, written, kept):
    [p] = parse_people(f"{HEADER},phone\n1,A,,,,,{country},,ssn,false,false,{written}\n")
    assert p.phone == kept
    assert "phone" not in p.elements
    assert parse_people(format_people([p])) == [p]  # written and read back


@pytest.mark.parametrize(("country", "written"), [("US", "12"), ("US", "call me"), ("ZZ", "512 555 0100")])
def test_a_phone_that_is_no_number_in_the_country_names_line_and_column(country, written):
    with pytest.raises(PeopleFileError, match="line 3, column 'phone'.*country code"):
        parse_people(f"{HEADER},phone\n1,A,,,,,US,,ssn,false,false,\n2,B,,,,,{country},,ssn,false,false,{written}\n")


def test_the_written_file_ends_with_the_phone_column():
    text = format_people([Person("1", "A", phone="+15125550100", elements=frozenset({"ssn"}))])
    assert text.splitlines()[0] == HEADER + ",phone"
    assert text.splitlines()[1].endswith(",ssn,false,false,+15125550100")
