"""Sweep and collect against a real three-host network (responder, web server, database server)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from aftermath.case import Case
from tests.integration.secure.netlab import Lab, LabHost, needs_lab

pytestmark = [pytest.mark.root, pytest.mark.slow, needs_lab]

ATTACKER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHGIYpVZ0Jcm2Jt3nLZ5kX0h4Jm7q8c1a2b3c4d5e6f7 attacker@evil"
WEBSHELL = "<?php if(isset($_POST['c'])){ @eval($_POST['c']); } ?>\n"
CRON = "*/5 * * * * root /tmp/.x 3600 >/dev/null 2>&1\n"


def plant(web: LabHost) -> int:
    """Compromise signs on the web server; returns the PID of the process running a deleted binary."""
    web.run("sh", "-c", "cp /bin/sleep /tmp/.x && (/tmp/.x 3600 </dev/null >/dev/null 2>&1 &) && sleep 0.3 "
                        "&& rm /tmp/.x")
    web.write("/etc/cron.d/sysupdate", CRON)
    web.write("/root/.ssh/authorized_keys", ATTACKER_KEY + "\n", mode=0o600)
    web.write("/var/www/html/index.html", "<h1>shop</h1>\n")
    web.write("/var/www/html/.cache.php", WEBSHELL)
    pids = web.run("sh", "-c", "for p in /proc/[0-9]*; do case $(readlink $p/exe) in '/tmp/.x (deleted)') "
                               "echo ${p#/proc/};; esac; done").stdout.split()
    assert len(pids) == 1, pids
    return int(pids[0])


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, LabHost, LabHost, int]]:
    with Lab(tmp_path_factory.mktemp("lab")) as the_lab:
        web, db = the_lab.add_host("web"), the_lab.add_host("db")
        db.write("/var/www/html/index.html", "<h1>internal</h1>\n", mtime=1_600_000_000)  # back-dated
        yield the_lab, web, db, plant(web)


def test_sweep_ranks_the_web_server_first_and_names_each_sign(lab: tuple[Lab, LabHost, LabHost, int],
                                                               tmp_path: Path) -> None:
    the_lab, web, db, pid = lab
    case = Case.init(tmp_path / "case")
    out = tmp_path / "sweep.json"
    proc = the_lab.aftermath("--case", str(case.root), "secure", "sweep", "--host", f"root@{web.ip}",
                             "--host", f"root@{db.ip}", *the_lab.ssh_args(), "--json", str(out))
    assert proc.returncode == 1, proc.stderr
    report = json.loads(out.read_text())
    assert [r["host"] for r in report["ranking"]] == [f"root@{web.ip}", f"root@{db.ip}"]
    assert report["ranking"][0]["verdict"] == "likely compromised"
    web_findings = next(h for h in report["hosts"] if h["host"] == f"root@{web.ip}")["findings"]
    db_findings = next(h for h in report["hosts"] if h["host"] == f"root@{db.ip}")["findings"]
    said = "\n".join(f["what"] for f in web_findings)
    assert f"process {pid} " in said and "runs a deleted program (/tmp/.x)" in said
    assert "/etc/cron.d/sysupdate" in said
    assert "/root/.ssh/authorized_keys" in said and "attacker@evil" in said
    assert "/var/www/html/.cache.php matches php_exec_on_request_input" in said
    for sign in ("/tmp/.x", "sysupdate", "authorized_keys", ".cache.php"):
        assert not any(sign in f["what"] for f in db_findings), sign
    assert all(f["why"] for f in web_findings)
    assert "likely compromised" in proc.stdout and "why it matters" in proc.stdout  # the table for people
    actions = [e.action for e in Case.open(case.root).entries("secure.sweep")]
    assert actions == ["secure.sweep.start", "secure.sweep", "secure.sweep"]


def test_collect_captures_and_hashes_each_sign_and_reports_an_unreachable_host(
        lab: tuple[Lab, LabHost, LabHost, int], tmp_path: Path) -> None:
    the_lab, web, db, pid = lab
    case = Case.init(tmp_path / "case")
    out = tmp_path / "collect"
    ghost = f"{the_lab.subnet}.250"
    proc = the_lab.aftermath("--case", str(case.root), "secure", "collect", "--host", f"root@{web.ip}",
                             "--host", f"root@{db.ip}", "--host", f"root@{ghost}", *the_lab.ssh_args(),
                             "--out", str(out))
    assert proc.returncode == 1, proc.stderr
    assert f"root@{ghost}: failed" in proc.stdout and "cannot reach" in proc.stdout
    assert "2 of 3 host(s) collected completely" in proc.stdout
    folder = out / web.ip
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["host"]["hostname"] == "web"
    by_path = {f["path"]: f for f in manifest["files"]}
    for f in manifest["files"]:
        assert hashlib.sha256((folder / f["path"]).read_bytes()).hexdigest() == f["sha256"]
    sleep_sha = hashlib.sha256(Path("/bin/sleep").read_bytes()).hexdigest()
    assert by_path[f"recovered/{pid}.exe"]["sha256"] == sleep_sha
    assert by_path[f"recovered/{pid}.exe"]["meta"]["exe"] == "/tmp/.x (deleted)"
    assert (folder / "files/etc/cron.d/sysupdate").read_text() == CRON
    assert "attacker@evil" in (folder / "files/root/.ssh/authorized_keys").read_text()
    assert (folder / "files/var/www/html/.cache.php").read_text() == WEBSHELL
    assert not (out / db.ip / "files/var/www/html/.cache.php").exists()
    # back-dating the modification time does not hide a file: its change time (ctime) still counts
    assert (out / db.ip / "files/var/www/html/index.html").exists()
    procs = json.loads((folder / "proc/processes.json").read_text())
    assert any(p["pid"] == pid and p["exe_deleted"] and p["exe_sha256"] == sleep_sha for p in procs)
    order = [a["name"] for a in manifest["artifacts"]]
    assert order.index("clock") < order.index("sockets") < order.index("processes") < order.index("cron")
    assert abs(manifest["clock"]["offset_seconds_host_minus_responder"]) < 5
    # custody: manifest copied into the case, its hash journaled; the archive registered in place
    reopened = Case.open(case.root)
    entries = {e.subject: e for e in reopened.entries("secure.collect") if e.action == "secure.collect"}
    assert entries[f"root@{web.ip}"].data["manifest_sha256"] == hashlib.sha256(
        (folder / "manifest.json").read_bytes()).hexdigest()
    assert entries[f"root@{ghost}"].data["status"] == "failed"
    kinds = [e.kind for e in reopened.evidence_items()]
    assert kinds.count("collection-manifest") == 3 and kinds.count("collection") == 3


def test_collect_keeps_what_arrived_when_a_host_dies_half_way(netlab: Lab, tmp_path: Path) -> None:
    flaky = netlab.add_host("flaky")
    # python3 on this host is killed two seconds into the run, in the middle of the collection
    # (the agent runs with a cleared environment and the system PATH: the wrapper takes python3's own place)
    real = flaky.run("readlink", "-f", "/usr/bin/python3").stdout.strip()
    wrapper = f"#!/bin/sh\nexec 3<&0\n{real} \"$@\" <&3 &\nsleep 2\nkill -9 $!\nexit 137\n"
    flaky.write("/usr/bin/python3", wrapper, mode=0o755)
    proc = netlab.aftermath("secure", "collect", "--host", f"root@{flaky.ip}", *netlab.ssh_args(),
                            "--out", str(tmp_path / "c"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"root@{flaky.ip}: partial" in proc.stdout and "exited" in proc.stdout
    manifest = json.loads((tmp_path / "c" / flaky.ip / "manifest.json").read_text())
    assert manifest["status"] == "partial" and manifest["files"]
    assert any(a["status"] == "missing" for a in manifest["artifacts"])
