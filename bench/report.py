"""The report and timeline of a large case: 100,000 journal entries and 10,000 evidence files.

The case is built once (the journal's hash chain computed as ``Case.write`` would, inserted in bulk so the
set-up takes seconds, not the hour 100,000 separate transactions take), with 200 consultation records and
every evidence file on disk. Then, each in a fresh process so peak memory is its own:
- ``aftermath report`` (HTML) and the report's data gathering alone;
- ``aftermath timeline`` (JSONL) of the whole case and of a tenth of it, to show memory does not grow
  with the journal (the stream is written as it is read).

    PYTHONPATH=src python bench/report.py [--entries 100000] [--evidence 10000] [--dir /tmp/bench-report]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from aftermath.case import Case, journal
from aftermath.case.store import EvidenceRow, JournalRow
from aftermath.consult import records

ACTIONS = ("note", "secure.sweep", "protect.snapshot", "review.run", "restore.plan", "notify.plan")


def build(root: Path, entries: int, evidence: int) -> Case:
    """A case with ``entries`` journal entries (about), ``evidence`` files on disk, and consultation records."""
    shutil.rmtree(root, ignore_errors=True)
    case = Case.init(root)
    case.open_incident("Ransomware on the office share", datetime(2026, 11, 20, 8, 0, tzinfo=UTC))
    for i in range(200):
        records.add(case, ("contact", "task", "decision", "note")[i % 4], f"record {i}", {}, privileged=i % 10 == 0)
    last = case.head()
    assert last is not None
    rows_j, rows_e, prev = [], [], last
    for n in range(evidence):
        body = f"evidence file {n}\n".encode() * 20
        digest = hashlib.sha256(body).hexdigest()
        path = root / "evidence" / digest[:2] / digest
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        rows_e.append(EvidenceRow(kind="evidence", name=f"file-{n}.log", sha256=digest, size=len(body),
                                  stored_path=str(path.relative_to(root)), source="web01", collector="bench",
                                  collected_at=journal.timestamp(), description=""))
        prev = _next(prev, "evidence.register", f"file-{n}.log", {"sha256": digest, "size": len(body)})
        rows_j.append(prev)
    for n in range(entries - len(rows_j) - last.seq):
        action = ACTIONS[n % len(ACTIONS)]
        prev = _next(prev, action, f"subject {n}", {"n": n, "detail": "x" * 80, "score": n % 100,
                                                     "verdict": "clean", "findings": {}})
        rows_j.append(prev)
    with Session(case.engine) as session, session.begin():
        session.add_all(rows_e)
        session.add_all(JournalRow(seq=e.seq, at=e.at, actor=e.actor, action=e.action, subject=e.subject,
                                   data=json.dumps(e.data, sort_keys=True), prev=e.prev, hash=e.hash) for e in rows_j)
    return case


def _next(prev: journal.Entry, action: str, subject: str, data: dict[str, object]) -> journal.Entry:
    return journal.make_entry(prev, journal.timestamp(), "bench", action, subject, data)


def run(args: list[str], root: Path) -> tuple[float, float, float]:
    """Run the CLI in a fresh process: (wall seconds, CPU seconds, peak RSS of that process in MiB).

    CPU time (user + system) is reported beside wall time because the machine may be shared: it is what the
    command costs, whatever else runs.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so a child would report this process's peak
    code = ("import sys, runpy; sys.argv = ['aftermath'] + sys.argv[1:]\n"
            "try:\n    runpy.run_module('aftermath', run_name='__main__')\nexcept SystemExit as e:\n"
            "    assert not e.code, e.code\n"
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
            "print(hwm, file=sys.stderr)")
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, "--case", str(root), *args], capture_output=True, text=True,
                          check=True, env={**os.environ, "COLUMNS": "200"})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return time.perf_counter() - started, cpu, int(proc.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--evidence", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bench-report"))
    parser.add_argument("--reuse", action="store_true", help="Use the cases an earlier run built.")
    opts = parser.parse_args()
    results = []
    for scale in (10, 1):
        root = opts.dir / f"case-{scale}"
        started = time.perf_counter()
        reuse = opts.reuse and (root / "case.db").exists()
        case = Case.open(root) if reuse else build(root, opts.entries // scale, opts.evidence // scale)
        built = time.perf_counter() - started
        count = sum(1 for _ in case.iter_entries())
        report_s, report_cpu, report_mb = run(["report", "--out", str(opts.dir / f"report-{scale}.html")], root)
        timeline_out = opts.dir / f"timeline-{scale}.jsonl"
        timeline_s, timeline_cpu, timeline_mb = run(["timeline", "--out", str(timeline_out)], root)
        lines = sum(1 for _ in (opts.dir / f"timeline-{scale}.jsonl").open())
        results.append((count, opts.evidence // scale, built, report_s, report_cpu, report_mb, timeline_s,
                        timeline_cpu, timeline_mb, lines))
    print("| journal entries | evidence files | build (s) | report wall (s) | report CPU (s) | report peak RSS (MiB) "
          "| timeline wall (s) | timeline CPU (s) | timeline peak RSS (MiB) | timeline events |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r[0]:,} | {r[1]:,} | {r[2]:.1f} | {r[3]:.1f} | {r[4]:.1f} | {r[5]:.0f} | {r[6]:.1f} | {r[7]:.1f} "
              f"| {r[8]:.0f} | {r[9]:,} |")
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; "
          f"this process peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
