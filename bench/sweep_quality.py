"""Benchmark: `secure sweep` against rkhunter, chkrootkit and unhide on the same compromised lab host.

One command (root; gcc; the Debian packages' .deb files in a folder, e.g. from
``apt-get install --download-only -o Dir::Cache::archives=DIR rkhunter chkrootkit unhide``):

    PYTHONPATH=src:. python bench/sweep_quality.py --debs DIR

Builds a namespace lab (tests/integration/secure/netlab.py) with an untouched host and a host with every
technique of tests/integration/secure/test_lab_techniques.py planted the way the public ATT&CK atomic tests
do it, plus a printing /etc/ld.so.preload library. The other tools are installed with dpkg inside the
compromised host's overlay (never on this machine); rkhunter's file-property database is built before the
planting, as its manual asks. Each tool then runs on that host; a technique counts as named by a tool when
its output names the technique's key (a path or account) in a warning. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.integration.secure.netlab import Lab, LabHost
from tests.integration.secure.test_lab_preload import plant_greeter
from tests.integration.secure.test_lab_techniques import TECHNIQUES, as_installed, plant_all

# what names each technique in another tool's output (their warnings name files, accounts or processes)
KEYS = {
    "rc.local runs a program from /tmp": "rc.local", "SysV init script": "sysupdate",
    "PAM rule accepting every uid": "pam_succeed_if", "pam_permit as sufficient": "pam_permit",
    "PAM module from /tmp": "pam_evil", "new local account": "evil_user", "system account with a shell": "evil_account",
    "account with GID 0": "butter", "account added to sudo": "sudo", "cap_setuid on a copy of python": "cap_python",
    "LD_PRELOAD for one program": "LD_PRELOAD", "LD_PRELOAD in a start-up file": "hook.sh",
    "preloaded library dropped in /var/tmp": "libhook", "Python .pth startup hook": "evil.pth",
    "program run from a hidden folder": "kupdate", "'...' folder in /tmp": "/tmp/...",
    "process renamed with prctl": "kworker/0:2",
    "script run from /tmp, then deleted": "run.sh", "history linked to /dev/null": "bash_history",
    "history cleared": "evil_user/.bash_history", "HISTSIZE=0 in a profile": "HISTSIZE",
    "history of a script run from /tmp": "s.sh", "auth.log emptied": "auth.log", "syslog deleted": "syslog",
    "HISTFILE unset in a profile": "HISTFILE", "wtmp emptied": "wtmp", "program run from a home folder": "miner",
    "systemd unit runs a program from /dev/shm": "sysupd", "cron job back-dated a year": "cron.d/backup",
    "PAM file deleted": "chfn", "PAM file changed from its package's": "pam.d/su",
    "conffile edited and back-dated a year": "/etc/issue",
    "printing /etc/ld.so.preload library": "ld.so.preload",
}
HIDDEN_BY_MOUNT = "process hidden by a mount over /proc/PID"  # named by its PID, known once planted
TOOLS = {
    "rkhunter": ["rkhunter", "--check", "--skip-keypress", "--report-warnings-only", "--nocolors", "--nomow"],
    "chkrootkit": ["chkrootkit", "-q"],
    "unhide": ["unhide", "-f", "quick", "proc", "sys"],
}


def install(host: LabHost, debs: Path) -> None:
    """The three tools, from their .deb files, into the host's overlay only."""
    files = [str(p) for p in sorted(debs.glob("*.deb")) if p.name.split("_")[0] in ("rkhunter", "chkrootkit", "unhide")]
    host.run("dpkg", "-i", *files, timeout=600)
    host.run("rkhunter", "--propupd", "--nocolors", timeout=600)


def timed(host: LabHost, argv: list[str]) -> tuple[float, str]:
    started = time.monotonic()
    proc = host.run(*argv, check=False, timeout=1800)
    return time.monotonic() - started, proc.stdout + proc.stderr


def mentions(said: str, key: str) -> bool:
    """Whether a tool's warnings name a key (a PID only as a whole number)."""
    return bool(re.search(rf"\b{key}\b", said)) if key.isdigit() else key in said


