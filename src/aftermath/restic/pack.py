"""Pack files and blobs: the encrypted header at the end of a pack, and turning one blob into plaintext.

Pack = EncBlob1 || ... || EncBlobN || EncHeader || HeaderLen (uint32 LE, length of EncHeader).
Header entries (uint32 LE): type 0/1 = data/tree ``type, length, id[32]``; type 2/3 = compressed
data/tree ``type, length, uncompressed_length, id[32]``. Offsets are the running sum of lengths.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass

import zstandard

from aftermath.restic.crypto import OVERHEAD, Key, open_envelope
from aftermath.restic.errors import BlobError, FormatError, MacError

MAX_HEADER_SIZE = 16 * 1024 * 1024 + 4  # restic's pack.MaxHeaderSize
TAIL = 64 * 1024  # bytes read from the end of a pack at once: the header of a pack of a few hundred blobs
# A decompressed blob larger than this is refused (data blobs are <= 8 MiB; huge directories make
# big tree blobs, but not this big). Guards against decompression bombs from a hostile writer.
MAX_BLOB_SIZE = 1 << 30
_PLAIN = struct.Struct("<BI32s")
_COMPRESSED = struct.Struct("<BII32s")
# A ZstdDecompressor must not be used by two threads at once (it corrupts output): one per thread.
_LOCAL = threading.local()


@dataclass(frozen=True)
class PackEntry:
    """One blob as a pack header describes it."""

    kind: str  # "data" or "tree"
    offset: int
    length: int  # encrypted length, envelope included
    uncompressed_length: int  # 0 when the blob is stored uncompressed
    id: bytes


def parse_header(plain: bytes) -> list[PackEntry]:
    """Decode a decrypted pack header into entries with their offsets; FormatError if malformed."""
    entries: list[PackEntry] = []
    pos = offset = 0
    while pos < len(plain):
        kind_byte = plain[pos]
        layout = _PLAIN if kind_byte in (0, 1) else _COMPRESSED if kind_byte in (2, 3) else None
        if layout is None:
            raise FormatError(f"pack header has unknown blob type {kind_byte}")
        if pos + layout.size > len(plain):
            raise FormatError("pack header ends in the middle of an entry")
        if layout is _PLAIN:
            _, length, blob_id = _PLAIN.unpack_from(plain, pos)
            ulen = 0
        else:
            _, length, ulen, blob_id = _COMPRESSED.unpack_from(plain, pos)
        if length < OVERHEAD:
            raise FormatError(f"pack header lists a blob of impossible length {length}")
        entries.append(PackEntry("data" if kind_byte in (0, 2) else "tree", offset, length, ulen, blob_id))
        offset += length
        pos += layout.size
    return entries


def read_header(fd: int, key: Key) -> list[PackEntry]:
    """Read and authenticate the header of the open pack file ``fd``; FormatError or MacError if bad."""
    return read_header_at(lambda offset, length: os.pread(fd, length, offset), os.fstat(fd).st_size, key)


def read_header_at(read_at: Callable[[int, int], bytes], size: int, key: Key) -> list[PackEntry]:
    """Read and authenticate the header of a pack of ``size`` bytes read by ``read_at(offset, length)``.

    One read when the header is small (the last 64 KiB hold it and its length), two otherwise.
    """
    if size < 4 + OVERHEAD:
        raise FormatError(f"pack file too short ({size} bytes)")
    tail_start = max(0, size - TAIL)
    tail = read_at(tail_start, size - tail_start)
    if len(tail) != size - tail_start:
        raise FormatError(f"pack file is shorter than its listed size ({size} bytes)")
    (hlen,) = struct.unpack("<I", tail[-4:])
    if hlen < OVERHEAD or hlen > size - 4 or hlen > MAX_HEADER_SIZE:
        raise FormatError(f"pack header length {hlen} is impossible for a {size}-byte pack")
    start = size - 4 - hlen
    raw = tail[start - tail_start:-4] if start >= tail_start else read_at(start, hlen)
    if len(raw) != hlen:
        raise FormatError("pack file ends inside its header")
    entries = parse_header(open_envelope(key, raw))
    if entries and entries[-1].offset + entries[-1].length > start:
        raise FormatError("pack header lists blobs beyond the end of the pack")
    return entries


def _decompress(data: bytes, ulen: int) -> bytes:
    if ulen > MAX_BLOB_SIZE:
        raise FormatError(f"uncompressed length {ulen} is too large")
    dctx: zstandard.ZstdDecompressor | None = getattr(_LOCAL, "dctx", None)
    if dctx is None:
        dctx = _LOCAL.dctx = zstandard.ZstdDecompressor()
    declared = zstandard.frame_content_size(data)
    if declared not in (-1, ulen):
        raise FormatError(f"zstd frame declares {declared} bytes, index says {ulen}")
    if declared == ulen:
        return dctx.decompress(data, max_output_size=ulen)
    # No content size in the frame: stream in steps, never more than ulen + 1 bytes.
    out = bytearray()
    with dctx.stream_reader(io.BytesIO(data)) as reader:
        while len(out) <= ulen and (chunk := reader.read(min(ulen + 1 - len(out), 1 << 20))):
            out += chunk
    return bytes(out)


def decode_blob(key: Key, raw: bytes, blob_id: str, pack_id: str, uncompressed_length: int) -> bytes:
    """Authenticate, decrypt, decompress and hash-check one blob; BlobError if any step fails."""
    try:
        plain = open_envelope(key, raw)
    except MacError:
        raise BlobError(blob_id, pack_id, "authentication failed (the pack was changed or damaged)") from None
    if uncompressed_length:
        try:
            plain = _decompress(plain, uncompressed_length)
        except (zstandard.ZstdError, FormatError, ValueError, MemoryError) as exc:
            raise BlobError(blob_id, pack_id, f"zstd decompression failed: {exc}") from None
        if len(plain) != uncompressed_length:
            raise BlobError(blob_id, pack_id, f"decompressed to {len(plain)} bytes, expected {uncompressed_length}")
    if not hmac.compare_digest(hashlib.sha256(plain).hexdigest(), blob_id):
        raise BlobError(blob_id, pack_id, "SHA-256 of the content does not match the blob id")
    return plain
