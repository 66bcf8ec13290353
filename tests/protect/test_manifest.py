from __future__ import annotations

from pathlib import Path

from aftermath.protect.manifest import Contents, Manifest, Mismatch, Table, compare, folder_contents


def _tables(**kw: tuple[int, str]) -> dict[str, Table]:
    return {k: Table(*v) for k, v in kw.items()}


def test_identical_contents_have_no_mismatch():
    c = Contents(files=3, bytes=10, tables=_tables(a=(1, "x")))
    assert compare(c, c) == []


def test_every_difference_is_named():
    want = Contents(files=3, bytes=10, tables=_tables(a=(1, "x"), b=(2, "y")))
    got = Contents(files=2, bytes=10, tables=_tables(a=(1, "z"), c=(0, "0")))
    assert compare(want, got) == [
        Mismatch("files", "3", "2"),
        Mismatch("table a checksum", "x", "z"),
        Mismatch("table b", "present", "absent"),
        Mismatch("table c", "absent", "present"),
    ]


def test_row_count_difference():
    assert compare(Contents(tables=_tables(t=(5, "c"))), Contents(tables=_tables(t=(4, "c")))) == [
        Mismatch("table t rows", "5", "4")]


def test_manifest_round_trips_through_json():
    m = Manifest("db", "sqlite", "abc123", "2024-01-01T00:00:00+00:00", "/db.sqlite",
                 Contents(tables=_tables(t=(2, "ff"))), incomplete=False)
    assert Manifest.from_json(m.to_json()) == m
    assert m.to_json() == Manifest.from_json(m.to_json()).to_json()


def test_folder_contents_counts_regular_files_only(tmp_path: Path):
    (tmp_path / "d").mkdir()
    (tmp_path / "a").write_bytes(b"12345")
    (tmp_path / "d" / "b").write_bytes(b"xy")
    (tmp_path / "link").symlink_to(tmp_path / "a")
    assert folder_contents(tmp_path) == Contents(files=2, bytes=7)
