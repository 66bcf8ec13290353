"""Tree and snapshot parsing: Go-quoted names, Go times, Go file modes."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import pytest

from aftermath.restic import tree
from aftermath.restic.errors import FormatError
from aftermath.restic.tree import (
    go_unquote,
    parse_entries,
    parse_go_time,
    parse_node,
    parse_snapshot,
    parse_tree,
    posix_mode,
)

ID = "ab" * 32


@pytest.mark.parametrize(("quoted", "name"), [
    ("plain", "plain"), ("new\\nline", "new\nline"), ('q\\"s', 'q"s'), ("back\\\\slash", "back\\slash"),
    ("ctrl\\x01", "ctrl\x01"), ("zero\\u200bw", "zero\u200bw"), ("tag\\U000e0001", "tag\U000e0001"),
    ("bad\\xff\\xfe", os.fsdecode(b"bad\xff\xfe")), ("oct\\101", "octA"), ("ünï €", "ünï €"), ("t\\ta", "t\ta"),
])
def test_go_unquote(quoted: str, name: str) -> None:
    assert go_unquote(quoted) == name


@pytest.mark.parametrize("bad", ["end\\", "x\\q", "h\\xZZ", "u\\u12", "big\\U00110000", "sur\\ud800", "o\\777"])
def test_go_unquote_rejects_invalid_escapes(bad: str) -> None:
    with pytest.raises(FormatError):
        go_unquote(bad)


def test_go_times_to_aware_utc() -> None:
    assert parse_go_time("2024-03-01T10:00:00.123456789+01:00") == datetime(2024, 3, 1, 9, 0, 0, 123456, UTC)
    assert parse_go_time("2024-03-01T10:00:00Z") == datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert parse_go_time("0001-01-01T00:00:00Z") == datetime(1, 1, 1, tzinfo=UTC)
    for bad in (None, 5, "yesterday", "2024-13-01T00:00:00Z", "0000-01-01T00:00:00Z", "0001-01-01T00:30:00+01:00"):
        assert parse_go_time(bad) is None


def test_go_times_cache_is_bounded_and_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tree, "TIME_CACHE_SIZE", 4)
    texts = [f"2024-03-0{d}T10:00:00.5+01:00" for d in range(1, 10)] + ["bad", "2024-13-01T00:00:00Z"]
    first = [parse_go_time(t) for t in texts]
    assert [parse_go_time(t) for t in texts] == first  # cached or not, the same answers
    assert first[0] == datetime(2024, 3, 1, 9, 0, 0, 500000, UTC) and first[-2:] == [None, None]
    assert len(tree._TIMES) <= 4
    assert parse_go_time("2024-03-01T10:00:00Z" + " " * 10_000) is None  # never cached: longer than any time
    assert all(len(t) < 40 for t in tree._TIMES)


def test_go_file_mode_to_posix() -> None:
    assert posix_mode(0o644) == 0o644
    assert posix_mode((1 << 31) | (1 << 20) | 0o777) == 0o1777  # dir + sticky
    assert posix_mode((1 << 23) | (1 << 22) | 0o750) == 0o6750  # setuid + setgid
    assert posix_mode((1 << 27) | 0o777) == 0o777  # symlink type bit dropped


def test_node_fields_and_unsafe_names() -> None:
    node = parse_node({"name": "a\\nb", "type": "file", "mode": 420, "size": 3, "uid": 1000, "gid": 5,
                       "content": [ID], "mtime": "2024-01-01T00:00:00Z", "extra": {"ignored": True}})
    assert (node.name, node.mode, node.size, node.identity, node.is_file) == ("a\nb", 0o644, 3, (ID,), True)
    assert parse_node({"name": "d", "type": "dir", "content": None, "subtree": ID}).subtree == ID
    link = parse_node({"name": "l", "type": "symlink", "linktarget": "x", "linktarget_raw": "/w=="})
    assert link.linktarget == os.fsdecode(b"\xff")
    for name in ("", ".", "..", "a/b", "..\\/x", "nul\\x00"):
        with pytest.raises(FormatError):
            parse_node({"name": name, "type": "file"})


def test_entries_check_what_nodes_check() -> None:
    good = {"name": "a\\nb", "type": "file", "size": 3, "content": [ID, ID], "mode": 420, "uid": 1}
    [entry] = parse_entries(json.dumps({"nodes": [good, ]}).encode())
    assert tuple(entry) == ("a\nb", "file", 3, (ID, ID), None) and entry.is_file and entry.identity == (ID, ID)
    assert parse_entries(b'{"nodes": null}') == []
    bad_nodes = [{"name": "x", "type": 5}, {"name": "x"}, {"name": "..", "type": "file"},
                 {"name": "x", "type": "Fi le"},
                 {"name": "x", "type": "file", "content": [ID[:32] + "|" + ID[:31]]},
                 {"name": "x", "type": "file", "content": ["z" * 64]}, {"name": "x", "type": "dir", "subtree": "ab"},
                 {"name": "x", "type": "file", "size": "3"}, 1]
    for bad in [b"[]", b'{"nodes": {}}', b"not json", *(json.dumps({"nodes": [n]}).encode() for n in bad_nodes)]:
        with pytest.raises(FormatError):
            parse_entries(bad)


def test_tree_and_snapshot_shapes() -> None:
    assert parse_tree({"nodes": None}) == []
    newer = parse_tree({"nodes": [{"name": "x", "type": "irregular", "size": 4}]})[0]  # restic >= 0.18 type
    assert newer.type == "irregular" and not newer.is_file and not newer.is_dir
    for bad in ([], {"nodes": {}}, {"nodes": [1]}, {"nodes": [{"name": "x", "type": 5}]}, {"nodes": [{"name": "x"}]}):
        with pytest.raises(FormatError):
            parse_tree(bad)
    snap = parse_snapshot(ID, {"time": "2024-03-01T10:00:00Z", "tree": ID, "paths": ["/srv"], "hostname": "h",
                               "username": "u", "tags": None, "program_version": "restic 0.17"})
    assert (snap.short_id, snap.tags, snap.parent) == (ID[:8], [], None)
    for bad in ({"time": "x", "tree": ID}, {"time": "2024-03-01T10:00:00Z", "tree": "short"}, []):
        with pytest.raises(FormatError):
            parse_snapshot(ID, bad)
