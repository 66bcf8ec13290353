"""Restore drills and repository checks: prove that the backups come back as they went in.

A drill restores a snapshot into a scratch folder, loads each database dump into a fresh scratch
database (PostgreSQL on the source's server, dropped afterwards) or opens the SQLite copy, and
compares what came back with the manifest recorded at backup time.

A drill must prove what a disaster needs: that the backups restore on a machine that has nothing but the
repository and its password (the server that dies takes restic's cache with it). So drills restore with
``--no-cache``: every tree and data pack is read from the repository itself, and damage that a cache
would hide fails the drill.
"""

from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aftermath.errors import AftermathError, IntegrityError, StateError, from_os_error
from aftermath.protect import postgres_db, records, sqlite_db
from aftermath.protect.backup import clear_dead_locks, restic_for, source_of
from aftermath.protect.manifest import Contents, Manifest, Mismatch, compare, folder_contents
from aftermath.protect.restic_cli import Restic

if TYPE_CHECKING:
    from aftermath.case import Case


@dataclass(frozen=True)
class Outcome:
    """The result of drilling one snapshot."""

    source: str
    snapshot_id: str
    ok: bool
    mismatches: list[Mismatch] = field(default_factory=list)
    error: AftermathError | None = None
    when: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def proves(self) -> str:
        """What a passed drill proves, in words (empty when it failed)."""
        return f"restorable from the repository alone, on {self.when:%Y-%m-%d}" if self.ok else ""


def drill(case: Case, snapshot: str | None = None, scratch: Path | None = None) -> list[Outcome]:
    """Drill one snapshot, or the newest snapshot of every source; every result is journaled."""
    history = records.snapshots(case)
    if snapshot:
        targets = [records.find(history, snapshot)]
    else:
        targets = sorted(records.latest_per_source(history).values(), key=lambda r: r.source)
    if not targets:
        raise StateError("no snapshots to drill: run 'aftermath protect run' first")
    restic = restic_for(case)
    clear_dead_locks(case, restic)
    return [_drill_and_record(case, restic, rec, scratch) for rec in targets]


def _drill_and_record(case: Case, restic: Restic, rec: records.SnapshotRecord, scratch: Path | None) -> Outcome:
    try:
        manifest = records.load_manifest(case, rec)
        outcome = _drill_one(case, restic, manifest, scratch)
    except AftermathError as exc:
        named = type(exc)(f"drill of snapshot {rec.snapshot_id[:8]} (source {rec.source}) failed: {exc.message}")
        outcome = Outcome(rec.source, rec.snapshot_id, False, [], named)
    problems = [m.__dict__ for m in outcome.mismatches]
    case.write("protect.drill", rec.source, {
        "source": rec.source, "snapshot": rec.snapshot_id, "ok": outcome.ok, "problems": problems,
        "error": outcome.error.message if outcome.error else None, "cache": "none", "proves": outcome.proves})
    return outcome


def _drill_one(case: Case, restic: Restic, manifest: Manifest, scratch: Path | None) -> Outcome:
    base = scratch or (case.root / ".aftermath" / "drill")
    work = base / f"drill-{manifest.snapshot_id[:8]}-{secrets.token_hex(3)}"
    try:
        work.mkdir(parents=True, mode=0o700)
    except OSError as exc:
        raise from_os_error(exc, f"creating scratch folder {work}") from exc
    try:
        restic.restore(manifest.snapshot_id, work, no_cache=True)
        restored = work / manifest.location.lstrip("/")
        actual = observe(case, manifest, restored)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    mismatches = compare(manifest.contents, actual)
    return Outcome(manifest.source, manifest.snapshot_id, not mismatches, mismatches)


def observe(case: Case, manifest: Manifest, restored: Path) -> Contents:
    """What a restored copy of a snapshot holds, measured the way its manifest was (files, or tables)."""
    if manifest.kind == "path":
        return folder_contents(restored) if restored.is_dir() else Contents(files=0, bytes=0)
    if not restored.is_file():
        return Contents()
    if manifest.kind == "sqlite":
        return sqlite_db.table_contents(restored)
    source = next((s for s in case.config.protect.sources if s.name == manifest.source), None)
    if source is None or not source.url:
        raise StateError(f"source {manifest.source} is no longer configured: add it back to drill its dumps")
    target = postgres_db.Target.from_url(source.url)
    with postgres_db.scratch_database(target) as scratch_db:
        postgres_db.restore_dump(scratch_db, restored)
        return postgres_db.contents_of(scratch_db)


# -- check -------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckReport:
    """``restic check`` with the damaged packs traced to the snapshots (and sources) they belong to."""

    ok: bool
    damaged_packs: list[str]
    snapshots: list[tuple[str, str]]  # (snapshot id, source name)
    errors: list[str]


def check(case: Case, read_data: bool = True) -> CheckReport:
    """Check the repository; when packs are damaged, name every snapshot that uses them."""
    restic = restic_for(case)
    clear_dead_locks(case, restic)
    result = restic.check(read_data=read_data)
    affected: set[str] = set()
    for pack in result.damaged_packs:
        affected |= restic.snapshots_using_pack(pack)
    names = {s.id: source_of(s.tags) or "?" for s in restic.snapshots()}
    snaps = sorted((sid, names.get(sid, "?")) for sid in affected)
    case.write("protect.check", "repository", {"ok": result.ok, "read_data": read_data,
                                                "damaged_packs": result.damaged_packs,
                                                "snapshots": [s for s, _ in snaps], "errors": result.errors[:20]})
    return CheckReport(result.ok, result.damaged_packs, snaps, result.errors)


def damaged_error(report: CheckReport) -> IntegrityError:
    """The one-line error for a damaged repository, naming the affected snapshots."""
    named = ", ".join(f"{sid[:8]} ({src})" for sid, src in report.snapshots) or "none identified"
    packs = ", ".join(p[:8] for p in report.damaged_packs) or "unknown"
    return IntegrityError(f"repository is damaged: pack(s) {packs}; affected snapshots: {named}. "
                          "Do not prune; take a new backup now and restore from an unaffected snapshot")

