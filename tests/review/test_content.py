"""One content scanned whole or streamed in windows: every byte seen, heads and streams exact."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from aftermath.review.content import scan_content
from aftermath.review.scanner import Finding

NEEDLE = b"NEEDLE-in-the-data"


class Needle:
    """Content-only, no head, no stream: scanned whole or in windows (like YARA)."""

    name = "needle"
    content_only = True

    def __init__(self) -> None:
        self.seen: list[int] = []

    def scan(self, path: str, data: bytes) -> list[Finding]:
        self.seen.append(len(data))
        return [Finding("test", "needle", path, "infected", "found")] if NEEDLE in data else []


class Head:
    name = "head"
    head_bytes = 10

    def scan(self, path: str, data: bytes) -> list[Finding]:
        return [Finding("test", data.decode("latin-1"), path, "suspicious", "head")]


class Digest:
    """Streams: sees every chunk in order."""

    name = "digest"
    content_only = True

    def scan(self, path: str, data: bytes) -> list[Finding]:
        return [Finding("test", hashlib.sha256(data).hexdigest(), path, "suspicious", "digest")]

    def stream(self, path: str) -> _Stream:
        return _Stream(self, path)


class _Stream:
    def __init__(self, scanner: Digest, path: str) -> None:
        self.h, self.path = hashlib.sha256(), path

    def update(self, chunk: bytes) -> None:
        self.h.update(chunk)

    def findings(self) -> list[Finding]:
        return [Finding("test", self.h.hexdigest(), self.path, "suspicious", "digest")]


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


@settings(max_examples=200, deadline=None)
@given(extra=st.integers(1, 20_000), where=st.floats(0, 1), chunk=st.integers(1, 5000),
       window=st.sampled_from([1024, 1500, 4096]))
def test_streamed_contents_find_a_needle_anywhere_and_keep_heads_and_digests_exact(
        extra: int, where: float, chunk: int, window: int) -> None:
    size = window + extra
    data = bytearray(b"x" * size)
    at = int(where * (size - len(NEEDLE)))
    data[at:at + len(NEEDLE)] = NEEDLE
    body = bytes(data[:size])
    needle = Needle()
    scanners = [needle, Head(), Digest()]
    scans = [(0, "/a"), (1, "/a"), (2, "/a")]
    out = scan_content(scanners, scans, chunked(body, chunk), len(body), window=window)
    assert out.findings[0][0].rule == "needle"  # a pattern shorter than the overlap is found wherever it lies
    assert out.findings[1][0].rule == body[:10].decode("latin-1")  # the head scanner saw exactly the start
    assert out.findings[2][0].rule == hashlib.sha256(body).hexdigest()  # the stream saw every byte in order
    assert len(body) > window and out.windowed and max(needle.seen) <= window
    overlap = min(1 << 20, window // 4)
    assert sum(needle.seen) - overlap * (len(needle.seen) - 1) == len(body)  # every byte, overlaps only


def test_small_contents_are_scanned_whole_and_hashed_only_when_something_is_found() -> None:
    needle = Needle()
    clean = scan_content([needle], [(0, "/a")], [b"abc", b"def"], 6)
    assert (clean.findings, clean.sha256, clean.windowed, needle.seen) == ({}, "", False, [6])
    bad = scan_content([needle], [(0, "/b")], [b"..", NEEDLE], 2 + len(NEEDLE))
    assert bad.findings[0][0].path == "/b" and bad.sha256 == hashlib.sha256(b".." + NEEDLE).hexdigest()
    empty = scan_content([Digest()], [(0, "/e")], [], 0)
    assert empty.findings[0][0].rule == hashlib.sha256(b"").hexdigest()


def test_a_failing_scanner_is_a_note_and_the_others_still_run() -> None:
    class Broken:
        name = "broken"

        def scan(self, path: str, data: bytes) -> list[Finding]:
            raise ValueError("bad rule")

    out = scan_content([Broken(), Needle()], [(0, "/a"), (1, "/a")], [NEEDLE], len(NEEDLE))
    assert out.notes == ["scanner broken failed: ValueError: bad rule"] and out.findings[1][0].rule == "needle"
    assert out.sha256 == hashlib.sha256(NEEDLE).hexdigest()
