from __future__ import annotations

from aftermath.notify.discover.merge import merge
from aftermath.notify.discover.residence import country_code, resolve, state_code
from aftermath.notify.discover.scan import ROLES


def ident(**kw: str) -> tuple[str, ...]:
    return tuple(kw.get(r, "") for r in ROLES)


def test_same_customer_in_crm_and_billing_is_one_person():
    crm = [("customers", 1, ident(customer_id="17", name="Ann Lee", email="Ann@X.com", address="1 Main St",
                                  city="Austin", region="TX", postal_code="78701"), (("ssn", "ssn", 0.99),))]
    billing = [("billing", 5, ident(email="ann@x.com "), (("card", "card_number", 0.99),
                                                         ("cvv", "card_security_code", 0.9)))]
    tickets = [("tickets", 2, ident(customer_id="17"), (("body", "dob", 0.85),))]
    m = merge([("crm.db", crm), ("billing.csv", billing), ("tickets.jsonl", tickets)])
    assert len(m.people) == 1
    p = m.people[0]
    assert (p.id, p.name, p.region, p.email) == ("17", "Ann Lee", "TX", "ann@x.com")
    assert p.elements == {"ssn", "financial_account", "financial_account_access", "dob"}
    assert {(loc.source, loc.table, loc.column, loc.row) for loc in m.locations["17"]} == {
        ("crm.db", "customers", "ssn", 1), ("billing.csv", "billing", "card", 5),
        ("billing.csv", "billing", "cvv", 5), ("tickets.jsonl", "tickets", "body", 2)}


def test_access_needs_the_code_in_the_same_row():
    rows = [("a", 1, ident(customer_id="1"), (("card", "card_number", 0.99),)),
            ("b", 1, ident(customer_id="1"), (("cvv", "card_security_code", 0.9),))]
    assert merge([("s", rows)]).people[0].elements == {"financial_account"}


def test_name_and_address_join_when_no_identifier_is_shared():
    rows = [("a", 1, ident(name="Bob  Roe", address="2 Oak Ave.", postal_code="97201"), (("x", "ssn", 0.99),)),
            ("b", 9, ident(first_name="bob", last_name="roe", address="2 oak ave", postal_code="97201-1234",
                           email="bob@y.org"), (("y", "dob", 0.9),))]
    m = merge([("s", rows)])
    assert len(m.people) == 1 and m.people[0].elements == {"ssn", "dob"}


def test_different_people_stay_apart_and_people_without_elements_are_counted():
    rows = [("a", 1, ident(customer_id="1", name="A"), (("x", "ssn", 0.99),)),
            ("a", 2, ident(customer_id="2", name="A"), (("x", "ssn", 0.99),)),
            ("a", 3, ident(customer_id="3", name="C"), ()),
            ("a", 4, ident(), (("x", "ssn", 0.99),))]
    m = merge([("s", rows)])
    assert [p.id for p in m.people] == ["1", "2"]
    assert m.unaffected == 1
    assert m.unattributed == [("s", "a", 4)]


def test_zip_state_disagreement_is_flagged_and_address_state_kept():
    r = resolve("2 Oak Ave", "", "Portland", "California", "97201", "")
    assert r.region == "CA" and r.country == "US"
    assert r.flags == ("ZIP 97201 is in OR, the address says CA",)


def test_agreeing_address_has_no_flags():
    assert resolve("1 Main St", "Apt 4", "Austin", "tx", "78701-1234", "USA") == resolve(
        "1 Main St Apt 4", "", "Austin", "TX", "78701-1234", "US")
    assert resolve("1 Main St", "", "Austin", "TX", "78701", "").flags == ()


def test_state_from_zip_when_missing_and_one_line_addresses_are_parsed():
    r = resolve("1 Main St", "", "Austin", "", "78701", "")
    assert r.region == "TX" and r.flags == ("state taken from the ZIP code",)
    r = resolve("123 Main St Apt 4, Austin, TX 78701", "", "", "", "", "")
    assert (r.street, r.city, r.region, r.postal_code) == ("123 Main St Apt 4", "Austin", "TX", "78701")


def test_non_us_and_unknown_residence():
    r = resolve("Hauptstr. 5", "", "Berlin", "", "10115", "Germany")
    assert (r.country, r.region, r.flags) == ("DE", "", ())
    assert resolve("x", "", "", "", "", "Atlantis").flags == ("country 'Atlantis' not recognised",)
    r = resolve("", "", "", "", "", "")
    assert r.country == "ZZ" and r.flags
    assert "military" in resolve("PSC 1234", "", "APO", "AE", "09001", "").flags[-1]
    assert state_code("Texas") == "TX" and state_code("XX") == "" and country_code("ca") == "CA"


def test_zip_that_lost_its_leading_zero_is_repaired_and_flagged():
    r = resolve("1 Elm St", "", "Boston", "MA", "2134", "US")
    assert (r.postal_code, r.region) == ("02134", "MA")
    assert r.flags == ("ZIP 2134 damaged (leading zeros lost): read as 02134",)
