from __future__ import annotations

import pytest

from aftermath.notify.discover.columns import hint
from aftermath.notify.discover.detectors import scan_column
from aftermath.notify.discover.kinds import THRESHOLD, elements_of


def kinds(values: list[str], column: str = "notes", table: str = "t") -> list[set[str]]:
    found: list[set[str]] = [set() for _ in values]
    for i, det in scan_column(values, hint(column, table)):
        assert 0 < det.confidence <= 1 and det.reason
        if det.confidence >= THRESHOLD:
            found[i].add(det.kind)
    return found


def test_dashed_ssn_is_found_without_a_column_name():
    assert kinds(["123-45-6789"]) == [{"ssn"}]


@pytest.mark.parametrize("value", ["000-12-3456", "666-12-3456", "912-34-5678", "123-00-4567", "123-45-0000"])
def test_invalid_ssn_areas_groups_and_serials_are_rejected(value):
    assert "ssn" not in kinds([value], "ssn")[0]


def test_bare_nine_digits_need_corroboration():
    assert kinds(["123456789"], "reference_code") == [set()]
    assert kinds(["123456789"], "ssn") == [{"ssn"}]
    assert kinds(["her social security number is 123456789"]) == [{"ssn"}]
    assert kinds(["order 123456789 shipped"]) == [set()]


def test_keyword_in_another_cell_does_not_corroborate():
    assert kinds(["my ssn is below", "123456789"]) == [set(), set()]


def test_card_numbers_need_a_valid_luhn_check():
    assert kinds(["4111 1111 1111 1111", "4111 1111 1111 1112", "4111-1111-1111-1111"]) == [
        {"card_number"}, set(), {"card_number"}]


def test_phone_numbers_are_not_cards_or_ssns():
    assert kinds(["(555) 123-4567", "555-123-4567", "+1 555 123 4567", "5551234567"], "phone") == [set()] * 4


def test_order_numbers_are_not_cards_even_when_luhn_valid():
    assert kinds(["4111111111111111"], "order_number") == [set()]


def test_itin_ein_and_routing_numbers_are_validated_with_stdnum():
    assert kinds(["912-70-1234"]) == [{"itin"}]
    assert kinds(["EIN 12-3456789"]) == [{"ein"}]
    assert kinds(["12-3456789"]) == [set()]
    assert kinds(["021000021"], "routing_number") == [{"routing_number"}]
    assert kinds(["021000022"], "routing_number") == [set()]


def test_bank_accounts_need_a_column_name_or_keyword():
    assert kinds(["000123456789"], "account_number") == [{"bank_account"}]
    assert kinds(["my checking account 000123456789"]) == [{"bank_account"}]
    assert kinds(["000123456789"]) == [set()]
    assert kinds(["DE89 3704 0044 0532 0130 00"]) == [{"bank_account"}]


def test_name_only_kinds_need_a_plausible_value():
    assert kinds(["123", "12a", ""], "cvv") == [{"card_security_code"}, set(), set()]
    assert kinds(["1980-02-03", "2999-01-01", "n/a"], "date_of_birth") == [{"dob"}, set(), set()]
    assert kinds(["$2b$12$abc", ""], "password_hash") == [{"password"}, set()]
    assert kinds(["Type 2 diabetes"], "diagnosis") == [{"medical"}]
    assert kinds(["<512 bytes>"], "fingerprint_template") == [{"biometric"}]
    assert kinds(["D1234567"], "drivers_license") == [{"drivers_license"}]
    assert kinds(["1EG4TE5MK73"], "medicare_mbi") == [{"health_insurance"}]


def test_free_text_keywords_with_values():
    found = kinds(["my password is hunter22", "cvv 123", "born 1980-02-03", "created 2021-02-03",
                   "passport no X1234567", "pin the ticket", "she was diagnosed with asthma"])
    assert found == [{"password"}, {"card_security_code"}, {"dob"}, set(), {"passport"}, set(), {"medical"}]


def test_every_detection_carries_confidence_and_reason():
    dets = scan_column(["123-45-6789"], hint("ssn"))
    assert dets[0][1].confidence == pytest.approx(0.99)
    assert "stdnum.us.ssn" in dets[0][1].reason and "column name" in dets[0][1].reason


def test_elements_compose_per_row():
    assert elements_of(["card_number"]) == {"financial_account"}
    assert elements_of(["card_number", "card_security_code"]) == {"financial_account", "financial_account_access"}
    assert elements_of(["card_number", "card_expiry"]) == {"financial_account"}
    assert elements_of(["email", "password"]) == {"account_credentials"}
    assert elements_of(["email"]) == frozenset()
    assert elements_of(["password"]) == frozenset()
    assert elements_of(["itin", "ssn"]) == {"taxpayer_id", "ssn"}


def test_column_names_are_evidence():
    assert hint("Credit Card #").kinds == {"card_number"}
    assert hint("SocialSecurityNumber").kinds == {"ssn"}
    assert hint("passport_no").kinds == {"passport"}
    assert hint("customer_id").role == "customer_id"
    assert hint("id", "customers").role == "customer_id"
    assert hint("id", "orders").role == ""
    assert hint("zip").role == "postal_code"
