"""What a review on a Dask cluster costs: one worker's throughput and the coordinator's cost per blob.

Uses the 1 GB, 30-snapshot repository of bench/review.py (built once, cached in /tmp), served over REST
(``rclone serve restic`` on loopback). Starts ``dask scheduler`` and WORKERS ``dask worker --nthreads 1``
processes on this machine (each with its own password file in its environment, as on a real cluster),
then runs the review in this process with ``cluster=`` ROUNDS times, and once with ``workers=1`` and no
cluster (everything in this process) for comparison. Worker CPU time is read from the worker processes
(psutil), so a worker's throughput per CPU second does not depend on how busy the machine is. For each
run it times the walk (until the first
progress report), the content pass and the verdicts, the CPU time this process (the coordinator: walk,
batching, Dask client, recording results) spends in the content pass, per blob and per batch, and the
scheduler's CPU time per batch.

    PYTHONPATH=src python bench/review_cluster.py [--size-mb 1024] [--days 30] [--workers 1] [--rounds 2] \\
        [--batch-mb 64]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from review_remote import free_port, rest, wait  # noqa: E402 - the REST server on loopback

from aftermath.restic import Repository  # noqa: E402
from aftermath.review import Progress, run_review, walk  # noqa: E402
from aftermath.review import cluster as cluster_module  # noqa: E402
from aftermath.review.scanners import default_scanners  # noqa: E402
from review import PASSWORD, build  # noqa: E402 - the 1 GB bench's corpus


@contextmanager
def cluster(workers: int, env: dict[str, str]) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    dask = str(Path(sys.executable).with_name("dask"))
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)]
    try:
        wait(port)
        for _ in range(workers):
            procs.append(subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-nanny",
                                           "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          env=env))
        yield address, procs
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait()


def cpu_seconds(procs: list[subprocess.Popen[bytes]]) -> float:
    import psutil

    return sum(sum(psutil.Process(p.pid).cpu_times()[:2]) for p in procs)


def one_run(location: str, address: str | None, procs: list[subprocess.Popen[bytes]]) -> dict[str, Any]:
    scheduler, workers = procs[:1], procs[1:]
    counts = {"blobs": 0, "batches": 0}
    batches = walk.Review._batches

    def counted(self: walk.Review, *args: Any, **kwargs: Any) -> Iterator[list[Any]]:
        for batch in batches(self, *args, **kwargs):
            counts["batches"] += 1
            counts["blobs"] += sum(len(job[1]) for job in batch)
            yield batch

    walk.Review._batches = counted  # type: ignore[method-assign]
    marks: list[tuple[float, float]] = []

    def progress(p: Progress) -> None:
        marks.append((time.perf_counter(), time.process_time()))

    repo = Repository.open(location, PASSWORD)
    wall0, cpu0, wcpu0, scpu0 = time.perf_counter(), time.process_time(), cpu_seconds(workers), cpu_seconds(scheduler)
    try:
        result = run_review(repo, default_scanners(), progress=progress, workers=1, cluster=address)
    finally:
        walk.Review._batches = batches  # type: ignore[method-assign]
        repo.close()
    wall1, wcpu1, scpu1 = time.perf_counter(), cpu_seconds(workers), cpu_seconds(scheduler)
    # the walk now overlaps the content pass: "walk" is the time to the first batch of results
    (walk_end, walk_cpu), (content_end, content_cpu) = marks[0], marks[-1]
    return {"total": wall1 - wall0, "walk": walk_end - wall0, "walk_cpu": walk_cpu - cpu0,
            "content": content_end - walk_end, "content_cpu": content_cpu - walk_cpu, "verdicts": wall1 - content_end,
            "scheduler_cpu": scpu1 - scpu0, "worker_cpu": (wcpu1 - wcpu0) if workers else content_cpu - walk_cpu,
            "bytes": result.stats.bytes_scanned, "files": result.stats.files_total,
            "contents": result.stats.distinct_contents, **counts, "last_clean": result.last_clean}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch-mb", type=int, default=cluster_module.BATCH_BYTES >> 20,
                        help="MiB per batch (task), for the cluster and the one-process run alike")
    args = parser.parse_args()
    where = Path(f"/tmp/aftermath-bench-review-{args.size_mb}mb-{args.days}d")
    build(where, args.size_mb, args.days)
    walk.BATCH_BYTES = cluster_module.BATCH_BYTES = args.batch_mb << 20
    repo_bytes = sum(f.stat().st_size for f in (where / "repo").rglob("*") if f.is_file())
    load = os.getloadavg()[0]
    rows: list[tuple[str, dict[str, Any]]] = []
    with rest(where) as (location, extra, _):
        os.environ.update(extra)
        env = {**os.environ, **extra, "AFTERMATH_REPO_PASSWORD_FILE": str(where / "pw"),
               "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
        rows.append(("one process, no cluster", one_run(location, None, [])))
        with cluster(args.workers, env) as (address, workers):
            for n in range(args.rounds):
                rows.append((f"cluster, {args.workers} worker(s), round {n + 1}", one_run(location, address, workers)))
    print(f"\nrepository {repo_bytes / 2**20:.0f} MiB over REST; {os.cpu_count()} CPUs; load average {load:.2f} "
          f"before, {os.getloadavg()[0]:.2f} after\n")
    first = rows[0][1]
    print(f"{first['files']:,} files, {first['contents']:,} distinct contents, {first['blobs']:,} blobs read, "
          f"{first['bytes'] / 2**20:.0f} MiB scanned; last clean {first['last_clean'][:8]}\n")
    print("| run | walk s (CPU) | content pass s | MiB/s | worker CPU s (MiB per CPU s) "
          "| coordinator CPU in content pass | per blob | per batch | scheduler CPU per batch | verdicts s | total s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in rows:
        assert r["last_clean"] == first["last_clean"] and r["bytes"] == first["bytes"], "runs disagree"
        print(f"| {name} | {r['walk']:.1f} ({r['walk_cpu']:.1f}) | {r['content']:.1f} "
              f"| {r['bytes'] / 2**20 / r['content']:.0f} "
              f"| {r['worker_cpu']:.1f} ({r['bytes'] / 2**20 / r['worker_cpu']:.0f}) | {r['content_cpu']:.2f} s "
              f"| {r['content_cpu'] / r['blobs'] * 1e6:.0f} µs | {r['content_cpu'] / r['batches'] * 1e3:.1f} ms "
              f"({r['batches']}) | {r['scheduler_cpu'] / r['batches'] * 1e3:.1f} ms | {r['verdicts']:.1f} "
              f"| {r['total']:.1f} |")


if __name__ == "__main__":
    main()
