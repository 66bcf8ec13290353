"""Sources, the repository and ``protect run``: one snapshot and one manifest per source.

Each source becomes its own restic snapshot tagged ``aftermath:source=NAME``, so later steps
(review, restore) know which snapshot holds which source. The manifest is kept in the case with
``case.save_document`` and its SHA-256 goes into the journal entry ``protect.snapshot``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from aftermath.case import journal, lock
from aftermath.case.config import Source, check_name
from aftermath.errors import AftermathError, SourceError, ToolError, UsageError, from_os_error
from aftermath.protect import postgres_db, sqlite_db
from aftermath.protect.manifest import Contents, Manifest, folder_contents
from aftermath.protect.restic_cli import BackupResult, Lock, Restic, dead_locks, redact, this_host

if TYPE_CHECKING:
    from aftermath.case import Case

TAG = "aftermath"
SOURCE_TAG = "aftermath:source="
STAGING_PREFIX = "sqlite-copy-"
ProgressCallback = Callable[[str, dict[str, Any]], None]


def source_tag(name: str) -> str:
    """The restic tag that marks a snapshot as holding source ``name``."""
    return SOURCE_TAG + name


def source_of(tags: list[str]) -> str | None:
    """The source name carried in a snapshot's tags, if any."""
    return next((t[len(SOURCE_TAG):] for t in tags if t.startswith(SOURCE_TAG)), None)


def stored_name(source: Source) -> str:
    """Where a source's data sits inside its snapshot."""
    if source.kind == "path":
        return str(Path(source.path or "").resolve())
    return f"/{source.name}.{'dump' if source.kind == 'postgres' else 'sqlite'}"


def describe(source: Source) -> str:
    """A display form of the source's target (credentials hidden)."""
    if source.kind == "postgres":
        target = postgres_db.Target.from_url(source.url or "")
        return target.conninfo
    return str(source.path)


def restic_for(case: Case) -> Restic:
    """The restic adapter for this case's repository (password via file, env or command)."""
    cache = case.root / ".aftermath" / "restic-cache"
    return Restic(case.config.repository.restic_env(case.root), cache_dir=cache)


# -- sources -----------------------------------------------------------------------------
def add_source(case: Case, name: str, *, path: Path | None = None, sqlite: Path | None = None,
               postgres: str | None = None) -> Source:
    """Add a source to aftermath.toml and journal it."""
    check_name(name)
    if sum(x is not None for x in (path, sqlite, postgres)) != 1:
        raise UsageError("give exactly one of --path, --sqlite or --postgres")
    if any(s.name == name for s in case.config.protect.sources):
        raise UsageError(f"a source named {name} exists already: choose another name")
    if path is not None:
        if not path.is_dir():
            raise SourceError(f"folder {path} does not exist: check the path")
        source = Source(name=name, kind="path", path=str(path.resolve()))
    elif sqlite is not None:
        try:
            sqlite_db.check_is_sqlite(sqlite)
        except SourceError as exc:  # a wrong file named on the command line is a usage error
            raise UsageError(exc.message) from exc
        source = Source(name=name, kind="sqlite", path=str(sqlite.resolve()))
    else:
        postgres_db.Target.from_url(postgres or "")
        source = Source(name=name, kind="postgres", url=postgres)
    case.config.protect.sources.append(source)
    case.save_config()
    case.write("protect.source.add", name, {"kind": source.kind, "target": describe(source)})
    return source


# -- repository --------------------------------------------------------------------------
def init_repository(case: Case) -> tuple[bool, str]:
    """Open the repository, creating it when there is none. Returns (created, repository id)."""
    restic = restic_for(case)
    created = False
    try:
        config = restic.config()
    except AftermathError as exc:
        if exc.exit_code != 5:  # a wrong password must never lead to a second repository
            raise
        restic.init()
        config, created = restic.config(), True
    repo_id = str(config.get("id", ""))
    case.write("protect.init", redact(case.config.repository.location(case.root)),
               {"created": created, "repository_id": repo_id, "version": config.get("version")})
    return created, repo_id


def clear_dead_locks(case: Case, restic: Restic) -> list[Lock]:
    """Remove locks left by restic processes on this host that died; live ones are left alone."""
    dead = dead_locks(restic.locks(), this_host(), psutil.pid_exists)
    if dead:
        restic.unlock()
        case.write("protect.unlock", "stale locks", {"locks": [{"id": lk.id[:8], "pid": lk.pid} for lk in dead]})
    return dead


# -- run ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Taken:
    """A snapshot taken for one source."""

    source: str
    snapshot_id: str
    manifest: Manifest
    result: BackupResult


@dataclass
class RunReport:
    """What ``protect run`` did: snapshots taken and sources that failed."""

    taken: list[Taken] = field(default_factory=list)
    failed: list[tuple[str, AftermathError]] = field(default_factory=list)


def run(case: Case, time: datetime | None = None, on_status: ProgressCallback | None = None,
        only: list[str] | None = None) -> RunReport:
    """Back up every source (or ``only`` some); a failing source is reported and the others go on."""
    from aftermath.case import actor

    check_time(time, datetime.now(UTC))
    sources = [s for s in case.config.protect.sources if not only or s.name in only]
    if not sources:
        raise UsageError("no sources to back up: add one with 'aftermath protect add NAME --path DIR'")
    with lock.held(case.root, "protect-run", actor()):
        return _run(case, sources, time, on_status)


