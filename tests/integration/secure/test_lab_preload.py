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
# the way libprocesshider hides a process: readdir() of /proc skips the PIDs whose name is "hideme"
HIDER = r"""
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int hidden(DIR *dir, const char *name) {
    char path[64], link[256] = {0}, comm[64] = {0};
    snprintf(path, sizeof path, "/proc/self/fd/%d", dirfd(dir));
    if (readlink(path, link, sizeof link - 1) < 0 || strcmp(link, "/proc") != 0) return 0;
    snprintf(path, sizeof path, "/proc/%s/comm", name);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    fgets(comm, sizeof comm, f);
    fclose(f);
    return strcmp(comm, "hideme\n") == 0;
}

#define HOOK(fn, type)                                                 \
    type *fn(DIR *dir) {                                                \
        static type *(*real)(DIR *) = NULL;                             \
        if (!real) real = dlsym(RTLD_NEXT, #fn);                        \
        type *e;                                                        \
        while ((e = real(dir)) && hidden(dir, e->d_name)) {}            \
        return e;                                                       \
    }
HOOK(readdir, struct dirent)
HOOK(readdir64, struct dirent64)
"""


def preload(host: LabHost, build: Path, source: str, lib: str) -> None:
    """Compile a library on the responder and preload it into every program on the host."""
    (build / "lib.c").write_text(source)
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(build / "lib.so"), str(build / "lib.c"), "-ldl"],
                   check=True, capture_output=True)
    target = host.root / lib.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes((build / "lib.so").read_bytes())
    host.write("/etc/ld.so.preload", lib + "\n")


def plant_greeter(host: LabHost, build: Path) -> None:
    """A preloaded library that prints a greeting in every program."""
    preload(host, build, GREETER, LIB)
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
        # the agent's own mount namespace does not change how the host's paths read (the lab hosts are chroots)
        assert not [f["what"] for f in swept["findings"] if "/mnt/root" in f["what"]]


def test_a_process_hidden_by_a_preloaded_library_is_found_by_number(netlab: Lab, tmp_path: Path) -> None:
    host = netlab.add_host("hider")
    host.run("useradd", "-m", "-p", "*", "-s", "/bin/bash", "analyst")
    pid = int(host.run("sh", "-c", "cp /bin/sleep /tmp/hideme && (/tmp/hideme 3600 </dev/null >/dev/null 2>&1 &) "
                                   "&& sleep 0.3 && pidof hideme").stdout)
    preload(host, tmp_path, HIDER, "/usr/local/lib/libhide.so")
    assert str(pid) not in host.run("ps", "-eo", "pid").stdout.split()  # the host's own tools no longer see it
    # as an ordinary user the agent cannot escape the library: its own listing lies, probing by number does not
    _proc, report = sweep(netlab, f"analyst@{host.ip}", tmp_path / "analyst.json")
    by_check = {f["check"]: f for f in report["hosts"][0]["findings"]}  # type: ignore[index]
    assert pid in by_check["hidden-process"]["evidence"]["pids"], by_check.keys()
    # as root the agent runs without the library: the process is in plain sight, running from /tmp
    _proc, report = sweep(netlab, f"root@{host.ip}", tmp_path / "root.json")
    said = [f["what"] for f in report["hosts"][0]["findings"]]  # type: ignore[index]
    assert any(f"process {pid} (/tmp/hideme 3600) runs from /tmp" in w for w in said), said
