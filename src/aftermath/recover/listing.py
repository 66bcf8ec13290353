"""Turn a repository and a review into the planner's inputs (the only part of planning that reads)."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aftermath.errors import UsageError
from aftermath.recover.plan import ReviewFacts, SnapshotInfo, Version
from aftermath.restic import Node, Repository, Snapshot


def group_of(snapshot: Snapshot) -> str:
    """restic's default grouping: host and paths."""
    return f"{snapshot.hostname}:{','.join(sorted(snapshot.paths))}"


def snapshot_infos(snapshots: list[Snapshot], facts: ReviewFacts) -> list[SnapshotInfo]:
    """Snapshots with the review's verdicts (unreviewed snapshots count as clean only if the review is older)."""
    return [SnapshotInfo(s.id, s.time, group_of(s), facts.verdicts.get(s.id, "unreviewed")) for s in snapshots]


def list_versions(repo: Repository, snapshots: list[Snapshot]) -> dict[str, dict[str, Version]]:
    """Every path of every snapshot, walking each distinct subtree once."""
    flat: dict[str, list[tuple[str, Node]]] = {}
    out: dict[str, dict[str, Version]] = {}
    for snap in snapshots:
        files: dict[str, Version] = {}
        for path, node in _flatten(repo, snap.tree, flat):
            files[path] = Version(snap.id, snap.time, path, node.type, node.identity, node.size, node.mode,
                                  node.mtime, node.linktarget)
        out[snap.id] = files
    return out


def _flatten(repo: Repository, tree_id: str, memo: dict[str, list[tuple[str, Node]]]) -> list[tuple[str, Node]]:
    if tree_id in memo:
        return memo[tree_id]
    result: list[tuple[str, Node]] = []
    for node in repo.tree(tree_id):
        path = "/" + node.name
        result.append((path, node))
        if node.type == "dir" and node.subtree:
            result.extend((path + sub, child) for sub, child in _flatten(repo, node.subtree, memo))
    memo[tree_id] = result
    return result


def facts_from_review(review: Mapping[str, Any]) -> ReviewFacts:
    """Read verdicts, flagged (path, snapshot) pairs and the last clean point from a review's JSON."""
    try:
        verdicts = {s["id"]: s["verdict"] for s in review["snapshots"]}
        flagged: dict[tuple[str, str], list[str]] = defaultdict(list)
        for finding in review["findings"]:
            for snap_id in finding["snapshots"]:
                flagged[(finding["path"], snap_id)].append(f"{finding['kind']}: {finding['rule']}")
        last_clean = review.get("last_clean")
    except (KeyError, TypeError) as exc:
        raise UsageError(f"the review file lacks {exc}: pass the JSON written by 'aftermath review --json'") from exc
    return ReviewFacts(verdicts, {k: tuple(v) for k, v in flagged.items()}, last_clean)


def load_review(path: Path) -> tuple[dict[str, Any], str]:
    """A review JSON file and its SHA-256."""
    try:
        raw = path.read_bytes()
        data = json.loads(raw)
    except OSError as exc:
        raise UsageError(f"cannot read review {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not JSON (line {exc.lineno}): pass what 'aftermath review --json' wrote") from exc
    if not isinstance(data, dict):
        raise UsageError(f"{path} is not a review: pass the file 'aftermath review --json' wrote")
    return data, hashlib.sha256(raw).hexdigest()
