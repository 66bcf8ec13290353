"""Build restic repositories with the real restic binary, and seal synthetic restic files for fuzzing.

Shared by tests/restic and tests/integration/restic (and reusable by other parts' tests).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.poly1305 import Poly1305

from aftermath.restic.crypto import Key, _poly_key, derive_user_key

PASSWORD = b"correct horse battery staple"
SECOND_PASSWORD = b"second key's password"

# Names that exercise Go's strconv.Quote: spaces, newline, tab, control byte, quotes, backslash,
# printable and non-printable unicode (\u200b, \U000e0001), and bytes that are not UTF-8.
SPECIAL_NAMES = [
    "with space.txt", "new\nline", "tab\tname", "ctrl\x01char", 'quote"s', "single'quote", "back\\slash",
    "ünïcødé €.txt", "emoji😀", "zero\u200bwidth", "tag\U000e0001char", os.fsdecode(b"bad\xff\xfename"),
]


@dataclass
class Variant:
    """One repository built by restic, with what it was built from."""

    name: str
    path: Path
    env: dict[str, str]
    source: Path  # the source folder (its state at the last backup)
    snapshots: list[str] = field(default_factory=list)  # ids, in backup order

    def restic(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        """Run the real restic on this repository (password from a file, never argv)."""
        return subprocess.run(["restic", *args], env=self.env, capture_output=True, check=check,
                              cwd=self.source.parent)


def restic_env(repo: Path, password_file: Path, cache: Path) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": str(cache), "RESTIC_REPOSITORY": str(repo),
            "RESTIC_PASSWORD_FILE": str(password_file), "RESTIC_CACHE_DIR": str(cache)}


def write_source(src: Path, seed: int) -> None:
    """A source tree with big (multi-chunk) random and text files, tiny/empty files, links, odd names."""
    rnd = random.Random(seed)
    (src / "deep" / "er" / "est").mkdir(parents=True)
    (src / "empty-dir").mkdir()
    (src / "big-random.bin").write_bytes(rnd.randbytes(12 * 1024 * 1024))
    words = [rnd.randbytes(rnd.randint(2, 6)).hex() for _ in range(3000)]
    text = "\n".join(" ".join(rnd.choices(words, k=12)) for _ in range(120_000))
    (src / "big-text.txt").write_text(text)
    (src / "tiny.txt").write_bytes(b"hi\n")
    (src / "empty").write_bytes(b"")
    (src / "deep" / "er" / "est" / "leaf.txt").write_bytes(b"leaf " * 100)
    for i, name in enumerate(SPECIAL_NAMES):
        (src / "names").mkdir(exist_ok=True)
        (src / "names" / name).write_bytes(f"content of name {i}\n".encode())
    os.symlink("tiny.txt", src / "link-to-tiny")
    os.symlink("nowhere/at/all", src / "dangling-link")
    os.symlink("../big-text.txt", src / "deep" / "up-link")
    os.mkfifo(src / "a-fifo")
    (src / "setuid-tool").write_bytes(b"#!/bin/sh\n")
    os.chmod(src / "setuid-tool", 0o4750)
    os.chmod(src / "deep" / "er", 0o1777)


def change_source(src: Path) -> None:
    """Second snapshot: modify, add and delete files."""
    (src / "tiny.txt").write_bytes(b"changed\n")
    (src / "added.txt").write_bytes(b"new file in the second snapshot\n")
    (src / "empty").unlink()


def build_variant(base: Path, name: str, init_args: list[str], backup_args: list[str]) -> Variant:
    """Create a repository with restic, back up the source twice, return its description."""
    root = base / name
    root.mkdir(parents=True)
    (root / "pw").write_bytes(PASSWORD)
    src = root / "src"
    src.mkdir()
    write_source(src, seed=len(name))
    variant = Variant(name, root / "repo", restic_env(root / "repo", root / "pw", root / "cache"), src)
    variant.restic("init", *init_args)
    for tag, when in (("first", "2024-03-01 10:00:00"), ("second", "2024-03-02 11:30:00")):
        if tag == "second":
            change_source(src)
        out = variant.restic("backup", "--json", "--tag", tag, "--time", when, *backup_args, "src")
        summary = [json.loads(line) for line in out.stdout.splitlines() if b'"summary"' in line][-1]
        variant.snapshots.append(summary["snapshot_id"])
    return variant


def add_second_key(variant: Variant) -> None:
    """Add a key file with another password (restic key add)."""
    pw2 = variant.path.parent / "pw2"
    pw2.write_bytes(SECOND_PASSWORD)
    variant.restic("key", "add", "--new-password-file", str(pw2))


# -- synthetic files for fuzzing (same format, tiny scrypt parameters so that opening is instant) ------
def seal(key: Key, plain: bytes, iv: bytes | None = None) -> bytes:
    """Encrypt and authenticate like restic's crypto.Seal."""
    iv = iv or os.urandom(16)
    enc = Cipher(algorithms.AES(key.encrypt), modes.CTR(iv)).encryptor()
    ct = enc.update(plain) + enc.finalize()
    return iv + ct + Poly1305.generate_tag(_poly_key(key, iv), ct)


def random_key(rnd: random.Random | None = None) -> Key:
    rnd = rnd or random.Random(0)
    return Key(rnd.randbytes(32), rnd.randbytes(16), rnd.randbytes(16))


def make_key_file(master: Key, password: bytes, n: int = 16, r: int = 1, p: int = 1) -> bytes:
    """A restic key file (JSON) that opens ``master`` with ``password``."""
    salt = os.urandom(64)
    user = derive_user_key(password, salt, n, r, p)
    inner = json.dumps({"mac": {"k": base64.b64encode(master.mac_k).decode(),
                                "r": base64.b64encode(master.mac_r).decode()},
                        "encrypt": base64.b64encode(master.encrypt).decode()}).encode()
    return json.dumps({"created": "2024-01-01T00:00:00Z", "username": "t", "hostname": "h", "kdf": "scrypt",
                       "N": n, "r": r, "p": p, "salt": base64.b64encode(salt).decode(),
                       "data": base64.b64encode(seal(user, inner)).decode()}).encode()


def make_pack(key: Key, blobs: list[tuple[int, bytes]]) -> tuple[bytes, list[tuple[str, int, int, int]]]:
    """A pack of (type 0/1 raw, or 2/3 zstd-compressed) blobs; returns bytes and (id, offset, len, ulen)."""
    import struct

    import zstandard

    body, header, rows = b"", b"", []
    for kind, plain in blobs:
        blob_id = hashlib.sha256(plain).digest()
        stored = zstandard.ZstdCompressor().compress(plain) if kind >= 2 else plain
        enc = seal(key, stored)
        ulen = len(plain) if kind >= 2 else 0
        rows.append((blob_id.hex(), len(body), len(enc), ulen))
        header += struct.pack("<BI", kind, len(enc)) + (struct.pack("<I", ulen) if kind >= 2 else b"") + blob_id
        body += enc
    enc_header = seal(key, header)
    return body + enc_header + struct.pack("<I", len(enc_header)), rows
