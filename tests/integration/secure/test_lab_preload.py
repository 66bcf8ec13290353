"""A preloaded library that prints must not blind the sweep (a real /etc/ld.so.preload in a lab host)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.integration.secure.netlab import Lab, LabHost, needs_lab

pytestmark = [pytest.mark.root, pytest.mark.slow, needs_lab]

GREETER = r"""
#include <stdio.h>
__attribute__((constructor)) static void greet(void) {
    printf("Hello from a preloaded library!\n");
    fflush(stdout);
}
"""
LIB = "/usr/local/lib/libgreet.so"


def plant_greeter(host: LabHost, build: Path) -> None:
    """Compile the library on the responder and preload it into every program on the host."""
    (build / "greet.c").write_text(GREETER)
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(build / "libgreet.so"), str(build / "greet.c")],
                   check=True, capture_output=True)
    target = host.root / LIB.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes((build / "libgreet.so").read_bytes())
    host.write("/etc/ld.so.preload", LIB + "\n")
    assert "Hello from a preloaded library!" in host.run("true").stdout + host.run("id").stdout


def sweep(lab: Lab, target: str, out: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, object]]:
    proc = lab.aftermath("secure", "sweep", "--host", target, *lab.ssh_args(), "--json", str(out))
    return proc, json.loads(out.read_text())


def test_a_printing_preload_is_reported_and_does_not_stop_the_sweep(netlab: Lab, tmp_path: Path) -> None:
    host = netlab.add_host("greeted")
    # the lab's disk is this machine's: give root Debian's plain start-up files, not this machine's (pyenv's
    # shell hooks capture command output, and with a printing preload they loop)
    for name in (".bashrc", ".profile"):
        host.write(f"/root/{name}", (Path("/etc/skel") / name).read_text())
    host.run("useradd", "-m", "-p", "*", "-s", "/bin/bash", "analyst")  # "*": key login only
    plant_greeter(host, tmp_path)
    for user, escaped in (("root", True), ("analyst", False)):
        proc, report = sweep(netlab, f"{user}@{host.ip}", tmp_path / f"{user}.json")
        assert proc.returncode == 1, proc.stdout + proc.stderr
        swept = report["hosts"][0]  # type: ignore[index]
        assert swept["error"] is None, swept["error"]
        by_check = {f["check"]: f for f in swept["findings"]}
        assert "Hello from a preloaded library!" in by_check["stray-output"]["what"], user
        assert f"/etc/ld.so.preload loads {LIB}" in by_check["ld-preload"]["what"]
        assert by_check["ld-preload"]["severity"] == "critical"
        said = "the sweep's agent ran without it" if escaped else "could not be bypassed"
        assert said in by_check["ld-preload"]["what"], (user, by_check["ld-preload"]["what"])
        assert report["ranking"][0]["verdict"] == "likely compromised"  # type: ignore[index]
