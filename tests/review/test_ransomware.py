from __future__ import annotations

import fnmatch
import gzip
import io
import random
import sqlite3
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftermath.review import filetype
from aftermath.review.scanners.ransomware import (
    ENTROPY_SAMPLE,
    FULL_BITS,
    FULL_SAMPLE,
    SHORT_BITS,
    RansomwareScanner,
    high_entropy,
)

RNG = random.Random(1)
RANDOM = RNG.randbytes(20000)


def pdf() -> bytes:
    body = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n" \
           b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n" \
           b"xref\n0 3\ntrailer << /Root 1 0 R /Size 3 >>\nstartxref\n0\n%%EOF\n"
    return body


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + bytes(RNG.randrange(256) for _ in range(96)) for _ in range(32))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 32, 32, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", "<w:document>" + "hello " * 500 + "</w:document>")
        z.writestr("media/photo.bin", RANDOM)  # high entropy inside: compressed types never judged by entropy
    return buf.getvalue()


def sqlite_db(tmp_path: Path) -> bytes:
    path = tmp_path / "x.db"
    with sqlite3.connect(path) as db:
        db.execute("create table t (a)")
        db.execute("insert into t values ('x')")
    data = path.read_bytes()
    path.unlink()
    return data


@pytest.fixture(scope="module")
def scanner() -> RansomwareScanner:
    return RansomwareScanner()


def rules(found: list) -> set[tuple[str, str]]:  # type: ignore[type-arg]
    return {(f.rule, f.severity) for f in found}


@pytest.mark.parametrize("name,make", [("a.pdf", pdf), ("b.png", png), ("c.docx", docx), ("d.zip", docx),
                                       ("e.gz", lambda: gzip.compress(RANDOM))])
def test_real_files_with_their_own_extension_are_clean(scanner: RansomwareScanner, name: str, make) -> None:  # type: ignore[no-untyped-def]
    assert scanner.scan(f"/docs/{name}", make()) == []


def test_real_sqlite_and_text_files_are_clean(scanner: RansomwareScanner, tmp_path: Path) -> None:
    assert scanner.scan("/db/app.sqlite", sqlite_db(tmp_path)) == []
    assert scanner.scan("/d/orders.csv", b"date,item,qty\n" + b"2024-01-01,bread,3\n" * 400) == []
    assert scanner.scan("/d/utf16.txt", b"\xff\xfe" + "Grüße aus Köln\n".encode("utf-16-le") * 300) == []
    assert scanner.scan("/d/accents.txt", "café crème brûlée — naïve\n".encode() * 500) == []


@pytest.mark.parametrize("name", ["report.pdf", "photo.png", "letter.docx", "old.doc", "db.sqlite"])
def test_random_bytes_under_a_typed_name_are_encrypted(scanner: RansomwareScanner, name: str) -> None:
    assert rules(scanner.scan(f"/docs/{name}", RANDOM)) == {("type-mismatch", "encrypted")}


@pytest.mark.parametrize("name", ["notes.txt", "orders.csv", "dump.sql", "page.html"])
def test_text_types_that_turned_random_are_encrypted(scanner: RansomwareScanner, name: str) -> None:
    assert rules(scanner.scan(f"/docs/{name}", RANDOM)) == {("entropy", "encrypted")}


def test_small_random_text_files_are_judged_too(scanner: RansomwareScanner) -> None:
    assert rules(scanner.scan("/d/a.txt", RNG.randbytes(700))) == {("entropy", "encrypted")}
    assert scanner.scan("/d/tiny.txt", RNG.randbytes(12)) == []  # too little to judge


def test_another_real_type_under_a_wrong_name_is_only_suspicious(scanner: RansomwareScanner) -> None:
    [finding] = scanner.scan("/docs/invoice.pdf", png())
    assert (finding.rule, finding.severity) == ("type-mismatch", "suspicious")
    assert "png" in finding.reason


def test_a_picture_saved_under_another_picture_format_name_is_fine(scanner: RansomwareScanner) -> None:
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256)) * 8
    assert scanner.scan("/media/templates/atum/images/template_preview.png", jpeg) == []
    assert rules(scanner.scan("/docs/invoice.pdf", jpeg)) == {("type-mismatch", "suspicious")}


def test_low_entropy_garbage_under_a_typed_name_is_suspicious(scanner: RansomwareScanner) -> None:
    garbage = bytes([0, 7, 1, 0, 0, 3]) * 500  # binary, repetitive: damaged, not encrypted
    assert rules(scanner.scan("/docs/x.pdf", garbage)) == {("type-mismatch", "suspicious")}


@pytest.mark.parametrize(("path", "data"), [
    ("/web/core/tests/fixtures/files/invalid-img-test.png", b"invalid image file\n"),  # stock Drupal's fixtures
    ("/web/sites/default/files/cube.jpeg", b"*" * 3620),
    ("/web/files/tmp/some-temp-file.jpg", b"<h1>Test HTML</h1>\n"),
    ("/docs/x.pdf", b"hello world " * 500),
])
def test_plain_text_under_a_typed_name_is_no_ransomware_sign(scanner: RansomwareScanner, path: str,
                                                              data: bytes) -> None:
    """Encryption never yields readable text: a text file under a picture's or a database's name is left to
    the content rules (a PHP shell named .jpg is a web shell, found by YARA), not called ransomware."""
    assert scanner.scan(path, data) == []


