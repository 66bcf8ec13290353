"""Benchmark ``aftermath review`` over REST, S3 and SFTP against the local review and ``restic check --read-data``.

Uses the 1 GB, 30-snapshot repository of bench/review.py (built once, cached in /tmp), serves the same
files over restic's REST protocol (``rclone serve restic``, on loopback), over SFTP (OpenSSH's ``sshd`` on
a loopback port with its own host key and a key for root, as the tests run it; needs root) and copies them
into moto's S3 server (``moto_server``, on loopback; no real S3-compatible server installs here). Then
measures, for each backend: ``aftermath review --repo <location>`` (the real command) and ``restic check
--read-data`` over the same backend, one after the other; and both on the local path. Each is timed by
the clock and by the CPU its processes used (user + system, from the kernel's accounting of the reaped
process tree; the servers' CPU is not in either). With ``--count`` it also reviews once more in this
process (one worker) through each backend with every request counted: requests, and bytes requested
against the repository's size.

    PYTHONPATH=src python bench/review_remote.py [--size-mb 1024] [--days 30] [--backends rest,s3,sftp]
        [--where DIR] [--rounds N] [--old OTHER/src] [--count] [--against OTHER/src]

With ``--against OTHER/src`` (another version's source, e.g. ``git archive main src``) it alternates that
version's review with this one's and restic's check over each backend, ``--rounds`` times, with the load of
each round; then the reads alone (every pack in 8 MiB ranges, four threads) through each version's backend,
with the CPU of the reading process.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.integration.restic.servers import free_port, ssh_args, start_sshd  # noqa: E402 - the tests' sshd set-up

from review import PASSWORD, build, measure, restic_env  # noqa: E402 - the 1 GB bench's corpus and helpers

KEY, SECRET = "bench-key", "bench-secret"


def wait(port: int) -> None:
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"nothing listens on {port}")


@contextmanager
def local(where: Path) -> Iterator[tuple[str, dict[str, str], None]]:
    """The repository's own path (for --against: the local review, this code's and the other's, with check)."""
    yield str(where / "repo"), {}, None


@contextmanager
def rest(where: Path) -> Iterator[tuple[str, dict[str, str], subprocess.Popen[bytes]]]:
    port = free_port()
    proc = subprocess.Popen(["rclone", "serve", "restic", "--addr", f"127.0.0.1:{port}", str(where)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "RCLONE_CONFIG": str(where / "rclone.conf")})
    try:
        wait(port)
        yield f"rest:http://127.0.0.1:{port}/repo/", {}, proc
    finally:
        proc.terminate()
        proc.wait()


@contextmanager
def sftp(where: Path) -> Iterator[tuple[str, dict[str, str], subprocess.Popen[bytes]]]:
    """sshd on loopback serving the bench folder; the location, the ssh options (our AFTERMATH_SFTP_ARGS;
    HOME for the asyncssh reader of older code run with --old) and restic's sftp.command."""
    base = Path(tempfile.mkdtemp(prefix="aftermath-bench-sftp-"))
    port, ssh, home, proc = start_sshd(base, base / "sshd.log")
    try:
        wait(port)
        yield (f"sftp://root@127.0.0.1:{port}/{where}/repo",
               {"HOME": str(home), "AFTERMATH_SFTP_ARGS": ssh_args(home), SFTP_COMMAND: ssh}, proc)
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(base, ignore_errors=True)


SFTP_COMMAND = "BENCH_SFTP_COMMAND"  # not an environment variable of anyone's: check() turns it into -o sftp.command


