"""Each check on fabricated /proc-like facts: it fires on the sign, stays quiet on a clean host."""

from __future__ import annotations

import ipaddress

import pytest

from aftermath.secure.sweep.checks import (
    CHECKS,
    ExtraRootAccount,
    FakeKernelThread,
    HiddenProcess,
    IocConnection,
    IocHash,
    LdPreload,
    PackageIntegrity,
    RecentPersistence,
    SuspiciousExecutable,
    UnexpectedModule,
    UnknownListener,
    WebShell,
)
from aftermath.secure.sweep.model import Iocs, Severity, YaraMatch
from aftermath.secure.sweep.run import apply_checks
from tests.secure.factsdata import DAY, NOW, clean_facts, host, proc


def test_a_clean_host_has_no_findings_from_any_check() -> None:
    result = apply_checks(host())
    assert result.findings == []
    assert set(result.not_applicable) == {"ioc-connection", "ioc-hash"}
    assert result.failed == {}


def test_check_names_are_unique_and_every_check_says_what_it_is_about() -> None:
    names = [c.name for c in CHECKS]
    assert len(names) == len(set(names))
    assert {"stray-output", "ld-preload", "hidden-process"} <= set(names)
    assert all(c.about for c in CHECKS)


@pytest.mark.parametrize(("exe", "severity", "words"), [
    ("/tmp/.x (deleted)", Severity.CRITICAL, "runs a deleted program (/tmp/.x)"),
    ("/usr/sbin/nginx (deleted)", Severity.MEDIUM, "runs a deleted program (/usr/sbin/nginx)"),
    ("/memfd:payload (deleted)", Severity.CRITICAL, "exists only in memory"),
    ("/dev/shm/miner", Severity.HIGH, "runs from /dev/shm"),
])
def test_suspicious_executable_names_the_program_and_grades_it(exe: str, severity: Severity, words: str) -> None:
    facts = clean_facts(processes=[proc(1, "/usr/lib/systemd/systemd"), proc(777, exe, ["./x"])])
    [finding] = SuspiciousExecutable().run(host(facts))
    assert finding.severity == severity and words in finding.what and "process 777" in finding.what
    assert finding.why and finding.evidence["pid"] == 777


def test_world_writable_folder_is_suspicious() -> None:
    facts = clean_facts(processes=[proc(9, "/srv/upload/agent", exe_dir_world_writable=True)])
    [finding] = SuspiciousExecutable().run(host(facts))
    assert "/srv/upload" in finding.what


def test_fake_kernel_thread_is_caught_by_its_program_file_or_parent() -> None:
    facts = clean_facts(processes=[proc(2, None, [], ppid=0), proc(50, None, ["[kworker/0:1]"], ppid=2),
                                   proc(51, "/tmp/k", ["[kworker/0:2]"], ppid=1),
                                   proc(52, None, ["[kswapd0]"], ppid=1)])
    found = FakeKernelThread().run(host(facts))
    assert sorted(f.evidence["pid"] for f in found) == [51, 52]
    assert "[kworker/0:2]" in found[0].what


def test_hidden_process_lists_the_pids() -> None:
    [finding] = HiddenProcess().run(host(clean_facts(hidden_pids=[4242])))
    assert finding.severity == Severity.CRITICAL and "4242" in finding.what
    assert HiddenProcess().run(host()) == []


def test_ld_preload_file_and_environment() -> None:
    facts = clean_facts(ld_so_preload="/lib/x86_64-linux-gnu/libsystem.so\n",
                        processes=[proc(10, "/usr/sbin/apache2", ld_preload=["LD_PRELOAD=/dev/shm/hook.so"])])
    found = LdPreload().run(host(facts))
    assert [f.severity for f in found] == [Severity.CRITICAL, Severity.HIGH]
    assert "libsystem.so" in found[0].what and "/dev/shm/hook.so" in found[1].what


def test_unexpected_and_tainting_modules() -> None:
    mods = {"loaded": [{"name": "ext4", "taint": ""}, {"name": "diamorphine", "taint": "OE"},
                       {"name": "veth", "taint": "E"}], "known": ["ext4", "veth"], "modules_dir": "/lib/modules/6.1"}
    found = UnexpectedModule().run(host(clean_facts(modules=mods)))
    assert [(f.evidence["module"], f.severity) for f in found] == [("diamorphine", Severity.HIGH),
                                                                   ("veth", Severity.MEDIUM)]


def test_module_check_does_not_apply_without_the_kernels_module_list() -> None:
    facts = clean_facts(modules={"loaded": [{"name": "x", "taint": ""}], "known": [], "modules_dir": "/lib/modules/y"})
    result = apply_checks(host(facts))
    assert "kernel-module" in result.not_applicable and not result.findings


def test_unknown_listener_flags_unpackaged_and_modified_programs() -> None:
    facts = clean_facts(processes=[proc(300, "/usr/sbin/sshd", package="modified"), proc(301, "/opt/x/srv",
                                                                                         package="unowned")],
                        sockets=[{"proto": "tcp", "lport": 22, "listening": True, "pid": 300},
                                 {"proto": "tcp6", "lport": 4444, "listening": True, "pid": 301},
                                 {"proto": "tcp", "lport": 5555, "listening": False, "pid": 301}])
    found = UnknownListener().run(host(facts))
    assert [(f.evidence["port"], f.severity) for f in found] == [(22, Severity.HIGH), (4444, Severity.MEDIUM)]
    assert not UnknownListener().applies_to(host(clean_facts(dpkg=False)))


