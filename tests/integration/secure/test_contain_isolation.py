"""Containment against real nftables, real sshd and real processes, on the namespace lab (netlab.py).

Three machines: the responder, ``web`` (the host to isolate) and ``db`` (another machine on the same
network), each web/db with its own sshd, processes and disk. IPv6 addresses are added here so that the
IPv6 allow path (and neighbour discovery) is tested too. The CLI runs on the responder (over SSH) or
in web's network namespace (the local machine, no SSH).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from aftermath.case import Case, hash_file
from aftermath.case.core import utcnow
from aftermath.errors import StateError, UsageError
from aftermath.secure.contain import (
    LocalRunner,
    confirm,
    freeze,
    isolate,
    netns_runner,
    parse_allow,
    release,
    ruleset,
    status,
)
from aftermath.secure.contain.runner import Result
from tests.integration.secure.netlab import Lab, LabHost, needs_lab

pytestmark = [pytest.mark.root, pytest.mark.slow, needs_lab]

ROOT = Path(__file__).resolve().parents[3]
V6 = {"responder": "fd77::1", "web": "fd77::2", "db": "fd77::3"}
V6_PORT = 2222
UNRELATED = ("table inet keepme {\n chain c {\n  type filter hook input priority 0; policy accept;\n"
             "  tcp dport 9 counter\n }\n}\n")


@dataclass
class Net:
    """The lab and what these tests need from it."""

    lab: Lab
    web: LabHost
    db: LabHost

    @property
    def resp(self) -> LabHost:
        return self.lab.responder_host

    def nft_json(self) -> list[object]:
        return ruleset.canonical(_in_ns(self.web, "nft", "-j", "list", "ruleset").stdout)

    def can_connect(self, frm: LabHost, address: str, port: int = 22) -> bool:
        code = (f"import socket\ntry:\n socket.create_connection(({address!r}, {port}), timeout=1.5).close()\n"
                " print('yes')\nexcept OSError:\n print('no')")
        return _in_ns(frm, sys.executable, "-c", code).stdout.strip() == "yes"

    def cli(self, where: LabHost, *args: str, case: Path) -> subprocess.CompletedProcess[str]:
        """The real CLI in a host's network namespace (the responder's, or web's for local mode)."""
        env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", "COLUMNS": "200", "AFTERMATH_CASE": str(case)}
        return subprocess.run(["ip", "netns", "exec", where.ns, sys.executable, "-m",
                               "tests.secure.contain.cli_harness", *args], capture_output=True, text=True,
                              env=env, cwd=ROOT, timeout=120, check=False)

    def ssh(self) -> list[str]:
        return ["--host", f"root@{self.web.ip}", *self.lab.ssh_args()]


def _in_ns(host: LabHost, *argv: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", "netns", "exec", host.ns, *argv], capture_output=True, text=True, input=input,
                          timeout=60, check=True)


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    with Lab(tmp_path_factory.mktemp("lab")) as lab:
        web, db = lab.add_host("web"), lab.add_host("db")
        for host in (lab.responder_host, web, db):
            _in_ns(host, "ip", "addr", "add", f"{V6[host.name]}/64", "dev", "eth0", "nodad")
        # The lab's sshd listens on IPv4 only: a TCP service on web's IPv6 address stands in for it.
        # the host has its own /tmp (where a CI checkout may live): use the system's python, not the venv's
        web.run("sh", "-c", f"/usr/bin/python3 -m http.server --bind {V6['web']} {V6_PORT} </dev/null "
                            ">/dev/null 2>&1 &")
        net = Net(lab, web, db)
        _wait(lambda: net.can_connect(db, V6["web"], V6_PORT), "the IPv6 service on web")
        yield net


def _wait(cond: Callable[[], bool], what: str, timeout: float = 10) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture()
def case_dir(tmp_path: Path) -> Path:
    return Case.init(tmp_path / "case").root


@pytest.fixture()
def unrelated_table(net: Net) -> Iterator[list[object]]:
    """An unrelated table that must survive isolate + release, and the ruleset as it was before."""
    _in_ns(net.web, "nft", "-f", "-", input=UNRELATED)
    before = net.nft_json()
    yield before
    subprocess.run(["ip", "netns", "exec", net.web.ns, "sh", "-c", "nft delete table inet keepme; "
                    "nft delete table inet aftermath_isolation"], capture_output=True, check=False)


def actions(case_dir: Path) -> list[str]:
    return [e.action for e in Case.open(case_dir).entries("secure.")]