@contextmanager
def s3(where: Path) -> Iterator[tuple[str, dict[str, str], subprocess.Popen[bytes]]]:
    import boto3
    from boto3.s3.transfer import TransferConfig

    port = free_port()
    server = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    env = {"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": "us-east-1"}
    try:
        wait(port)
        client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id=KEY,
                              aws_secret_access_key=SECRET, region_name="us-east-1")
        client.create_bucket(Bucket="bench")
        t0 = time.perf_counter()
        config = TransferConfig(multipart_threshold=1 << 30)
        for f in sorted((where / "repo").rglob("*")):
            if f.is_file():
                client.upload_file(str(f), "bench", "repo/" + str(f.relative_to(where / "repo")), Config=config)
        print(f"  uploaded the repository to moto in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        yield f"s3:http://127.0.0.1:{port}/bench/repo", env, proc
    finally:
        proc.terminate()
        proc.wait()


def counted_review(location: str, extra: dict[str, str]) -> tuple[int, int]:
    """Requests and bytes requested by a review in this process (one worker), every request counted."""
    from aftermath.restic import Repository
    from aftermath.review import run_review
    from aftermath.review.scanners import default_scanners

    os.environ.update(extra)
    repo = Repository.open(location, PASSWORD)
    seen = [0, 0]
    ranged, whole = repo.backend.read_range, repo.backend.read

    def read_range(path: str, offset: int, length: int) -> bytes:
        data = ranged(path, offset, length)
        seen[0], seen[1] = seen[0] + 1, seen[1] + len(data)
        return data

    def read(path: str) -> bytes:
        data = whole(path)
        seen[0], seen[1] = seen[0] + 1, seen[1] + len(data)
        return data

    repo.backend.read_range, repo.backend.read = read_range, read  # type: ignore[method-assign]
    run_review(repo, default_scanners(), workers=1)
    repo.close()
    return seen[0], seen[1]


def cpu_of_reaped() -> float:
    """User + system seconds of every child process reaped so far (with the children they reaped)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


BACKENDS = {"local": local, "rest": rest, "s3": s3, "sftp": sftp}
SRC = Path(__file__).resolve().parents[1] / "src"


def review(where: Path, location: str, extra: dict[str, str], workers: int,
           src: Path = SRC) -> tuple[float, int, float]:
    """(seconds, peak RSS, CPU seconds) of ``aftermath review`` run from ``src``; its JSON is kept per location kind."""
    env = {**os.environ, **extra, "PYTHONPATH": str(src)}
    env.pop(SFTP_COMMAND, None)
    kind = (location.split(":", 1)[0] if ":" in location else "local") + ("" if src == SRC else "-against")
    cpu = cpu_of_reaped()
    seconds, peak, r = measure([sys.executable, "-m", "aftermath", "review", "--repo", location, "--password-file",
                                str(where / "pw"), "--json", str(where / f"review-{kind}.json"), "--workers",
                                str(workers)], env)
    if r.returncode not in (0, 1):
        sys.exit(f"aftermath review of {location} failed ({r.returncode}): {r.stderr}")
    return seconds, peak, cpu_of_reaped() - cpu


def check(where: Path, location: str, extra: dict[str, str]) -> tuple[float, float]:
    """(seconds, CPU seconds) of ``restic check --read-data`` over the same backend."""
    env = {**restic_env(where), **extra, "RESTIC_REPOSITORY": location}
    command = env.pop(SFTP_COMMAND, None)
    cpu = cpu_of_reaped()
    seconds, _, c = measure(["restic", "check", "--read-data", *(["-o", f"sftp.command={command}"] if command else [])],
                            env)
    if c.returncode != 0:
        sys.exit(f"restic check of {location} failed: {c.stderr}")
    return seconds, cpu_of_reaped() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backends", default="rest,s3,sftp")
    parser.add_argument("--where", type=Path, default=None,
                        help="the bench folder (default /tmp/aftermath-bench-review-<size>mb-<days>d; a copy of "
                             "it keeps other runs' `restic check` locks away)")
    parser.add_argument("--count", action="store_true", help="also count requests and bytes (a slower, in-process run)")
    parser.add_argument("--old", type=Path, default=None,
                        help="a src folder of other code (e.g. main's, from git archive): its review of each remote "
                             "backend runs right after this code's, in the same round")
    parser.add_argument("--rounds", type=int, default=1, help="measure everything this many times, alternating")
    parser.add_argument("--against", type=Path, default=None,
                        help="another version's src folder (e.g. main's, from `git archive`): its review and this "
                             "one's alternate with restic's check over each backend, --rounds times")
    parser.add_argument("--read-packs", metavar="LOCATION", help=argparse.SUPPRESS)  # child mode of reads()
    args = parser.parse_args()
    if args.read_packs:
        return read_packs(args.read_packs)
    where = args.where or Path(f"/tmp/aftermath-bench-review-{args.size_mb}mb-{args.days}d")
    build(where, args.size_mb, args.days)
    repo_bytes = sum(f.stat().st_size for f in (where / "repo").rglob("*") if f.is_file())
    if args.against:
        return against(where, args, repo_bytes)
    print(f"\nrepository {repo_bytes / 2**20:.0f} MiB; {os.cpu_count()} CPUs\n")
    print("| round, backend | aftermath review (s) | CPU (s) | peak RSS (MiB) | vs local review "
          "| restic check --read-data (s) | CPU (s) | review / check: time | CPU | old review: s, CPU s "
          "| requests, bytes requested | load (1 min) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    with contextlib.ExitStack() as stack:
        servers: list[tuple[str, str, dict[str, str]]] = [("local path", str(where / "repo"), {})]
        for name in filter(None, args.backends.split(",")):
            location, extra, _ = stack.enter_context(BACKENDS[name](where))
            servers.append((name, location, extra))
        for round_ in range(1, args.rounds + 1):
            local_s = 0.0
            for name, location, extra in servers:
                load = os.getloadavg()[0]
                seconds, peak, cpu = review(where, location, extra, args.workers)
                local_s = local_s or seconds
                old = (review(where, location, extra, args.workers, args.old)
                       if args.old and name != "local path" else None)
                check_s, check_cpu = check(where, location, extra)
                served = counted_review(location, extra) if args.count and name != "local path" else None
                share = (f"{served[0]:,}, {served[1] / 2**20:.0f} MiB ({served[1] / repo_bytes:.2f}× the repository)"
                         if served else "–")
                before = f"{old[0]:.1f}, {old[2]:.1f}" if old else "–"
                print(f"| {round_}, {name} | {seconds:.1f} | {cpu:.1f} | {peak / 2**20:.0f} | "
                      f"{seconds / local_s:.2f}× | {check_s:.1f} | {check_cpu:.1f} | {seconds / check_s:.2f}× "
                      f"| {cpu / check_cpu:.2f}× | {before} | {share} | {load:.1f}–{os.getloadavg()[0]:.1f} |",
                      flush=True)


def read_packs(location: str) -> None:
    """(Child mode) read every pack in 8 MiB ranges, four threads; print this process's CPU for the reads."""
    from concurrent.futures import ThreadPoolExecutor

    from aftermath.restic.backend import open_backend

    backend = open_backend(location)
    jobs = [(f.path, o, min(8 << 20, f.size - o)) for f in backend.list("data") for o in range(0, f.size, 8 << 20)]
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        got = sum(len(data) for data in pool.map(lambda job: backend.read_range(*job), jobs))
    after = resource.getrusage(resource.RUSAGE_SELF)
    print(f"{len(jobs)} requests, {got / 2**20:.0f} MiB, {time.perf_counter() - start:.1f} s, "
          f"user {after.ru_utime - before.ru_utime:.2f} + sys {after.ru_stime - before.ru_stime:.2f} CPU s")


def reads(location: str, extra: dict[str, str], src: Path) -> str:
    """The reads alone (``read_packs``) through the code in ``src``, in a child process."""
    env = {**os.environ, **extra, "PYTHONPATH": f"{src}{os.pathsep}{Path(__file__).resolve().parents[1]}"}
    r = subprocess.run([sys.executable, __file__, "--read-packs", location], env=env, capture_output=True,
                       text=True)
    return r.stdout.strip() or r.stderr.strip().splitlines()[-1]


def against(where: Path, args: argparse.Namespace, repo_bytes: int) -> None:
    """This review, another version's review and restic's check over each backend, alternating, with the load."""
    print(f"repository {repo_bytes / 2**20:.0f} MiB; {os.cpu_count()} CPUs; this: {SRC}; against: {args.against}\n")
    print("| backend | round | load | this review: s / CPU s | against: s / CPU s | restic check --read-data: "
          "s / CPU s | this / check: time, CPU | against / check: time, CPU |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    for name in args.backends.split(","):
        with BACKENDS[name](where) as (location, extra, proc):
            for round_ in range(1, args.rounds + 1):
                load = os.getloadavg()[0]
                order = [SRC, args.against] if round_ % 2 else [args.against, SRC]
                got = {src: review(where, location, extra, args.workers, src) for src in order}
                check_s, check_cpu = check(where, location, extra)
                (this_s, _, this_cpu), (old_s, _, old_cpu) = got[SRC], got[args.against]
                print(f"| {name} | {round_} | {load:.1f}–{os.getloadavg()[0]:.1f} | {this_s:.1f} / {this_cpu:.1f} "
                      f"| {old_s:.1f} / {old_cpu:.1f} | {check_s:.1f} / {check_cpu:.1f} "
                      f"| {this_s / check_s:.2f}×, {this_cpu / check_cpu:.2f}× "
                      f"| {old_s / check_s:.2f}×, {old_cpu / check_cpu:.2f}× |", flush=True)
            for round_ in range(1, args.rounds + 1):
                for src in [SRC, args.against] if round_ % 2 else [args.against, SRC]:
                    print(f"| {name} | reads alone, {'this' if src == SRC else 'against'} | "
                          f"{os.getloadavg()[0]:.1f} | {reads(location, extra, src)} |", flush=True)
            if args.count:
                served = counted_review(location, extra)
                print(f"| {name} | requests, bytes requested | {served[0]:,}, {served[1] / 2**20:.0f} MiB "
                      f"({served[1] / repo_bytes:.2f}× the repository) |", flush=True)


if __name__ == "__main__":
    main()