def test_ioc_connection_matches_addresses_and_networks() -> None:
    iocs = Iocs((ipaddress.ip_network("203.0.113.0/24"),), frozenset())
    sockets = [{"proto": "tcp", "remote": "203.0.113.9", "rport": 443, "pid": 300, "lport": 5000},
               {"proto": "tcp6", "remote": "::ffff:203.0.113.10", "rport": 80, "pid": None, "lport": 5001},
               {"proto": "tcp", "remote": "198.51.100.1", "rport": 443, "pid": 300, "lport": 5002}]
    found = IocConnection().run(host(clean_facts(sockets=sockets), iocs))
    assert [f.evidence["remote"] for f in found] == ["203.0.113.9", "::ffff:203.0.113.10"]
    assert "/usr/sbin/sshd" in found[0].what


def test_recent_persistence_uses_the_later_of_mtime_and_ctime() -> None:
    rows = [{"path": "/etc/cron.d/job", "kind": "cron", "mtime": NOW - 300 * DAY, "ctime": NOW - 2 * DAY},
            {"path": "/root/.ssh/authorized_keys", "kind": "authorized_keys", "mtime": NOW - DAY,
             "ctime": NOW - DAY, "keys": ["attacker@evil"]},
            {"path": "/root/.bashrc", "kind": "shell_profile", "mtime": NOW - DAY, "ctime": NOW - DAY},
            {"path": "/etc/crontab", "kind": "cron", "mtime": NOW - 30 * DAY, "ctime": NOW - 30 * DAY}]
    found = RecentPersistence().run(host(clean_facts(persistence=rows)))
    assert [f.evidence["path"] for f in found] == ["/etc/cron.d/job", "/root/.ssh/authorized_keys", "/root/.bashrc"]
    assert "attacker@evil" in found[1].what and "2.0 days ago" in found[0].what
    assert found[2].severity == Severity.MEDIUM
    assert len(RecentPersistence().run(host(clean_facts(persistence=rows), since=60))) == 4


def test_extra_uid0_account() -> None:
    accounts = [{"user": "root", "uid": 0}, {"user": "toor", "uid": 0, "shell": "/bin/sh"}]
    [finding] = ExtraRootAccount().run(host(clean_facts(accounts=accounts)))
    assert "toor" in finding.what and finding.severity == Severity.CRITICAL


def test_package_integrity_grades_modified_unowned_suid_and_unowned_binaries() -> None:
    suid = [{"path": "/usr/bin/passwd", "mode": "0o104755", "package": "owned"},
            {"path": "/var/tmp/.s", "mode": "0o104755", "package": "unowned"}]
    binaries = [{"path": "/usr/bin/ps", "mode": "0o100755", "package": "modified"},
                {"path": "/usr/bin/xmr", "mode": "0o100755", "package": "unowned"},
                {"path": "/usr/local/bin/tool", "mode": "0o100755", "package": "unowned"}]
    found = PackageIntegrity().run(host(clean_facts(suid=suid, binaries=binaries)))
    assert [(f.evidence["path"], f.severity) for f in found] == [
        ("/var/tmp/.s", Severity.HIGH), ("/usr/bin/ps", Severity.CRITICAL), ("/usr/bin/xmr", Severity.MEDIUM)]


def test_webshell_findings_come_from_yara_matches() -> None:
    match = YaraMatch("/var/www/html/x.php", ("php_eval_request",), "f" * 64)
    [finding] = WebShell().run(host(yara=(match,)))
    assert finding.what == "/var/www/html/x.php matches php_eval_request"


def test_ioc_hash_matches_running_programs_and_files() -> None:
    facts = clean_facts(scan=[{"path": "/tmp/drop.bin", "sha256": "9" * 64}])
    found = IocHash().run(host(facts, Iocs((), frozenset({"a" * 64, "9" * 64}))))
    whats = [f.what for f in found]
    assert any("/tmp/drop.bin" in w for w in whats)
    assert sum("running process" in w for w in whats) == 4  # every fabricated process has hash a*64


def test_a_check_that_breaks_on_odd_facts_is_reported_and_the_others_go_on() -> None:
    facts = clean_facts(accounts=[{"uid": 0}], hidden_pids=[7])
    result = apply_checks(host(facts))
    assert "uid0-account" in result.failed and "hidden-process" in result.ran
    assert any(f.check == "hidden-process" for f in result.findings)


def test_stray_output_on_the_channel_is_a_finding_and_a_preload_the_agent_could_not_escape_is_said() -> None:
    channel = {"stray_bytes": 14, "stray": "hello, world!\n",
               "preload": {"loaded_into_agent": ["/usr/lib/libgreet.so"]}}
    facts = clean_facts(channel=channel, ld_so_preload="/usr/lib/libgreet.so\n")
    by_check = {f.check: f for f in apply_checks(host(facts)).findings}
    assert by_check["stray-output"].severity == Severity.HIGH
    assert "14 byte(s)" in by_check["stray-output"].what and "hello, world!" in by_check["stray-output"].what
    assert "could not be bypassed" in by_check["ld-preload"].what
    escaped = {**channel, "stray_bytes": 0, "preload": {"loaded_into_agent": []}}
    by_check = {f.check: f for f in apply_checks(host(clean_facts(channel=escaped,
                                                                   ld_so_preload="/x.so"))).findings}
    assert "stray-output" not in by_check and "ran without it" in by_check["ld-preload"].what
