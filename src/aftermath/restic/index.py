"""The blob index: where every blob lives, held compactly (one int per blob, bytes keys).

Index files may overlap (the same blob listed twice, in one pack or in copies): the first location
seen is kept. Packs that no index lists can be added from their own headers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from aftermath.restic.errors import FormatError
from aftermath.restic.pack import PackEntry

_U32 = 1 << 32
KINDS = ("data", "tree")


class Location(NamedTuple):
    """Where one blob is: pack id, offset, encrypted length, uncompressed length (0 = not compressed)."""

    pack_id: str
    offset: int
    length: int
    uncompressed_length: int


def _hex_id(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or len(value) != 64:
        raise FormatError(f"index lists an invalid {what} id")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise FormatError(f"index lists an invalid {what} id") from None


def _u32(value: Any, what: str) -> int:
    if type(value) is not int or not 0 <= value < _U32:
        raise FormatError(f"index has an invalid {what}")
    return value


class Index:
    """All blob locations of a repository: ``(kind, id) -> (pack, offset, length, uncompressed length)``."""

    def __init__(self) -> None:
        self.packs: list[str] = []
        self._pack_no: dict[str, int] = {}
        # id (32 bytes) -> ((pack_no * 2^32 + offset) * 2^32 + length) * 2^32 + uncompressed_length
        self._blobs: dict[str, dict[bytes, int]] = {kind: {} for kind in KINDS}

    def __len__(self) -> int:
        return sum(len(blobs) for blobs in self._blobs.values())

    def _pack(self, pack_id: str) -> int:
        number = self._pack_no.get(pack_id)
        if number is None:
            number = self._pack_no[pack_id] = len(self.packs)
            self.packs.append(pack_id)
        return number

    def add(self, kind: str, blob_id: bytes, pack_id: str, offset: int, length: int, ulen: int) -> None:
        """Record one blob location unless the blob is already known."""
        blobs = self._blobs[kind]
        if blob_id not in blobs:
            blobs[blob_id] = ((self._pack(pack_id) * _U32 + offset) * _U32 + length) * _U32 + ulen

    def has_pack(self, pack_id: str) -> bool:
        """True when some blob of this pack is indexed."""
        return pack_id in self._pack_no

    def lookup(self, kind: str, blob_id: bytes) -> Location | None:
        """Location of a blob of this kind, or None."""
        value = self._blobs[kind].get(blob_id)
        if value is None:
            return None
        rest, ulen = divmod(value, _U32)
        rest, length = divmod(rest, _U32)
        pack_no, offset = divmod(rest, _U32)
        return Location(self.packs[pack_no], offset, length, ulen)

    def add_json(self, doc: Any) -> None:
        """Add an index file's decoded JSON; FormatError (nothing partial kept) if malformed."""
        rows = list(_index_rows(doc))
        for kind, blob_id, pack_id, offset, length, ulen in rows:
            self.add(kind, blob_id, pack_id, offset, length, ulen)

    def add_pack(self, pack_id: str, entries: Iterable[PackEntry]) -> None:
        """Add the blobs listed in a pack's own header."""
        for e in entries:
            self.add(e.kind, e.id, pack_id, e.offset, e.length, e.uncompressed_length)


def _index_rows(doc: Any) -> Iterable[tuple[str, bytes, str, int, int, int]]:
    if not isinstance(doc, dict) or not isinstance(doc.get("packs"), list):
        raise FormatError("index file has no list of packs")
    for pack in doc["packs"]:
        if not isinstance(pack, dict) or not isinstance(pack.get("blobs"), list):
            raise FormatError("index file has a pack without a list of blobs")
        pack_id = _hex_id(pack.get("id"), "pack").hex()
        for blob in pack["blobs"]:
            if not isinstance(blob, dict) or blob.get("type") not in KINDS:
                raise FormatError("index file has a blob of unknown type")
            length = _u32(blob.get("length"), "blob length")
            if length < 32:
                raise FormatError("index file has a blob of impossible length")
            yield (blob["type"], _hex_id(blob.get("id"), "blob"), pack_id, _u32(blob.get("offset"), "blob offset"),
                   length, _u32(blob.get("uncompressed_length", 0), "uncompressed length"))
