"""Files stored whole (config, index, snapshots): envelope plaintext to JSON, repository versions 1 and 2.

v1: plaintext is JSON. v2: first byte 0x02 means zstd-compressed JSON follows; a first byte of ``{``
or ``[`` means plain JSON. Snapshot frames carry no content size, so decompression streams, capped.
"""

from __future__ import annotations

import io
from typing import Any

import msgspec
import zstandard

from aftermath.restic.errors import FormatError

MAX_UNPACKED_SIZE = 256 * 1024 * 1024  # index files are < 8 MiB; a bigger JSON file is hostile
_CHUNK = 1 << 20


def _stream_decompress(data: bytes) -> bytes:
    out = bytearray()
    try:
        with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)) as reader:
            while chunk := reader.read(_CHUNK):
                out += chunk
                if len(out) > MAX_UNPACKED_SIZE:
                    raise FormatError("compressed file expands beyond 256 MiB")
    except zstandard.ZstdError as exc:
        raise FormatError(f"zstd decompression failed: {exc}") from None
    return bytes(out)


def decode_unpacked(plain: bytes, version: int, what: str) -> Any:
    """Decode an unpacked file's plaintext to JSON; FormatError (naming ``what``) if malformed."""
    if version >= 2 and plain[:1] == b"\x02":
        plain = _stream_decompress(plain[1:])
    elif version >= 2 and plain[:1] not in (b"{", b"["):
        raise FormatError(f"{what} does not start with JSON or a known encoding byte")
    try:
        return msgspec.json.decode(plain)
    except (msgspec.DecodeError, ValueError, UnicodeDecodeError, RecursionError):
        raise FormatError(f"{what} is not valid JSON") from None
