"""What a file really is, from its first bytes, and what its extension promises.

A small signature table rather than libmagic: the types that matter for ransomware checks (office
documents, PDFs, images, archives, executables) have fixed signatures, and a fixed table gives the same
answer on every machine.
"""

from __future__ import annotations

import math
from collections import Counter

HEAD = 64 * 1024  # how much of a file the type and entropy checks look at

# (offset, signature, type). Longer and more specific signatures first.
SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"%PDF-", "pdf"),
    (0, b"\x89PNG\r\n\x1a\n", "png"),
    (0, b"\xff\xd8\xff", "jpeg"),
    (0, b"GIF87a", "gif"), (0, b"GIF89a", "gif"),
    (0, b"PK\x03\x04", "zip"), (0, b"PK\x05\x06", "zip"), (0, b"PK\x07\x08", "zip"),
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"),
    (0, b"\x1f\x8b", "gzip"),
    (0, b"BZh", "bzip2"),
    (0, b"\xfd7zXZ\x00", "xz"),
    (0, b"7z\xbc\xaf\x27\x1c", "7z"),
    (0, b"Rar!\x1a\x07", "rar"),
    (0, b"\x28\xb5\x2f\xfd", "zstd"),
    (0, b"\x7fELF", "elf"),
    (0, b"MZ", "pe"),
    (0, b"\xcf\xfa\xed\xfe", "macho"), (0, b"\xce\xfa\xed\xfe", "macho"), (0, b"\xca\xfe\xba\xbe", "macho"),
    (0, b"SQLite format 3\x00", "sqlite"),
    (0, b"{\\rtf", "rtf"),
    (0, b"ID3", "mp3"), (0, b"\xff\xfb", "mp3"), (0, b"\xff\xf3", "mp3"),
    (4, b"ftyp", "mp4"),
    (0, b"OggS", "ogg"),
    (0, b"fLaC", "flac"),
    (0, b"II*\x00", "tiff"), (0, b"MM\x00*", "tiff"),
    (0, b"8BPS", "psd"),
    (0, b"\x00asm", "wasm"),
    (257, b"ustar", "tar"),
    (0, b"BM", "bmp"),
)

# What each extension should contain. Office Open XML, OpenDocument, jar and epub are ZIP files.
EXPECTED: dict[str, frozenset[str]] = {
    ext: frozenset(types.split()) for ext, types in {
        ".pdf": "pdf", ".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".gif": "gif",
        ".docx": "zip", ".xlsx": "zip", ".pptx": "zip", ".docm": "zip", ".xlsm": "zip",
        ".odt": "zip", ".ods": "zip", ".odp": "zip", ".zip": "zip", ".jar": "zip", ".epub": "zip",
        ".apk": "zip", ".doc": "ole", ".xls": "ole", ".ppt": "ole", ".msg": "ole",
        ".gz": "gzip", ".tgz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".7z": "7z", ".rar": "rar",
        ".zst": "zstd", ".tar": "tar", ".sqlite": "sqlite", ".sqlite3": "sqlite", ".db": "sqlite",
        ".rtf": "rtf", ".mp3": "mp3", ".mp4": "mp4", ".m4a": "mp4", ".mov": "mp4", ".ogg": "ogg",
        ".flac": "flac", ".tif": "tiff", ".tiff": "tiff", ".psd": "psd", ".bmp": "bmp",
        ".exe": "pe", ".dll": "pe",
    }.items()
}

# Types whose bytes are not compressed: high entropy there means the content was replaced.
UNCOMPRESSED_TYPES = frozenset({"bmp", "tar", "sqlite", "ole", "rtf", "tiff", "psd"})

TEXT_EXTENSIONS = frozenset(
    [
        ".txt", ".csv", ".tsv", ".md", ".rst", ".log", ".ini", ".cfg", ".conf", ".toml", ".yaml", ".yml", ".json",
        ".xml", ".html", ".htm", ".css", ".js", ".ts", ".sql", ".php", ".py", ".rb", ".pl", ".sh", ".bat", ".ps1",
        ".java", ".c", ".h", ".cpp", ".go", ".rs", ".tex", ".vcf", ".ics", ".eml", ".svg", ".srt"
    ]
)

# Bytes that plain text never holds (everything below 0x20 except tab, newline, form feed, return, escape).
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27)) + b"\x7f"


def detect(head: bytes) -> str | None:
    """The type that the first bytes announce, or None when they match no known signature."""
    for offset, signature, kind in SIGNATURES:
        if head[offset:offset + len(signature)] == signature:
            return kind if kind != "pe" or _is_pe(head) else None
    return None


def _is_pe(head: bytes) -> bool:
    """A PE file starts with MZ and has the PE signature where its header points (MZ alone may be text)."""
    if len(head) < 64:
        return False
    offset = int.from_bytes(head[0x3C:0x40], "little")
    return head[offset:offset + 4] == b"PE\0\0"


def entropy(data: bytes) -> float:
    """Shannon entropy in bits per byte (0 for empty data)."""
    if not data:
        return 0.0
    total = len(data)
    return -sum(n / total * math.log2(n / total) for n in Counter(data).values())


def control_ratio(data: bytes) -> float:
    """The share of bytes that plain text never contains."""
    if not data:
        return 0.0
    return (len(data) - len(data.translate(None, _CONTROL))) / len(data)


def looks_like_text(head: bytes) -> bool:
    """True for UTF-8/ASCII/Latin text and for UTF-16 with a byte-order mark."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    return control_ratio(head) < 0.01
