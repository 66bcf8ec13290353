"""Benchmark: email notices rendered and delivered to a local aiosmtpd sink (another process); postal letters.

PYTHONPATH=src python bench/notify_send.py [N ...] [--letters M]

For each N: N Connecticut residents who consented to email; ``notify letters`` renders and stores them in a
fresh case (messages/s), ``notify send`` delivers them to ``aftermath notify sink`` in its own process
(messages/s, peak RSS of the sender measured in a child process). Postal: M letters rendered one PDF per
letter (the naive way) and in print files of many letters over both cores, side by side.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.notify.letters.helpers import TODAY, many_people, write_inputs  # noqa: E402
from tests.notify.letters.test_pdf import fragment  # noqa: E402

from aftermath.case import Case  # noqa: E402
from aftermath.notify.delivery import send  # noqa: E402
from aftermath.notify.delivery.smtp import Settings  # noqa: E402
from aftermath.notify.letters import pdf, render  # noqa: E402
from aftermath.notify.letters.run import letters  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _send(root: str, port: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    started = time.perf_counter()
    report = send.run(Case.open(Path(root)), Settings("127.0.0.1", port), send.Options())
    out.put((time.perf_counter() - started, report.outcomes["sent"],
             resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def emails(n: int, work: Path) -> None:
    case = Case.init(work / f"case-{n}")
    paths = write_inputs(work / f"in-{n}", people=many_people(n))
    started = time.perf_counter()
    letters(paths["plan"], paths["people"], paths["incident"], case.root / "notices", case, None, TODAY, pdf=False)
    rendered = time.perf_counter() - started
    port, sink_dir = free_port(), work / f"sink-{n}"
    sink = subprocess.Popen([sys.executable, "-m", "aftermath", "notify", "sink", "--port", str(port), "--dir",
                             str(sink_dir)], stdout=subprocess.DEVNULL)
    time.sleep(3)
    queue: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    child = mp.get_context("fork").Process(target=_send, args=(str(case.root), port, queue))
    child.start()
    seconds, sent, rss = queue.get()
    child.join()
    sink.terminate()
    sink.wait()
    got = len(list(sink_dir.glob("*.eml")))
    print(f"emails N={n}: render+store {rendered:.1f} s ({n / rendered:.0f}/s); deliver {seconds:.1f} s "
          f"({sent / seconds:.0f}/s); sink received {got}; sender peak RSS {rss:.0f} MiB; "
          f"end to end {rendered + seconds:.0f} s", flush=True)


def postal(m: int, work: Path) -> None:
    frags = [fragment(i, ("CT", "NC", "MA")[i % 3]) for i in range(m)]
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
    print(f"postal M={m}: one PDF per letter {m / naive:.1f} letters/s; print files on 2 cores "
          f"{m / batched:.1f} letters/s ({naive / batched:.1f}x); pages {sum(len(s) for s in starts)}", flush=True)


def main(argv: list[str]) -> None:
    sizes = [int(a) for i, a in enumerate(argv) if a.isdigit() and argv[i - 1] != "--letters"] or [1000]
    m = int(argv[argv.index("--letters") + 1]) if "--letters" in argv else 0
    with tempfile.TemporaryDirectory(prefix="bench-notify-") as tmp:
        print(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs", flush=True)
        for n in sizes:
            emails(n, Path(tmp))
        if m:
            postal(m, Path(tmp))


if __name__ == "__main__":
    main(sys.argv[1:])
