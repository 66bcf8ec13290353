"""A small breached business: a CRM (SQLite), a billing export (CSV), tickets (JSONL), claims (XLSX)."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import openpyxl
import pytest

CUSTOMERS = [
    # id, name, email, street, city, state, zip, ssn, dob
    (1, "Ann Lee", "ann@example.com", "1 Main St", "Austin", "TX", "78701", "123-45-6789", "1980-02-03"),
    (2, "Bob Roe", "bob@example.com", "2 Oak Ave", "Portland", "CA", "97201", "", ""),
    (3, "Cy Doe", "cy@example.com", "3 Elm Rd", "Miami", "FL", "33101", "", ""),
]


def write_crm(path: Path) -> Path:
    db = sqlite3.connect(path)
    db.execute("create table customers(id integer primary key, name text, email text, street text, city text, "
               "state text, zip text, ssn text, dob text)")
    db.executemany("insert into customers values (?,?,?,?,?,?,?,?,?)", CUSTOMERS)
    db.commit()
    db.close()
    return path


def write_billing(path: Path) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_email", "card_number", "cvv", "order_no"])
        w.writerow(["bob@example.com", "4111 1111 1111 1111", "123", "4111111111111111"])
        w.writerow(["cy@example.com", "4111 1111 1111 1112", "", "1"])
    return path


def write_tickets(path: Path) -> Path:
    lines = [{"customer_id": 3, "body": "My SSN is 078-05-1121, please update"},
             {"customer_id": 2, "body": "call me at 555-123-4567"},
             {"customer": {"email": "dee@example.com"}, "body": "password: Tr0ub4dor&3"}]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def write_claims(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "claims"
    ws.append(["member_name", "email", "diagnosis", "insurance_member_id"])
    ws.append(["Ann Lee", "ann@example.com", "asthma", "XK12345678"])
    wb.save(path)
    return path


@pytest.fixture()
def breach(tmp_path: Path) -> Path:
    """A folder holding the four sources."""
    folder = tmp_path / "server"
    folder.mkdir()
    write_crm(folder / "crm.db")
    write_billing(folder / "billing.csv")
    write_tickets(folder / "tickets.jsonl")
    write_claims(folder / "claims.xlsx")
    (folder / "README.txt").write_text("not data")
    return folder
