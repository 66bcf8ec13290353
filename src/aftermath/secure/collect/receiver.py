"""The responder's end of the agent's stream: frames in, files on disk, hashes checked.

A frame is this run's random marker, a JSON header line, then ``size`` raw bytes when the header has a
size. Bytes outside frames (a preloaded library that prints when it is loaded, a replaced python3 that
greets) are not the agent's: they are skipped, kept as evidence (``stray``), and never break the run.
Each file is written as it arrives and hashed on the way; the agent's own SHA-256 must match what was
received. Paths come from the examined host, which may be hostile: they are confined to the output folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

Event = dict[str, Any]
MAX_HEADER = 1 << 20
MAX_STRAY = 4096  # bytes of stray output kept as evidence; all are counted


@dataclass
class Received:
    """What a stream delivered: files with hashes, artifact outcomes, notes, the host's hello."""

    hello: Event | None = None
    hello_at: float | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[dict[str, Any]] = field(default_factory=list)
    done: bool = False
    errors: list[str] = field(default_factory=list)
    stray: bytes = b""
    stray_bytes: int = 0

    def channel(self) -> dict[str, Any]:
        """What the transport itself showed: output that was not the agent's, and the preload it ran under."""
        return {"stray_bytes": self.stray_bytes, "stray": self.stray.decode(errors="replace"),
                "preload": (self.hello or {}).get("preload") or {}}


class ProtocolError(Exception):
    """The stream broke the framing rules."""


class Receiver:
    """Incremental parser: feed it chunks in any sizes.

    ``marker`` starts every frame; by default a fresh random one, which the caller gives the agent
    (``params["marker"]``) so that nothing else on the host can guess it.
    """

    def __init__(self, out_dir: Path, on_event: Callable[[Event], None] | None = None,
                 clock: Callable[[], float] | None = None, marker: str | None = None) -> None:
        self.out_dir = out_dir
        self.marker = marker or new_marker()
        self._mark = self.marker.encode()
        self.result = Received()
        self._buf = bytearray()
        self._header: Event | None = None
        self._left = 0
        self._fh: BinaryIO | None = None
        self._hash = hashlib.sha256()
        self._on_event = on_event or (lambda e: None)
        self._clock = clock

    def feed(self, chunk: bytes) -> None:
        """Consume bytes from the stream."""
        self._buf += chunk
        while self._buf:
            if self._header is not None:
                self._take_body()
                if self._header is not None:
                    return
                continue
            if not self._skip_to_marker():
                return
            newline = self._buf.find(b"\n", len(self._mark))
            if newline < 0:
                if len(self._buf) > MAX_HEADER:
                    raise ProtocolError("header line too long")
                return
            line = bytes(self._buf[len(self._mark):newline])
            del self._buf[:newline + 1]
            self._start(line)

    def _skip_to_marker(self) -> bool:
        """Set aside bytes before the next marker as stray; whether the buffer now starts with one."""
        at = self._buf.find(self._mark)
        if at < 0:  # keep a tail that may be the start of a marker cut across chunks
            at = max(0, len(self._buf) - len(self._mark) + 1)
        if at:
            self._stray(bytes(self._buf[:at]))
            del self._buf[:at]
        return self._buf.startswith(self._mark)

    def _stray(self, data: bytes) -> None:
        result = self.result
        result.stray += data[:max(0, MAX_STRAY - len(result.stray))]
        result.stray_bytes += len(data)

    def close(self) -> Received:
        """End of stream: a file cut short is kept and marked incomplete; trailing bytes are stray."""
        if self._header is not None:
            self._finish(complete=False)
        elif self._buf:
            self._stray(bytes(self._buf))
            self._buf.clear()
        return self.result

    def _start(self, line: bytes) -> None:
        try:
            header = json.loads(line)
        except ValueError as exc:
            raise ProtocolError(f"bad header: {line[:80]!r}") from exc
        if not isinstance(header, dict):
            raise ProtocolError("header is not an object")
        if "size" in header:
            self._open(header)
            if self._left == 0:
                self._finish(complete=True)
        else:
            self._record(header)

    def _open(self, header: Event) -> None:
        target = confine(self.out_dir, str(header.get("path", "")))
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target = target.with_name(f"{target.name}.{len(self.result.files)}")
        self._header, self._left = {**header, "path": target.relative_to(self.out_dir).as_posix()}, int(header["size"])
        self._fh = target.open("wb")
        self._hash = hashlib.sha256()

    def _take_body(self) -> None:
        part = bytes(self._buf[:self._left])
        del self._buf[:len(part)]
        assert self._fh is not None
        self._fh.write(part)
        self._hash.update(part)
        self._left -= len(part)
        if self._left == 0:
            self._finish(complete=True)

    def _finish(self, complete: bool) -> None:
        assert self._header is not None and self._fh is not None
        self._fh.close()
        header, digest = self._header, self._hash.hexdigest()
        os.chmod(self.out_dir / header["path"], 0o440)
        entry = {"path": header["path"], "sha256": digest, "size": int(header["size"]) - self._left,
                 "artifact": header.get("artifact"), "source": header.get("source"), "complete": complete}
        if header.get("meta"):
            entry["meta"] = header["meta"]
        if complete and header.get("sha256") != digest:
            entry["complete"] = False
            self.result.errors.append(f"{header['path']}: received bytes do not match the host's SHA-256")
        self.result.files.append(entry)
        self._header, self._fh = None, None
        self._on_event({"t": "file", **entry})

    def _record(self, header: Event) -> None:
        kind = header.get("t")
        if kind == "hello":
            self.result.hello = header
            self.result.hello_at = self._clock() if self._clock else None
        elif kind == "artifact":
            self.result.artifacts[str(header.get("name"))] = header
        elif kind == "note":
            self.result.notes.append(header)
        elif kind == "done":
            self.result.done = True
        self._on_event(header)


def new_marker() -> str:
    """A frame marker for one run: random, so output on the host cannot pass for a frame."""
    return f"\x1eaftermath-{secrets.token_hex(16)}:"


def confine(root: Path, rel: str) -> Path:
    """A path from the host, made relative and kept inside ``root`` ('..' parts are dropped)."""
    parts = [p for p in PurePosixPath(rel).parts if p not in ("/", "..", ".", "")]
    if not parts:
        raise ProtocolError(f"empty file path in frame: {rel!r}")
    return root.joinpath(*parts)
