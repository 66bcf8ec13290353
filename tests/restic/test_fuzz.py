"""Fuzzing: damaged, truncated or hostile repository bytes give the reader's own errors, never a crash or hang.

Envelopes are sealed with a known key so that the fuzzed bytes reach the parsers behind the MAC,
the way a hostile writer holding the repository key could produce them.
"""

from __future__ import annotations

import contextlib
import json
import random
import struct
from typing import Any

import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aftermath.errors import AftermathError
from aftermath.restic.crypto import open_key_file
from aftermath.restic.errors import BlobError, FormatError, MacError
from aftermath.restic.index import Index
from aftermath.restic.pack import decode_blob, parse_header
from aftermath.restic.tree import go_unquote, parse_entries, parse_snapshot, parse_tree
from aftermath.restic.unpacked import decode_unpacked
from tests.restic.builders import make_key_file, make_pack, random_key, seal

FAST = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
KEY = random_key(random.Random(7))
ID = "cd" * 32

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=20)
    | st.sampled_from([ID, "data", "tree", "file", "dir", "2024-01-01T00:00:00Z", "a\\x", 0, 32, 4294967296]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["packs", "blobs", "id", "type", "offset", "length", "uncompressed_length", "nodes", "name",
                         "content", "subtree", "mode", "time", "tree", "paths", "linktarget_raw", "size"]),
        inner, max_size=6),
    max_leaves=25)


def mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    buf = bytearray(data)
    for pos, val in edits:
        if buf:
            buf[pos % len(buf)] = val
    return bytes(buf[:cut] if cut is not None else buf)


@FAST
@given(st.binary(max_size=300))
def test_pack_header_plaintext(plain: bytes) -> None:
    try:
        entries = parse_header(plain)
    except FormatError:
        return
    assert all(e.length >= 32 and e.kind in ("data", "tree") for e in entries)


@FAST
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=4),
       st.none() | st.integers(0, 5000))
def test_damaged_pack_blobs_and_headers(edits: list[tuple[int, int]], cut: int | None) -> None:
    import tempfile

    pack, rows = make_pack(KEY, [(0, b"raw data" * 50), (2, b"zstd data" * 300), (3, b'{"nodes":[]}')])
    damaged = mutate(pack, edits, cut)
    from aftermath.restic.pack import read_header

    with tempfile.TemporaryFile() as f:
        f.write(damaged)
        f.flush()
        with contextlib.suppress(FormatError, MacError):
            read_header(f.fileno(), KEY)
    for blob_id, offset, length, ulen in rows:
        try:
            decode_blob(KEY, damaged[offset:offset + length], blob_id, "p" * 64, ulen)
        except BlobError as exc:
            assert exc.blob_id == blob_id and exc.pack_id == "p" * 64


@FAST
@given(st.binary(max_size=400), st.integers(0, 1 << 31))
def test_authentic_but_hostile_blob_plaintext(stored: bytes, ulen: int) -> None:
    """Garbage behind a valid MAC: bad zstd, lying lengths, bombs; only BlobError comes out."""
    for payload in (stored, zstandard.ZstdCompressor().compress(stored)):
        try:
            out = decode_blob(KEY, seal(KEY, payload), ID, "p" * 64, ulen)
        except BlobError:
            continue
        raise AssertionError(f"accepted {len(out)} bytes whose hash cannot be {ID}")


@FAST
@given(json_values)
def test_index_json(doc: Any) -> None:
    index = Index()
    try:
        index.add_json(doc)
    except FormatError:
        assert len(index) == 0  # nothing partial kept


@FAST
@given(json_values)
def test_tree_and_snapshot_json(doc: Any) -> None:
    for parse in (parse_tree, lambda d: parse_snapshot(ID, d), lambda d: parse_entries(json.dumps(d).encode())):
        with contextlib.suppress(FormatError):
            parse(doc)


@FAST
@given(st.text(max_size=40))
def test_quoted_names(text: str) -> None:
    with contextlib.suppress(FormatError):
        go_unquote(text)


@FAST
@given(st.binary(max_size=200), st.sampled_from([1, 2]))
def test_unpacked_files(data: bytes, version: int) -> None:
    for plain in (data, b"\x02" + data, b"\x02" + zstandard.ZstdCompressor().compress(data)):
        with contextlib.suppress(FormatError):
            decode_unpacked(plain, version, "index file")


@settings(max_examples=80, deadline=2000)
@given(st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)), max_size=3), st.none() | st.integers(0, 900),
       json_values)
def test_key_files(edits: list[tuple[int, int]], cut: int | None, extra: Any) -> None:
    raw = make_key_file(KEY, b"pw")
    for candidate in (mutate(raw, edits, cut), json.dumps(extra).encode(),
                      json.dumps({**json.loads(raw), **(extra if isinstance(extra, dict) else {})}).encode()):
        try:
            assert open_key_file(candidate, b"pw") == KEY
        except AftermathError as exc:
            assert isinstance(exc, FormatError | MacError)


def test_pack_header_length_field_cannot_point_outside() -> None:
    import tempfile

    from aftermath.restic.pack import read_header

    pack, _ = make_pack(KEY, [(1, b"{}")])
    for hlen in (0, 31, len(pack), 1 << 31):
        with tempfile.TemporaryFile() as f:
            f.write(pack[:-4] + struct.pack("<I", hlen))
            f.flush()
            try:
                read_header(f.fileno(), KEY)
            except FormatError as exc:
                assert "impossible" in str(exc)
            else:
                raise AssertionError(hlen)
