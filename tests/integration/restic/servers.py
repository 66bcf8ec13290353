"""Real servers on loopback for remote restic repositories: rclone's REST server, OpenSSH, moto's S3.

Each server keeps its files where a test can read them as a local repository too (REST and SFTP serve a
folder; the S3 bucket is copied into one with :meth:`S3Server.download`). Credentials go to restic and to
the reader through the environment, as restic reads them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REST_USER, REST_PASSWORD = "backup", "rest-server-secret"
S3_KEY, S3_SECRET = "test-key-id", "test-secret-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes] | None, log: Path, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not listen on {port}: {log.read_text(errors='replace')}")


@dataclass
class Server:
    """A running server: the repository location as restic writes it, and the environment for it."""

    kind: str
    location: str  # e.g. rest:http://127.0.0.1:PORT/repo (no password in it)
    env: dict[str, str]  # credentials and options for restic and for the reader
    restic_args: list[str] = field(default_factory=list)  # extra restic options (sftp.command)
    folder: Path | None = None  # where the repository's files are on this machine (REST, SFTP)
    proc: subprocess.Popen[bytes] | None = None
    extra: Any = None


@contextmanager
def rest_server(base: Path) -> Iterator[Server]:
    """``rclone serve restic`` over ``base/rest`` with basic authentication."""
    root = base / "rest"
    root.mkdir(parents=True)
    port = free_port()
    log = base / "rclone.log"
    proc = subprocess.Popen(["rclone", "serve", "restic", "--addr", f"127.0.0.1:{port}", "--user", REST_USER,
                             "--pass", REST_PASSWORD, str(root)], stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            env={**os.environ, "RCLONE_CONFIG": str(base / "rclone.conf")})
    try:
        wait_port(port, proc, log)
        env = {"RESTIC_REST_USERNAME": REST_USER, "RESTIC_REST_PASSWORD": REST_PASSWORD}
        # restic 0.14 knows no RESTIC_REST_* variables: it is given the credentials in RESTIC_REPOSITORY
        restic_env = {"RESTIC_REPOSITORY": f"rest:http://{REST_USER}:{REST_PASSWORD}@127.0.0.1:{port}/repo/"}
        yield Server("rest", f"rest:http://127.0.0.1:{port}/repo/", env, folder=root / "repo", proc=proc,
                     extra=restic_env)
    finally:
        proc.terminate()
        proc.wait(10)


SSHD_CONFIG = """\
Port {port}
ListenAddress 127.0.0.1
HostKey {dir}/host_ed25519
PidFile {dir}/sshd.pid
AuthorizedKeysFile {dir}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes no
UsePAM no
Subsystem sftp internal-sftp
"""


def can_run_sshd() -> bool:
    return os.geteuid() == 0 and Path("/usr/sbin/sshd").exists() and shutil.which("ssh-keygen") is not None


def start_sshd(base: Path, log: Path) -> tuple[int, str, Path, subprocess.Popen[bytes]]:
    """OpenSSH's sshd on a loopback port; root logs in with a key kept in a private HOME (``base/home``).

    Returns the port, the ``ssh ... -s sftp`` command restic's ``sftp.command`` takes, HOME and the process.
    """
    conf = base / "sshd"
    home = base / "home"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    conf.mkdir(mode=0o700)
    Path("/run/sshd").mkdir(exist_ok=True, mode=0o755)
    keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", ""]
    subprocess.run([*keygen, "-f", str(conf / "host_ed25519")], check=True)
    subprocess.run([*keygen, "-f", str(home / ".ssh" / "id_ed25519")], check=True)
    shutil.copy(home / ".ssh" / "id_ed25519.pub", conf / "authorized_keys")
    port = free_port()
    (conf / "sshd_config").write_text(SSHD_CONFIG.format(port=port, dir=conf))
    host_key = (conf / "host_ed25519.pub").read_text().split()
    known = home / ".ssh" / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {host_key[0]} {host_key[1]}\n")
    proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(conf / "sshd_config")],
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)
    ssh = f"ssh {ssh_args(home)} -o BatchMode=yes -p {port} root@127.0.0.1 -s sftp"
    return port, ssh, home, proc


def ssh_args(home: Path) -> str:
    """The ssh options (AFTERMATH_SFTP_ARGS, restic's sftp.args) that use ``start_sshd``'s key and known_hosts."""
    return (f"-F /dev/null -i {home}/.ssh/id_ed25519 -o UserKnownHostsFile={home}/.ssh/known_hosts "
            "-o StrictHostKeyChecking=yes")


@contextmanager
def sftp_server(base: Path) -> Iterator[Server]:
    """sshd on loopback (``start_sshd``) serving ``base/sftp``."""
    log = base / "sshd.log"
    port, ssh, home, proc = start_sshd(base, log)
    try:
        wait_port(port, proc, log)
        root = base / "sftp"
        root.mkdir()
        yield Server("sftp", f"sftp://root@127.0.0.1:{port}/{root}/repo", {"AFTERMATH_SFTP_ARGS": ssh_args(home)},
                     restic_args=["-o", f"sftp.command={ssh}"], folder=root / "repo", proc=proc)
    finally:
        proc.terminate()
        proc.wait(10)


@contextmanager
def s3_server(base: Path) -> Iterator[Server]:
    """moto's S3 server (ThreadedMotoServer) on a loopback port; restic creates the bucket."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        wait_port(port, None, base / "none")
        env = {"AWS_ACCESS_KEY_ID": S3_KEY, "AWS_SECRET_ACCESS_KEY": S3_SECRET, "AWS_DEFAULT_REGION": "us-east-1"}
        yield Server("s3", f"s3:http://127.0.0.1:{port}/backups/repo", env, extra=port)
    finally:
        server.stop()
        _join_request_threads()


def _join_request_threads(timeout: float = 10.0) -> None:
    """moto answers each connection on a daemon thread that outlives ``stop()`` while the client keeps the
    connection open (the reader keeps its connections alive). Close the connections nothing refers to any
    more and wait for those threads: a later test must find a process without threads, or the review it
    runs rightly refuses to fork (seen in a full run: five review tests failed that way)."""
    import gc
    import threading
    import time

    gc.collect()
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread.name.endswith("(process_request_thread)"):
            thread.join(max(0.0, deadline - time.monotonic()))


def download_s3(server: Server, dest: Path) -> Path:
    """Copy the S3 repository's objects into a folder: the same repository, as a local path."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{server.extra}", aws_access_key_id=S3_KEY,
                      aws_secret_access_key=S3_SECRET, region_name="us-east-1")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket="backups", Prefix="repo/")
    for page in pages:
        for obj in page.get("Contents", []):
            target = dest / obj["Key"][len("repo/"):]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(s3.get_object(Bucket="backups", Key=obj["Key"])["Body"].read())
    return dest
