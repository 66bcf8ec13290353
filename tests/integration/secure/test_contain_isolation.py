"""Containment against real nftables, a real sshd and real processes, in network namespaces made here.

A small lab of its own: namespaces ``resp`` (the responder, 10.77.0.1 / fd77::1), ``host`` (the host to
isolate, 10.77.0.2 / fd77::2, with its own sshd) and ``other`` (another machine, 10.77.0.3 / fd77::3)
on one bridge inside a fourth namespace. The CLI runs inside ``resp`` (over SSH) or ``host`` (local).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
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

pytestmark = [pytest.mark.root, pytest.mark.skipif(os.geteuid() != 0, reason="needs root for namespaces")]

ROOT = Path(__file__).resolve().parents[3]
ADDR = {"resp": ("10.77.0.1", "fd77::1"), "host": ("10.77.0.2", "fd77::2"), "other": ("10.77.0.3", "fd77::3")}
UNRELATED = ("table inet keepme {\n chain c {\n  type filter hook input priority 0; policy accept;\n"
             "  tcp dport 9 counter\n }\n}\n")


def sh(*argv: str, check: bool = True, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=check, capture_output=True, text=True, **kw)  # type: ignore[call-overload]


@dataclass
class Lab:
    tag: str
    tmp: Path
    sshd: subprocess.Popen[bytes]

    def ns(self, name: str) -> str:
        return f"{self.tag}-{name}"

    def in_ns(self, name: str, *argv: str, **kw: object) -> subprocess.CompletedProcess[str]:
        return sh("ip", "netns", "exec", self.ns(name), *argv, **kw)

    def nft_json(self) -> list[object]:
        return ruleset.canonical(self.in_ns("host", "nft", "-j", "list", "ruleset").stdout)

    def can_connect(self, frm: str, address: str, port: int = 22) -> bool:
        code = (f"import socket\ntry:\n socket.create_connection(({address!r}, {port}), timeout=1.5).close()\n"
                " print('yes')\nexcept OSError:\n print('no')")
        return self.in_ns(frm, sys.executable, "-c", code).stdout.strip() == "yes"

    def cli(self, where: str, *args: str, case: Path) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", "COLUMNS": "200", "AFTERMATH_CASE": str(case)}
        return sh("ip", "netns", "exec", self.ns(where), sys.executable, "-m", "tests.secure.contain.cli_harness",
                  *args, check=False, env=env, cwd=ROOT, timeout=120)

    def ssh_args(self) -> list[str]:
        return ["--host", f"root@{ADDR['host'][0]}", "--identity", str(self.tmp / "client"),
                "--known-hosts", str(self.tmp / "known_hosts")]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    tag = f"aftc{os.getpid() % 100000}"
    tmp = tmp_path_factory.mktemp("lab")
    made: list[str] = []
    try:
        for name in ("sw", "resp", "host", "other"):
            sh("ip", "netns", "add", f"{tag}-{name}")
            made.append(f"{tag}-{name}")
        sw = f"{tag}-sw"
        sh("ip", "-n", sw, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", sw, "link", "set", "br0", "up")
        for i, name in enumerate(("resp", "host", "other")):
            ns = f"{tag}-{name}"
            sh("ip", "link", "add", f"{tag}v{i}", "netns", sw, "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "-n", sw, "link", "set", f"{tag}v{i}", "master", "br0", "up")
            v4, v6 = ADDR[name]
            sh("ip", "-n", ns, "addr", "add", f"{v4}/24", "dev", "eth0")
            sh("ip", "-n", ns, "addr", "add", f"{v6}/64", "dev", "eth0", "nodad")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sshd = _start_sshd(tag, tmp)
        lab = Lab(tag, tmp, sshd)
        _wait(lambda: lab.can_connect("resp", ADDR["host"][0]), "sshd in the host namespace")
        yield lab
        sshd.terminate()
        sshd.wait(10)
    finally:
        for ns in reversed(made):
            sh("ip", "netns", "del", ns, check=False)


def _start_sshd(tag: str, tmp: Path) -> subprocess.Popen[bytes]:
    for key in ("hostkey", "client"):
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp / key))
    shutil.copy(tmp / "client.pub", tmp / "authorized_keys")
    host_pub = (tmp / "hostkey.pub").read_text().split()
    (tmp / "known_hosts").write_text(f"{ADDR['host'][0]} {host_pub[0]} {host_pub[1]}\n")
    (tmp / "sshd_config").write_text(
        f"Port 22\nHostKey {tmp / 'hostkey'}\nAuthorizedKeysFile {tmp / 'authorized_keys'}\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        f"UsePAM no\nStrictModes no\nPidFile {tmp / 'sshd.pid'}\n")
    Path("/run/sshd").mkdir(exist_ok=True)
    return subprocess.Popen(["ip", "netns", "exec", f"{tag}-host", "/usr/sbin/sshd", "-D", "-e", "-f",
                             str(tmp / "sshd_config")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait(cond: object, what: str, timeout: float = 10) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():  # type: ignore[operator]
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture()
def case_dir(tmp_path: Path) -> Path:
    return Case.init(tmp_path / "case").root


@pytest.fixture()
def unrelated_table(lab: Lab) -> Iterator[list[object]]:
    """An unrelated table that must survive isolate + release, and the ruleset as it was before."""
    lab.in_ns("host", "nft", "-f", "-", input=UNRELATED)
    before = lab.nft_json()
    yield before
    lab.in_ns("host", "nft", "delete", "table", "inet", "keepme", check=False)
    lab.in_ns("host", "nft", "delete", "table", "inet", "aftermath_isolation", check=False)


def actions(case_dir: Path) -> list[str]:
    return [e.action for e in Case.open(case_dir).entries("secure.")]


def test_isolate_over_ssh_blocks_others_keeps_responder_and_release_restores_exactly(
        lab: Lab, case_dir: Path, unrelated_table: list[object]) -> None:
    host4, host6 = ADDR["host"]
    assert lab.can_connect("other", host4) and lab.can_connect("other", host6)
    out = lab.cli("resp", "secure", "isolate", *lab.ssh_args(), "--allow", "10.77.0.1,fd77::1",
                  "--confirm-within", "60", "--probe", ADDR["other"][0], "--json", case=case_dir)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)[0]
    assert result["passed"] is True
    checks = {c["name"]: c["ok"] for c in result["checks"]}
    assert checks == {"table loaded": True, "control session still works": True,
                      "responder can open a new SSH connection": True, "outbound traffic is dropped": True}
    assert result["session"]["client"] == "10.77.0.1" and result["session"]["server_port"] == 22
    # From the responder: SSH still answers, over IPv4 and over IPv6 (neighbour discovery kept).
    assert lab.can_connect("resp", host4) and lab.can_connect("resp", host6)
    # From another host: nothing gets in, and the host cannot reach it either.
    assert not lab.can_connect("other", host4) and not lab.can_connect("other", host6)
    assert not lab.can_connect("host", ADDR["other"][0], 22)

    confirmed = lab.cli("resp", "secure", "confirm", *lab.ssh_args(), case=case_dir)
    assert confirmed.returncode == 0, confirmed.stderr
    assert not _alive(result["deadman_pid"])

    released = lab.cli("resp", "secure", "release", *lab.ssh_args(), case=case_dir)
    assert released.returncode == 0, released.stderr
    assert "exactly as before" in released.stdout
    assert lab.nft_json() == unrelated_table  # the unrelated table and everything else, exactly
    assert lab.can_connect("other", host4)
    assert actions(case_dir) == ["secure.isolate", "secure.isolate.selftest", "secure.confirm", "secure.release"]
    case = Case.open(case_dir)
    iso = case.entries("secure.isolate")[0].data
    before = case.evidence(iso["before_evidence"])
    assert before.sha256 == iso["before_sha256"] == hash_file(before.path)[0]
    assert ruleset.canonical(before.path.read_text()) == unrelated_table
    doc = case.evidence(iso["ruleset_document"])
    assert ruleset.ruleset_hash(doc.path.read_text()) == iso["rules_sha256"]
    assert iso["allow"] == ["10.77.0.1/32", "fd77::1/128"] and iso["deadline"].endswith("Z")


def test_deadman_timer_rolls_back_when_not_confirmed(lab: Lab, case_dir: Path,
                                                     unrelated_table: list[object]) -> None:
    case, runner = Case.open(case_dir), netns_runner(lab.ns("host"))
    iso = isolate(case, runner, parse_allow(["10.77.0.1"]), 3, utcnow())
    assert iso.passed and not lab.can_connect("other", ADDR["host"][0])
    _wait(lambda: lab.can_connect("other", ADDR["host"][0]), "the dead-man timer to roll back", timeout=8)
    assert lab.nft_json() == unrelated_table
    with pytest.raises(StateError, match="already rolled back"):
        confirm(case, runner)
    rolled = case.entries("secure.isolate.rolled_back")
    assert len(rolled) == 1 and "dead-man timer" in rolled[0].data["reason"]
    assert status(case, runner).phase == "rolled_back"  # noticed once, journaled once
    assert len(case.entries("secure.isolate.rolled_back")) == 1


def test_confirm_cancels_the_rollback(lab: Lab, case_dir: Path, unrelated_table: list[object]) -> None:
    case, runner = Case.open(case_dir), netns_runner(lab.ns("host"))
    iso = isolate(case, runner, parse_allow(["10.77.0.1"]), 3, utcnow())
    assert confirm(case, runner).phase == "confirmed"
    assert not _alive(iso.deadman_pid)
    time.sleep(4)
    assert not lab.can_connect("other", ADDR["host"][0])
    assert status(case, runner).phase == "confirmed"
    assert release(case, runner).restored_exactly is True
    assert lab.nft_json() == unrelated_table
    assert [e.action for e in case.entries("secure.")] == [
        "secure.isolate", "secure.isolate.selftest", "secure.confirm", "secure.release"]


def test_isolate_the_local_machine_without_ssh(lab: Lab, case_dir: Path, unrelated_table: list[object]) -> None:
    out = lab.cli("host", "secure", "isolate", "--allow", "10.77.0.1", "--confirm-within", "30",
                  "--probe", ADDR["other"][0], case=case_dir)
    assert out.returncode == 0, out.stderr
    assert "outbound traffic is dropped: UDP to 10.77.0.3: before: sent, now EPERM" in out.stdout
    assert lab.can_connect("resp", ADDR["host"][0]) and not lab.can_connect("other", ADDR["host"][0])
    again = lab.cli("host", "secure", "isolate", "--allow", "10.77.0.1", case=case_dir)
    assert again.returncode == 10 and "already isolated" in again.stderr
    assert "local: pending (rolls back at" in lab.cli("host", "secure", "isolation", case=case_dir).stdout
    assert lab.cli("host", "secure", "release", case=case_dir).returncode == 0
    assert lab.nft_json() == unrelated_table


def test_bad_allow_address_is_a_usage_error_and_changes_nothing(lab: Lab, case_dir: Path,
                                                               unrelated_table: list[object]) -> None:
    out = lab.cli("host", "secure", "isolate", "--allow", "10.77.0.1,10.77.0.300", case=case_dir)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "aftermath: error: bad --allow address '10.77.0.300': use an IPv4 or IPv6 address or network, "
        "e.g. 192.0.2.10 or 2001:db8::10 or 192.0.2.0/24"]
    assert lab.nft_json() == unrelated_table and actions(case_dir) == []


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


def test_kill_over_ssh_collects_the_executable_first(lab: Lab, case_dir: Path, tmp_path: Path) -> None:
    implant = tmp_path / "implant"
    shutil.copy("/bin/sleep", implant)
    with implant.open("ab") as fh:
        fh.write(b"\0aftermath test implant")  # a distinct binary with its own hash
    proc = subprocess.Popen(["ip", "netns", "exec", lab.ns("host"), str(implant), "300"])
    try:
        _wait(lambda: Path(f"/proc/{proc.pid}/exe").resolve() == implant, "the implant to start")
        out = lab.cli("resp", "secure", "kill", str(proc.pid), *lab.ssh_args()[:2], "--identity",
                      str(lab.tmp / "client"), "--known-hosts", str(lab.tmp / "known_hosts"), case=case_dir)
        assert out.returncode == 0, out.stderr
        assert proc.wait(10) == -9
        case = Case.open(case_dir)
        entry = case.entries("secure.kill")[0].data
        item = case.evidence(entry["exe_evidence"])
        assert item.sha256 == entry["exe_sha256"] == hash_file(implant)[0]
        assert hash_file(item.path)[0] == item.sha256 and entry["exe"] == str(implant)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@dataclass
class LeakyOutput(LocalRunner):
    """The host's nft quietly loads the output chain with policy accept: the self-test must catch it."""

    def run(self, argv: Sequence[str], *, stdin: bytes | None = None, timeout: float = 60) -> Result:
        if list(argv[:2]) == ["nft", "-f"] and stdin and b"hook output" in stdin:
            stdin = stdin.replace(b"hook output priority filter - 10; policy drop;",
                                  b"hook output priority filter - 10; policy accept;")
        return super().run(argv, stdin=stdin, timeout=timeout)


def test_failed_self_test_rolls_back_at_once(lab: Lab, case_dir: Path, unrelated_table: list[object]) -> None:
    case = Case.open(case_dir)
    runner = LeakyOutput(("ip", "netns", "exec", lab.ns("host")), label="leaky")
    with pytest.raises(StateError, match="self-test failed .*outbound traffic is dropped.*rolled back"):
        isolate(case, runner, parse_allow(["10.77.0.1"]), 30, utcnow(), probe=ADDR["other"][0])
    assert lab.nft_json() == unrelated_table and lab.can_connect("other", ADDR["host"][0])
    selftest = case.entries("secure.isolate.selftest")[0].data
    assert selftest["passed"] is False
    assert [c["ok"] for c in selftest["checks"]] == [False, True, None, False]
    rollback = case.entries("secure.isolate.rollback")[0].data
    assert rollback["removed"] is True and not _alive(case.entries("secure.isolate")[0].data["deadman_pid"])
