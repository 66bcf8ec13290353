"""Apply a restore plan into a staging folder, straight from the repository through the native reader.

Each file is written to a ``.aftermath-part`` name while its SHA-256 is computed, then renamed into
place with its mode and times; a line in the restore's state log records it. A crash leaves at most
one part file; running apply again removes it and resumes after the last recorded file. A blob that
fails authentication fails only its file: it is reported, and the restore goes on. Held-back and
flagged files never reach the staging folder: they go into the case's evidence, hashed.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aftermath.case import hash_file
from aftermath.errors import StateError, StorageError, from_os_error
from aftermath.recover.plan import Entry, Plan
from aftermath.restic import BlobError, Repository

if TYPE_CHECKING:
    from aftermath.case import Case

PART = ".aftermath-part"
Progress = Callable[[int, str], None]


@dataclass
class ApplyResult:
    """What apply did: files written, resumed, held as evidence, failed (with why), left for a person."""

    written: int = 0
    resumed: int = 0
    bytes: int = 0
    evidence: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    decide: list[str] = field(default_factory=list)


def state_path(case: Case, staging: Path) -> Path:
    """Where the restore state of a staging folder lives: in the case, never inside the staging tree."""
    key = hashlib.sha256(str(staging.resolve()).encode()).hexdigest()[:16]
    folder = case.root / ".aftermath" / "restores"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{key}.jsonl"


def read_state(path: Path) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
    """The header and the per-path records of a state log (a torn last line is ignored)."""
    if not path.exists():
        return None, {}
    header, records = None, {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue  # a crash while appending: the file it names is redone
        if "plan" in item:
            header = item
        else:
            records[item["path"]] = item
    return header, records


def staged_path(staging: Path, path: str) -> Path:
    """Where a repository path lands in staging (as restic restore lays it out)."""
    return staging / path.lstrip("/")


def prepare_staging(staging: Path, state: Path, plan_sha: str) -> dict[str, dict[str, Any]]:
    """Check the staging folder is new, empty, or a resumable restore of this same plan."""
    header, records = read_state(state)
    if staging.exists() and any(staging.iterdir()):
        if header is None or header.get("plan") != plan_sha:
            raise StateError(f"staging folder {staging} is not empty: choose a new or empty folder")
        for part in staging.rglob(f"*{PART}"):
            part.unlink()
        return {p: r for p, r in records.items() if r.get("status") == "ok"}
    try:
        staging.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise from_os_error(exc, f"creating {staging}") from exc
    with state.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps({"plan": plan_sha, "staging": str(staging.resolve())}) + "\n")
    return {}


def _write_file(repo: Repository, entry: Entry, target: Path) -> tuple[str, int]:
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + PART)
    digest, size = hashlib.sha256(), 0
    try:
        with part.open("wb") as fh:
            for blob_id in entry.identity:
                data = repo.read_blob(blob_id)
                digest.update(data)
                fh.write(data)
                size += len(data)
        os.chmod(part, entry.mode & 0o7777)
        _set_mtime(part, entry.mtime)
        os.replace(part, target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return digest.hexdigest(), size


def _set_mtime(path: Path, mtime: str | None, follow: bool = True) -> None:
    if mtime:
        stamp = datetime.fromisoformat(mtime).timestamp()
        os.utime(path, (stamp, stamp), follow_symlinks=follow)


def _restore_one(repo: Repository, entry: Entry, staging: Path) -> dict[str, Any]:
    target = staged_path(staging, entry.path)
    if entry.type == "dir":
        target.mkdir(parents=True, exist_ok=True)
        return {"path": entry.path, "status": "ok", "type": "dir"}
    if entry.type == "symlink":
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink():
            target.unlink()
        os.symlink(entry.linktarget or "", target)
        return {"path": entry.path, "status": "ok", "type": "symlink"}
    if entry.type != "file":
        return {"path": entry.path, "status": "skipped", "error": f"{entry.type} nodes are not restored"}
    try:
        sha, size = _write_file(repo, entry, target)
    except BlobError as exc:
        return {"path": entry.path, "status": "failed", "error": exc.message}
    return {"path": entry.path, "status": "ok", "type": "file", "sha256": sha, "size": size}


def apply_plan(case: Case, repo: Repository, plan: Plan, plan_sha: str, staging: Path,
               progress: Progress | None = None, workers: int = 2) -> ApplyResult:
    """Restore every ``restore`` entry into ``staging``; held entries go to evidence; see module docs."""
    missing = sorted({e.snapshot for e in plan.entries if e.snapshot} - {s.id for s in repo.snapshots()})
    if missing:
        raise StateError(f"snapshot {missing[0][:8]} of the plan is no longer in the repository (pruned since): "
                         "review again and make a new plan")
    state = state_path(case, staging)
    done = prepare_staging(staging, state, plan_sha)
    result = ApplyResult(resumed=len(done), decide=[e.path for e in plan.entries if e.action == "decide"])
    todo = [e for e in plan.entries if e.action == "restore" and e.path not in done]
    with state.open("a", encoding="utf-8") as log:
        for record in _run(repo, todo, staging, workers):
            log.write(json.dumps(record) + "\n")
            log.flush()
            _account(result, record, progress)
    _fix_dir_times(plan, staging)
    result.evidence = _hold_as_evidence(case, repo, plan)
    return result


def _run(repo: Repository, todo: list[Entry], staging: Path, workers: int) -> Iterator[dict[str, Any]]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_restore_one, repo, e, staging) for e in todo]
        try:
            for future in futures:
                yield future.result()
        except OSError as exc:
            for f in futures:
                f.cancel()
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StorageError(f"no space left in {staging}: free space, then run the same apply again "
                                   "to resume") from exc
            raise from_os_error(exc, f"restoring into {staging}") from exc


def _account(result: ApplyResult, record: dict[str, Any], progress: Progress | None) -> None:
    if record["status"] == "failed":
        result.failed.append({"path": record["path"], "error": record["error"]})
    elif record.get("type") == "file":
        result.written += 1
        result.bytes += record["size"]
    if progress:
        progress(record.get("size", 0), record["path"])


def _fix_dir_times(plan: Plan, staging: Path) -> None:
    dirs = sorted((e for e in plan.entries if e.type == "dir" and e.action == "restore"),
                  key=lambda e: e.path.count("/"), reverse=True)
    for entry in dirs:
        target = staged_path(staging, entry.path)
        if target.is_dir():
            os.chmod(target, (entry.mode & 0o7777) | 0o700)
            _set_mtime(target, entry.mtime)


def _hold_as_evidence(case: Case, repo: Repository, plan: Plan) -> list[dict[str, Any]]:
    """Keep every held-back file's content in the case's evidence, once per distinct content."""
    held: list[dict[str, Any]] = []
    seen = {e.sha256 for e in case.evidence_items("evidence")}
    for entry in (e for e in plan.entries if e.action == "hold" and e.type == "file"):
        with tempfile.NamedTemporaryFile(dir=case.root / ".aftermath", delete=False) as tmp:
            try:
                for blob_id in entry.identity:
                    tmp.write(repo.read_blob(blob_id))
            except BlobError as exc:
                held.append({"path": entry.path, "error": exc.message})
                continue
        tmp_path = Path(tmp.name)
        try:
            sha, _ = hash_file(tmp_path)
            if sha not in seen:
                seen.add(sha)
                item = case.register_evidence(tmp_path, source=f"snapshot {entry.snapshot}:{entry.path}",
                                              description=f"held back from restore: {entry.reason}",
                                              name=Path(entry.path).name)
                held.append({"path": entry.path, "evidence": item.id, "sha256": item.sha256})
        finally:
            tmp_path.unlink(missing_ok=True)
    return held
