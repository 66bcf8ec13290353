"""Benchmark ``aftermath review`` against the naive way and against ``restic check --read-data``.

Builds (once, cached in /tmp) a restic repository of DAYS daily snapshots of a mixed corpus of about
SIZE MiB: text and CSV, office documents (ZIP), images, archives, real ELF binaries; 2% of files change
each day; a PHP web shell is planted on day 12; one folder is encrypted on day 28 (.locked + ransom note).
Then measures, in one run:

1. naive: for every snapshot, ``restic restore`` into scratch and scan the tree with the same scanners
   (the same compiled YARA-X rules, ransomware and placement checks);
2. ``aftermath review`` (a subprocess, as a user runs it), peak RSS sampled;
3. ``restic check --read-data``, peak RSS sampled.

With ``--baseline-rules GIT_REF`` it measures instead the review with REF's default rule files (a copy of
``src`` with only ``aftermath/review/rules`` taken from REF) and with this tree's, in alternating order,
each round followed by ``restic check --read-data``: the two rule sets under the same load.

Prints a markdown table, the speed ratios and whether the verdicts of (1) and (2) agree.

    PYTHONPATH=src python bench/review.py [--size-mb 1024] [--days 30] [--where /tmp/aftermath-bench-review]
        [--skip-naive | --baseline-rules GIT_REF [--rounds 2]]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import os
import random
import resource
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


CPU_SECONDS: dict[int, float] = {}  # pid of a measured command -> CPU seconds of its whole process tree


def children_cpu() -> float:
    """User + system CPU seconds of every finished child process and their waited-for descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int, subprocess.CompletedProcess[str]]:
    """(seconds, peak RSS of the process tree in bytes, result); the tree's CPU seconds go to CPU_SECONDS."""
    cpu = children_cpu()
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
    CPU_SECONDS[proc.pid] = children_cpu() - cpu  # the review's workers are waited for by the review
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


SRC = Path(__file__).resolve().parents[1] / "src"


def review(where: Path, workers: int, src: Path = SRC) -> tuple[dict, float, int]:
    """`aftermath review` (the real command, from the package under ``src``), timed: (report, seconds, peak RSS).

    Its CPU seconds (all processes) are the last entry of CPU_SECONDS."""
    env = {**os.environ, **restic_env(where), "PYTHONPATH": str(src)}
    with tempfile.TemporaryDirectory() as tmp:  # the repository may be shared; its report is not written there
        out = Path(tmp, "review.json")
        review_s, review_rss, r = measure([sys.executable, "-m", "aftermath", "review", "--repo", str(where / "repo"),
                                           "--password-file", str(where / "pw"), "--json", str(out),
                                           "--workers", str(workers)], env)
        if r.returncode not in (0, 1):
            sys.exit(f"aftermath review failed ({r.returncode}): {r.stderr}")
        return json.loads(out.read_text()), review_s, review_rss


def check(where: Path) -> tuple[float, int]:
    """`restic check --read-data` on the same repository, timed: (seconds, peak RSS)."""
    check_s, check_rss, c = measure(["restic", "check", "--read-data"], {**os.environ, **restic_env(where)})
    if c.returncode != 0:
        sys.exit(f"restic check failed: {c.stderr}")
    return check_s, check_rss


def review_then_check(where: Path, workers: int) -> tuple[dict, float, int, float, int]:
    """`aftermath review` and `restic check --read-data` on the same repository, timed."""
    doc, review_s, review_rss = review(where, workers)
    return (doc, review_s, review_rss, *check(where))


def with_rules_of(ref: str, tmp: Path) -> Path:
    """A copy of this tree's ``src`` whose default review rules are those of git ``ref`` (the rest unchanged)."""
    copy = tmp / "src"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    rules = copy / "aftermath" / "review" / "rules"
    shutil.rmtree(rules)
    archive = subprocess.run(["git", "-C", str(SRC.parent), "archive", ref, "src/aftermath/review/rules"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "--strip-components=3", "-C", str(rules.parent)], input=archive, check=True)
    return copy


def compare_rules(where: Path, workers: int, ref: str, rounds: int) -> None:
    """The review with ``ref``'s default rules and with this tree's, interleaved with restic check, per round."""
    with tempfile.TemporaryDirectory(prefix="aftermath-bench-rules-") as tmp:
        baseline = with_rules_of(ref, Path(tmp))
        print(f"\n| round | load average | review, rules of {ref} | review, this tree's rules | "
              "restic check --read-data | CPU-time ratios to restic check (theirs, ours) |")
        print("|---:|---:|---:|---:|---:|---:|")
        ratios: list[tuple[float, float]] = []
        for number in range(1, rounds + 1):
            load = os.getloadavg()[0]
            times, cpu = {}, {}
            for name, src in (("baseline", baseline), ("ours", SRC))[:: 1 if number % 2 else -1]:
                times[name] = review(where, workers, src)[1]
                cpu[name] = list(CPU_SECONDS.values())[-1]
            check_s, _ = check(where)
            cpu["check"] = list(CPU_SECONDS.values())[-1]
            ratios.append((cpu["baseline"] / cpu["check"], cpu["ours"] / cpu["check"]))
            print(f"| {number} | {load:.1f} | {times['baseline']:.1f} s ({cpu['baseline']:.1f} s CPU) | "
                  f"{times['ours']:.1f} s ({cpu['ours']:.1f} s CPU) | {check_s:.1f} s ({cpu['check']:.1f} s CPU) | "
                  f"{ratios[-1][0]:.2f}×, {ratios[-1][1]:.2f}× |")
        mean = [sum(r[i] for r in ratios) / len(ratios) for i in (0, 1)]
        print(f"\nmean CPU-time ratio to restic check: rules of {ref} {mean[0]:.2f}×, this tree's {mean[1]:.2f}× "
              f"(this tree's / {ref}'s: {mean[1] / mean[0]:.2f}); wall times depend on the machine's load, CPU "
              f"times much less; load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--where", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-naive", action="store_true", help="only review and restic check")
    parser.add_argument("--baseline-rules", metavar="GIT_REF",
                        help="instead: the review with REF's default rules and with this tree's, side by side")
    parser.add_argument("--rounds", type=int, default=2, help="with --baseline-rules: rounds (order alternates)")
    args = parser.parse_args()
    where = args.where or Path(f"/tmp/aftermath-bench-review-{args.size_mb}mb-{args.days}d")
    t0 = time.perf_counter()
    build(where, args.size_mb, args.days)
    print(f"corpus and repository ready in {time.perf_counter() - t0:.0f} s: {where}", file=sys.stderr)
    if args.baseline_rules:
        compare_rules(where, args.workers, args.baseline_rules, args.rounds)
        return
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
