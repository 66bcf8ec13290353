"""A folder scan lists every file it cannot read as skipped, with why, and goes on with the others."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest

from aftermath.errors import UsageError
from aftermath.notify.discover.files import LocalFiles
from aftermath.notify.discover.run import scope

GOOD = "name,email,ssn\nAna Diaz,ana@example.org,123-45-6789\n"


def _not_utf8(p: Path) -> None:
    p.with_suffix(".csv").write_bytes(b"name,email\n\xff\xfe,bo@example.org\n")


def _bad_csv(p: Path) -> None:
    p.with_suffix(".csv").write_text('name,email\n"Bo,bo@example.org\n')


def _fifo(p: Path) -> None:
    os.mkfifo(p.with_suffix(".csv"))


def _broken_link(p: Path) -> None:
    p.with_suffix(".csv").symlink_to(p.parent / "nowhere.csv")


def _bad_xlsx(p: Path) -> None:
    p.with_suffix(".xlsx").write_bytes(b"PK\x03\x04 not really a workbook")


def _bad_jsonl(p: Path) -> None:
    p.with_suffix(".jsonl").write_bytes(b'{"email": "bo@example.org"}\n\xff\n')


def _no_db(p: Path) -> None:
    p.with_suffix(".db").write_text("hello\n")


# (how to break the file, words of the reason)
BAD: list[tuple[Callable[[Path], None], str]] = [
    (_not_utf8, "not UTF-8 text"), (_bad_csv, "not valid CSV"), (_fifo, "not a regular file"),
    (_broken_link, "not a regular file"), (_bad_xlsx, "not a readable XLSX workbook"),
    (_bad_jsonl, "not UTF-8 text"), (_no_db, "not a SQLite database"),
]


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize(("damage", "says"), BAD, ids=[b[0].__name__.strip("_") for b in BAD])
def test_an_unreadable_file_is_skipped_with_why_and_the_scan_goes_on(tmp_path: Path, damage: Callable[[Path], None],
                                                                     says: str, workers: int) -> None:
    (tmp_path / "a.csv").write_text(GOOD)
    damage(tmp_path / "m")
    (tmp_path / "z.csv").write_text(GOOD.replace("Ana Diaz,ana", "Zoe Roe,zoe").replace("6789", "6780"))
    r = scope([str(tmp_path)], workers=workers)
    assert sorted(p.email for p in r.people) == ["ana@example.org", "zoe@example.org"]
    assert len(r.skipped_files) == 1
    path, why = r.skipped_files[0]
    assert Path(path).stem == "m" and says in why


def test_a_file_that_fails_part_way_gives_nothing(tmp_path: Path) -> None:
    rows = "".join(f"P{i},p{i}@example.org,123-45-{6000 + i}\n" for i in range(6000))  # more than one chunk
    (tmp_path / "big.csv").write_bytes(f"name,email,ssn\n{rows}".encode() + b"\xff,x,y\n")
    r = scope([str(tmp_path)], workers=1)
    assert r.people == [] and r.rows_scanned == 0
    assert r.skipped_files == [(str(tmp_path / "big.csv"), f"{tmp_path / 'big.csv'} is not UTF-8 text: "
                                                          "save it as UTF-8 CSV")]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file of mode 000")
def test_a_file_without_read_permission_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(GOOD)
    (tmp_path / "b.csv").write_text(GOOD)
    (tmp_path / "b.csv").chmod(0)
    r = scope([str(tmp_path)], workers=1)
    assert [p.email for p in r.people] == ["ana@example.org"]
    assert r.skipped_files == [(str(tmp_path / "b.csv"), f"cannot read {tmp_path / 'b.csv'}: Permission denied")]


class _Denied(LocalFiles):
    """The local disk, where one file is gone between the listing and the opening: it fails to open as a
    file of mode 000 does for a user (root reads those, so the real thing is tested only as another user)."""

    def open(self, path: str) -> IO[bytes]:
        return super().open(path + ".gone" if path.endswith("b.csv") else path)


def test_a_file_that_cannot_be_opened_is_skipped_even_as_root(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(GOOD)
    (tmp_path / "b.csv").write_text(GOOD)
    r = scope([str(tmp_path)], _Denied(), workers=1)
    assert [p.email for p in r.people] == ["ana@example.org"]
    [(path, why)] = r.skipped_files
    assert path == str(tmp_path / "b.csv") and why.startswith("cannot read ") and "No such file" in why


def test_a_file_named_on_its_own_is_still_an_error(tmp_path: Path) -> None:
    _not_utf8(tmp_path / "m")
    with pytest.raises(UsageError, match="not UTF-8 text"):
        scope([str(tmp_path / "m.csv")], workers=1)
