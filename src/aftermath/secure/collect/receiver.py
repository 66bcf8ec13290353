"""The responder's end of the agent's stream: frames in, files on disk, hashes checked.

A frame is a JSON header line, followed by ``size`` raw bytes when the header has a size. Each file is
written as it arrives and hashed on the way; the agent's own SHA-256 must match what was received.
Paths come from the examined host, which may be hostile: they are confined to the output folder.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

Event = dict[str, Any]
MAX_HEADER = 1 << 20


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


class ProtocolError(Exception):
    """The stream broke the framing rules."""


class Receiver:
    """Incremental parser: feed it chunks in any sizes."""

    def __init__(self, out_dir: Path, on_event: Callable[[Event], None] | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        self.out_dir = out_dir
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
            newline = self._buf.find(b"\n")
            if newline < 0:
                if len(self._buf) > MAX_HEADER:
                    raise ProtocolError("header line too long")
                return
            line = bytes(self._buf[:newline])
            del self._buf[:newline + 1]
            self._start(line)

    def close(self) -> Received:
        """End of stream: a file cut short is kept and marked incomplete."""
        if self._header is not None:
            self._finish(complete=False)
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


def confine(root: Path, rel: str) -> Path:
    """A path from the host, made relative and kept inside ``root`` ('..' parts are dropped)."""
    parts = [p for p in PurePosixPath(rel).parts if p not in ("/", "..", ".", "")]
    if not parts:
        raise ProtocolError(f"empty file path in frame: {rel!r}")
    return root.joinpath(*parts)
