"""Benchmark: email notices rendered and delivered to a local aiosmtpd sink (another process); postal letters.

PYTHONPATH=src python bench/notify_send.py [N ...] [--connections C] [--letters M] [--baseline SRC [--baseline-up-to N]]

For each N: N Connecticut residents who consented to email; the real ``notify letters`` renders and stores them
in a fresh case (messages/s), the real ``notify send`` delivers them to ``aftermath notify sink`` in its own
process (messages/s), each command in its own process reporting its peak RSS. ``--baseline SRC`` runs the same
with the code in SRC (for example an older commit's ``src``, from ``git archive``), side by side. Postal, in one
run: M letters rendered one PDF per letter (the naive way), in print files of many letters as HTML over both
cores (the previous way), and as ``notify letters`` prints them (each distinct body laid out once, every
person's fields laid over it; print files over both cores).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
SRC = str(Path(__file__).resolve().parents[1] / "src")

from tests.notify.letters.helpers import many_people, write_inputs  # noqa: E402
from tests.notify.letters.test_pdf import fragment, printed  # noqa: E402

from aftermath.case import Case  # noqa: E402
from aftermath.notify.letters import pdf, render  # noqa: E402

# The real command, reporting its own peak RSS (VmHWM, KiB) when it exits. Not ru_maxrss: on Linux a process
# started by subprocess (vfork, then exec) inherits in ru_maxrss the peak of the process that started it, so it
# reported this benchmark's own peak (making the 100,000-person plan, ~245 MiB) as the sender's.
MEASURED = ("import atexit, re, runpy, sys; atexit.register(lambda: sys.stderr.write('PEAK %s\\n' % re.search("
            "r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))); "
            "sys.argv = ['aftermath', *sys.argv[1:]]; runpy.run_module('aftermath', run_name='__main__')")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measured(src: str, *args: str) -> tuple[float, float, str]:
    """Run one real command with ``src`` on the path: (seconds, peak RSS in MiB, stdout)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", MEASURED, *args], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": src})
    seconds = time.perf_counter() - started
    return seconds, int(done.stderr.rsplit("PEAK ", 1)[1].split()[0]) / 1024, done.stdout


def emails(n: int, work: Path, connections: int, src: str, label: str) -> None:
    case = Case.init(work / f"case-{label}-{n}")
    paths = write_inputs(work / f"in-{label}-{n}", people=many_people(n))
    rendered, render_rss, _ = measured(src, "--case", str(case.root), "notify", "letters", "--plan", str(paths["plan"]),
                                       "--people", str(paths["people"]), "--incident", str(paths["incident"]))
    port, sink_dir = free_port(), work / f"sink-{label}-{n}"
    sink = subprocess.Popen([sys.executable, "-m", "aftermath", "notify", "sink", "--port", str(port), "--dir",
                             str(sink_dir)], stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": src})
    time.sleep(3)
    seconds, rss, out = measured(src, "--case", str(case.root), "notify", "send", "--smtp", f"127.0.0.1:{port}",
                                 "--connections", str(connections))
    sent = n if "sent" in out else 0
    sink.terminate()
    sink.wait()
    got = len(list(sink_dir.glob("*.eml")))
    print(f"{label} emails N={n}: render+store {rendered:.1f} s ({n / rendered:.0f}/s, peak RSS {render_rss:.0f} "
          f"MiB); deliver {seconds:.1f} s ({sent / seconds:.0f}/s, {connections} connections, sender peak RSS "
          f"{rss:.0f} MiB); sink received {got}; end to end {rendered + seconds:.0f} s; "
          f"load average {os.getloadavg()[0]:.1f}",
          flush=True)
    shutil.rmtree(sink_dir)


def postal(m: int, work: Path) -> None:
    frags = [fragment(i, ("CT", "NC", "MA")[i % 3]) for i in range(m)]
    pdf.warm_up()  # the naive way in a warm process too: only steady-state speed is compared
    started = time.perf_counter()
    for i, frag in enumerate(frags):
        pdf.render(render.print_file([frag], 1), work / f"one-{i}.pdf")
    naive = time.perf_counter() - started
    started = time.perf_counter()
    half = (m + 1) // 2
    jobs = [(render.print_file(frags[:half], 1), work / "batch-1.pdf"),
            (render.print_file(frags[half:], 2), work / "batch-2.pdf")]
    starts = pdf.render_all(jobs, workers=2)
    batched = time.perf_counter() - started
    letters = [printed(i, ("CT", "NC", "MA")[i % 3], code=f"K{i:07d}") for i in range(m)]
    started = time.perf_counter()
    parts = pdf.print_all([(letters[:half], work / "print-1.pdf"), (letters[half:], work / "print-2.pdf")], workers=2)
    shared = time.perf_counter() - started
    print(f"postal M={m}: one PDF per letter {m / naive:.1f} letters/s; HTML print files on 2 cores "
          f"{m / batched:.1f} letters/s ({naive / batched:.1f}x), {sum(len(s) for s in starts)} letters; "
          f"bodies laid out once, print files on 2 cores {m / shared:.1f} letters/s ({naive / shared:.1f}x), "
          f"{sum(len(s) for s in parts)} letters, "
          f"{sum(f.stat().st_size for f in work.glob('print-*.pdf')) / m / 1024:.0f} "
          f"KiB a letter; load average {os.getloadavg()[0]:.1f}", flush=True)


def main(argv: list[str]) -> None:
    options = ("--letters", "--connections", "--baseline-up-to")
    sizes = [int(a) for i, a in enumerate(argv) if a.isdigit() and argv[i - 1] not in options]
    baseline = argv[argv.index("--baseline") + 1] if "--baseline" in argv else None
    baseline_up_to = int(argv[argv.index("--baseline-up-to") + 1]) if "--baseline-up-to" in argv else 2000
    m = int(argv[argv.index("--letters") + 1]) if "--letters" in argv else 0
    sizes = sizes or ([] if m else [1000])
    connections = int(argv[argv.index("--connections") + 1]) if "--connections" in argv else 4
    with tempfile.TemporaryDirectory(prefix="bench-notify-") as tmp:
        print(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, load average "
              f"{os.getloadavg()[0]:.1f}", flush=True)
        for n in sizes:
            if baseline and n <= baseline_up_to:  # the old path takes about an hour for 100,000
                emails(n, Path(tmp), connections, baseline, "baseline")
            emails(n, Path(tmp), connections, SRC, "this")
        if m:
            postal(m, Path(tmp))


if __name__ == "__main__":
    main(sys.argv[1:])
