"""Repositories where they really live: REST (rclone), SFTP (OpenSSH) and S3 (moto), on loopback.

Each repository is written by the real restic binary through its backend, then read by the native
reader through the same backend and compared with ``restic ls``/``restic dump``, and ``review``,
``restore apply`` and ``notify scope --snapshot`` give the same results as on a local copy of the
same repository.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from aftermath.errors import RepositoryError
from aftermath.restic import Repository
from aftermath.restic import backend as backend_mod
from tests.conftest import run_cli
from tests.integration.notify.conftest import write_billing
from tests.integration.restic import servers
from tests.integration.review.conftest import encrypt_folder, write_business

PASSWORD = "remote-test-password"
TIMES = ["2024-03-01 02:00:00", "2024-03-02 02:00:00", "2024-03-03 02:00:00", "2024-03-04 02:00:00"]
WEB_SHELL = b'<?php if (isset($_REQUEST["c"])) { echo "<pre>"; system($_REQUEST["c"]); } ?>\n'
needs_rclone = pytest.mark.skipif(shutil.which("rclone") is None, reason="rclone missing: run scripts/system-deps.sh")
needs_sshd = pytest.mark.skipif(not servers.can_run_sshd(), reason="the SFTP server needs root and openssh-server")


@dataclass
class Remote:
    server: servers.Server
    local: Path  # the same repository, as a local folder
    password_file: Path
    source: Path
    snapshots: list[str]
    restic_env: dict[str, str]

    def restic(self, *args: str) -> bytes:
        out = subprocess.run(["restic", "--no-cache", *self.server.restic_args, *args], env=self.restic_env,
                             capture_output=True, check=True)
        return out.stdout

    def env(self) -> dict[str, str]:
        return {**self.server.env, "AFTERMATH_REPO_PASSWORD_FILE": str(self.password_file)}


def build(server: servers.Server, base: Path) -> Remote:
    """Write the review story's four snapshots through the backend with the real restic."""
    pw = base / "password"
    pw.write_text(PASSWORD)
    env = {**os.environ, **server.env, "RESTIC_REPOSITORY": server.location, "RESTIC_PASSWORD_FILE": str(pw),
           "RESTIC_CACHE_DIR": str(base / "restic-cache")}
    if isinstance(server.extra, dict):
        env.update(server.extra)
    src = base / "src"
    remote = Remote(server, server.folder or base / "local-copy", pw, src, [], env)
    remote.restic("init")
    write_business(src, random.Random(7))
    write_billing(src / "share" / "customers.csv")
    remote.restic("backup", "--time", TIMES[0], str(src))
    (src / "share" / "documents" / "notes-01.txt").write_text("Updated notes.\n")
    remote.restic("backup", "--time", TIMES[1], str(src))
    (src / "www" / "uploads" / "avatar.php").write_bytes(WEB_SHELL)
    remote.restic("backup", "--time", TIMES[2], str(src))
    encrypt_folder(src / "share" / "documents", random.Random(8))
    remote.restic("backup", "--time", TIMES[3], str(src))
    snaps = json.loads(remote.restic("snapshots", "--json"))
    remote.snapshots = [s["id"] for s in sorted(snaps, key=lambda s: s["time"])]
    if server.folder is None:
        servers.download_s3(server, remote.local)
    return remote


@pytest.fixture(scope="module", params=[
    pytest.param("rest", marks=needs_rclone), pytest.param("sftp", marks=[needs_sshd, pytest.mark.root]), "s3"])
def remote(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Remote]:
    base = tmp_path_factory.mktemp(f"remote-{request.param}")
    start = {"rest": servers.rest_server, "sftp": servers.sftp_server, "s3": servers.s3_server}[request.param]
    with start(base) as server:
        yield build(server, base)


@pytest.fixture()
def remote_env(remote: Remote, monkeypatch: pytest.MonkeyPatch) -> Remote:
    for name, value in remote.server.env.items():
        monkeypatch.setenv(name, value)
    return remote


