"""The collection records each process's start time (UTC), from /proc/PID/stat's start ticks and boot time."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime

from aftermath.secure.collect import agent


def test_start_utc_is_boot_time_plus_ticks_and_none_when_unknown() -> None:
    assert agent.start_utc(250, 1_764_547_200, 100) == "2025-12-01T00:00:02Z"
    assert agent.start_utc(0, 1_764_547_200, 100) == "2025-12-01T00:00:00Z"
    assert agent.start_utc(250, None, 100) is None
    assert agent.start_utc(250, 1_764_547_200, 0) is None


def test_a_process_started_now_is_recorded_as_started_now() -> None:
    before = time.time()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])  # noqa: S603
    try:
        proc = agent.process(child.pid, False)
    finally:
        child.kill()
        child.wait()
    assert proc is not None and "start_ticks" in proc  # the old field stays: the format only grows
    started = datetime.fromisoformat(proc["start_utc"].replace("Z", "+00:00"))
    assert started.tzinfo == UTC
    # btime is whole seconds and ticks are truncated to seconds: within two seconds of the real start
    assert before - 2 <= started.timestamp() <= time.time() + 1


def test_boot_time_is_the_kernels_btime() -> None:
    with open("/proc/stat") as f:
        btime = next(int(ln.split()[1]) for ln in f if ln.startswith("btime "))
    assert agent.boot_time() == btime
