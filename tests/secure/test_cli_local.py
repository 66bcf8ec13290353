"""Collect and sweep the local machine through the real CLI (no SSH)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from aftermath.case import Case
from tests.conftest import run_cli

SLEEP_SHA = hashlib.sha256(Path("/bin/sleep").read_bytes()).hexdigest()


@pytest.fixture()
def deleted_process(tmp_path: Path) -> Iterator[int]:
    """A process whose program was copied to a temp folder, started, and deleted (an attacker's habit)."""
    exe = tmp_path / "drop" / ".x"
    exe.parent.mkdir()
    shutil.copy("/bin/sleep", exe)
    proc = subprocess.Popen([str(exe), "300"])
    exe.unlink()
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_local_collect_recovers_the_deleted_program_and_journals_the_manifest(tmp_path: Path,
                                                                               deleted_process: int) -> None:
    case = Case.init(tmp_path / "case")
    out = tmp_path / "out"
    result = run_cli("--case", str(case.root), "secure", "collect", "--out", str(out))
    assert result.code == 0, result.err
    assert "local: complete" in result.out or "local: partial" in result.out
    folder = out / "local"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["collector"]["version"] and manifest["host"]["machine_id"] is not None
    recovered = {f["path"]: f for f in manifest["files"] if f["artifact"] == "recover_exe"}
    assert recovered[f"recovered/{deleted_process}.exe"]["sha256"] == SLEEP_SHA
    for f in manifest["files"][:200]:
        assert hashlib.sha256((folder / f["path"]).read_bytes()).hexdigest() == f["sha256"]
    assert not any(f["source"].startswith(str(out)) for f in manifest["files"] if f.get("source"))  # not itself
    entry = [e for e in Case.open(case.root).entries("secure.collect") if e.action == "secure.collect"][0]
    assert entry.data["manifest_sha256"] == hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()
    again = run_cli("--case", str(case.root), "secure", "collect", "--out", str(out))
    assert again.code == 2 and "already holds a collection" in again.err


@pytest.mark.slow
def test_local_sweep_names_the_deleted_program_and_a_shell_in_an_extra_web_root(tmp_path: Path,
                                                                                 deleted_process: int) -> None:
    web = Path.cwd() / f".aftermath-test-www-{deleted_process}"  # outside the usual web roots and temp folders
    web.mkdir()
    try:
        (web / "up.php").write_text("<?php if(isset($_REQUEST['c'])){ system($_REQUEST['c']); } ?>")
        result = run_cli("secure", "sweep", "--json", "-", "--scan-root", str(web))
    finally:
        shutil.rmtree(web)
    assert result.code == 1, result.err
    report = json.loads(result.out)
    found = [f for f in report["hosts"][0]["findings"] if f["evidence"].get("pid") == deleted_process]
    assert found and found[0]["severity"] == "critical" and "runs a deleted program" in found[0]["what"]
    shells = [f for f in report["hosts"][0]["findings"] if f["evidence"].get("path") == str(web / "up.php")]
    assert shells and shells[0]["check"] == "webshell"
    assert report["ranking"][0]["host"] == "local"


@pytest.mark.parametrize(("args", "message"), [
    (["collect", "--out", "X", "--profile", "huge"], "unknown profile"),
    (["sweep", "--since", "0"], "--since must be a positive"),
    (["sweep", "--host", "root@bad host"], "bad host"),
    (["sweep", "--ioc", "MISSING"], "cannot read indicator file"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    args = [str(tmp_path / a) if a in ("X", "MISSING") else a for a in args]
    result = run_cli("secure", *args, cwd=tmp_path)
    assert result.code == 2 and message in result.err
    assert len([ln for ln in result.err.splitlines() if ln.startswith("aftermath: error")]) == 1
