"""Restore throughput: `aftermath restore apply` against `restic restore` of the same snapshot.

    python bench/restore.py [--size-mb 1000] [--workdir /tmp/aftermath-bench-restore]

Builds (once, cached in the work folder) a repository holding one snapshot of a mixed corpus:
many small text files, medium documents, and a few large incompressible files. Then, in the same run,
restores the snapshot with restic and with Aftermath's native reader into fresh folders, checks that
both trees are identical, and prints a markdown table.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from aftermath.case import Case  # noqa: E402
from aftermath.recover import workflow  # noqa: E402
from aftermath.restic import Repository  # noqa: E402


def make_corpus(root: Path, size_mb: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    words = [bytes(rnd.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(2, 9))) for _ in range(5000)]
    budget = size_mb * 1024 * 1024
    written, i = 0, 0
    while written < budget:
        kind = rnd.random()
        folder = root / f"dept{i % 20:02d}" / f"y{2020 + i % 6}"
        folder.mkdir(parents=True, exist_ok=True)
        if kind < 0.6:
            data = b" ".join(rnd.choice(words) for _ in range(rnd.randint(50, 4000)))
            name = f"note{i}.txt"
        elif kind < 0.95:
            data = os.urandom(rnd.randint(20_000, 900_000))
            name = f"scan{i}.jpg"
        else:
            data = os.urandom(rnd.randint(8, 40) * 1024 * 1024)
            name = f"archive{i}.zip"
        (folder / name).write_bytes(data)
        written += len(data)
        i += 1


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=1000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/aftermath-bench-restore"))
    args = parser.parse_args()
    work = args.workdir / f"{args.size_mb}mb"
    case_dir, corpus = work / "case", work / "corpus"
    if not (case_dir / "aftermath.toml").exists():
        shutil.rmtree(work, ignore_errors=True)
        make_corpus(corpus, args.size_mb)
        case = Case.init(case_dir)
        env = {**os.environ, **case.config.repository.restic_env(case.root)}
        subprocess.run(["restic", "init"], env=env, check=True, capture_output=True)
        subprocess.run(["restic", "backup", str(corpus)], env=env, check=True, capture_output=True)
    case = Case.open(case_dir)
    env = {**os.environ, **case.config.repository.restic_env(case.root)}
    repo = Repository.open(case.config.repository.location(case.root), case.config.repository.password(case.root))
    snap = repo.snapshots()[-1]
    total = sum(p.stat().st_size for p in corpus.rglob("*") if p.is_file())

    out_restic, out_ours = work / "out-restic", work / "out-aftermath"
    for folder in (out_restic, out_ours):
        shutil.rmtree(folder, ignore_errors=True)
    subprocess.run(["sync"], check=True)
    t0 = time.perf_counter()
    subprocess.run(["restic", "restore", snap.id, "--target", str(out_restic)], env=env, check=True,
                   capture_output=True)
    t_restic = time.perf_counter() - t0

    plan = workflow.make_plan(case, repo, "bench", "last-clean", None, snapshot=snap.id)
    plan_file = work / "plan.json"
    plan_file.write_text(json.dumps(plan.to_json()))
    workflow.approve(case, plan_file, "benchmark")
    fresh = Repository.open(case.config.repository.location(case.root), case.config.repository.password(case.root))
    subprocess.run(["sync"], check=True)
    t0 = time.perf_counter()
    workflow.apply(case, fresh, plan_file, out_ours)
    t_ours = time.perf_counter() - t0

    same = tree_digest(out_restic / str(corpus).lstrip("/")) == tree_digest(out_ours / str(corpus).lstrip("/"))
    mb = total / 1e6
    print(f"machine: {platform.node()} {os.cpu_count()} cpu, {platform.python_version()}; date {time.strftime('%F')}")
    print(f"corpus: {mb:.0f} MB, {sum(1 for p in corpus.rglob('*') if p.is_file())} files; trees identical: {same}")
    print("| tool | seconds | MB/s |")
    print("|---|---|---|")
    print(f"| restic restore | {t_restic:.1f} | {mb / t_restic:.0f} |")
    print(f"| aftermath restore apply | {t_ours:.1f} | {mb / t_ours:.0f} |")
    print(f"ratio (restic time / aftermath time): {t_restic / t_ours:.2f}")


if __name__ == "__main__":
    main()
