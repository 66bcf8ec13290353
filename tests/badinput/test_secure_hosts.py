"""Hosts that cannot be swept: nobody listens, or the port answers with something other than SSH."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from aftermath.errors import SourceError
from aftermath.secure.hosts import all_unreachable
from aftermath.secure.sweep.run import HostSweep
from tests.badinput.conftest import journal_length, one_line_error
from tests.conftest import run_cli


def free_port() -> int:
    """A loopback port nobody listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def web_port() -> Iterator[int]:
    """A loopback TCP server that answers as a web server does, not as SSH."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(256)
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    # close() alone does not wake an accept() blocked in the thread on Linux; shutdown() does. A thread left
    # behind would keep later tests' reviews from forking their workers.
    with contextlib.suppress(OSError):
        server.shutdown(socket.SHUT_RDWR)
    server.close()
    thread.join(10)


@pytest.mark.parametrize("command", ["sweep", "collect"])
def test_a_host_nobody_listens_on_exits_7_with_one_line(command: str, case_root: Path, tmp_path: Path) -> None:
    port = free_port()
    entries = journal_length(case_root)
    extra = ["--out", str(tmp_path / "out")] if command == "collect" else ["--json", str(tmp_path / "s.json")]
    result = run_cli("--case", str(case_root), "secure", command, "--host", f"root@127.0.0.1:{port}", *extra)
    line = one_line_error(result, 7)
    assert f"cannot reach root@127.0.0.1:{port}: connection refused" in line
    assert not (tmp_path / "out").exists() and not (tmp_path / "s.json").exists()
    assert journal_length(case_root) == entries


@pytest.mark.parametrize("command", ["sweep", "collect"])
def test_a_port_that_is_not_ssh_is_named_as_such(command: str, web_port: int, tmp_path: Path) -> None:
    extra = ["--out", str(tmp_path / "out")] if command == "collect" else []
    result = run_cli("secure", command, "--host", f"root@127.0.0.1:{web_port}", *extra)
    line = one_line_error(result, 7)
    assert f"127.0.0.1:{web_port} answers but is not an SSH server: check the port" in line
    assert "Connection lost" not in line


def test_two_unreachable_hosts_are_both_named(tmp_path: Path) -> None:
    a, b = free_port(), free_port()
    line = one_line_error(run_cli("secure", "sweep", "--host", f"root@127.0.0.1:{a}",
                                  "--host", f"root@127.0.0.1:{b}"), 7)
    assert line.startswith("aftermath: error: no host could be reached") and f":{a}" in line and f":{b}" in line


def test_only_some_hosts_unreachable_is_no_error_of_its_own() -> None:
    reached = HostSweep("root@web1")
    lost = HostSweep("root@web2", error="cannot reach root@web2: connection refused", unreachable=True)
    all_unreachable([reached, lost])  # the run goes on: the host is listed with its reason, exit 1
    with pytest.raises(SourceError, match="cannot reach root@web2"):
        all_unreachable([lost])
    broke = HostSweep("root@web3", error="connection to root@web3 broke: reset")
    all_unreachable([lost, broke])  # web3 was reached: what it sent counts
