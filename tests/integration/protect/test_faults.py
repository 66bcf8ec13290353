"""Bad input and faults: each gives one clear line, a documented exit code, and loses nothing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from aftermath.errors import PasswordError, RepositoryError
from aftermath.protect import backup, drill, records
from tests.conftest import run_cli
from tests.integration.protect.conftest import Protected, make_share


def _one_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_wrong_password_exits_4_and_never_prints_it(protected: Protected):
    backup.run(protected.case)
    pw_file = protected.root / ".aftermath" / "repo-password"
    pw_file.write_text("not-the-password\n")
    with pytest.raises(PasswordError):
        drill.drill(protected.case)
    for args in (("protect", "run"), ("protect", "init")):
        result = run_cli(*args, cwd=protected.root)
        assert result.code == 4, (args, result.err)
        assert "password is wrong" in _one_line(result.err)
        assert "not-the-password" not in result.err + result.out
    # init must not have created a second repository next to the first
    assert len(list((protected.root / "backups" / "keys").iterdir())) == 1


def test_missing_or_unreadable_repository_exits_5(protected: Protected, tmp_path: Path):
    cfg = protected.case.config
    cfg.repository.url = str(tmp_path / "nowhere")
    protected.case.save_config()
    result = run_cli("protect", "run", cwd=protected.root)
    assert result.code == 5
    assert "protect init" in _one_line(result.err)
    (tmp_path / "afile").write_text("not a repository")
    cfg.repository.url = str(tmp_path / "afile")
    with pytest.raises(RepositoryError):
        backup.run(protected.case)
    assert not records.snapshots(protected.case)


def test_vanished_source_exits_7_and_other_sources_are_still_backed_up(protected: Protected):
    shutil.rmtree(protected.share)
    result = run_cli("protect", "run", cwd=protected.root)
    assert result.code == 7
    line = _one_line(result.err)
    assert "share" in line and "gone" in line
    assert [s.source for s in records.snapshots(protected.case)] == ["customers"]
    assert protected.case.entries("protect.failed")[0].subject == "share"


def test_corrupted_pack_is_reported_by_drill_and_check_naming_the_snapshot(protected: Protected):
    report = backup.run(protected.case, only=["share"])
    snap = report.taken[0].snapshot_id
    packs = sorted((protected.root / "backups" / "data").glob("*/*"), key=lambda p: p.stat().st_size)
    biggest = packs[-1]  # the file data, not the small tree pack
    data = bytearray(biggest.read_bytes())
    data[len(data) // 3] ^= 0xFF
    os.chmod(biggest, 0o600)
    biggest.write_bytes(bytes(data))
    drilled = run_cli("protect", "drill", cwd=protected.root)
    assert drilled.code == 6, drilled.err
    assert snap[:8] in _one_line(drilled.err) and "share" in drilled.err
    assert "FAILED" in drilled.out
    last = records.drills(protected.case)[-1]
    assert not last.ok and last.snapshot_id == snap
    checked = run_cli("protect", "check", cwd=protected.root)
    assert checked.code == 6
    assert snap[:8] in checked.err and "share" in checked.err and biggest.name[:8] in checked.err
    entry = protected.case.entries("protect.check")[-1]
    assert entry.data["ok"] is False and entry.data["snapshots"] == [snap]


@pytest.fixture()
def tmpfs(tmp_path: Path):
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_disk_full_while_restoring_exits_8_and_cleans_up(protected: Protected, tmpfs: Path):
    make_share(protected.share, files=12, size=200_000)  # 2.4 MB of incompressible data into a 1 MB disk
    backup.run(protected.case, only=["share"])
    result = run_cli("protect", "drill", "--scratch", str(tmpfs), cwd=protected.root)
    assert result.code == 8, result.err
    assert "no space left" in _one_line(result.err)
    assert list(tmpfs.iterdir()) == []  # the scratch restore was removed
    last = records.drills(protected.case)[-1]
    assert not last.ok


def _restic_child(parent: psutil.Process) -> psutil.Process | None:
    for child in parent.children(recursive=True):
        try:
            if child.name() == "restic" and "backup" in child.cmdline():
                return child
        except psutil.NoSuchProcess:
            continue
    return None


def test_interrupted_backup_next_run_succeeds_and_loses_nothing(protected: Protected):
    first = backup.run(protected.case).taken
    big = protected.share / "big"
    make_share(big, files=60, size=2_000_000)  # 120 MB: restic needs a while
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3] / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "aftermath", "protect", "run", "--source", "share"],
                            cwd=protected.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    parent = psutil.Process(proc.pid)
    locks, data = protected.root / "backups" / "locks", protected.root / "backups" / "data"
    packs_before = len(list(data.glob("*/*")))
    deadline = time.monotonic() + 60
    restic = None
    while time.monotonic() < deadline:
        restic = restic or _restic_child(parent)
        if restic and any(locks.iterdir()) and len(list(data.glob("*/*"))) > packs_before:
            break
        time.sleep(0.05)
    assert restic is not None, "restic never started"
    killed_pid = restic.pid
    os.kill(killed_pid, signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 9, err
    assert "killed" in _one_line(err)
    assert any(locks.iterdir())  # the dead process left its lock behind
    assert len(records.snapshots(protected.case)) == len(first)  # no half snapshot recorded
    again = run_cli("protect", "run", cwd=protected.root)
    assert again.code == 0, again.err
    unlocked = protected.case.entries("protect.unlock")
    assert [lk["pid"] for lk in unlocked[-1].data["locks"]] == [killed_pid]
    assert not any(locks.iterdir())
    outcomes = drill.drill(protected.case)
    assert all(o.ok for o in outcomes), outcomes
    newest = records.latest_per_source(records.snapshots(protected.case))["share"]
    assert records.load_manifest(protected.case, newest).contents.files == 80
    for taken in first:  # the earlier snapshots are intact
        (o,) = drill.drill(protected.case, taken.snapshot_id)
        assert o.ok
    assert backup.restic_for(protected.case).check().ok


def _damage(pack: Path) -> None:
    data = bytearray(pack.read_bytes())
    data[len(data) // 2] ^= 0xFF
    os.chmod(pack, 0o600)
    pack.write_bytes(bytes(data))


def test_drill_reads_the_repository_alone_and_fails_on_damaged_tree_packs(protected: Protected):
    """restic keeps tree packs in its cache; a drill through that cache would pass on a repository that
    a new machine cannot restore. The drill must fail, as `restic check --no-cache` does."""
    report = backup.run(protected.case, only=["share"])
    snap = report.taken[0].snapshot_id
    passed = run_cli("protect", "drill", "--json", cwd=protected.root)
    assert passed.code == 0, passed.err
    [ok] = json.loads(passed.out)
    assert ok["ok"] and ok["proves"].startswith("restorable from the repository alone, on 20")
    assert records.drills(protected.case)[-1].ok
    cache = protected.root / ".aftermath" / "restic-cache"
    tree_packs = {p.name for p in cache.glob("*/data/*/*")}  # restic caches exactly the packs that hold trees
    repo_packs = list((protected.root / "backups" / "data").glob("*/*"))
    assert tree_packs and tree_packs < {p.name for p in repo_packs}
    for pack in repo_packs:
        if pack.name in tree_packs:
            _damage(pack)
    cached = subprocess.run(["restic", "restore", snap, "--target", str(protected.root / "through-cache")],
                            env=backup.restic_for(protected.case).env, capture_output=True, text=True)
    assert cached.returncode == 0  # what the drill used to do: the cache hides the damage
    drilled = run_cli("protect", "drill", cwd=protected.root)
    assert drilled.code == 6, drilled.out + drilled.err
    assert snap[:8] in _one_line(drilled.err) and "FAILED" in drilled.out
    last = records.drills(protected.case)[-1]
    assert not last.ok and last.snapshot_id == snap
    assert list(cache.glob("*/data/*/*"))  # the case's cache was neither used nor thrown away