def test_isolate_over_ssh_blocks_others_keeps_responder_and_release_restores_exactly(
        net: Net, case_dir: Path, unrelated_table: list[object]) -> None:
    host4, host6 = net.web.ip, V6["web"]
    assert net.can_connect(net.db, host4) and net.can_connect(net.db, host6, V6_PORT)
    out = net.cli(net.resp, "secure", "isolate", *net.ssh(), "--allow", f"{net.resp.ip},fd77::1",
                  "--confirm-within", "60", "--probe", net.db.ip, "--json", case=case_dir)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)[0]
    assert result["passed"] is True
    checks = {c["name"]: c["ok"] for c in result["checks"]}
    assert checks == {"table loaded": True, "control session still works": True,
                      "responder can open a new SSH connection": True, "outbound traffic is dropped": True}
    assert result["session"]["client"] == net.resp.ip and result["session"]["server_port"] == 22
    # From the responder: SSH still answers, over IPv4 and over IPv6 (neighbour discovery kept).
    assert net.can_connect(net.resp, host4) and net.can_connect(net.resp, host6, V6_PORT)
    # From another host: nothing gets in, and the host cannot reach it either.
    assert not net.can_connect(net.db, host4) and not net.can_connect(net.db, host6, V6_PORT)
    assert not net.can_connect(net.web, net.db.ip, 22)

    confirmed = net.cli(net.resp, "secure", "confirm", *net.ssh(), case=case_dir)
    assert confirmed.returncode == 0, confirmed.stderr
    assert not _alive(result["deadman_pid"])

    released = net.cli(net.resp, "secure", "release", *net.ssh(), case=case_dir)
    assert released.returncode == 0, released.stderr
    assert "exactly as before" in released.stdout
    assert net.nft_json() == unrelated_table  # the unrelated table and everything else, exactly
    assert net.can_connect(net.db, host4) and net.can_connect(net.db, host6, V6_PORT)
    assert actions(case_dir) == ["secure.isolate", "secure.isolate.selftest", "secure.confirm", "secure.release"]
    case = Case.open(case_dir)
    iso = case.entries("secure.isolate")[0].data
    before = case.evidence(iso["before_evidence"])
    assert before.sha256 == iso["before_sha256"] == hash_file(before.path)[0]
    assert ruleset.canonical(before.path.read_text()) == unrelated_table
    doc = case.evidence(iso["ruleset_document"])
    assert ruleset.ruleset_hash(doc.path.read_text()) == iso["rules_sha256"]
    assert iso["allow"] == [f"{net.resp.ip}/32", "fd77::1/128"] and iso["deadline"].endswith("Z")


def test_deadman_timer_rolls_back_when_not_confirmed(net: Net, case_dir: Path,
                                                     unrelated_table: list[object]) -> None:
    case, runner = Case.open(case_dir), netns_runner(net.web.ns)
    iso = isolate(case, runner, parse_allow([net.resp.ip]), 3, utcnow())
    assert iso.passed and not net.can_connect(net.db, net.web.ip)
    _wait(lambda: net.can_connect(net.db, net.web.ip), "the dead-man timer to roll back", timeout=8)
    assert net.nft_json() == unrelated_table
    with pytest.raises(StateError, match="already rolled back"):
        confirm(case, runner)
    rolled = case.entries("secure.isolate.rolled_back")
    assert len(rolled) == 1 and "dead-man timer" in rolled[0].data["reason"]
    assert status(case, runner).phase == "rolled_back"  # noticed once, journaled once
    assert len(case.entries("secure.isolate.rolled_back")) == 1


def test_confirm_cancels_the_rollback(net: Net, case_dir: Path, unrelated_table: list[object]) -> None:
    case, runner = Case.open(case_dir), netns_runner(net.web.ns)
    iso = isolate(case, runner, parse_allow([net.resp.ip]), 3, utcnow())
    assert confirm(case, runner).phase == "confirmed"
    assert not _alive(iso.deadman_pid)
    time.sleep(4)
    assert not net.can_connect(net.db, net.web.ip)
    assert status(case, runner).phase == "confirmed"
    assert release(case, runner).restored_exactly is True
    assert net.nft_json() == unrelated_table
    assert [e.action for e in case.entries("secure.")] == [
        "secure.isolate", "secure.isolate.selftest", "secure.confirm", "secure.release"]


def test_isolate_the_local_machine_without_ssh(net: Net, case_dir: Path, unrelated_table: list[object]) -> None:
    out = net.cli(net.web, "secure", "isolate", "--allow", net.resp.ip, "--confirm-within", "30",
                  "--probe", net.db.ip, case=case_dir)
    assert out.returncode == 0, out.stderr
    assert f"outbound traffic is dropped: UDP to {net.db.ip}: before: sent, now EPERM" in out.stdout
    assert net.can_connect(net.resp, net.web.ip) and not net.can_connect(net.db, net.web.ip)
    again = net.cli(net.web, "secure", "isolate", "--allow", net.resp.ip, case=case_dir)
    assert again.returncode == 10 and "already isolated" in again.stderr
    assert "local: pending (rolls back at" in net.cli(net.web, "secure", "isolation", case=case_dir).stdout
    assert net.cli(net.web, "secure", "release", case=case_dir).returncode == 0
    assert net.nft_json() == unrelated_table


