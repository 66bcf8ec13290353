"""restic's cryptography: scrypt key files, the master key, and the AES-256-CTR + Poly1305-AES envelope.

Envelope = IV(16) || AES-256-CTR(ciphertext) || Poly1305-AES tag(16). The tag covers the ciphertext
only and is checked before anything is decrypted (restic's ``crypto.Open``). The one-time Poly1305
key is ``r || AES-128_k(IV)``; ``cryptography``'s Poly1305 clamps ``r`` itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.poly1305 import Poly1305

from aftermath.restic.errors import FormatError, MacError

IV_SIZE = 16
MAC_SIZE = 16
OVERHEAD = IV_SIZE + MAC_SIZE
# scrypt work allowed from a key file: restic calibrates to ~60 MiB and 0.5 s (N=2^15, r=8, p<=8 here);
# this is 16x that, and refuses key files that would take minutes or gigabytes to try.
MAX_SCRYPT_MEMORY = 1 << 30
MAX_SCRYPT_WORK = 1 << 26  # N * r * p


@dataclass(frozen=True)
class Key:
    """A restic key: 32-byte AES-256 key plus the Poly1305-AES MAC key (k, r)."""

    encrypt: bytes
    mac_k: bytes
    mac_r: bytes

    def __repr__(self) -> str:  # never print key material
        return "Key(<secret>)"


_ECB = threading.local()  # this thread's AES-ECB encryptor for the MAC key last used (a cipher context is per thread)


def _poly_key(key: Key, iv: bytes) -> bytes:
    """Poly1305-AES's one-time key for a nonce: r, then AES_k(nonce). ECB keeps no state between blocks, so
    one encryptor serves every nonce (making one per blob was 3-4% of a review worker's CPU)."""
    made: tuple[bytes, Any] | None = getattr(_ECB, "made", None)
    if made is None or made[0] != key.mac_k:
        made = _ECB.made = (key.mac_k, Cipher(algorithms.AES(key.mac_k), modes.ECB()).encryptor())  # noqa: S305
    return key.mac_r + made[1].update(iv)


def open_envelope(key: Key, data: bytes | memoryview) -> bytes:
    """Authenticate then decrypt one envelope; raise MacError (before decrypting) if the tag is wrong."""
    if len(data) < OVERHEAD:
        raise MacError(f"encrypted data too short ({len(data)} bytes): the file is truncated")
    view = memoryview(data)
    iv, ct, tag = bytes(view[:IV_SIZE]), view[IV_SIZE:-MAC_SIZE], bytes(view[-MAC_SIZE:])
    try:
        Poly1305.verify_tag(_poly_key(key, iv), ct, tag)
    except InvalidSignature:
        raise MacError("authentication failed (Poly1305-AES tag does not match)") from None
    dec = Cipher(algorithms.AES(key.encrypt), modes.CTR(iv)).decryptor()
    return dec.update(ct) + dec.finalize()


def _b64(value: Any, what: str, size: int | None = None) -> bytes:
    if not isinstance(value, str):
        raise FormatError(f"{what} is not a base64 string")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise FormatError(f"{what} is not valid base64") from None
    if size is not None and len(raw) != size:
        raise FormatError(f"{what} has {len(raw)} bytes, expected {size}")
    return raw


def _scrypt_params(doc: dict[str, Any]) -> tuple[int, int, int]:
    if doc.get("kdf") != "scrypt":
        raise FormatError(f"key file uses kdf {doc.get('kdf')!r}, only scrypt is known")
    values: list[Any] = [doc.get("N"), doc.get("r"), doc.get("p")]
    if not all(type(v) is int and v > 0 for v in values):
        raise FormatError("key file has invalid scrypt parameters")
    n, r, p = (int(v) for v in values)
    if n < 2 or n & (n - 1) or p > 1024 or 128 * r * (n + p) > MAX_SCRYPT_MEMORY or n * r * p > MAX_SCRYPT_WORK:
        raise FormatError(f"key file has unsupported scrypt parameters N={n} r={r} p={p}")
    return n, r, p


def derive_user_key(password: bytes, salt: bytes, n: int, r: int, p: int) -> Key:
    """Derive the key that opens a key file: scrypt(password, salt, N, r, p) split 32/16/16."""
    # OpenSSL's default maxmem is 32 MiB, below restic's usual 128*r*N (32 MiB + its own blocks); scrypt
    # needs about 128*r*(N + p) bytes, so allow that plus headroom.
    raw = hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, dklen=64, maxmem=128 * r * (n + p + 2) + (32 << 20))
    return Key(encrypt=raw[:32], mac_k=raw[32:48], mac_r=raw[48:64])


def parse_key_file(raw: bytes) -> tuple[bytes, tuple[int, int, int], bytes]:
    """Return (salt, (N, r, p), encrypted data) from a key file's JSON; FormatError if malformed."""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise FormatError("key file is not JSON") from None
    if not isinstance(doc, dict):
        raise FormatError("key file is not a JSON object")
    params = _scrypt_params(doc)
    salt = _b64(doc.get("salt"), "key file salt")
    data = _b64(doc.get("data"), "key file data")
    return salt, params, data


def parse_master_key(plain: bytes) -> Key:
    """Decode the master key JSON ``{"mac":{"k","r"},"encrypt"}`` found inside a key file."""
    try:
        doc = json.loads(plain)
    except (ValueError, UnicodeDecodeError):
        raise FormatError("master key is not JSON") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("mac"), dict):
        raise FormatError("master key JSON lacks its mac object")
    return Key(
        encrypt=_b64(doc.get("encrypt"), "master encryption key", 32),
        mac_k=_b64(doc["mac"].get("k"), "master MAC key k", 16),
        mac_r=_b64(doc["mac"].get("r"), "master MAC key r", 16),
    )


def open_key_file(raw: bytes, password: bytes) -> Key:
    """Open one key file with a password: MacError if the password is wrong, FormatError if malformed."""
    salt, (n, r, p), data = parse_key_file(raw)
    user_key = derive_user_key(password, salt, n, r, p)
    return parse_master_key(open_envelope(user_key, data))


def storage_id_matches(name: str, data: bytes) -> bool:
    """True when a stored file's name is the SHA-256 of its bytes, as restic names files."""
    return hmac.compare_digest(hashlib.sha256(data).hexdigest(), name.lower())
