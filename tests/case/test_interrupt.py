from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import AFTERMATH_WITH_CTRL_C


def test_ctrl_c_says_what_happened_and_exits_130(tmp_path: Path):
    """A SIGINT during a long command (the demo) is one clear line and exit code 130, never a traceback."""
    src = str(Path(__file__).resolve().parents[2] / "src")
    proc = subprocess.Popen([*AFTERMATH_WITH_CTRL_C, "demo", "--dir", str(tmp_path / "d")],
                            env={**os.environ, "PYTHONPATH": src}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 60
    while not (tmp_path / "d" / "case").exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    time.sleep(0.5)  # well inside the demo's work, not in its first instants
    if proc.poll() is not None:
        out, err = proc.communicate()
        pytest.fail(f"the demo ended (exit {proc.returncode}) before it could be interrupted: {err[-2000:]}")
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted" in err and "Traceback" not in err