def warnings_of(tool: str, output: str) -> str:
    """The lines of a tool's output that raise something (not 'not found', 'OK', 'nothing detected')."""
    if tool == "rkhunter":
        return "\n".join(ln for ln in output.splitlines() if "Warning" in ln or ln.startswith(" "))
    quiet = ("not found", "nothing found", "not infected", "nothing detected", "not tested", "no suspect")
    return "\n".join(ln for ln in output.splitlines() if ln.strip() and not any(q in ln.lower() for q in quiet))


def sweep(lab: Lab, host: LabHost, out: Path) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    lab.aftermath("secure", "sweep", "--host", f"root@{host.ip}", *lab.ssh_args(), "--json", str(out))
    return time.monotonic() - started, json.loads(out.read_text())


def build(lab: Lab, base: Path, debs: Path) -> tuple[LabHost, LabHost, LabHost]:
    """An untouched host, one with every technique, one with a printing /etc/ld.so.preload library."""
    clean, owned, greeted = lab.add_host("clean"), lab.add_host("owned"), lab.add_host("greeted")
    for host in (clean, owned, greeted):
        as_installed(host)
    for name in (".bashrc", ".profile"):  # this machine's root start-up files (pyenv) loop under a printing preload
        greeted.write(f"/root/{name}", (Path("/etc/skel") / name).read_text())
    for host in (owned, greeted):
        install(host, debs)
    owned.run("useradd", "-m", "-s", "/bin/bash", "analyst")
    KEYS[HIDDEN_BY_MOUNT] = f"{plant_all(owned, base)}"
    (base / "greet").mkdir()
    plant_greeter(greeted, base / "greet")
    return clean, owned, greeted


def machine() -> str:
    """When and where the run happened: date, CPU, cores, memory and load average."""
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.machine())
    mem = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    return (f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {cpu}; {os.cpu_count()} cores; {mem} MiB; "
            f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debs", type=Path, required=True, help="folder with the rkhunter, chkrootkit, unhide .debs")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    print(machine())
    names = list(dict.fromkeys(t[1] for t in TECHNIQUES))
    preload = "printing /etc/ld.so.preload library"
    named: dict[str, set[str]] = {"aftermath": set(), **{t: set() for t in TOOLS}}
    seconds: dict[str, float] = {}
    with Lab(base / "lab") as lab:
        clean, owned, greeted = build(lab, base, args.debs)
        seconds["aftermath, untouched host"], clean_report = sweep(lab, clean, base / "clean.json")
        seconds["aftermath, techniques host"], report = sweep(lab, owned, base / "owned.json")
        seconds["aftermath, preload host"], greet_report = sweep(lab, greeted, base / "greeted.json")
        found = report["hosts"][0]["findings"]
        named["aftermath"] = {t[1] for t in TECHNIQUES if any(f["check"] == t[2] and t[3] in f["what"] for f in found)}
        checks = {f["check"] for f in greet_report["hosts"][0]["findings"]}
        if {"stray-output", "ld-preload"} <= checks:
            named["aftermath"].add(preload)
        for tool, argv in TOOLS.items():
            for host in (owned, greeted) if tool != "unhide" else (owned,):
                secs, output = timed(host, argv)
                seconds[f"{tool}, {'techniques' if host is owned else 'preload'} host"] = secs
                (base / f"{tool}-{host.name}.txt").write_text(output)
                said = warnings_of(tool, output)
                if host is owned:
                    named[tool] |= {n for n in names if n in KEYS and mentions(said, KEYS[n])}
                elif "Hello from a preloaded library!" not in said and KEYS[preload] in said:
                    named[tool].add(preload)
    names.append(preload)
    print(f"{len(names)} techniques; results and tool outputs in {base}\n")
    print("| technique | " + " | ".join(named) + " |")
    print("|---|" + "---|" * len(named))
    for name in names:
        print(f"| {name} | " + " | ".join("yes" if name in named[t] else "no" for t in named) + " |")
    print("| **named** | " + " | ".join(f"**{len(named[t])}/{len(names)}**" for t in named) + " |")
    print("\n| run | seconds |\n|---|---|")
    for what, secs in seconds.items():
        print(f"| {what} | {secs:.1f} |")
    print(f"\nat the end: {machine()}")
    print(f"\nuntouched host: {clean_report['ranking'][0]['verdict']}, score {clean_report['ranking'][0]['score']}, "
          f"findings {[(f['severity'], f['what']) for f in clean_report['hosts'][0]['findings']]}")


if __name__ == "__main__":
    main()
