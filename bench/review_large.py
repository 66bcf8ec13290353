"""Peak memory and time of ``aftermath review`` on a large (about 10 GB) restic repository.

Builds once (cached; a ``done`` file marks it complete) a corpus of SIZE GiB: many small text files in
nested folders (10% of the bytes) and large incompressible files (the rest), backed up by the real restic
in SNAPSHOTS snapshots; between snapshots 5% of the small files are rewritten, some are deleted, and new
large files are added. Then runs ``aftermath review`` (a subprocess, peak RSS of its process tree sampled
every 50 ms) and ``restic check --read-data`` beside it for time.

    PYTHONPATH=src python bench/review_large.py [--size-gb 10] [--snapshots 3] [--where /tmp/aftermath-bench-10g]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

sys.path.insert(0, str(Path(__file__).resolve().parent))
from review import PASSWORD, restic_env, review_then_check  # noqa: E402 - the 1 GB bench's helpers

SMALL_SHARE = 0.10  # of the bytes, in small text files of 1-16 KiB
FOLDERS = 40 * 40  # small files spread over two levels of folders


def noise(seed: int, size: int) -> bytes:
    """Deterministic incompressible bytes (AES-CTR keystream, far faster than random.randbytes)."""
    enc = Cipher(algorithms.AES(seed.to_bytes(32, "big")), modes.CTR(bytes(16))).encryptor()
    return enc.update(bytes(size))


def text(rng: random.Random, pool: bytes, size: int) -> bytes:
    """A slice of the text pool at a random place (generating words per file would take minutes)."""
    start = rng.randrange(len(pool) - size)
    return pool[start:start + size]


def small_path(src: Path, n: int) -> Path:
    return src / "home" / f"d{n % 40:02}" / f"e{n // 40 % 40:02}" / f"note-{n:07}.txt"


def build(where: Path, size_gb: int, snapshots: int) -> None:
    """The corpus and its snapshots (skipped when the repository is complete)."""
    if (where / "done").exists():
        return
    shutil.rmtree(where, ignore_errors=True)
    rng = random.Random(10)
    words = [rng.randbytes(rng.randint(2, 5)).hex() for _ in range(8000)]
    pool = " ".join(rng.choices(words, k=(64 << 20) // 6)).encode()
    src, total = where / "src", size_gb << 30
    small: list[Path] = []
    written = 0
    while written < SMALL_SHARE * total:
        path = small_path(src, len(small))
        path.parent.mkdir(parents=True, exist_ok=True)
        size = rng.randint(1, 16) << 10
        path.write_bytes(text(rng, pool, size))
        small.append(path)
        written += size
    big_no = 0
    (src / "media").mkdir(parents=True)
    while written < total:
        size = rng.randint(8, 256) << 20
        (src / "media" / f"video-{big_no:04}.bin").write_bytes(noise(big_no, size))
        big_no, written = big_no + 1, written + size
    print(f"  corpus: {len(small)} small files, {big_no} large files, {written / 2**30:.1f} GiB", file=sys.stderr)
    (where / "pw").write_bytes(PASSWORD)
    env = restic_env(where)
    subprocess.run(["restic", "init"], env=env, check=True, capture_output=True)
    for snap in range(1, snapshots + 1):
        if snap > 1:  # churn: rewrite 5% of the small files, delete 1%, add 2% of the bytes in large files
            for path in rng.sample(small, len(small) // 20):
                path.write_bytes(text(rng, pool, rng.randint(1, 16) << 10))
            for path in rng.sample(small, len(small) // 100):
                path.unlink(missing_ok=True)
            for _ in range(max(1, int(0.02 * total) // (128 << 20))):
                (src / "media" / f"video-{big_no:04}.bin").write_bytes(noise(big_no, 128 << 20))
                big_no += 1
        start = time.perf_counter()
        subprocess.run(["restic", "backup", "--time", f"2024-03-0{snap} 02:00:00", "."], env=env, cwd=src,
                       check=True, capture_output=True)
        print(f"  snapshot {snap}/{snapshots} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    (where / "done").write_text("ok")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=int, default=10)
    parser.add_argument("--snapshots", type=int, default=3)
    parser.add_argument("--where", type=Path, default=Path("/tmp/aftermath-bench-10g"))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    t0 = time.perf_counter()
    build(args.where, args.size_gb, args.snapshots)
    print(f"corpus and repository ready in {time.perf_counter() - t0:.0f} s: {args.where}", file=sys.stderr)
    where = args.where
    load = os.getloadavg()
    doc, review_s, review_rss, check_s, check_rss = review_then_check(where, args.workers)
    st = doc["stats"]
    repo_gib = sum(f.stat().st_size for f in (where / "repo").rglob("*") if f.is_file()) / 2**30
    print(f"\nRepository {repo_gib:.1f} GiB, {len(doc['snapshots'])} snapshots; {st['files_total']} files in all "
          f"snapshots, {st['distinct_contents']} distinct contents, {st['bytes_scanned'] / 2**30:.1f} GiB scanned; "
          f"{os.cpu_count()} CPUs; load average before {load[0]:.2f}, after {os.getloadavg()[0]:.2f}\n")
    print("| method | seconds | peak RSS (MiB) |")
    print("|---|---:|---:|")
    print(f"| aftermath review (workers={args.workers}) | {review_s:.1f} | {review_rss / 2**20:.0f} |")
    print(f"| restic check --read-data | {check_s:.1f} | {check_rss / 2**20:.0f} |")
    print(f"\naftermath = {review_s / check_s:.2f}× restic check; verdicts: "
          + " ".join(s["verdict"] for s in doc["snapshots"]))


if __name__ == "__main__":
    main()
