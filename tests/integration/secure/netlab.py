"""A small test network of real hosts, built from namespaces (needs root).

Each host is a network namespace joined to a bridge (in a switch namespace of its own), plus, for
hosts with ``own_system=True``, its own mount, PID and UTS namespaces over an overlay of ``/`` whose
upper layer is a tmpfs, with fresh /tmp, /run and /dev/shm, and its own sshd as PID 1. So hosts differ
in what runs on them and what their disks hold, and nothing they write reaches the real system.
The responder is a network namespace only: commands run there see the real file system.

Use from tests::

    with Lab(tmp_path) as lab:
        web = lab.add_host("web")                 # sshd on web.ip, root login by lab.client_key
        web.run("sh", "-c", "echo hi > /tmp/x")   # inside the host (nsenter into all its namespaces)
        web.write("/etc/cron.d/job", "...")       # write a file into the host's own disk
        lab.responder("python3", "-m", "aftermath", ...)   # run a command on the responder
    # everything is gone: processes, mounts, namespaces

The containment helper can use ``host.pid`` (the host's init in the root PID namespace), ``host.ns``
(its network namespace name, for ``ip netns exec``), ``lab.ssh_args(host)`` and ``Lab.subnet``.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

SSHD_CONFIG = """\
ListenAddress {ip}
Port 22
HostKey /etc/ssh/lab_host_ed25519_key
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AuthorizedKeysFile /etc/ssh/lab_authorized_keys .ssh/authorized_keys
StrictModes no
PidFile none
LogLevel ERROR
"""

# Runs inside `unshare --mount --pid --uts --fork`: build the host's own root, then become its sshd.
BOOT = """\
set -e
M={mnt}
mount -t tmpfs -o mode=755 lab $M
mkdir $M/upper $M/work $M/root
mount -t overlay overlay -o lowerdir=/,upperdir=$M/upper,workdir=$M/work $M/root
R=$M/root
mount -t proc proc $R/proc
mount --rbind /dev $R/dev
mount -t tmpfs -o mode=1777 shm $R/dev/shm
mount -t sysfs sysfs $R/sys
mount -t tmpfs -o mode=755 run $R/run
mount -t tmpfs -o mode=1777 tmp $R/tmp
mkdir -p $R/run/sshd
cp -a {stage}/. $R/
hostname {name}
exec chroot $R /usr/sbin/sshd -D -e -f /etc/ssh/lab_sshd_config
"""


def _run(*argv: str, check: bool = True, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), check=check, capture_output=True, text=True, timeout=60, **kw)  # type: ignore[call-overload]


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            continue
    return kids


@dataclass
class LabHost:
    """One host of the lab."""

    name: str
    ns: str
    ip: str
    lab: Lab
    pid: int = 0  # the host's PID 1 (its sshd), as seen from the real system; 0 for netns-only hosts
    proc: subprocess.Popen[bytes] | None = None
    host_key: str = ""

    @property
    def root(self) -> Path:
        """The host's own file system, seen from outside through /proc/PID/root."""
        return Path(f"/proc/{self.pid}/root") if self.pid else Path("/")

    def command(self, *argv: str) -> list[str]:
        """The argument list that runs ``argv`` inside this host."""
        if self.pid:
            return ["nsenter", "-t", str(self.pid), "-m", "-u", "-n", "-p", "-r", "-w", "--", *argv]
        return ["ip", "netns", "exec", self.ns, *argv]

    def run(self, *argv: str, check: bool = True, input: str | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run a command inside the host and wait for it."""
        proc = subprocess.run(self.command(*argv), capture_output=True, text=True, input=input, timeout=timeout,
                              check=False)
        if check and proc.returncode:
            raise AssertionError(f"{self.name}: {shlex.join(argv)} exited {proc.returncode}: {proc.stderr}")
        return proc

    def write(self, path: str, content: str, mode: int = 0o644, mtime: float | None = None) -> Path:
        """Write a file on the host's own disk (parents created); optionally back-date it."""
        target = self.root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        target.chmod(mode)
        if mtime is not None:
            os.utime(target, (mtime, mtime))
        return target


@dataclass
class Lab:
    """The whole network; a context manager that always tears down what it made."""

    base: Path
    subnet: str = field(default_factory=lambda: f"10.{200 + secrets.randbelow(50)}.{secrets.randbelow(250)}")
    tag: str = field(default_factory=lambda: secrets.token_hex(2))
    hosts: dict[str, LabHost] = field(default_factory=dict)
    _namespaces: list[str] = field(default_factory=list)
    _closed: bool = False

    def __post_init__(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        atexit.register(self.close)
        self.client_key = self.base / "client_key"
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "responder@lab", "-f", str(self.client_key))
        self.known_hosts = self.base / "known_hosts"
        self.known_hosts.write_text("")
        self.switch = self._netns("sw")
        _run("ip", "netns", "exec", self.switch, "ip", "link", "add", "br0", "type", "bridge")
        _run("ip", "netns", "exec", self.switch, "ip", "link", "set", "br0", "up")
        self.responder_host = self._attach("responder")

    # -- building --------------------------------------------------------------------------------
    def _netns(self, name: str) -> str:
        ns = f"am{self.tag}{name}"
        _run("ip", "netns", "add", ns)
        self._namespaces.append(ns)
        _run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        return ns

    def _attach(self, name: str) -> LabHost:
        ns = self._netns(name)
        index = len(self.hosts) + 1
        ip = f"{self.subnet}.{index}"
        inner, outer = f"v{self.tag}{index}a", f"v{self.tag}{index}b"
        _run("ip", "link", "add", inner, "netns", ns, "type", "veth", "peer", "name", outer, "netns", self.switch)
        _run("ip", "netns", "exec", ns, "ip", "link", "set", inner, "name", "eth0")
        _run("ip", "netns", "exec", ns, "ip", "addr", "add", f"{ip}/24", "dev", "eth0")
        _run("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up")
        _run("ip", "netns", "exec", self.switch, "ip", "link", "set", outer, "master", "br0", "up")
        host = LabHost(name, ns, ip, self)
        self.hosts[name] = host
        return host

    def add_host(self, name: str, authorized: bool = True) -> LabHost:
        """A host with its own system (mount, PID, UTS namespaces) and sshd; the responder's key logs in."""
        host = self._attach(name)
        stage = self.base / name / "stage"
        ssh = stage / "etc" / "ssh"
        ssh.mkdir(parents=True)
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(ssh / "lab_host_ed25519_key"))
        (ssh / "lab_sshd_config").write_text(SSHD_CONFIG.format(ip=host.ip))
        pub = (self.client_key.with_suffix(".pub")).read_text() if authorized else ""
        (ssh / "lab_authorized_keys").write_text(pub)
        host.host_key = (ssh / "lab_host_ed25519_key.pub").read_text().split()[1]
        with self.known_hosts.open("a") as fh:
            fh.write(f"{host.ip} ssh-ed25519 {host.host_key}\n")
        mnt = self.base / name / "mnt"
        mnt.mkdir()
        log = (self.base / name / "sshd.log").open("wb")
        script = BOOT.format(mnt=shlex.quote(str(mnt)), stage=shlex.quote(str(stage)), name=name)
        host.proc = subprocess.Popen(["ip", "netns", "exec", host.ns, "unshare", "--mount", "--pid", "--uts",
                                      "--fork", "--propagation", "private", "sh", "-c", script],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        host.pid = self._wait_init(host)
        self._wait_port(host)
        return host

    def _wait_init(self, host: LabHost) -> int:
        assert host.proc is not None
        for _ in range(100):
            kids = _children(host.proc.pid)
            if kids:
                return kids[0]
            if host.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"lab host {host.name} did not start: {(self.base / host.name / 'sshd.log').read_text()}")

    def _wait_port(self, host: LabHost) -> None:
        for _ in range(200):
            out = _run("ip", "netns", "exec", host.ns, "ss", "-Htln", f"src {host.ip}", check=False).stdout
            if ":22" in out:
                return
            if host.proc is not None and host.proc.poll() is not None:
                break
            time.sleep(0.05)
        log = (self.base / host.name / "sshd.log").read_text()
        raise RuntimeError(f"sshd of lab host {host.name} is not listening: {log}")

    # -- using -----------------------------------------------------------------------------------
    def ssh_args(self) -> list[str]:
        """Options for ``aftermath secure``: the responder's key and the lab's known_hosts."""
        return ["--identity", str(self.client_key), "--known-hosts", str(self.known_hosts)]

    def responder(self, *argv: str, env: dict[str, str] | None = None, timeout: float = 300,
                  cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run a command on the responder (its network namespace, the real file system)."""
        return subprocess.run(["ip", "netns", "exec", self.responder_host.ns, *argv], capture_output=True, text=True,
                              timeout=timeout, env={**os.environ, **(env or {})}, cwd=cwd, check=False)

    def aftermath(self, *args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run the real ``aftermath`` command on the responder."""
        src = str(Path(__file__).resolve().parents[3] / "src")
        return self.responder(sys.executable, "-m", "aftermath", *args, cwd=cwd, timeout=timeout,
                              env={"PYTHONPATH": src, "COLUMNS": "200"})

    # -- tearing down ----------------------------------------------------------------------------
    def close(self) -> None:
        """Kill every host (its PID namespace dies with its init), then delete the namespaces."""
        if self._closed:
            return
        self._closed = True
        for host in self.hosts.values():
            for pid in (host.pid, host.proc.pid if host.proc else 0):
                if pid:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            if host.proc is not None:
                try:
                    host.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
        for ns in reversed(self._namespaces):
            _run("ip", "netns", "del", ns, check=False)
        atexit.unregister(self.close)

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def can_build_lab() -> bool:
    """Root, and the tools the lab needs."""
    tools = ("/usr/sbin/sshd", "/usr/bin/nsenter", "/usr/bin/unshare")
    return os.geteuid() == 0 and all(Path(t).exists() for t in tools)


# -- pytest fixtures ------------------------------------------------------------------------------
try:
    import pytest
except ImportError:  # pragma: no cover - netlab is also usable from plain scripts
    pytest = None  # type: ignore[assignment]

if pytest is not None:
    needs_lab = pytest.mark.skipif(not can_build_lab(), reason="the namespace lab needs root, sshd and util-linux")

    @pytest.fixture()
    def netlab(tmp_path: Path) -> object:
        """An empty lab (the responder only); add hosts with ``lab.add_host(name)``. Torn down after the test."""
        with Lab(tmp_path / "lab") as lab:
            yield lab
