"""The synthetic business: a customer database, an office share and a small web application.

Everything is generated with a seeded Faker, so two runs with the same seed produce the same
customers, cards (valid Luhn), bank accounts (valid ABA routing numbers) and files.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import sqlite3
from datetime import UTC, date, datetime, time
from pathlib import Path

from aftermath.demo.world import World

INITIAL_CUSTOMERS = 240
SCHEMA = """
CREATE TABLE customers (
    id INTEGER PRIMARY KEY, first_name TEXT NOT NULL, last_name TEXT NOT NULL, email TEXT NOT NULL,
    phone TEXT, street TEXT, city TEXT, state TEXT, zip TEXT,
    card_number TEXT, card_expires TEXT, bank_account TEXT, routing_number TEXT, ssn TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE invoices (
    id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), issued TEXT NOT NULL,
    amount_cents INTEGER NOT NULL, status TEXT NOT NULL
);
"""
WEB_FILES = {
    "index.php": "<?php require 'includes/db.php'; ?>\n<!doctype html><title>Riverside Supply</title>\n"
                 "<h1>Riverside Supply Co.</h1><p><a href=\"login.php\">Customer login</a></p>\n",
    "login.php": "<?php require 'includes/db.php';\nsession_start();\n$user = find_customer($_POST['email'] ?? '');\n"
                 "if ($user && password_verify($_POST['password'] ?? '', $user['hash'])) {\n"
                 "  $_SESSION['id'] = $user['id']; header('Location: account.php');\n}\n?>\n"
                 "<form method=post><input name=email><input type=password name=password><button>Log in</button>"
                 "</form>\n",
    "account.php": "<?php require 'includes/db.php'; session_start();\n"
                   "$me = customer($_SESSION['id'] ?? 0); ?>\n"
                   "<h2>Hello <?= htmlspecialchars($me['first_name']) ?></h2>\n",
    "includes/db.php": "<?php\n$db = new PDO('sqlite:/var/db/customers.db');\n"
                       "function find_customer($email) { global $db; $q = $db->prepare('SELECT * FROM customers "
                       "WHERE email = ?'); $q->execute([$email]); return $q->fetch(); }\n"
                       "function customer($id) { global $db; $q = $db->prepare('SELECT * FROM customers WHERE id = ?');"
                       " $q->execute([$id]); return $q->fetch(); }\n",
    "static/style.css": "body { font-family: sans-serif; margin: 2em; }\nh1 { color: #1b4d89; }\n",
    "static/app.js": "document.addEventListener('DOMContentLoaded', () => console.log('ready'));\n",
    "uploads/.htaccess": "Options -Indexes\n",
}


def build(world: World) -> None:
    """Create the business on day 0: database, web application, share with first invoices."""
    for folder in (world.share / "invoices", world.share / "exports", world.web_root, world.db_path.parent):
        folder.mkdir(parents=True, exist_ok=True)
    for rel, text in WEB_FILES.items():
        path = world.web_root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    day0 = world.day_date(0)
    con = sqlite3.connect(world.db_path)
    try:
        con.executescript(SCHEMA)
        for _ in range(INITIAL_CUSTOMERS):
            _insert_customer(con, world, day0)
        con.commit()
        for _ in range(12):
            _new_invoice(con, world, day0)
        con.commit()
    finally:
        con.close()
    _stamp(world.srv, day0)


def churn(world: World, day: date) -> None:
    """An ordinary business day: new customers, updated rows, new invoices, the nightly CSV export."""
    con = sqlite3.connect(world.db_path)
    try:
        for _ in range(world.rng.randint(3, 8)):
            _insert_customer(con, world, day)
        ids = [r[0] for r in con.execute("SELECT id FROM customers")]
        f = world.fake
        for cid in world.rng.sample(ids, world.rng.randint(2, 5)):  # customers who moved
            con.execute("UPDATE customers SET street = ?, city = ?, state = ?, zip = ?, updated_at = ? WHERE id = ?",
                        (f.street_address(), f.city(), f.state_abbr(include_territories=False), f.zipcode(),
                         _at(day), cid))
        for _ in range(world.rng.randint(2, 5)):
            _new_invoice(con, world, day)
        con.execute("UPDATE invoices SET status = 'paid' WHERE status = 'open' AND issued < ? AND id % 3 = 0",
                    (day.isoformat(),))
        con.commit()
        _export_csv(con, world, day)
    finally:
        con.close()


def _at(day: date) -> str:
    return datetime.combine(day, time(12, 0), tzinfo=UTC).isoformat()


def _insert_customer(con: sqlite3.Connection, world: World, day: date) -> None:
    f, rng = world.fake, world.rng
    first, last = f.first_name(), f.last_name()
    email = f"{first}.{last}{rng.randint(1, 999)}@{f.free_email_domain()}".lower()
    con.execute(
        "INSERT INTO customers (first_name, last_name, email, phone, street, city, state, zip, card_number, "
        "card_expires, bank_account, routing_number, ssn, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (first, last, email, f.phone_number(), f.street_address(), f.city(),
         f.state_abbr(include_territories=False), f.zipcode(), f.credit_card_number(),
         f.credit_card_expire(), f.numerify("#" * rng.randint(8, 12)), f.aba(),
         f.ssn() if rng.random() < 0.3 else None, _at(day), _at(day)))


def _new_invoice(con: sqlite3.Connection, world: World, day: date) -> None:
    (count,) = con.execute("SELECT count(*) FROM customers").fetchone()
    cid = world.rng.randint(1, count)
    amount = world.rng.randint(2_000, 250_000)
    cur = con.execute("INSERT INTO invoices (customer_id, issued, amount_cents, status) VALUES (?, ?, ?, 'open')",
                      (cid, day.isoformat(), amount))
    first, last, street, city, state, zipc = con.execute(
        "SELECT first_name, last_name, street, city, state, zip FROM customers WHERE id = ?", (cid,)).fetchone()
    lines = [f"{world.fake.bs().capitalize()}: ${world.rng.randint(10, 900)}.00"
             for _ in range(world.rng.randint(1, 4))]
    text = (f"RIVERSIDE SUPPLY CO. - INVOICE INV-{cur.lastrowid:06d}\nDate: {day.isoformat()}\n\n"
            f"Bill to: {first} {last}\n{street}\n{city}, {state} {zipc}\n\n" + "\n".join(lines)
            + f"\n\nTotal due: ${amount / 100:,.2f}\n")
    path = world.share / "invoices" / f"{day:%Y-%m}" / f"INV-{cur.lastrowid:06d}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    _stamp(path, day)


def _export_csv(con: sqlite3.Connection, world: World, day: date) -> None:
    cur = con.execute("SELECT id, first_name, last_name, email, phone, street, city, state, zip FROM customers "
                      "ORDER BY id")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([d[0] for d in cur.description])
    writer.writerows(cur)
    path = world.share / "exports" / f"customers-{day.isoformat()}.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    _stamp(path, day)


def _stamp(path: Path, day: date) -> None:
    """Give files the simulated day's time, so the share looks like it grew day by day."""
    ts = datetime.combine(day, time(17, 0), tzinfo=UTC).timestamp()
    targets = [path] if path.is_file() else [Path(d) / n for d, _, names in os.walk(path) for n in names]
    for target in targets:
        os.utime(target, (ts, ts))


def fingerprint(world: World) -> str:
    """One hash over the live data: every file's path and content, and every database row."""
    digest = hashlib.sha256()
    for folder, dirs, names in os.walk(world.srv):
        dirs.sort()
        for name in sorted(names):
            path = Path(folder) / name
            digest.update(str(path.relative_to(world.srv)).encode() + b"\0" + path.read_bytes())
    con = sqlite3.connect(f"file:{world.db_path}?mode=ro", uri=True)
    try:
        for table in ("customers", "invoices"):
            for row in con.execute(f"SELECT * FROM {table} ORDER BY id"):
                digest.update(repr(tuple(row)).encode())
    finally:
        con.close()
    return digest.hexdigest()
