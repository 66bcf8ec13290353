"""Benchmark the native restic reader against restic itself.

Builds (once) a ~1 GiB restic repository in /tmp (half random bytes, half text, files of many sizes),
then times: opening + loading the index, reading and verifying every data blob with 1 and 2 worker
threads, and ``restic check --read-data`` on the same repository. Prints peak RSS of this process.

    PYTHONPATH=src python bench/reader.py [--size-mib 1024] [--where /tmp/aftermath-bench-reader]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

from aftermath.restic import Repository

PASSWORD = b"bench password"


def build(where: Path, size_mib: int) -> None:
    """Create the source tree and back it up with restic (skipped when the repository exists)."""
    if (where / "repo" / "config").exists():
        return
    src = where / "src"
    src.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(42)
    words = [rnd.randbytes(rnd.randint(2, 6)).hex() for _ in range(5000)]
    written, n = 0, 0
    while written < size_mib << 20:
        size = rnd.choice([4 << 10, 64 << 10, 1 << 20, 8 << 20, 32 << 20])
        data = rnd.randbytes(size) if n % 2 else " ".join(rnd.choices(words, k=size // 6)).encode()[:size]
        (src / f"d{n % 17}").mkdir(exist_ok=True)
        (src / f"d{n % 17}" / f"file-{n}.bin").write_bytes(data)
        written, n = written + len(data), n + 1
    (where / "pw").write_bytes(PASSWORD)
    env = restic_env(where)
    subprocess.run(["restic", "init"], env=env, check=True, capture_output=True)
    subprocess.run(["restic", "backup", "src"], env=env, cwd=where, check=True, capture_output=True)


def restic_env(where: Path) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": str(where), "RESTIC_REPOSITORY": str(where / "repo"),
            "RESTIC_PASSWORD_FILE": str(where / "pw"), "RESTIC_CACHE_DIR": str(where / "cache")}


def read_all(repo: Repository, ids: list[str], workers: int) -> tuple[float, int, float]:
    """(seconds, plaintext bytes, CPU seconds / wall seconds) for reading every blob once."""
    start, cpu = time.perf_counter(), time.process_time()
    total = 0
    for _, result in repo.read_blobs(ids, workers=workers):
        if isinstance(result, Exception):
            raise result
        total += len(result)
    wall = time.perf_counter() - start
    return wall, total, (time.process_time() - cpu) / wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--where", type=Path, default=Path("/tmp/aftermath-bench-reader"))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    build(args.where, args.size_mib)
    repo_dir = args.where / "repo"
    stored = sum(p.stat().st_size for p in repo_dir.rglob("*") if p.is_file())
    print(f"repository: {repo_dir} ({stored / 2**20:.0f} MiB stored), {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")

    start = time.perf_counter()
    repo = Repository.open(repo_dir, PASSWORD)
    snap = repo.snapshots()[-1]
    ids = list(dict.fromkeys(b for _, node in repo.walk(snap.tree) for b in node.content))
    print(f"open + snapshots + index ({len(repo.index)} blobs) + walk: {time.perf_counter() - start:.2f} s")
    subprocess.run(["cat", *map(str, repo_dir.rglob("data/*/*"))], stdout=subprocess.DEVNULL, check=True)  # warm

    best: dict[int, float] = {}
    for round_no in range(args.rounds):
        for workers in (1, 2):
            wall, total, ratio = read_all(repo, ids, workers)
            best[workers] = min(best.get(workers, wall), wall)
            print(f"round {round_no + 1}: read+verify all data blobs, {workers} worker(s): {wall:.2f} s, "
                  f"{total / wall / 2**20:.0f} MiB/s plaintext, CPU/wall {ratio:.2f}")
    for workers, wall in best.items():
        print(f"best of {args.rounds}, {workers} worker(s): {total / wall / 2**20:.0f} MiB/s plaintext")

    start = time.perf_counter()
    check = subprocess.run(["restic", "check", "--read-data"], env=restic_env(args.where), capture_output=True)
    wall = time.perf_counter() - start
    print(f"restic check --read-data: {wall:.2f} s (exit {check.returncode}), "
          f"{total / wall / 2**20:.0f} MiB/s of plaintext equivalent")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:.0f} MiB")
    sys.exit(check.returncode)


if __name__ == "__main__":
    main()
