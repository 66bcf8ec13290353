"""The hand-over package, opened by the standard ``age`` tool (Debian's age package) as a recipient would."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from aftermath.case import Case
from aftermath.consult import package, records
from aftermath.errors import IntegrityError, UsageError


def keypair(folder: Path) -> tuple[Path, str]:
    key = folder / "counsel.key"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    public = subprocess.run(["age-keygen", "-y", str(key)], check=True, capture_output=True, text=True).stdout
    return key, public.strip()


def open_with_age(path: Path, key: Path) -> dict[str, bytes]:
    plain = subprocess.run(["age", "-d", "-i", str(key), str(path)], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(plain)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]


def test_age_opens_the_package_and_the_manifest_holds(worked: Case, tmp_path: Path):
    key, public = keypair(tmp_path)
    out = tmp_path / "for-counsel.tar.age"
    made = package.build(worked, out, [package.parse_recipient(f"Ortega & Lane={public}")],
                         package.choose_evidence(worked, [1], False))
    files = open_with_age(out, key)
    manifest = json.loads(files.pop("MANIFEST.json"))
    assert sorted(files) == ["evidence-manifest.json", "evidence/00001-auth.log", "report.html", "timeline.jsonl"]
    for member in manifest["members"]:
        assert hashlib.sha256(files[member["name"]]).hexdigest() == member["sha256"]
    assert files["evidence/00001-auth.log"] == worked.evidence(1).path.read_bytes()
    assert b"Florida" not in files["report.html"] + files["timeline.jsonl"]
    [custody] = worked.entries("evidence.custody")
    assert custody.seq == made.journal_seq
    assert custody.data["package_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest() == made.sha256
    assert custody.data["recipients"] == [{"key": public, "name": "Ortega & Lane"}]
    assert [i["id"] for i in custody.data["items"]] == [1]
    assert worked.verify().ok


@pytest.mark.parametrize("text", ["nope", "age1notreallyakey", "ssh-ed25519 AAAA"])
def test_recipient_must_be_an_age_public_key(text: str):
    with pytest.raises(UsageError, match="is not an age public key"):
        package.parse_recipient(text)


def test_unknown_privileged_or_changed_evidence_is_refused(worked: Case):
    with pytest.raises(UsageError, match="no evidence item 42"):
        package.choose_evidence(worked, [42], False)
    records.mark_privileged(worked, evidence_id=2)
    with pytest.raises(UsageError, match="evidence 2 is marked privileged"):
        package.choose_evidence(worked, [2], False)
    assert [e.id for e in package.choose_evidence(worked, [2], True)] == [2]
    path = worked.evidence(1).path
    os.chmod(path, 0o600)
    path.write_bytes(b"tampered")
    with pytest.raises(IntegrityError, match="evidence 1"):
        package.choose_evidence(worked, [1], False)
