"""The hand-over package: report, timeline, evidence manifest and chosen evidence, encrypted with age.

The package is a tar inside an age file (pyrage), readable by the standard ``age`` tool with the
recipient's identity. Its first member, ``MANIFEST.json``, lists every other member with its SHA-256
and size. Each included evidence file is re-hashed before it goes in. The hand-over is one custody entry
in the journal (to whom, with their public key, what, when, the package's hash), written before the
package appears under its final name: a failure leaves neither a package nor a false record.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from aftermath.case.core import Case, Evidence
from aftermath.case.hashing import hash_file
from aftermath.consult import output, records
from aftermath.errors import UsageError, from_os_error

MANIFEST = "MANIFEST.json"


@dataclass(frozen=True)
class Recipient:
    """An age recipient: its public key and, for the record, who holds it."""

    key: str
    name: str


@dataclass(frozen=True)
class Package:
    """What was written and journaled."""

    path: Path
    sha256: str
    size: int
    members: list[dict[str, Any]]
    evidence: list[int]
    journal_seq: int


def parse_recipient(text: str) -> Recipient:
    """``age1...`` or ``NAME=age1...``; anything else is a usage error (checked by age itself)."""
    import pyrage

    name, sep, key = text.rpartition("=")
    key = key.strip()
    try:
        pyrage.x25519.Recipient.from_str(key)
    except pyrage.RecipientError as exc:
        raise UsageError(f"{key[:20]!r} is not an age public key (age1...): ask the recipient for the output of "
                         f"'age-keygen -y' ({exc})") from exc
    return Recipient(key, name.strip() if sep else key[:12] + "…")


def choose_evidence(case: Case, ids: Sequence[int], include_privileged: bool) -> list[Evidence]:
    """The evidence items asked for, each existing, unchanged on disk, and not privileged without the flag."""
    file = records.load(case)
    items = []
    for evidence_id in ids:
        item = case.evidence(evidence_id)
        if evidence_id in file.privileged_evidence and not include_privileged:
            raise UsageError(f"evidence {evidence_id} is marked privileged: add --include-privileged only at "
                             "counsel's direction")
        case.check_evidence(item)
        items.append(item)
    return items


def documents(case: Case, scratch: Path, include_privileged: bool, pdf: bool) -> dict[str, Path]:
    """The report (HTML, and PDF when asked), the timeline and the evidence manifest, as files in ``scratch``."""
    from aftermath.consult import report, timeline

    data = report.gather(case, include_privileged)
    html = report.render_html(data)
    found = {"report.html": scratch / "report.html", "timeline.jsonl": scratch / "timeline.jsonl",
             "evidence-manifest.json": scratch / "evidence-manifest.json"}
    found["report.html"].write_text(html, encoding="utf-8")
    if pdf:
        found["report.pdf"] = scratch / "report.pdf"
        found["report.pdf"].write_bytes(report.render_pdf(html))
    with found["timeline.jsonl"].open("w", encoding="utf-8") as fh:
        timeline.write_jsonl(timeline.events(case, include_privileged), fh)
    manifest = {"generated": data["generated"], "journal_head": data["head"], "evidence": data["evidence"]}
    found["evidence-manifest.json"].write_text(json.dumps(manifest, indent=1, default=str) + "\n", encoding="utf-8")
    return found


def build(case: Case, out: Path, recipients: Sequence[Recipient], evidence: Sequence[Evidence],
          include_privileged: bool = False, pdf: bool = False) -> Package:
    """Write the encrypted package to ``out`` and journal the hand-over; atomic as far as a reader can tell."""
    import pyrage

    if not recipients:
        raise UsageError("a package needs at least one --recipient (an age public key)")
    output.check_target(out)
    keys = [pyrage.x25519.Recipient.from_str(r.key) for r in recipients]
    with tempfile.TemporaryDirectory(dir=output.tmp_dir(case)) as scratch:
        docs = documents(case, Path(scratch), include_privileged, pdf)
        members = _members(docs, evidence)
        plain = Path(scratch) / "package.tar"
        _write_tar(plain, members, docs, evidence)
        sealed = out.with_name(f".{out.name}.part")
        try:
            pyrage.encrypt_file(str(plain), str(sealed), keys)
            with sealed.open("rb") as fh:
                os.fsync(fh.fileno())
            digest, size = hash_file(sealed)
            entry = output.journal(case, "evidence.custody", f"package {out.name}", {
                "to": "; ".join(f"{r.name} <{r.key}>" for r in recipients), "from": "",
                "recipients": [r.__dict__ for r in recipients], "package_sha256": digest, "package_size": size,
                "items": [{"id": e.id, "sha256": e.sha256, "name": e.name} for e in evidence],
                "members": [{k: m[k] for k in ("name", "sha256", "size")} for m in members],
                "note": "age-encrypted hand-over package"})
            sealed.replace(out)
        except OSError as exc:
            raise from_os_error(exc, f"writing the package {out}") from exc
        finally:
            sealed.unlink(missing_ok=True)
    return Package(out, digest, size, members, [e.id for e in evidence], entry.seq)


def _members(docs: dict[str, Path], evidence: Sequence[Evidence]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for name, path in docs.items():
        digest, size = hash_file(path)
        found.append({"name": name, "sha256": digest, "size": size, "kind": "document"})
    found += [{"name": evidence_name(e), "sha256": e.sha256, "size": e.size, "kind": "evidence", "evidence_id": e.id,
               "collector": e.collector, "collected_at": e.collected_at, "source": e.source} for e in evidence]
    return found


def evidence_name(item: Evidence) -> str:
    """Where an evidence file sits inside the package."""
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in item.name)[:100]
    return f"evidence/{item.id:05d}-{safe}"


def manifest_bytes(members: Iterable[dict[str, Any]]) -> bytes:
    """The package manifest: every member with its SHA-256 and size."""
    return (json.dumps({"format": "aftermath-package/1", "members": list(members)}, indent=1) + "\n").encode()


def _write_tar(path: Path, members: list[dict[str, Any]], docs: dict[str, Path],
               evidence: Sequence[Evidence]) -> None:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        data = manifest_bytes(members)
        _add(tar, MANIFEST, len(data), io.BytesIO(data))
        for name, doc in docs.items():
            with doc.open("rb") as fh:
                _add(tar, name, doc.stat().st_size, fh)
        for item in evidence:
            with item.path.open("rb") as fh:
                _add(tar, evidence_name(item), item.size, fh)


def _add(tar: tarfile.TarFile, name: str, size: int, fh: IO[bytes]) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o440, int(time.time())
    tar.addfile(info, fh)
