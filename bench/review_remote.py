"""Benchmark ``aftermath review`` over REST and S3 against the local review and ``restic check --read-data``.

Uses the 1 GB, 30-snapshot repository of bench/review.py (built once, cached in /tmp), serves the same
files over restic's REST protocol (``rclone serve restic``, on loopback) and copies them into moto's S3
server (``moto_server``, on loopback; no real S3-compatible server installs here). Then measures, for
each backend: ``aftermath review --repo <location>`` (the real command) and ``restic check --read-data``
over the same backend; and the review of the local path. With ``--count`` it also reviews once more in
this process (one worker) through each backend with every request counted: requests, and bytes requested
against the repository's size.

    PYTHONPATH=src python bench/review_remote.py [--size-mb 1024] [--days 30] [--backends rest,s3]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from review import PASSWORD, build, measure, restic_env  # noqa: E402 - the 1 GB bench's corpus and helpers

KEY, SECRET = "bench-key", "bench-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait(port: int) -> None:
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"nothing listens on {port}")


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


def review(where: Path, location: str, extra: dict[str, str], workers: int) -> tuple[float, int]:
    env = {**os.environ, **extra, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    seconds, peak, r = measure([sys.executable, "-m", "aftermath", "review", "--repo", location, "--password-file",
                                str(where / "pw"), "--json", str(where / "review-remote.json"), "--workers",
                                str(workers)], env)
    if r.returncode not in (0, 1):
        sys.exit(f"aftermath review of {location} failed ({r.returncode}): {r.stderr}")
    return seconds, peak


def check(where: Path, location: str, extra: dict[str, str]) -> float:
    env = {**restic_env(where), **extra, "RESTIC_REPOSITORY": location}
    seconds, _, c = measure(["restic", "check", "--read-data"], env)
    if c.returncode != 0:
        sys.exit(f"restic check of {location} failed: {c.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backends", default="rest,s3")
    parser.add_argument("--count", action="store_true", help="also count requests and bytes (a slower, in-process run)")
    args = parser.parse_args()
    where = Path(f"/tmp/aftermath-bench-review-{args.size_mb}mb-{args.days}d")
    build(where, args.size_mb, args.days)
    repo_bytes = sum(f.stat().st_size for f in (where / "repo").rglob("*") if f.is_file())
    load = os.getloadavg()[0]
    local_s, local_rss = review(where, str(where / "repo"), {}, args.workers)
    local_check = check(where, str(where / "repo"), {})
    rows = [("local path", local_s, local_rss, local_check, None)]
    for name in args.backends.split(","):
        with {"rest": rest, "s3": s3}[name](where) as (location, extra, proc):
            seconds, peak = review(where, location, extra, args.workers)
            served = counted_review(location, extra) if args.count else None
            rows.append((name, seconds, peak, check(where, location, extra), served))
    print(f"\nrepository {repo_bytes / 2**20:.0f} MiB; {os.cpu_count()} CPUs; load average {load:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after\n")
    print("| backend | aftermath review (s) | peak RSS (MiB) | vs local review | restic check --read-data (s) "
          "| review / check | requests, bytes requested |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, seconds, peak, checked, served in rows:
        share = (f"{served[0]:,}, {served[1] / 2**20:.0f} MiB ({served[1] / repo_bytes:.2f}× the repository)"
                 if served else "–")
        print(f"| {name} | {seconds:.1f} | {peak / 2**20:.0f} | {seconds / local_s:.2f}× | {checked:.1f} "
              f"| {seconds / checked:.2f}× | {share} |")


if __name__ == "__main__":
    main()
