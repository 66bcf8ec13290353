"""restic's envelope and key files: known vectors, tampering, key derivation limits."""

from __future__ import annotations

import base64
import json
import random

import pytest

from aftermath.restic.crypto import Key, _poly_key, open_envelope, open_key_file
from aftermath.restic.errors import FormatError, MacError
from tests.restic.builders import make_key_file, random_key, seal

# restic internal/crypto/crypto_int_test.go: a full envelope and a Poly1305-AES vector (Bernstein 2005)
EKEY = bytes.fromhex("303e8687b1d7db18421bdc6bb8588ccadac4d59ee87b8ff70c44e635790cafef")
MAC_K = bytes.fromhex("ef4d8824cb80b2bcc5fbff8a9b12a42c")
MAC_R = bytes.fromhex("cc8d4b948ee0ebfe1d415de921d10353")
CIPHERTEXT = bytes.fromhex("69fb41c62d12def4593bd71757138606338f621aeaeb39da0fe4f99233f8037a"
                           "54ea63338a813bcf3f75d8c3cc75dddf8750")


def test_restic_vector_decrypts() -> None:
    assert open_envelope(Key(EKEY, MAC_K, MAC_R), CIPHERTEXT) == b"Dies ist ein Test!"


def test_poly1305_aes_vector_from_bernstein() -> None:
    from cryptography.hazmat.primitives.poly1305 import Poly1305

    r = bytes.fromhex("851fc40c3467ac0be05cc20404f3f700")
    k = bytes.fromhex("ec074c835580741701425b623235add6")
    nonce = bytes.fromhex("fb447350c4e868c52ac3275cf9d4327e")
    tag = Poly1305.generate_tag(_poly_key(Key(b"\0" * 32, k, r), nonce), b"\xf3\xf6")
    assert tag.hex() == "f4c633c3044fc145f84f335cb81953de"


@pytest.mark.parametrize("where", [0, 16, 20, -1])
def test_any_changed_byte_fails_authentication(where: int) -> None:
    data = bytearray(CIPHERTEXT)
    data[where] ^= 1
    with pytest.raises(MacError):
        open_envelope(Key(EKEY, MAC_K, MAC_R), bytes(data))


def test_short_envelope_is_a_mac_error() -> None:
    with pytest.raises(MacError, match="truncated"):
        open_envelope(random_key(), b"x" * 31)


def test_seal_and_open_round_trip_including_empty() -> None:
    key = random_key()
    for plain in (b"", b"a", b"z" * 100_000):
        assert open_envelope(key, seal(key, plain)) == plain


def test_envelopes_of_different_keys_open_in_turn_on_one_thread() -> None:
    """The MAC key's encryptor is kept between blobs: it must follow the key, never serve another one."""
    first, second = random_key(random.Random(1)), random_key(random.Random(2))
    for key, other in ((first, second), (second, first), (first, second)):
        assert open_envelope(key, seal(key, b"mine")) == b"mine"
        with pytest.raises(MacError):
            open_envelope(key, seal(other, b"theirs"))
    assert open_envelope(Key(EKEY, MAC_K, MAC_R), CIPHERTEXT) == b"Dies ist ein Test!"


def test_key_file_opens_with_its_password_only() -> None:
    master = random_key()
    raw = make_key_file(master, b"pw")
    assert open_key_file(raw, b"pw") == master
    with pytest.raises(MacError):
        open_key_file(raw, b"pw2")


@pytest.mark.parametrize("change", [{"N": 1 << 24, "r": 8}, {"N": 1000}, {"p": 1 << 20}, {"N": "16"},
                                    {"kdf": "argon2"}, {"salt": "%%%"}, {"data": None}, {"N": True}])
def test_bad_or_hostile_scrypt_parameters_are_refused_quickly(change: dict[str, object]) -> None:
    doc = json.loads(make_key_file(random_key(), b"pw"))
    doc.update(change)
    with pytest.raises(FormatError):
        open_key_file(json.dumps(doc).encode(), b"pw")


def test_master_key_with_wrong_sizes_is_a_format_error() -> None:
    from tests.restic.builders import derive_user_key

    salt = b"s" * 64
    user = derive_user_key(b"pw", salt, 16, 1, 1)
    inner = json.dumps({"mac": {"k": base64.b64encode(b"k" * 15).decode(), "r": base64.b64encode(b"r" * 16).decode()},
                        "encrypt": base64.b64encode(b"e" * 32).decode()}).encode()
    raw = json.dumps({"kdf": "scrypt", "N": 16, "r": 1, "p": 1, "salt": base64.b64encode(salt).decode(),
                      "data": base64.b64encode(seal(user, inner)).decode()}).encode()
    with pytest.raises(FormatError, match="MAC key k"):
        open_key_file(raw, b"pw")
