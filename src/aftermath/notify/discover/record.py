"""Writing a scope's outputs all-or-nothing, and recording the run in the case.

Every output is first written to a temporary file beside its target; only when all are written are they
renamed into place, so a failure leaves the old files (or none), never half of a people file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aftermath.notify.discover import report
from aftermath.notify.discover.files import Files, LocalFiles
from aftermath.notify.discover.run import ScopeResult
from aftermath.notify.discover.sql import redact
from aftermath.outputs import write_all  # the outputs of a scope are written together, atomically

if TYPE_CHECKING:
    from aftermath.case import Case


def render(result: ScopeResult, report_path: Path | None, findings_path: Path | None) -> dict[str, str]:
    """The text of each output: "people", and "report" / "findings" when asked for."""
    texts = {"people": report.people_csv(result)}
    if findings_path is not None:
        texts["findings"] = report.findings_csv(result)
    if report_path is not None:
        note = f"all locations are in {findings_path.name}" if findings_path else "use --findings for all locations"
        texts["report"] = report.html_report(result, note)
    return texts


def sha256(text: str) -> str:
    """SHA-256 of the UTF-8 text, hex."""
    return hashlib.sha256(text.encode()).hexdigest()


def summary(result: ScopeResult, texts: dict[str, str]) -> dict[str, Any]:
    """The run's facts for the journal and ``--json``: sources, counts, hashes. No sensitive value."""
    return {
        "sources": [redact(s) if "://" in s else s for s in result.sources],
        "snapshot": result.snapshot,
        "people": len(result.people),
        "unaffected": result.merged.unaffected,
        "rows_scanned": result.rows_scanned,
        "cells": result.cells,
        "elements": result.element_counts(),
        "residence": result.state_counts(),
        "residence_unknown": result.residence_unknown(),
        "residence_warning": result.residence_warning(),
        "damaged_values": sum(n for *_, n in result.damaged()),
        "address_flags": sum(len(f) for f in result.merged.flags.values()),
        "rows_skipped": len(result.skipped_rows),
        "rows_unattributed": len(result.merged.unattributed),
        "files_skipped": len(result.skipped_files),
        "skipped_files": [{"path": path, "why": why} for path, why in result.skipped_files],
        "seconds": round(result.seconds, 2),
        "sha256": {name: sha256(text) for name, text in texts.items()},
    }


def journal(case: Case, result: ScopeResult, texts: dict[str, str]) -> dict[str, Any]:
    """Keep the outputs as case documents and add one ``notify.scope`` journal entry."""
    case.save_document("notify-people", "people.csv", texts["people"].encode(), source="notify scope",
                       description=f"{len(result.people)} affected people")
    if "report" in texts:
        case.save_document("notify-scope-report", "scope-report.html", texts["report"].encode(),
                           source="notify scope")
    if "findings" in texts:
        case.save_document("notify-findings", "findings.csv", texts["findings"].encode(), source="notify scope")
    data = summary(result, texts)
    case.write("notify.scope", ", ".join(data["sources"]), data)
    return data


def open_snapshot(location: str, password: bytes, snapshot_id: str) -> Files:
    """The files of one snapshot of a restic repository (through the native reader)."""
    from aftermath.notify.discover.files import SnapshotFiles  # noqa: PLC0415
    from aftermath.restic import Repository  # noqa: PLC0415 - the reader is only needed for snapshots

    repo = Repository.open(location, password)
    return SnapshotFiles(repo, repo.snapshot(snapshot_id))


__all__ = ["LocalFiles", "journal", "open_snapshot", "render", "summary", "write_all"]
