"""Shared fixtures: a temporary case, a real PostgreSQL server, the CLI runner."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from aftermath.case import Case

PG_BIN_CANDIDATES = [Path("/usr/lib/postgresql") / v / "bin" for v in ("17", "16", "15", "14", "13")]


@pytest.fixture()
def case(tmp_path: Path) -> Case:
    """A fresh case with the default SQLite store and a generated repository password."""
    return Case.init(tmp_path / "case")


@dataclass
class CliResult:
    code: int
    out: str
    err: str


# ``python -m aftermath`` with Ctrl-C as at a terminal, even when the tests run in the background (a shell
# then ignores SIGINT for all its children). Not preexec_fn: unsafe when the test process has threads.
AFTERMATH_WITH_CTRL_C = [sys.executable, "-c", "import runpy, signal; "
                         "signal.signal(signal.SIGINT, signal.default_int_handler); "
                         "runpy.run_module('aftermath', run_name='__main__', alter_sys=True)"]


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 600) -> CliResult:
    """Run the real ``aftermath`` command in a subprocess, as a user would."""
    src = str(Path(__file__).resolve().parents[1] / "src")
    full_env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": src, **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "aftermath", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture()
def cli() -> type[CliResult]:
    return run_cli  # type: ignore[return-value]


def _pg_bin() -> Path:
    for candidate in PG_BIN_CANDIDATES:
        if (candidate / "initdb").exists():
            return candidate
    pytest.fail("PostgreSQL server binaries not found: run 'make test' (it installs postgresql)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Postgres:
    bin: Path
    host: str
    port: int
    user: str

    def url(self, db: str = "postgres", driver: str = "postgresql") -> str:
        return f"{driver}://{self.user}@{self.host}:{self.port}/{db}"

    def createdb(self, name: str) -> str:
        subprocess.run([str(self.bin / "createdb"), "-h", self.host, "-p", str(self.port), "-U", self.user, name],
                       check=True, capture_output=True)
        return self.url(name)

    def psql(self, db: str, sql: str) -> str:
        out = subprocess.run(["psql", "-X", "-q", "-At", "-h", self.host, "-p", str(self.port), "-U", self.user,
                              "-d", db, "-c", sql], check=True, capture_output=True, text=True)
        return out.stdout


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    """A real PostgreSQL server in a temporary folder, on a free loopback port, trust auth.

    initdb refuses to run as root, so as root the server runs as the 'postgres' user.
    """
    pg_bin = _pg_bin()
    base = tmp_path_factory.mktemp("pg")
    data = base / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(base, "postgres", "postgres")
        os.chmod(base, 0o755)
        for parent in base.parents:
            if parent == Path("/"):
                break
            os.chmod(parent, os.stat(parent).st_mode | 0o005)
    port = _free_port()
    subprocess.run([*as_user, str(pg_bin / "initdb"), "-D", str(data), "-U", "aftermath", "-A", "trust",
                    "--no-sync"], check=True, capture_output=True)
    log = base / "server.log"
    subprocess.run([*as_user, str(pg_bin / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "start", "-o",
                    f"-h 127.0.0.1 -p {port} -k {base} -F"], check=True, capture_output=True)
    try:
        yield Postgres(pg_bin, "127.0.0.1", port, "aftermath")
    finally:
        subprocess.run([*as_user, str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
