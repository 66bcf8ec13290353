"""The restore workflow end to end against a repository written by the real restic binary."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from aftermath.case import Case
from aftermath.errors import StateError, StorageError
from aftermath.recover import workflow
from aftermath.restic import Repository


def restic(case: Case, *args: str, cwd: Path | None = None) -> str:
    env = {**os.environ, **case.config.repository.restic_env(case.root)}
    return subprocess.run(["restic", *args], env=env, check=True, capture_output=True, text=True, cwd=cwd).stdout


@pytest.fixture()
def breached(case: Case, tmp_path: Path):
    """Four days of a file share: clean, clean with new work, a web shell, then encryption."""
    share = tmp_path / "srv" / "share"
    (share / "docs").mkdir(parents=True)
    restic(case, "init")
    (share / "docs" / "a.txt").write_text("version 1\n")
    (share / "run.sh").write_text("#!/bin/sh\necho backup\n")
    os.chmod(share / "run.sh", 0o750)
    restic(case, "backup", "--time", "2026-11-01 10:00:00", str(share))
    (share / "docs" / "a.txt").write_text("version 2: a day of work\n")
    restic(case, "backup", "--time", "2026-11-02 10:00:00", str(share))
    (share / "shell.php").write_text("<?php eval($_POST['c']); ?>")
    (share / "docs" / "a.txt").write_text("version 3: more work after the attacker arrived\n")
    (share / "docs" / "notes.txt").write_text("written after the compromise\n")
    restic(case, "backup", "--time", "2026-11-03 10:00:00", str(share))
    (share / "docs" / "a.txt").unlink()
    (share / "docs" / "a.txt.locked").write_bytes(os.urandom(300))
    (share / "README-DECRYPT.txt").write_text("pay bitcoin to abcdefghijklmnop.onion")
    restic(case, "backup", "--time", "2026-11-04 10:00:00", str(share))
    repo = Repository.open(case.config.repository.location(case.root), case.config.repository.password(case.root))
    snaps = repo.snapshots()
    verdicts = ["clean", "clean", "infected", "encrypted"]
    review = {
        "repository": "r", "last_clean": snaps[1].id, "stats": {},
        "snapshots": [{"id": s.id, "time": s.time.isoformat(), "paths": s.paths, "verdict": v, "findings": []}
                      for s, v in zip(snaps, verdicts, strict=True)],
        "findings": [
            {"kind": "infected", "rule": "php_webshell", "path": f"{share}/shell.php", "sha256": "x",
             "first_seen": snaps[2].id, "last_seen": snaps[3].id, "snapshots": [snaps[2].id, snaps[3].id]},
            {"kind": "encrypted", "rule": "ransom_note", "path": f"{share}/README-DECRYPT.txt", "sha256": "y",
             "first_seen": snaps[3].id, "last_seen": snaps[3].id, "snapshots": [snaps[3].id]},
        ],
    }
    review_path = tmp_path / "review.json"
    review_path.write_text(json.dumps(review))
    return case, repo, share, snaps, review_path


def test_surgical_restore_plan_apply_verify_promote(breached, tmp_path: Path):
    case, repo, share, snaps, review_path = breached
    plan = workflow.make_plan(case, repo, "r", "surgical", review_path)
    by_path = {e.path: e for e in plan.entries}
    assert by_path[f"{share}/docs/a.txt"].action == "restore"
    assert by_path[f"{share}/docs/a.txt"].snapshot == snaps[2].id  # day 3's clean work kept
    assert by_path[f"{share}/shell.php"].action == "hold"
    assert by_path[f"{share}/docs/notes.txt"].action == "decide"
    assert f"{share}/docs/a.txt.locked" not in by_path
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan.to_json()))
    with pytest.raises(StateError, match="not approved"):
        workflow.apply(case, repo, plan_file, tmp_path / "staging")
    workflow.approve(case, plan_file)
    staging = tmp_path / "staging"
    result = workflow.apply(case, repo, plan_file, staging)
    staged_share = staging / str(share).lstrip("/")
    assert (staged_share / "docs" / "a.txt").read_text() == "version 3: more work after the attacker arrived\n"
    assert (staged_share / "run.sh").stat().st_mode & 0o777 == 0o750
    assert not (staged_share / "shell.php").exists() and not (staged_share / "docs" / "notes.txt").exists()
    held = [e for e in case.evidence_items() if e.name == "shell.php"]
    assert held and held[0].path.read_bytes() == b"<?php eval($_POST['c']); ?>"
    assert result.written == 2 and result.failed == []
    checked = workflow.verify(case, repo, plan_file, staging)
    assert checked.ok, checked.problems
    target = tmp_path / "live"
    target.mkdir()
    (target / "old.txt").write_text("the broken tree")
    promoted = workflow.promote(case, staged_share, target)
    assert (target / "docs" / "a.txt").exists()
    assert promoted.kept_old is not None and (promoted.kept_old / "old.txt").read_text() == "the broken tree"
    assert [e.action for e in case.entries("restore.")] == [
        "restore.plan", "restore.approve", "restore.apply.start", "restore.apply", "restore.verify",
        "restore.promote"]


def test_last_clean_plan_restores_day_two(breached):
    case, repo, share, snaps, review_path = breached
    plan = workflow.make_plan(case, repo, "r", "last-clean", review_path)
    assert {e.snapshot for e in plan.entries} == {snaps[1].id}
    assert f"{share}/shell.php" not in {e.path for e in plan.entries}


def _approved_plan(case, repo, review_path, tmp_path):
    plan = workflow.make_plan(case, repo, "r", "surgical", review_path)
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan.to_json()))
    workflow.approve(case, plan_file)
    return plan, plan_file


def test_staging_must_be_empty(breached, tmp_path: Path):
    case, repo, _share, _snaps, review_path = breached
    _plan, plan_file = _approved_plan(case, repo, review_path, tmp_path)
    staging = tmp_path / "busy"
    staging.mkdir()
    (staging / "x").write_text("someone's file")
    with pytest.raises(StateError, match="not empty"):
        workflow.apply(case, repo, plan_file, staging)
    assert (staging / "x").read_text() == "someone's file"


def test_changed_staging_tree_is_not_promoted_and_verify_names_the_file(breached, tmp_path: Path):
    case, repo, share, _snaps, review_path = breached
    _plan, plan_file = _approved_plan(case, repo, review_path, tmp_path)
    staging = tmp_path / "staging"
    workflow.apply(case, repo, plan_file, staging)
    assert workflow.verify(case, repo, plan_file, staging).ok
    victim = staging / str(share).lstrip("/") / "docs" / "a.txt"
    victim.write_text("tampered")
    with pytest.raises(StateError, match="changed since"):
        workflow.promote(case, staging, tmp_path / "live")
    result = workflow.verify(case, repo, plan_file, staging)
    assert not result.ok and any("docs/a.txt" in p for p in result.problems)


def test_corrupted_blob_fails_its_file_only_and_verify_names_it(breached, tmp_path: Path):
    case, repo, share, _snaps, review_path = breached
    plan, plan_file = _approved_plan(case, repo, review_path, tmp_path)
    target = next(e for e in plan.entries if e.path.endswith("docs/a.txt"))
    loc = repo.locate(target.identity[0])
    assert loc is not None
    pack = repo.pack_path(loc.pack_id)
    os.chmod(pack, 0o644)
    data = bytearray(pack.read_bytes())
    data[loc.offset + 20] ^= 0xFF
    pack.write_bytes(bytes(data))
    fresh = Repository.open(case.config.repository.location(case.root), case.config.repository.password(case.root))
    staging = tmp_path / "staging"
    result = workflow.apply(case, fresh, plan_file, staging)
    assert [f["path"] for f in result.failed] == [target.path]
    assert result.written >= 1
    checked = workflow.verify(case, fresh, plan_file, staging)
    assert not checked.ok and any("docs/a.txt" in p for p in checked.problems)


def test_crash_half_way_resumes_and_verifies(breached, tmp_path: Path):
    case, repo, share, _snaps, review_path = breached
    _plan, plan_file = _approved_plan(case, repo, review_path, tmp_path)
    staging = tmp_path / "staging"
    calls = {"n": 0}

    def crash(_n: int, _path: str) -> None:
        calls["n"] += 1
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        workflow.apply(case, repo, plan_file, staging, progress=crash)
    assert not list(staging.rglob("*.aftermath-part"))
    again = workflow.apply(case, repo, plan_file, staging)
    assert again.resumed >= 1
    assert workflow.verify(case, repo, plan_file, staging).ok


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount a small tmpfs")
def test_disk_full_is_a_clear_error_and_resumes_after_space_is_freed(case: Case, tmp_path: Path):
    src = tmp_path / "big"
    src.mkdir()
    (src / "one.bin").write_bytes(os.urandom(600_000))
    (src / "two.bin").write_bytes(os.urandom(600_000))
    restic(case, "init")
    restic(case, "backup", str(src))
    repo = Repository.open(case.config.repository.location(case.root), case.config.repository.password(case.root))
    plan = workflow.make_plan(case, repo, "r", "last-clean", None, snapshot=repo.snapshots()[0].id)
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan.to_json()))
    workflow.approve(case, plan_file)
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    try:
        with pytest.raises(StorageError, match="no space left"):
            workflow.apply(case, repo, plan_file, mount / "staging")
        assert not list(mount.rglob("*.aftermath-part"))
        subprocess.run(["mount", "-o", "remount,size=4m", str(mount)], check=True)
        workflow.apply(case, repo, plan_file, mount / "staging")
        assert workflow.verify(case, repo, plan_file, mount / "staging").ok
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_target_on_another_filesystem_is_refused(breached, tmp_path: Path):
    case, repo, share, _snaps, review_path = breached
    _plan, plan_file = _approved_plan(case, repo, review_path, tmp_path)
    staging = tmp_path / "staging"
    workflow.apply(case, repo, plan_file, staging)
    assert workflow.verify(case, repo, plan_file, staging).ok
    with pytest.raises(StateError, match="another filesystem"):
        workflow.promote(case, staging, Path("/dev/shm") / f"aftermath-test-{os.getpid()}")


def test_plan_whose_snapshot_was_pruned_is_refused(breached, tmp_path: Path):
    case, repo, _share, snaps, review_path = breached
    _plan, plan_file = _approved_plan(case, repo, review_path, tmp_path)
    restic(case, "forget", snaps[2].id, "--prune")
    fresh = Repository.open(case.config.repository.location(case.root), case.config.repository.password(case.root))
    with pytest.raises(StateError, match="pruned"):
        workflow.apply(case, fresh, plan_file, tmp_path / "staging")


def test_a_single_verified_file_can_be_promoted(breached, tmp_path: Path):
    case, repo, share, _snaps, review_path = breached
    _plan, plan_file = _approved_plan(case, repo, review_path, tmp_path)
    staging = tmp_path / "staging"
    workflow.apply(case, repo, plan_file, staging)
    assert workflow.verify(case, repo, plan_file, staging).ok
    live = tmp_path / "a.txt"
    live.write_text("encrypted garbage")
    result = workflow.promote(case, staging / str(share).lstrip("/") / "docs" / "a.txt", live)
    assert live.read_text().startswith("version 3")
    assert result.kept_old is not None and result.kept_old.read_text() == "encrypted garbage"