def test_bad_allow_address_is_a_usage_error_and_changes_nothing(net: Net, case_dir: Path,
                                                               unrelated_table: list[object]) -> None:
    out = net.cli(net.web, "secure", "isolate", "--allow", f"{net.resp.ip},10.77.0.300", case=case_dir)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "aftermath: error: bad --allow address '10.77.0.300': use an IPv4 or IPv6 address or network, "
        "e.g. 192.0.2.10 or 2001:db8::10 or 192.0.2.0/24"]
    assert net.nft_json() == unrelated_table and actions(case_dir) == []


def _alive(pid: int) -> bool:
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def test_freeze_leaves_the_process_stopped_and_records_it(case_dir: Path) -> None:
    proc = subprocess.Popen(["sleep", "300"])
    try:
        out = subprocess.run([sys.executable, "-m", "tests.secure.contain.cli_harness", "--case", str(case_dir),
                              "secure", "freeze", str(proc.pid)], cwd=ROOT, capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}, check=False)
        assert out.returncode == 0, out.stderr
        assert Path(f"/proc/{proc.pid}/status").read_text().split("State:\t")[1][0] == "T"
        entry = Case.open(case_dir).entries("secure.freeze")[0].data
        assert entry["exe_sha256"] == hash_file(Path("/proc") / str(proc.pid) / "exe")[0]
        assert entry["state_after"].startswith("T")
    finally:
        proc.kill()
        proc.wait()


def test_freeze_refuses_pid_1_and_own_session(case_dir: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "tests.secure.contain.cli_harness", "--case", str(case_dir),
                          "secure", "freeze", "1"], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}, check=False)
    assert out.returncode == 2 and "refusing PID 1" in out.stderr
    with pytest.raises(UsageError, match="responder's own session"):
        freeze(Case.open(case_dir), LocalRunner(), [os.getpid()])


def test_kill_over_ssh_collects_the_executable_first(net: Net, case_dir: Path) -> None:
    implant = net.web.root / "opt" / "implant"
    implant.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy("/bin/sleep", implant)
    with implant.open("ab") as fh:
        fh.write(b"\0aftermath test implant")  # a distinct binary with its own hash
    pid = int(net.web.run("sh", "-c", "/opt/implant 300 </dev/null >/dev/null 2>&1 & echo $!").stdout)
    try:
        out = net.cli(net.resp, "secure", "kill", str(pid), *net.ssh(), case=case_dir)
        assert out.returncode == 0, out.stderr
        _wait(lambda: not _alive_in(net.web, pid), "the implant to end")
        case = Case.open(case_dir)
        entry = case.entries("secure.kill")[0].data
        item = case.evidence(entry["exe_evidence"])
        assert item.sha256 == entry["exe_sha256"] == hash_file(implant)[0]
        assert hash_file(item.path)[0] == item.sha256 and entry["exe"] == "/opt/implant"
        assert case.entries("secure.kill")[0].subject == f"root@{net.web.ip}"
    finally:
        net.web.run("kill", "-9", str(pid), check=False)


def test_kill_over_ssh_refuses_the_responders_own_sshd(net: Net, case_dir: Path) -> None:
    out = net.cli(net.resp, "secure", "kill", "1", *net.ssh(), case=case_dir)
    assert out.returncode == 2 and "refusing PID 1" in out.stderr
    assert net.web.run("kill", "-0", "1", check=False).returncode == 0


def _alive_in(host: LabHost, pid: int) -> bool:
    state = host.run("sh", "-c", f"cat /proc/{pid}/status 2>/dev/null | grep ^State", check=False).stdout
    return bool(state) and "Z" not in state.split()[1]


@dataclass
class LeakyOutput(LocalRunner):
    """The host's nft quietly loads the output chain with policy accept: the self-test must catch it."""

    def run(self, argv: Sequence[str], *, stdin: bytes | None = None, timeout: float = 60) -> Result:
        if list(argv[:2]) == ["nft", "-f"] and stdin and b"hook output" in stdin:
            stdin = stdin.replace(b"hook output priority filter - 10; policy drop;",
                                  b"hook output priority filter - 10; policy accept;")
        return super().run(argv, stdin=stdin, timeout=timeout)


def test_failed_self_test_rolls_back_at_once(net: Net, case_dir: Path, unrelated_table: list[object]) -> None:
    case = Case.open(case_dir)
    runner = LeakyOutput(("ip", "netns", "exec", net.web.ns), label="leaky")
    with pytest.raises(StateError, match="self-test failed .*outbound traffic is dropped.*rolled back"):
        isolate(case, runner, parse_allow([net.resp.ip]), 30, utcnow(), probe=net.db.ip)
    assert net.nft_json() == unrelated_table and net.can_connect(net.db, net.web.ip)
    selftest = case.entries("secure.isolate.selftest")[0].data
    assert selftest["passed"] is False
    assert [c["ok"] for c in selftest["checks"]] == [False, True, None, False]
    rollback = case.entries("secure.isolate.rollback")[0].data
    assert rollback["removed"] is True and not _alive(case.entries("secure.isolate")[0].data["deadman_pid"])
