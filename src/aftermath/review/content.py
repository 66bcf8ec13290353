"""Scanning one content: every byte once, whatever its size, in bounded memory.

The review (contents from a repository) and :func:`aftermath.review.scan_tree` (files on disk) both
scan through :func:`scan_content`, so a file gets the same findings wherever it is read from.

A content of at most ``WINDOW`` bytes is joined and given whole to every scanner. A larger one is
streamed chunk by chunk and never held whole:

- a scanner that declares ``head_bytes`` (it looks only at the start: type, name, ransom note) gets
  that many first bytes;
- a scanner with ``stream(path)`` (the hash indicators) is fed every chunk;
- any other scanner (YARA rules) scans the content in windows of ``WINDOW`` bytes that overlap by
  ``OVERLAP`` bytes, so a pattern shorter than the overlap is found wherever it lies; conditions on the
  whole file (``filesize``, an offset beyond the first window) see one window. The outcome says so
  (``windowed``) and the review counts such files.

Memory: about twice ``WINDOW`` plus one chunk (a restic blob is at most 8 MiB).
In the review's worker processes, buffers this large are given back to the system when freed
(see :func:`aftermath.review.pool.return_large_buffers`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from aftermath.review.scanner import Finding, Scanner

WINDOW = 16 << 20
OVERLAP = 1 << 20

Scan = tuple[int, str]  # (scanner index, a path that gives the scanner's path key)


@runtime_checkable
class Stream(Protocol):
    """What ``scanner.stream(path)`` returns: fed every chunk in order, then asked for its findings."""

    def update(self, chunk: bytes) -> None:
        """Take the next chunk of the content."""
        ...

    def findings(self) -> list[Finding]:
        """The findings once every chunk was given."""
        ...


@dataclass
class Outcome:
    """What scanning one content found: findings per scan (by position), its SHA-256 when known, notes."""

    findings: dict[int, list[Finding]] = field(default_factory=dict)
    sha256: str = ""  # as given, or computed for a whole content with findings ("" for a streamed one)
    notes: list[str] = field(default_factory=list)  # scanner failures, in words
    windowed: bool = False  # streamed: YARA saw it in overlapping windows


def scan_content(scanners: Sequence[Scanner], scans: Sequence[Scan], chunks: Iterable[bytes], size: int,
                 sha256: str = "", window: int = WINDOW) -> Outcome:
    """Scan one content (given as chunks, ``size`` bytes in all) with the scans it needs.

    ``sha256`` is the content's digest when the caller knows it; otherwise it is computed when a
    finding or note needs it for a whole content; a streamed content is never hashed here (the caller
    hashes it again only if it has findings: rare, and it saves a full hash of every large file).
    Exceptions from chunk reading propagate.
    """
    if size <= window:
        parts = list(chunks)
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        parts.clear()
        return _whole(scanners, scans, data, sha256)
    return _streamed(scanners, scans, chunks, sha256, window)


def _whole(scanners: Sequence[Scanner], scans: Sequence[Scan], data: bytes, sha256: str) -> Outcome:
    out = Outcome(sha256=sha256)
    for position, (index, path) in enumerate(scans):
        found = _run(out, scanners[index], path, data)
        if found:
            out.findings[position] = found
    if (out.findings or out.notes) and not out.sha256:
        out.sha256 = hashlib.sha256(data).hexdigest()
    return out


def _run(out: Outcome, scanner: Scanner, path: str, data: bytes) -> list[Finding]:
    try:
        return scanner.scan(path, data)
    except Exception as exc:  # noqa: BLE001 - one scanner failing on one file must not stop the review
        out.notes.append(f"scanner {scanner.name} failed: {type(exc).__name__}: {exc}")
        return []


def _streamed(scanners: Sequence[Scanner], scans: Sequence[Scan], chunks: Iterable[bytes], sha256: str,
              window: int) -> Outcome:
    out = Outcome(sha256=sha256, windowed=True)
    heads = {pos: int(h) for pos, (i, _) in enumerate(scans) if (h := getattr(scanners[i], "head_bytes", None))}
    streams: dict[int, Stream] = {}
    for pos, (i, path) in enumerate(scans):
        make = getattr(scanners[i], "stream", None)
        if pos not in heads and callable(make):
            streams[pos] = make(path)
    windowed = [pos for pos in range(len(scans)) if pos not in heads and pos not in streams]
    head_size = max(heads.values(), default=0)
    head = bytearray()
    found: dict[int, dict[str, Finding]] = {pos: {} for pos in windowed}
    overlap = min(OVERLAP, window // 4)
    parts: list[bytes | memoryview] = []  # what the next window holds so far (views: no copies)
    held = 0
    carried = 0  # bytes at its start already scanned at the end of the previous window

    def scan_window(data: bytes) -> None:
        for pos in windowed:
            index, path = scans[pos]
            for f in _run(out, scanners[index], path, data):
                found[pos].setdefault(f.rule, f)  # the same rule in several windows is one finding

    for chunk in chunks:
        if len(head) < head_size:
            head += chunk[: head_size - len(head)]
        for stream in streams.values():
            stream.update(chunk)
        if not windowed:
            continue
        view = memoryview(chunk)
        while view:
            take = min(len(view), window - held)
            parts.append(view[:take])
            held += take
            view = view[take:]
            if held == window:  # one copy into the window; the next one starts with its overlap
                data = b"".join(parts)
                scan_window(data)
                parts, held = [data[-overlap:]], overlap
                carried = overlap
                del data
    if windowed and held > carried:  # the rest after the last full window
        scan_window(b"".join(parts))
    parts = []
    data = bytes(head)
    for pos, size in heads.items():
        index, path = scans[pos]
        result = _run(out, scanners[index], path, data[:size])
        if result:
            out.findings[pos] = result
    for pos, stream in streams.items():
        try:
            result = stream.findings()
        except Exception as exc:  # noqa: BLE001
            out.notes.append(f"scanner {scanners[scans[pos][0]].name} failed: {type(exc).__name__}: {exc}")
            continue
        if result:
            out.findings[pos] = result
    for pos in windowed:
        if found[pos]:
            out.findings[pos] = list(found[pos].values())
    return out
