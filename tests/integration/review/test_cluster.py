"""The content pass on a real Dask cluster: a scheduler and two workers, each its own process on loopback,
reading a restic repository served over REST (rclone serve restic) with their own password file.

One worker is killed half-way through the review; the result must equal the review of the same
repository on one machine.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from aftermath.errors import PasswordError, ToolError
from aftermath.restic import Repository
from aftermath.review import Progress, run_review, walk
from aftermath.review.cluster import ClusterWorkers, pack_scanners, worker_password
from aftermath.review.report import to_json_text
from aftermath.review.scanners import default_scanners
from tests.conftest import run_cli
from tests.integration.restic import servers
from tests.integration.review.conftest import WEB_SHELL, write_business

pytest.importorskip("distributed", reason="the cluster extra is missing: pip install -e '.[dev]'")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("rclone") is None, reason="rclone missing: run scripts/system-deps.sh")]

PASSWORD = "cluster-test-password"
DASK = str(Path(sys.executable).with_name("dask"))


@dataclass
class Cluster:
    address: str
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]]
    logs: Path


@dataclass
class Served:
    location: str
    env: dict[str, str]  # backend credentials and the password file, as a worker gets them
    password_file: Path


def _wait_line(log: Path, needle: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            raise RuntimeError(f"{log.name} exited: {log.read_text(errors='replace')}")
        time.sleep(0.2)
    raise RuntimeError(f"{log.name} did not say {needle!r}: {log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A REST repository with enough distinct contents for many batches, and a web shell in the last snapshot."""
    base = tmp_path_factory.mktemp("cluster")
    with servers.rest_server(base) as server:
        pw = base / "password"
        pw.write_text(PASSWORD)
        env = {**os.environ, **server.env, **server.extra, "RESTIC_PASSWORD_FILE": str(pw),
               "RESTIC_CACHE_DIR": str(base / "restic-cache")}
        src = base / "src"
        rng = random.Random(18)
        write_business(src, rng)
        bulk = src / "share" / "archive"
        bulk.mkdir(parents=True)
        for i in range(240):
            (bulk / f"scan-{i:03}.bin").write_bytes(rng.randbytes(rng.randint(2_000, 60_000)))

        def restic(*args: str) -> None:
            subprocess.run(["restic", "--no-cache", *args], env=env, capture_output=True, check=True)

        restic("init")
        restic("backup", "--time", "2024-03-01 02:00:00", str(src))
        (src / "www" / "uploads" / "avatar.php").write_bytes(WEB_SHELL)
        restic("backup", "--time", "2024-03-02 02:00:00", str(src))
        yield Served(server.location, {**server.env, "AFTERMATH_REPO_PASSWORD_FILE": str(pw)}, pw)


@pytest.fixture()
def cluster(served: Served, tmp_path: Path) -> Iterator[Cluster]:
    """``dask scheduler`` and two ``dask worker`` processes (no nanny: a killed worker stays dead)."""
    port = servers.free_port()
    address = f"tcp://127.0.0.1:{port}"
    # a worker silent for 8 s (a network cut, a frozen machine) is given up and its tasks run elsewhere
    env = {**os.environ, **served.env, "DASK_DISTRIBUTED__SCHEDULER__WORKER_TTL": "8s"}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        log = tmp_path / "scheduler.log"
        sched = subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                 stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
        procs.append(sched)
        _wait_line(log, "Scheduler at:", sched)
        workers = []
        for i in range(2):
            wlog = tmp_path / f"worker-{i}.log"
            w = subprocess.Popen([DASK, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                  "--name", f"w{i}"], stdout=wlog.open("wb"), stderr=subprocess.STDOUT, env=env)
            procs.append(w)
            workers.append(w)
        for i, w in enumerate(workers):
            _wait_line(tmp_path / f"worker-{i}.log", "Registered to:", w)
        yield Cluster(address, sched, workers, tmp_path)
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _worker_address(log: Path) -> str:
    """The address a ``dask worker`` listens on, from its log (the key results are counted under)."""
    for line in log.read_text(errors="replace").splitlines():
        if "Start worker at:" in line:
            return line.rsplit(" ", 1)[-1].strip()
    raise RuntimeError(f"{log.name} names no address: {log.read_text(errors='replace')}")


