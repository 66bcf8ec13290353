"""Formats met in data nobody here generated: card brands and lengths, national identifiers that pass
Luhn, IBANs in lower case, SSNs with spaces, values damaged by a spreadsheet, and words not substrings."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from stdnum import luhn

from aftermath.notify.discover import scope
from aftermath.notify.discover.columns import hint
from aftermath.notify.discover.detectors import card_brand, damage
from aftermath.notify.discover.national import identify
from aftermath.notify.discover.record import render, summary
from tests.notify.discover.test_detectors import kinds


def with_check(prefix: str, length: int) -> str:
    body = prefix + "0" * (length - len(prefix) - 1)
    return body + luhn.calc_check_digit(body)


@pytest.mark.parametrize(("prefix", "length", "brand"), [
    ("50", 12, "Maestro"), ("6759", 19, "Maestro"), ("3528", 16, "JCB"), ("3589", 19, "JCB"),
    ("1800", 15, "JCB"), ("2131", 15, "JCB"), ("4", 13, "Visa"), ("37", 15, "American Express"),
    ("2221", 16, "Mastercard"), ("62", 17, "UnionPay")])
def test_brands_with_their_lengths(prefix: str, length: int, brand: str):
    number = with_check(prefix, length)
    assert card_brand(number) == brand
    assert kinds([number]) == [{"card_number"}]


@pytest.mark.parametrize(("prefix", "length"), [("37", 16), ("51", 15), ("1800", 16), ("4", 14), ("3528", 15)])
def test_a_brand_prefix_with_another_length_is_not_that_brand(prefix: str, length: int):
    number = with_check(prefix, length)
    assert card_brand(number) == ""
    assert kinds([number]) == [set()]
    assert kinds([f"my card no {number}"]) == [{"card_number"}]  # a card keyword: counts without a brand


def test_unbranded_luhn_numbers_count_only_after_a_card_word():
    number = with_check("99", 16)
    assert kinds([f"credit card {number}", f"cc {number}", f"ref {number}", f"discard {number}"]) == [
        {"card_number"}, {"card_number"}, set(), set()]


def test_national_identifiers_are_not_cards():
    za = "5706114632083"  # a South African ID: Luhn-valid by design, Visa-like 13 digits
    assert luhn.is_valid(za) and identify(za, "ZA") and not identify(za, "DE")
    assert identify("ZT 01 87 75", "GB") and identify("727 633 539", "CA") and identify("2791269679323 49", "FR")
    assert kinds([za], "NationalID") == [{"national_id"}]
    assert kinds([f"her national id is {za}"]) == [{"national_id"}]
    assert hint("SIN").kinds == {"national_id"} and hint("nino").kinds == {"national_id"}


def write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    return path


def test_a_national_id_with_a_cvv_does_not_make_card_access(tmp_path: Path):
    # The identifier sits in a column whose name says nothing: it is recognised by the row's country.
    header = ["email", "country", "extra_number", "cvv", "ssn_or_id"]
    rows = [["za@x.com", "South Africa", "5706114632083", "123", ""],
            ["us@x.com", "US", "4111111111111111", "456", "591285104"]]
    r = scope([str(write(tmp_path / "t.csv", header, rows))], workers=1)
    got = {p.email: p.elements for p in r.people}
    assert got["za@x.com"] == {"national_id"}
    assert got["us@x.com"] == {"financial_account", "financial_account_access", "ssn"}
    stats = next(c for c in r.columns if c.column == "extra_number")
    assert (stats.counts["card_number"], stats.counts["national_id"]) == (1, 1)
    assert "za.idnr" in stats.reasons["national_id"]


def test_ibans_in_lower_case_or_spaced_and_ssns_with_spaces_need_a_keyword():
    assert kinds(["gb82west12345698765432", "GB82 WEST 1234 5698 7654 32", "de89 3704 0044 0532 0130 00"]) == [
        {"bank_account"}] * 3
    assert kinds(["Suite 680 36 4022", "ssn 680 36 4022", "680-36-4022"]) == [set(), {"ssn"}, {"ssn"}]
    assert kinds(["680 36 4022"], "SSN") == [{"ssn"}]


def test_words_not_substrings():
    assert kinds(["Accountant 12345678"]) == [set()]
    assert kinds(["account 12345678"]) == [{"bank_account"}]
    assert kinds(["Medical record coder"], "Occupation") == [set()]
    assert kinds(["Medical record coder"], "JobTitle") == [set()]
    assert kinds(["diagnosed with asthma"], "notes") == [{"medical"}]


def test_spreadsheet_damage_is_counted_and_reported(tmp_path: Path):
    assert damage("5.54563E+15", frozenset({"card_number"})) == "number in scientific notation (digits lost)"
    assert damage("51", frozenset({"card_security_code"})) == "leading zeros lost"
    assert damage("511", frozenset({"card_security_code"})) == ""
    header = ["email", "country", "CCNumber", "CVV2"]
    rows = [["a@x.com", "US", "5.54563E+15", "51"], ["b@x.com", "US", "4111111111111111", "7"],
            ["c@x.com", "US", "4.91643E+15", "123"]]
    path = str(write(tmp_path / "t.csv", header, rows))
    r = scope([path], workers=1)
    assert r.damaged() == [(path, "CCNumber", "number in scientific notation (digits lost)", 2),
                           (path, "CVV2", "leading zeros lost", 2)]
    assert {p.email: p.elements for p in r.people}["b@x.com"] == {"financial_account", "financial_account_access"}
    # the damaged card is not counted; its row's CVV (zeros lost) still is a security code, alone
    assert "a@x.com" not in {p.email for p in r.people}
    texts = render(r, tmp_path / "r.html", None)
    assert "leading zeros lost" in texts["report"]
    assert summary(r, texts)["damaged_values"] == 4


def test_an_excel_round_trip_is_reported_not_silently_dropped(tmp_path: Path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["email", "country", "zip", "card_number", "cvv"])
    # As Excel stores them: a 16-digit card as a float with 15 significant digits, ZIP and CVV as numbers.
    sheet.append(["a@x.com", "US", 2134.0, 5545634085461870.0, 51.0])
    sheet.append(["b@x.com", "US", 78701, 4111111111111111, 123])
    book.save(tmp_path / "export.xlsx")
    r = scope([str(tmp_path / "export.xlsx")], workers=1)
    assert [(c, why, n) for _, c, why, n in r.damaged()] == [
        ("card_number", "number in scientific notation (digits lost)", 1), ("cvv", "leading zeros lost", 1)]
    people = {p.email: p for p in r.people}
    assert people["b@x.com"].elements == {"financial_account", "financial_account_access"}
    assert "a@x.com" not in people  # its card lost its digits: reported as damaged, never a wrong card


def test_a_ticket_title_is_still_free_text():
    assert kinds(["my password is hunter22!"], "title") == [{"password"}]
    assert kinds(["my password is hunter22!"], "job_title") == [set()]


def test_column_names_are_read_by_words():
    assert hint("business_number").kinds == frozenset() and hint("class_num").kinds == frozenset()
    assert hint("scorecard").kinds == frozenset()
    assert hint("SSNum").kinds == {"ssn"} and hint("creditcard").kinds == {"card_number"}
    assert hint("CardNo").kinds == {"card_number"} and hint("CCNumber").kinds == {"card_number"}