def check_time(time: datetime | None, now: datetime) -> None:
    """A snapshot may be recorded in the past (importing old data), never in the future."""
    if time is not None:
        journal.check_past(time, now, "--time", "give the time the data is from, or leave out --time")


def _run(case: Case, sources: list[Source], time: datetime | None,
         on_status: ProgressCallback | None) -> RunReport:
    _remove_stale_copies(case)  # left by a run that was killed: no other run holds the lock now
    restic = restic_for(case)
    # listing locks opens the repository: a wrong password or a missing repository stops here, before any work
    clear_dead_locks(case, restic)
    report = RunReport()
    done: list[tuple[Source, Contents, BackupResult]] = []
    for source in sources:
        try:
            done.append((source, *_take(case, restic, source, time, on_status)))
        except (SourceError, ToolError) as exc:
            case.write("protect.failed", source.name, {"error": exc.message})
            report.failed.append((source.name, exc))
    full = restic.full_ids([result.snapshot_id for _, _, result in done])
    for source, contents, result in done:
        result = replace(result, snapshot_id=full[result.snapshot_id])
        report.taken.append(_record(case, source, contents, result, time))
    return report


def _take(case: Case, restic: Restic, source: Source, time: datetime | None,
          on_status: ProgressCallback | None) -> tuple[Contents, BackupResult]:
    tags = [TAG, source_tag(source.name)]

    def status(msg: dict[str, Any]) -> None:
        if on_status is not None:
            on_status(source.name, msg)

    if source.kind == "path":
        return _backup_folder(restic, source, tags, time, status)
    if source.kind == "sqlite":
        return _backup_sqlite(case, restic, source, tags, time, status)
    return _backup_postgres(restic, source, tags, time, status)


def _backup_folder(restic: Restic, source: Source, tags: list[str], time: datetime | None,
                   status: Callable[[dict[str, Any]], None]) -> tuple[Contents, BackupResult]:
    folder = Path(source.path or "")
    if not folder.is_dir():
        raise SourceError(f"source {source.name}: folder {folder} is gone or not a folder: restore it or remove "
                          "the source from aftermath.toml")
    contents = folder_contents(folder)
    return contents, restic.backup_path(folder.resolve(), tags, time, status)


def _staging(case: Case) -> Path:
    return case.root / ".aftermath" / "tmp"


def _remove_stale_copies(case: Case) -> None:
    for leftover in _staging(case).glob(f"{STAGING_PREFIX}*.sqlite"):
        leftover.unlink(missing_ok=True)


def _backup_sqlite(case: Case, restic: Restic, source: Source, tags: list[str], time: datetime | None,
                   status: Callable[[dict[str, Any]], None]) -> tuple[Contents, BackupResult]:
    staging = _staging(case)
    staging.mkdir(parents=True, exist_ok=True)
    os.chmod(staging, 0o700)
    fd, name = tempfile.mkstemp(dir=staging, prefix=STAGING_PREFIX, suffix=".sqlite")
    os.close(fd)
    copy = Path(name)
    try:
        try:
            sqlite_db.backup_copy(Path(source.path or ""), copy, case.config.protect.lock_timeout_seconds)
        except OSError as exc:
            raise from_os_error(exc, f"copying {source.name}") from exc
        contents = sqlite_db.table_contents(copy)  # from the copy: exactly what the snapshot holds
        with copy.open("rb") as fh:
            result = restic.backup_stdin(stored_name(source).lstrip("/"), fh, tags, time, status)
    finally:
        copy.unlink(missing_ok=True)
    return contents, result


def _backup_postgres(restic: Restic, source: Source, tags: list[str], time: datetime | None,
                     status: Callable[[dict[str, Any]], None]) -> tuple[Contents, BackupResult]:
    target = postgres_db.Target.from_url(source.url or "")
    with postgres_db.exported_snapshot(target) as (conn, snapshot), postgres_db.tool_env(target) as env:
        contents = postgres_db.table_contents(conn)
        dump = postgres_db.start_dump(target, snapshot, env)
        assert dump.stdout is not None  # noqa: S101 - started with stdout=PIPE
        try:
            result = restic.backup_stdin(stored_name(source).lstrip("/"), dump.stdout, tags, time, status)
        except BaseException:
            dump.kill()
            raise
        finally:
            dump.stdout.close()
        try:
            postgres_db.finish_dump(dump, target)
        except SourceError:
            restic.forget_ids([result.snapshot_id])  # a snapshot of half a dump must not look like a backup
            raise
    return contents, result


def _record(case: Case, source: Source, contents: Contents, result: BackupResult, time: datetime | None) -> Taken:
    snap_time = (time or datetime.now().astimezone()).isoformat()
    manifest = Manifest(source.name, source.kind, result.snapshot_id, snap_time, stored_name(source), contents,
                        result.incomplete)
    doc = case.save_document("manifest", f"manifest-{source.name}-{result.snapshot_id[:8]}.json",
                             manifest.to_json(), description=f"protect manifest of snapshot {result.snapshot_id[:8]}")
    case.write("protect.snapshot", source.name, {
        "source": source.name, "kind": source.kind, "snapshot": result.snapshot_id, "time": snap_time,
        "manifest_sha256": doc.sha256, "manifest_id": doc.id, "files": contents.files, "bytes": contents.bytes,
        "tables": len(contents.tables), "added": result.added, "incomplete": result.incomplete,
        "warnings": result.warnings[:5]})
    return Taken(source.name, result.snapshot_id, manifest, result)
