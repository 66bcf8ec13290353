from __future__ import annotations

from pathlib import Path

from aftermath.notify.discover import scope
from aftermath.notify.discover.report import people_csv
from aftermath.notify.people import Person, parse_people
from tests.integration.notify.conftest import CUSTOMERS, write_crm


def by_id(people: list[Person]) -> dict[str, Person]:
    return {p.id: p for p in people}


def test_sqlite_file_by_url_and_by_path(tmp_path: Path):
    db = write_crm(tmp_path / "crm.db")
    for source in (f"sqlite:///{db}", str(db), f"sqlite:///{db}#customers"):
        r = scope([source], workers=1)
        people = by_id(r.people)
        assert set(people) == {"1"}
        assert people["1"].elements == {"ssn", "dob"}
        assert (people["1"].region, people["1"].postal_code) == ("TX", "78701")
        assert r.rows_scanned == len(CUSTOMERS) and r.merged.unaffected == 2


def test_csv_card_with_cvv_is_access_and_invalid_luhn_is_nothing(breach: Path):
    r = scope([str(breach / "billing.csv")], workers=1)
    assert [(p.email, sorted(p.elements)) for p in r.people] == [
        ("bob@example.com", ["financial_account", "financial_account_access"])]
    locs = r.merged.locations["bob@example.com"]
    assert {(loc.column, loc.row) for loc in locs} >= {("card_number", 2), ("cvv", 2)}
    assert not any(loc.column == "order_no" for loc in locs)


def test_jsonl_nested_fields_and_free_text(breach: Path):
    r = scope([str(breach / "tickets.jsonl")], workers=1)
    people = by_id(r.people)
    assert people["3"].elements == {"ssn"}
    assert people["dee@example.com"].elements == {"account_credentials"}
    assert "2" not in people


def test_xlsx_read_only(breach: Path):
    r = scope([str(breach / "claims.xlsx")], workers=1)
    assert [(p.email, sorted(p.elements)) for p in r.people] == [("ann@example.com", ["health_insurance", "medical"])]
    assert {c.table for c in r.columns} == {"claims"}


def test_folder_merges_people_across_sources_and_skips_other_files(breach: Path):
    r = scope([str(breach)], workers=2)
    people = by_id(r.people)
    assert set(people) == {"1", "2", "3", "dee@example.com"}
    assert people["1"].elements == {"ssn", "dob", "medical", "health_insurance"}
    assert people["2"].elements == {"financial_account", "financial_account_access"}
    assert people["2"].name == "Bob Roe" and people["2"].region == "CA"
    assert people["3"].elements == {"ssn"}
    assert r.merged.flags["2"] == ("ZIP 97201 is in OR, the address says CA",)
    assert [(f.endswith("README.txt"), why) for f, why in r.skipped_files] == [
        (True, "not a CSV, JSON lines, XLSX or SQLite file")]
    text = people_csv(r)
    assert parse_people(text) == sorted(r.people, key=lambda p: p.id)
    for _, _, _, ssn, *_ in [(c[0], c[1], c[2], c[7]) for c in CUSTOMERS if c[7]]:
        assert ssn not in text


def test_postgresql_tables(postgres, breach: Path):
    url = postgres.createdb("crm_scope")
    postgres.psql("crm_scope", "create schema billing; create table customers(id int primary key, name text, "
                  "email text, ssn text); insert into customers values (1,'Ann Lee','ann@example.com','123456789'),"
                  "(2,'Bob Roe','bob@example.com','000000000'); create table billing.cards(customer_id int, "
                  "card text, pin text); insert into billing.cards values (2,'5555555555554444','4821')")
    r = scope([url], workers=1)
    people = by_id(r.people)
    assert people["1"].elements == {"ssn"}
    assert people["2"].elements == {"financial_account", "financial_account_access"}
    assert {c.table for c in r.columns} == {"customers", "billing.cards"}
    only = scope([url + "#billing.cards"], workers=1)
    assert set(by_id(only.people)) == {"2"}