def test_native_reader_matches_restic_ls_and_dump(remote_env: Remote) -> None:
    remote = remote_env
    repo = Repository.open(remote.server.location, PASSWORD)
    try:
        assert not repo.backend.local and PASSWORD not in repo.location
        assert [s.id for s in repo.snapshots()] == remote.snapshots
        snap = repo.snapshots()[-1]
        ours = {path: node.size for path, node in repo.walk(snap.tree) if node.is_file}
        listed = [json.loads(line) for line in remote.restic("ls", "--json", snap.id).splitlines()]
        theirs = {n["path"]: n["size"] for n in listed if n.get("struct_type") == "node" and n["type"] == "file"}
        assert ours == theirs and len(ours) > 70
        nodes = {path: node for path, node in repo.walk(snap.tree)}
        for path in ("/".join([str(remote.source), "share", "customers.csv"]),
                     "/".join([str(remote.source), "www", "uploads", "logo.png"]),
                     "/".join([str(remote.source), "share", "documents", "HOW_TO_DECRYPT.txt"])):
            assert b"".join(repo.iter_file(nodes[path])) == remote.restic("dump", snap.id, path)
        assert repo.problems == []
    finally:
        repo.close()


def _review(location: str, env: dict[str, str], cwd: Path) -> dict[str, object]:
    r = run_cli("review", "--repo", location, "--json", "-", cwd=cwd, env=env)
    assert r.code == 1, r.err  # the web shell and the encryption are found
    doc = json.loads(r.out)
    doc.pop("repository")
    doc["stats"] = {k: v for k, v in doc["stats"].items() if "second" not in k and "rate" not in k}
    return doc


def test_review_restore_and_scope_match_the_local_copy(remote: Remote, tmp_path: Path) -> None:
    env, local = remote.env(), str(remote.local)
    over_backend = _review(remote.server.location, env, tmp_path)
    assert over_backend == _review(local, env, tmp_path)
    verdicts = [s["verdict"] for s in over_backend["snapshots"]]  # type: ignore[index, union-attr]
    assert verdicts == ["clean", "clean", "infected", "encrypted"]

    assert run_cli("init", str(tmp_path / "case")).code == 0
    review = tmp_path / "review.json"
    assert run_cli("review", "--repo", remote.server.location, "--json", str(review), cwd=tmp_path,
                   env=env).code == 1
    plan = tmp_path / "plan.json"
    made = run_cli("restore", "plan", "--strategy", "surgical", "--repo", remote.server.location, "--review",
                   str(review), "--json", str(plan), cwd=tmp_path / "case", env=env)
    assert made.code == 0, made.err
    assert run_cli("restore", "approve", str(plan), cwd=tmp_path / "case").code == 0
    staged = {}
    for name, location in (("remote", remote.server.location), ("local", local)):
        applied = run_cli("restore", "apply", str(plan), "--to", str(tmp_path / name), "--repo", location,
                          cwd=tmp_path / "case", env=env)
        assert applied.code == 0, applied.err
        staged[name] = {str(p.relative_to(tmp_path / name)): hashlib.sha256(p.read_bytes()).hexdigest()
                        for p in (tmp_path / name).rglob("*") if p.is_file()}
    assert staged["remote"] == staged["local"] and len(staged["remote"]) > 70
    assert not any(p.endswith("avatar.php") for p in staged["remote"])  # held back by the plan

    people = {}
    for name, location in (("remote", remote.server.location), ("local", local)):
        out = tmp_path / f"people-{name}.csv"
        scoped = run_cli("notify", "scope", "--snapshot", remote.snapshots[0][:8], "--repo", location,
                         "-s", f"{remote.source}/share/customers.csv", "--out", str(out), cwd=tmp_path, env=env)
        assert scoped.code == 0, scoped.err
        people[name] = out.read_text()
    assert people["remote"] == people["local"] and "4111" not in people["remote"]
    assert not _ssh_children(remote.server.location)  # SFTP: every command ended and reaped its ssh processes
    assert len(people["remote"].splitlines()) == 2  # a header and one person (the one with a card and its code)


