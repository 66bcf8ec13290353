"""Put a source back from its newest snapshot (the plain restore after a dead server).

Careful restores (scanning first, last clean point, surgical) belong to ``review`` and ``recover``;
this is the simple path for a server that died with no attacker involved.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from aftermath.errors import StateError, UsageError, from_os_error
from aftermath.protect import records
from aftermath.protect.backup import restic_for

if TYPE_CHECKING:
    from aftermath.case import Case


def restore_latest(case: Case, source_name: str, dest: Path | None = None) -> tuple[str, Path]:
    """Restore the newest snapshot of a folder or SQLite source to ``dest`` (default: where it was).

    Refuses to overwrite: ``dest`` must not exist, or be an empty folder. Returns (snapshot id, dest).
    """
    source = next((s for s in case.config.protect.sources if s.name == source_name), None)
    if source is None:
        raise UsageError(f"no source named {source_name}: see 'aftermath protect sources'")
    if source.kind == "postgres":
        raise UsageError("restore PostgreSQL dumps with pg_restore (see docs/protect.md)")
    record = records.latest_per_source(records.snapshots(case)).get(source_name)
    if record is None:
        raise StateError(f"source {source_name} has no snapshot yet")
    target = (dest or Path(source.path or "")).resolve()
    if target.exists() and not (target.is_dir() and not any(target.iterdir())):
        raise StateError(f"{target} exists and is not empty: move it away or restore elsewhere")
    manifest = records.load_manifest(case, record)
    staging = case.root / ".aftermath" / f"restore-{secrets.token_hex(4)}"
    try:
        staging.mkdir(parents=True, mode=0o700)
        restic_for(case).restore(record.snapshot_id, staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir():
            target.rmdir()
        os.replace(staging / manifest.location.lstrip("/"), target)
    except OSError as exc:
        raise from_os_error(exc, f"restoring {source_name} to {target}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    case.write("protect.restore", source_name, {"snapshot": record.snapshot_id, "target": str(target)})
    return record.snapshot_id, target