def test_unknown_extension_with_random_content_is_not_judged_by_entropy(scanner: RansomwareScanner) -> None:
    assert scanner.scan("/data/blob.bin", RANDOM) == []
    assert scanner.scan("/data/noext", RANDOM) == []


def test_known_ransomware_extension_and_the_inner_name_are_both_reported(scanner: RansomwareScanner) -> None:
    found = scanner.scan("/docs/letter.docx.locked", RANDOM)
    assert rules(found) == {("ransomware-extension", "encrypted"), ("type-mismatch", "encrypted")}
    assert rules(scanner.scan("/docs/a.txt.LOCKBIT", b"x" * 100)) == {("ransomware-extension", "encrypted")}
    assert scanner.scan("/docs/letter.locked.docx", docx()) == []


def test_ransom_notes_by_name_and_text(scanner: RansomwareScanner) -> None:
    note = b"Your files are encrypted. Write to us: " + b"a" * 56 + b".onion"
    assert rules(scanner.scan("/share/HOW_TO_DECRYPT.txt", note)) == {("ransom-note", "encrypted")}
    assert rules(scanner.scan("/share/How_To_Decrypt.txt", b"Internal howto: decrypt the vault with gpg")) == {
        ("ransom-note-name", "suspicious")}
    assert scanner.scan("/share/README.txt", note) == []  # the text itself is the YARA rules' job


def test_path_key_is_the_lower_case_file_name(scanner: RansomwareScanner) -> None:
    assert scanner.path_key("/a/B/Report.PDF") == "report.pdf"


def test_filetype_signatures() -> None:
    assert filetype.detect(pdf()) == "pdf" and filetype.detect(png()) == "png"
    assert filetype.detect(docx()) == "zip" and filetype.detect(gzip.compress(b"x")) == "gzip"
    assert filetype.detect(b"MZ is not enough" * 10) is None
    pe = bytearray(256)
    pe[0:2], pe[0x3C:0x40], pe[0x80:0x84] = b"MZ", (0x80).to_bytes(4, "little"), b"PE\0\0"
    assert filetype.detect(bytes(pe)) == "pe"
    assert filetype.entropy(b"") == 0 and filetype.entropy(b"aaaa") == 0
    assert filetype.entropy(bytes(range(256))) == pytest.approx(8.0)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz._-![]^ ", min_size=1, max_size=30)
       | st.sampled_from(["a.docx.locked", "f.id[x].eking", "f.ragnar_1", "how_to_decrypt.txt", "readme.lockbit",
                          "x_readme.txt", "!!!read_me.txt", "a_decrypt_b.hta", "your_files_encrypted.html"]))
def test_name_patterns_name_the_same_first_match_as_fnmatch(name: str) -> None:
    """The fast matcher (suffixes, infixes, one regex) agrees with fnmatch pattern by pattern, in order."""
    scanner = RansomwareScanner()
    assert scanner._ransom_extension(name) == next(
        (p for p in scanner.extensions if fnmatch.fnmatchcase(name, "*" + p)), None)
    assert scanner._note_re.first(name) == next((p for p in scanner.note_names if fnmatch.fnmatchcase(name, p)), None)


def test_lockbit_readme_names_but_not_an_applications_readme_files(scanner: RansomwareScanner) -> None:
    assert rules(scanner.scan("/srv/share/Xa9bC3dE1.README.txt", b"see the other file")) == {
        ("ransom-note-name", "suspicious")}
    assert scanner.scan("/www/core/assets/scaffold/files/modules.README.txt", b"Put contributed modules here.") == []


def _reference(head: bytes) -> tuple[bool, float]:
    """The entropy rule through filetype.entropy: (random?, distance of the sample's entropy to its threshold)."""
    head = head[:ENTROPY_SAMPLE]
    bits, threshold = filetype.entropy(head), FULL_BITS if len(head) >= FULL_SAMPLE else SHORT_BITS
    return (len(head) >= 512 and bits >= threshold), abs(bits - threshold)


def test_the_fast_entropy_rule_agrees_with_the_reference_near_its_thresholds() -> None:
    """Samples of every size around 512 and 4096 bytes, drawn from alphabets of 2 to 256 symbols (their
    entropy lands on both sides of 6.0 and 7.2 bits, 2**7.2 being about 147 symbols)."""
    rng = random.Random(5)
    decided = {True: 0, False: 0}
    for size in (0, 100, 511, 512, 513, 700, 4095, 4096, 4097, 9000, 16384, 20000):
        for symbols in (1, 2, 16, 60, 64, 70, 100, 140, 145, 147, 150, 160, 200, 256):
            for _ in range(3):
                sample = bytes(rng.randrange(symbols) for _ in range(size))
                expected, margin = _reference(sample)
                if margin > 1e-9:  # exactly on a threshold, float sums in another order may differ
                    assert high_entropy(sample) == expected, (size, symbols)
                    decided[expected] += 1
    assert decided[True] > 50 and decided[False] > 50


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=6000))
def test_the_fast_entropy_rule_agrees_with_the_reference_on_any_bytes(sample: bytes) -> None:
    expected, margin = _reference(sample)
    if margin > 1e-9:
        assert high_entropy(sample) == expected