def _comparable(result: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(to_json_text(result))
    doc["stats"] = {k: v for k, v in doc["stats"].items() if "second" not in k and "rate" not in k}
    return doc


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGSTOP], ids=["killed", "cut-off"])
def test_a_worker_lost_half_way_loses_nothing(served: Served, cluster: Cluster, how: signal.Signals,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed (its connections close at once) or cut off (frozen: silent, connections open, like a network
    cut): either way its batches run on the other worker and the result is the one-machine review's."""
    for name, value in served.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(walk, "BATCH_FILES", 6)  # many small batches: work is in flight when the worker dies
    scanners = default_scanners()
    repo = Repository.open(served.location, PASSWORD)
    try:
        alone = run_review(repo, scanners, workers=1)
    finally:
        repo.close()

    ran_on: Counter[str] = Counter()
    live: list[ClusterWorkers] = []
    init, close = ClusterWorkers.__init__, ClusterWorkers.close

    def remember(self: ClusterWorkers, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        live.append(self)

    def keep_counts(self: ClusterWorkers, now: bool = False) -> None:
        ran_on.update(self.ran_on)
        close(self, now)

    monkeypatch.setattr(ClusterWorkers, "__init__", remember)
    monkeypatch.setattr(ClusterWorkers, "close", keep_counts)
    by_address = {_worker_address(cluster.logs / f"worker-{i}.log"): w for i, w in enumerate(cluster.workers)}
    killed_at: list[Progress] = []
    victim: list[subprocess.Popen[bytes]] = []

    def kill_once_both_worked(p: Progress) -> None:
        """Half-way, or later if a worker was slow to start: once both returned batches and work remains."""
        done = live[-1].ran_on if live else Counter()
        if killed_at or len(done) < 2 or p.files_done * 2 < p.files_total or p.files_done >= p.files_total:
            return
        victim.append(by_address[min(done)])
        victim[0].send_signal(how)
        if how == signal.SIGKILL:
            victim[0].wait(10)
        killed_at.append(p)

    # A worker slow to start (a loaded machine) may return its first batch only when the work is done: then
    # nothing was lost yet, and the review runs again, both workers now having opened the repository.
    for _attempt in range(3):
        repo = Repository.open(served.location, PASSWORD)
        try:
            spread = run_review(repo, scanners, progress=kill_once_both_worked, cluster=cluster.address)
        finally:
            repo.close()
            if how == signal.SIGSTOP and victim:
                victim[0].kill()
                victim[0].wait(10)
        if killed_at:
            break

    logs = "\n".join(f"{p.name}: {p.read_text(errors='replace')[-2000:]}" for p in cluster.logs.glob("worker-*"))
    assert killed_at and killed_at[0].files_done < killed_at[0].files_total, (ran_on, logs)  # work remained
    survivor = next(w for w in cluster.workers if w is not victim[0])
    assert victim[0].returncode == -signal.SIGKILL and survivor.poll() is None
    assert len(ran_on) == 2 and sum(ran_on.values()) > 40  # both workers scanned batches
    assert _comparable(spread) == _comparable(alone)
    assert [s.verdict for s in spread.snapshots] == ["clean", "infected"]
    assert spread.stats.distinct_contents > 250 and not spread.errors


def test_cli_review_on_the_cluster_equals_the_review_on_one_machine(served: Served, cluster: Cluster,
                                                                    tmp_path: Path) -> None:
    env = {**served.env}
    on_cluster = run_cli("review", "--repo", served.location, "--cluster", cluster.address, "--json", "-",
                         cwd=tmp_path, env=env)
    alone = run_cli("review", "--repo", served.location, "--workers", "1", "--json", "-", cwd=tmp_path, env=env)
    assert on_cluster.code == alone.code == 1, on_cluster.err
    docs = [json.loads(r.out) for r in (on_cluster, alone)]
    for doc in docs:
        doc["stats"] = {k: v for k, v in doc["stats"].items() if "second" not in k and "rate" not in k}
    assert docs[0] == docs[1]
    logs = "".join(p.read_text(errors="replace") for p in cluster.logs.glob("*.log"))
    assert PASSWORD not in logs and PASSWORD not in on_cluster.err


def test_a_worker_without_a_password_file_is_named_not_hung(served: Served, tmp_path: Path) -> None:
    port = servers.free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {k: v for k, v in {**os.environ, **served.env}.items() if k != "AFTERMATH_REPO_PASSWORD_FILE"}
    log, wlog = tmp_path / "scheduler.log", tmp_path / "worker.log"
    sched = subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                             stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
    worker = None
    try:
        _wait_line(log, "Scheduler at:", sched)
        worker = subprocess.Popen([DASK, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard"],
                                  stdout=wlog.open("wb"), stderr=subprocess.STDOUT, env=env)
        _wait_line(wlog, "Registered to:", worker)
        r = run_cli("review", "--repo", served.location, "--password-file", str(served.password_file),
                    "--cluster", address, cwd=tmp_path, env={**served.env}, timeout=120)
        assert r.code == PasswordError.exit_code, r.err
        assert "review worker has no repository password" in r.err and "AFTERMATH_REPO_PASSWORD_FILE" in r.err
    finally:
        for p in (worker, sched):
            if p is not None and p.poll() is None:
                p.terminate()
                p.wait(15)


def test_no_scheduler_is_one_line_and_a_local_review_never_imports_distributed(served: Served,
                                                                               tmp_path: Path) -> None:
    r = run_cli("review", "--repo", served.location, "--cluster", f"tcp://127.0.0.1:{servers.free_port()}",
                cwd=tmp_path, env={**served.env, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"}, timeout=120)
    assert r.code == ToolError.exit_code, r.err
    assert "no Dask scheduler answered" in r.err and "Traceback" not in r.err
    code = ("import sys; sys.argv = ['aftermath', 'review', '--repo', sys.argv[1], '--workers', '1'];"
            "from aftermath.cli.main import main\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('distributed' in sys.modules, file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code, served.location], env={**os.environ, **served.env},
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.stderr.strip().endswith("False"), out.stderr


def test_scanners_travel_whole_and_the_password_only_from_the_workers_file(tmp_path: Path) -> None:
    import pickle

    scanners = default_scanners()
    back = pickle.loads(pack_scanners(scanners))
    assert [s.name for s in back] == [s.name for s in scanners]
    found = [f.rule for f in back[0].scan("x.php", WEB_SHELL)]
    assert found and found == [f.rule for f in scanners[0].scan("x.php", WEB_SHELL)]
    pw = tmp_path / "pw"
    pw.write_text("s3cret\n")
    assert worker_password({"AFTERMATH_REPO_PASSWORD_FILE": str(pw)}) == b"s3cret"
    with pytest.raises(PasswordError, match="AFTERMATH_REPO_PASSWORD_FILE"):
        worker_password({})


def test_tls_without_dask_tls_configuration_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("DASK_DISTRIBUTED__COMM__TLS")]:
        monkeypatch.delenv(name)
    with pytest.raises(ToolError, match="no Dask scheduler answered at tls://.*TLS configuration"):
        ClusterWorkers(f"tls://127.0.0.1:{servers.free_port()}", None, [], timeout=2)  # type: ignore[arg-type]


def _certificates(folder: Path) -> dict[str, Path]:
    """A CA and one certificate for 127.0.0.1 signed by it, for the scheduler, the worker and the client."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "review test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    node = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "node")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(2).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False).sign(ca_key, hashes.SHA256()))
    paths = {"ca": folder / "ca.pem", "cert": folder / "node.pem", "key": folder / "node.key"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(node.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return paths


def test_a_review_over_dask_tls(served: Served, tmp_path: Path) -> None:
    tls = _certificates(tmp_path)
    flags = ["--tls-ca-file", str(tls["ca"]), "--tls-cert", str(tls["cert"]), "--tls-key", str(tls["key"])]
    port = servers.free_port()
    address = f"tls://127.0.0.1:{port}"
    env = {**os.environ, **served.env}
    log, wlog = tmp_path / "scheduler.log", tmp_path / "worker.log"
    sched = subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--protocol", "tls",
                              "--no-dashboard", *flags], stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
    worker = None
    try:
        _wait_line(log, "Scheduler at:", sched)
        worker = subprocess.Popen([DASK, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                   *flags], stdout=wlog.open("wb"), stderr=subprocess.STDOUT, env=env)
        _wait_line(wlog, "Registered to:", worker)
        client_tls = {"DASK_DISTRIBUTED__COMM__TLS__CA_FILE": str(tls["ca"]),
                      "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT": str(tls["cert"]),
                      "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY": str(tls["key"]),
                      "DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION": "True"}
        on_cluster = run_cli("review", "--repo", served.location, "--cluster", address, "--json", "-",
                             cwd=tmp_path, env={**served.env, **client_tls}, timeout=180)
        alone = run_cli("review", "--repo", served.location, "--json", "-", cwd=tmp_path, env=served.env)
        assert on_cluster.code == alone.code == 1, on_cluster.err
        docs = [json.loads(r.out) for r in (on_cluster, alone)]
        for doc in docs:
            doc["stats"] = {k: v for k, v in doc["stats"].items() if "second" not in k and "rate" not in k}
        assert docs[0] == docs[1]
    finally:
        for p in (worker, sched):
            if p is not None and p.poll() is None:
                p.terminate()
                p.wait(15)
