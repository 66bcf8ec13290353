from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from aftermath.case import Case
from aftermath.protect import backup


@dataclass
class Protected:
    case: Case
    share: Path
    db: Path

    @property
    def root(self) -> Path:
        return self.case.root


def make_share(folder: Path, files: int = 20, size: int = 4000) -> None:
    (folder / "sub").mkdir(parents=True, exist_ok=True)
    for i in range(files):
        (folder / ("sub" if i % 2 else "") / f"file{i}.bin").write_bytes(os.urandom(size))


def make_db(path: Path, rows: int = 50) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, balance REAL, photo BLOB)")
    con.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER, total REAL)")
    con.executemany("INSERT INTO customers (name, balance, photo) VALUES (?, ?, ?)",
                    [(f"name {i}", i * 1.5, os.urandom(8)) for i in range(rows)])
    con.executemany("INSERT INTO orders (customer, total) VALUES (?, ?)", [(i % 7, i * 2.0) for i in range(rows)])
    con.commit()
    con.close()


@pytest.fixture()
def protected(tmp_path: Path) -> Protected:
    """A case with a folder source and a SQLite source, and an initialised repository."""
    case = Case.init(tmp_path / "case")
    share, db = tmp_path / "share", tmp_path / "app.db"
    make_share(share)
    make_db(db)
    backup.add_source(case, "share", path=share)
    backup.add_source(case, "customers", sqlite=db)
    backup.init_repository(case)
    return Protected(case, share, db)
