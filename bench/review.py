"""Benchmark ``aftermath review`` against the naive way and against ``restic check --read-data``.

Builds (once, cached in /tmp) a restic repository of DAYS daily snapshots of a mixed corpus of about
SIZE MiB: text and CSV, office documents (ZIP), images, archives, real ELF binaries; 2% of files change
each day; a PHP web shell is planted on day 12; one folder is encrypted on day 28 (.locked + ransom note).
Then measures, in one run:

1. naive: for every snapshot, ``restic restore`` into scratch and scan the tree with the same scanners
   (the same compiled YARA-X rules, ransomware and placement checks);
2. ``aftermath review`` (a subprocess, as a user runs it), peak RSS sampled;
3. ``restic check --read-data``, peak RSS sampled.

Prints a markdown table, the speed ratios and whether the verdicts of (1) and (2) agree.

    PYTHONPATH=src python bench/review.py [--size-mb 1024] [--days 30] [--where /tmp/aftermath-bench-review]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil

from aftermath.review import scan_tree
from aftermath.review.scanners import default_scanners
from aftermath.review.verdict import verdict_of

PASSWORD = b"bench password"
SHELL = b'<?php if (isset($_POST["x"])) { @eval(base64_decode($_POST["x"])); } ?>\n'
NOTE = (b"YOUR FILES ARE ENCRYPTED.\nPay 2 BTC to get the decryption tool.\nhttp://"
        + b"m" * 56 + b".onion/\n")
WORDS: list[str] = []


def text(rng: random.Random, size: int) -> bytes:
    return (" ".join(rng.choices(WORDS, k=size // 6 + 1)).encode())[:size]


def office(rng: random.Random, size: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", text(rng, size * 3))
    return buf.getvalue()


def png(rng: random.Random, size: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 512, 512, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", rng.randbytes(size)) + chunk(b"IEND", b""))


def jpeg(rng: random.Random, size: int) -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + rng.randbytes(size) + b"\xff\xd9"


def archive(rng: random.Random, size: int) -> bytes:
    return gzip.compress(text(rng, size * 3), compresslevel=1)


# (folder, extension, maker, min KiB, max KiB, share of the bytes)
KINDS = [
    ("share/documents", ".txt", text, 4, 400, 0.12), ("share/documents", ".csv", text, 4, 800, 0.10),
    ("share/documents", ".docx", office, 20, 600, 0.12), ("share/finance", ".xlsx", office, 20, 400, 0.06),
    ("share/finance", ".csv", text, 4, 400, 0.04), ("share/photos", ".jpg", jpeg, 100, 3000, 0.18),
    ("share/photos", ".png", png, 50, 1500, 0.08), ("share/archives", ".gz", archive, 100, 4000, 0.12),
    ("www/site", ".html", text, 2, 60, 0.02),
]


def elf_files(budget: int) -> list[Path]:
    out, total = [], 0
    for p in sorted(Path("/usr/lib/x86_64-linux-gnu").glob("*.so*")):
        if p.is_file() and not p.is_symlink() and 20_000 < p.stat().st_size < 8 << 20:
            out.append(p)
            total += p.stat().st_size
            if total >= budget:
                break
    return out


def generate(src: Path, size: int, rng: random.Random) -> list[Path]:
    files: list[Path] = []
    for folder, ext, make, lo, hi, share in KINDS:
        (src / folder).mkdir(parents=True, exist_ok=True)
        written = 0
        while written < share * size:
            n = rng.randint(lo, hi) << 10
            path = src / folder / f"{folder.split('/')[-1]}-{len(files):05}{ext}"
            path.write_bytes(make(rng, n))
            files.append(path)
            written += n
    (src / "opt/bin").mkdir(parents=True)
    for lib in elf_files(int(0.16 * size)):
        shutil.copyfile(lib, src / "opt/bin" / lib.name)
    (src / "www/site/uploads").mkdir(parents=True)
    (src / "www/site/index.php").write_bytes(b"<?php include 'page.php'; ?>\n")
    return files


def restic_env(where: Path) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": str(where), "RESTIC_REPOSITORY": str(where / "repo"),
            "RESTIC_PASSWORD_FILE": str(where / "pw"), "RESTIC_CACHE_DIR": str(where / "cache")}


def build(where: Path, size_mb: int, days: int) -> None:
    """The corpus and its DAYS daily snapshots (skipped when the repository is complete)."""
    if (where / "done").exists():
        return
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    rng = random.Random(12)
    WORDS.extend(rng.randbytes(rng.randint(2, 5)).hex() for _ in range(8000))
    src = where / "src"
    files = generate(src, size_mb << 20, rng)
    (where / "pw").write_bytes(PASSWORD)
    env = restic_env(where)
    subprocess.run(["restic", "init"], env=env, check=True, capture_output=True)
    start = datetime(2024, 3, 1, 2, 0, tzinfo=UTC)
    for day in range(1, days + 1):
        if day > 1:
            for path in rng.sample(files, max(1, len(files) // 50)):  # 2% of files change each day
                if path.exists():
                    make = next(k[2] for k in KINDS if path.suffix == k[1])
                    path.write_bytes(make(rng, max(1024, path.stat().st_size // 3)))
        if day == 12:
            (src / "www/site/uploads/thumb.php").write_bytes(SHELL)
        if day == min(28, days):
            for path in sorted((src / "share/finance").iterdir()):
                path.with_name(path.name + ".locked").write_bytes(rng.randbytes(path.stat().st_size))
                path.unlink()
            (src / "share/finance/RESTORE_MY_FILES.txt").write_bytes(NOTE)
            files = [f for f in files if f.exists()]
        when = (start + timedelta(days=day - 1)).strftime("%Y-%m-%d %H:%M:%S")
        subprocess.run(["restic", "backup", "--time", when, "."], env=env, cwd=src, check=True, capture_output=True)
        print(f"  day {day}/{days} backed up", file=sys.stderr)
    (where / "done").write_text("ok")


def measure(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int, subprocess.CompletedProcess[str]]:
    """(seconds, peak RSS of the process tree in bytes, result)."""
    start = time.perf_counter()
    proc = psutil.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    out: dict[str, str] = {}

    def drain() -> None:
        out["stdout"], out["stderr"] = proc.communicate()

    reader = threading.Thread(target=drain)
    reader.start()
    while reader.is_alive():
        with contextlib.suppress(psutil.Error):
            peak = max(peak, sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]))
        reader.join(0.05)
    seconds = time.perf_counter() - start
    return seconds, peak, subprocess.CompletedProcess(cmd, proc.returncode, out["stdout"], out["stderr"])


def naive(where: Path) -> tuple[float, dict[str, str]]:
    env = restic_env(where)
    snaps = json.loads(subprocess.run(["restic", "snapshots", "--json"], env=env, check=True,
                                      capture_output=True, text=True).stdout)
    scanners = default_scanners()  # compiled once, like the review does
    verdicts: dict[str, str] = {}
    start = time.perf_counter()
    for snap in sorted(snaps, key=lambda s: s["time"]):
        with tempfile.TemporaryDirectory(dir=where) as scratch:
            subprocess.run(["restic", "restore", snap["id"], "--target", scratch], env=env, check=True,
                           capture_output=True)
            found = scan_tree(Path(scratch), scanners)
            verdicts[snap["id"]] = verdict_of(f.severity for f in found)
    return time.perf_counter() - start, verdicts


def review_then_check(where: Path, workers: int) -> tuple[dict, float, int, float, int]:
    """`aftermath review` (the real command) and `restic check --read-data` on the same repository, timed."""
    env = {**os.environ, **restic_env(where), "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    out = where / "review.json"
    review_s, review_rss, r = measure([sys.executable, "-m", "aftermath", "review", "--repo", str(where / "repo"),
                                       "--password-file", str(where / "pw"), "--json", str(out),
                                       "--workers", str(workers)], env)
    if r.returncode not in (0, 1):
        sys.exit(f"aftermath review failed ({r.returncode}): {r.stderr}")
    check_s, check_rss, c = measure(["restic", "check", "--read-data"], env)
    if c.returncode != 0:
        sys.exit(f"restic check failed: {c.stderr}")
    return json.loads(out.read_text()), review_s, review_rss, check_s, check_rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--where", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-naive", action="store_true", help="only review and restic check")
    args = parser.parse_args()
    where = args.where or Path(f"/tmp/aftermath-bench-review-{args.size_mb}mb-{args.days}d")
    t0 = time.perf_counter()
    build(where, args.size_mb, args.days)
    print(f"corpus and repository ready in {time.perf_counter() - t0:.0f} s: {where}", file=sys.stderr)
    load = os.getloadavg()
    doc, review_s, review_rss, check_s, check_rss = review_then_check(where, args.workers)
    naive_s, naive_verdicts = (float("nan"), {}) if args.skip_naive else naive(where)
    ours = {s["id"]: s["verdict"] for s in doc["snapshots"]}
    repo_mb = sum(f.stat().st_size for f in (where / "repo").rglob("*") if f.is_file()) / 2**20
    st = doc["stats"]
    print(f"\nCorpus {args.size_mb} MB, {args.days} snapshots, repository {repo_mb:.0f} MiB; "
          f"{st['files_total']} files in all snapshots, {st['distinct_contents']} distinct contents, "
          f"{st['bytes_scanned'] / 2**20:.0f} MiB scanned; {os.cpu_count()} CPUs; "
          f"load average {load[0]:.2f} before, {os.getloadavg()[0]:.2f} after\n")
    print("| method | seconds | peak RSS (MiB) | vs aftermath |")
    print("|---|---:|---:|---:|")
    if not args.skip_naive:
        print(f"| naive: restic restore + scan, per snapshot | {naive_s:.1f} | – | {naive_s / review_s:.1f}× slower |")
    print(f"| aftermath review (workers={args.workers}) | {review_s:.1f} | {review_rss / 2**20:.0f} | 1× |")
    print(f"| restic check --read-data | {check_s:.1f} | {check_rss / 2**20:.0f} | "
          f"aftermath = {review_s / check_s:.2f}× of it |")
    verdict_list = [ours[k] for k in ours]
    print(f"\nverdicts (aftermath): {' '.join(v[0].upper() for v in verdict_list)}  "
          f"(C clean, S suspicious, I infected, E encrypted); last clean: {doc['last_clean'][:8]}")
    if not args.skip_naive:
        agree = naive_verdicts == ours
        print("verdicts of naive and aftermath agree: " + ("yes" if agree else "NO"))
        if not agree:
            for k in ours:
                if ours[k] != naive_verdicts.get(k):
                    print(f"  {k[:8]}: aftermath {ours[k]}, naive {naive_verdicts.get(k)}")


if __name__ == "__main__":
    main()
