from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def test_ctrl_c_says_what_happened_and_exits_130(tmp_path: Path):
    """A SIGINT during a long command (the demo) is one clear line and exit code 130, never a traceback."""
    src = str(Path(__file__).resolve().parents[2] / "src")
    proc = subprocess.Popen([sys.executable, "-m", "aftermath", "demo", "--dir", str(tmp_path / "d")],
                            env={**os.environ, "PYTHONPATH": src}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=default_sigint)
    deadline = time.monotonic() + 60
    while not (tmp_path / "d" / "case").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "interrupted" in err and "Traceback" not in err


def default_sigint() -> None:
    """Ctrl-C as at a terminal, even when the tests were started in the background (where it is ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