def test_wrong_credentials_and_missing_places_are_one_clear_line(remote: Remote, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    kind, location = remote.server.kind, remote.server.location
    if kind == "rest":
        env = {**remote.server.env, "RESTIC_REST_PASSWORD": "wrong"}
        expect = "refused access (HTTP 401)"
    elif kind == "s3":
        location = location.replace("/backups/", "/no-such-bucket/")
        env, expect = remote.server.env, "bucket no-such-bucket does not exist"
    else:
        env = {"HOME": str(tmp_path)}  # no key and no known_hosts here
        expect = "is not in known_hosts"
    r = run_cli("review", "--repo", location, "--json", "-", cwd=tmp_path,
                env={**env, "AFTERMATH_REPO_PASSWORD_FILE": str(remote.password_file)})
    assert r.code != 0 and expect in r.err, r.err
    assert "Traceback" not in r.err and "wrong" not in r.err and servers.S3_SECRET not in r.err


def test_a_server_that_stops_answering_is_retried_then_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if shutil.which("rclone") is None:
        pytest.fail("rclone missing: run scripts/system-deps.sh")
    monkeypatch.setattr(backend_mod, "BACKOFF", 0.01)
    with servers.rest_server(tmp_path) as server:
        remote = build(server, tmp_path)
        for name, value in server.env.items():
            monkeypatch.setenv(name, value)
        repo = Repository.open(server.location, PASSWORD)
        snap = repo.snapshots()[-1]
        assert server.proc is not None
        server.proc.terminate()
        server.proc.wait(10)
        with pytest.raises(RepositoryError) as caught:
            list(repo.walk(snap.tree))
    assert "kept failing after 5 attempts" in caught.value.message
    assert server.location in caught.value.message and remote.snapshots


@pytest.mark.root
@needs_sshd
def test_an_sftp_server_that_goes_away_is_retried_then_named(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    monkeypatch.setattr(backend_mod, "BACKOFF", 0.01)
    with servers.sftp_server(tmp_path) as server:
        remote = build(server, tmp_path)
        for name, value in server.env.items():
            monkeypatch.setenv(name, value)
        repo = Repository.open(server.location, PASSWORD)
        try:
            snap = repo.snapshots()[-1]
            assert server.proc is not None
            server.proc.terminate()  # the listener: no new session can start
            server.proc.wait(10)
            ssh = repo.backend.ssh_pid  # type: ignore[attr-defined]
            assert ssh is not None
            os.kill(ssh, 9)  # and the session we had ends
            with pytest.raises(RepositoryError) as caught:
                list(repo.walk(snap.tree))
        finally:
            repo.close()
    assert "kept failing after 5 attempts (ssh: " in caught.value.message
    assert server.location in caught.value.message and remote.snapshots
    assert not _ssh_children(server.location)


def test_throttling_slows_down_instead_of_failing() -> None:
    calls: list[int] = []
    slept: list[float] = []

    def flaky() -> bytes:
        calls.append(1)
        if len(calls) < 8:
            raise backend_mod.Transient("HTTP 429", throttled=True, wait=0.5)
        return b"ok"

    assert backend_mod.retrying(flaky, "data/ab", "rest:http://x/", sleep=slept.append) == b"ok"
    assert len(slept) == 7 and all(0.25 <= s <= 0.5 for s in slept)

    def dropped() -> bytes:
        raise backend_mod.Transient("ConnectError")

    with pytest.raises(RepositoryError, match="kept failing after 5 attempts"):
        backend_mod.retrying(dropped, "data/ab", "rest:http://x/", sleep=slept.append)


@pytest.mark.parametrize(("location", "expected"), [
    ("sftp:user@host:/srv/restic-repo", ("user", "host", None, "/srv/restic-repo")),
    ("sftp:host:relative/repo", (None, "host", None, "relative/repo")),
    ("sftp://user@host:2222//srv/repo", ("user", "host", 2222, "/srv/repo")),
    ("sftp://user@host:2222/home-relative", ("user", "host", 2222, "home-relative")),
])
def test_sftp_locations_as_restic_writes_them(location: str, expected: tuple[object, ...]) -> None:
    assert backend_mod.parse_sftp(location.removeprefix("sftp:")) == expected


def test_unsupported_backends_say_what_to_do() -> None:
    with pytest.raises(Exception, match="does not read b2: repositories; copy it"):
        Repository.open("b2:bucket:path", PASSWORD)


def test_review_workers_are_forked_over_every_backend(remote_env: Remote, tmp_path: Path) -> None:
    """Over REST and SFTP the content-only scanner runs in forked workers, never in this process; over SFTP
    each worker starts its own ssh, and the parent's session reads again afterwards. (Here moto's S3 server
    runs on threads of the test process, so that review rightly stays in one process; bench/review_remote.py
    runs moto apart and its S3 review forks.)"""
    import threading

    from aftermath.review import run_review
    from aftermath.review.scanners import default_scanners
    from tests.integration.review.test_review_repository import Counting

    repo = Repository.open(remote_env.server.location, PASSWORD)
    try:
        ssh = getattr(repo.backend, "ssh_pid", None)
        counter = Counting(tmp_path / "scanned.log")
        result = run_review(repo, [*default_scanners(), counter], workers=2)
        pids = {pid for pid, _ in counter.seen()}
        if remote_env.server.kind == "s3":  # moto's server runs on threads of this process: no fork is safe
            assert pids == {str(os.getpid())}
        else:
            assert pids and str(os.getpid()) not in pids, f"not forked; threads here: {threading.enumerate()}"
        assert [s.verdict for s in result.snapshots] == ["clean", "clean", "infected", "encrypted"]
        assert len(repo.snapshots()) == 4  # and it reads again
        if remote_env.server.kind == "sftp":
            assert threading.active_count() == 1  # the SFTP session runs no thread in this process
            assert ssh is not None and repo.backend.ssh_pid == ssh  # type: ignore[attr-defined]
            repo.close()
            assert not _ssh_children(remote_env.server.location)  # no ssh left behind, the workers' included
    finally:
        repo.close()


def _ssh_children(location: str) -> list[str]:
    """Command lines of running ssh processes that reach the port of ``location``."""
    port = location.rsplit(":", 1)[1].split("/", 1)[0]
    found = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"ssh") and port.encode() in argv and b"sftp" in argv:
            found.append(b" ".join(argv).decode(errors="replace"))
    return found


sftp_only = [needs_sshd, pytest.mark.root]


@pytest.mark.parametrize("remote", [pytest.param("sftp", marks=sftp_only)], indirect=True)
def test_an_ssh_killed_mid_read_is_retried_on_a_new_one(remote_env: Remote, monkeypatch: pytest.MonkeyPatch) -> None:
    from aftermath.restic import sftp

    monkeypatch.setattr(backend_mod, "BACKOFF", 0.01)
    repo = Repository.open(remote_env.server.location, PASSWORD)
    try:
        backend = repo.backend
        assert isinstance(backend, backend_mod.SftpBackend)
        pack = max(backend.list("data"), key=lambda f: f.size)
        first = backend.ssh_pid
        assert first is not None
        killed: list[int] = []
        write = sftp.SftpClient._write

        def kill_then_write(self: sftp.SftpClient, data: bytes) -> None:
            if data[4] == sftp.READ and not killed:  # the pack is open, its READs about to go: ssh dies now
                killed.append(self.proc.pid)
                os.kill(self.proc.pid, 9)
                self.proc.wait(10)
            write(self, data)

        monkeypatch.setattr(sftp.SftpClient, "_write", kill_then_write)
        got = backend.read_range(pack.path, 0, pack.size)
        assert killed == [first] and backend.ssh_pid not in (None, first)
        assert got == (remote_env.local / pack.path).read_bytes()
        assert len(repo.snapshots()) == 4
    finally:
        repo.close()
    assert not _ssh_children(remote_env.server.location)


@pytest.mark.parametrize("remote", [pytest.param("sftp", marks=sftp_only)], indirect=True)
@pytest.mark.parametrize(("case", "expect"), [
    ("unknown host key", "the host key of 127.0.0.1 is not in known_hosts: connect once with `ssh`"),
    ("refused key", "127.0.0.1 refused our SSH keys (root@127.0.0.1: Permission denied (publickey))"),
    ("nothing listens", "cannot connect to 127.0.0.1 over SSH (ssh: connect to host 127.0.0.1 port"),
])
def test_ssh_refusals_are_one_clear_line(remote: Remote, tmp_path: Path, case: str, expect: str) -> None:
    args = remote.server.env["AFTERMATH_SFTP_ARGS"]
    location = remote.server.location
    if case == "unknown host key":
        (tmp_path / "known_hosts").write_text("")
        args = args.replace(args.split("UserKnownHostsFile=")[1].split()[0], str(tmp_path / "known_hosts"))
    elif case == "refused key":
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True)
        args = args.replace(args.split("-i ")[1].split()[0], str(tmp_path / "other"))
    else:
        location = location.replace(location.rsplit(":", 1)[1].split("/", 1)[0], str(servers.free_port()))
    r = run_cli("review", "--repo", location, "--json", "-", cwd=tmp_path,
                env={"AFTERMATH_SFTP_ARGS": args, "AFTERMATH_REPO_PASSWORD_FILE": str(remote.password_file)})
    assert r.code != 0 and expect in r.err, r.err
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err
    assert not _ssh_children(location)


def test_without_an_ssh_binary_the_line_says_install_openssh_client(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="needs OpenSSH's ssh, as restic does: install openssh-client"):
        backend_mod.open_backend("sftp:user@host:/srv/repo", {"PATH": str(tmp_path)})
    argv = backend_mod.open_backend("sftp://user@host:2222//srv/repo", {"AFTERMATH_SFTP_ARGS": "-i /k"}).argv
    assert argv[1:] == ["-i", "/k", "-o", "BatchMode=yes", "-o", "ServerAliveInterval=15", "-o",
                        "ServerAliveCountMax=4", "-p", "2222", "-l", "user", "-s", "--", "host", "sftp"]
