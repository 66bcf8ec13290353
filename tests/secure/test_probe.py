"""The probe's package verification against a fabricated dpkg database and real files."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from aftermath.secure.sweep.model import Severity
from aftermath.secure.sweep.probe import (
    RPM_CONFIG,
    RPM_GHOST,
    config_drift,
    dpkg_db,
    package_state,
    proc_mounts,
    rpm_config_drift,
    rpm_db,
    same_digest,
)
from aftermath.secure.sweep.run import apply_checks
from aftermath.secure.sweep.techniques import deleted_severity
from tests.secure.factsdata import clean_facts, host


def test_package_state_tells_owned_modified_and_unowned(tmp_path: Path) -> None:
    info = tmp_path / "info"
    info.mkdir()
    good, bad, stray = tmp_path / "good", tmp_path / "bad", tmp_path / "stray"
    for path in (good, bad, stray):
        path.write_bytes(path.name.encode())
    md5 = {p: hashlib.md5(p.read_bytes(), usedforsecurity=False).hexdigest() for p in (good, bad, stray)}
    (info / "tools.list").write_text(f"{good}\n{bad}\n")
    (info / "tools.md5sums").write_text(f"{md5[good]}  {str(good)[1:]}\n{'0' * 32}  {str(bad)[1:]}\n")
    db = dpkg_db(str(info))
    assert package_state(str(good), md5[good], db) == "owned"
    assert package_state(str(bad), md5[bad], db) == "modified"
    assert package_state(str(stray), md5[stray], db) == "unowned"
    assert package_state(str(good), md5[good], (set(), {})) == "no-dpkg"


def test_files_of_a_package_dpkg_is_midway_through_are_owned_but_not_checked(tmp_path: Path) -> None:
    info = tmp_path / "info"
    info.mkdir()
    new, old = tmp_path / "new", tmp_path / "old"
    for path in (new, old):
        path.write_bytes(b"half of an upgrade\n")
    (info / "upgrading:amd64.list").write_text(f"{new}\n")
    (info / "upgrading:amd64.md5sums").write_text(f"{'0' * 32}  {str(new)[1:]}\n")
    (info / "settled.list").write_text(f"{old}\n")
    (info / "settled.md5sums").write_text(f"{'0' * 32}  {str(old)[1:]}\n")
    (tmp_path / "status").write_text("Package: upgrading\nStatus: install ok half-installed\n\n"
                                     "Package: settled\nStatus: install ok installed\n")
    db = dpkg_db(str(info))
    assert package_state(str(new), "f" * 32, db) == "owned"  # not a trojan: dpkg is half-way through it
    assert package_state(str(old), "f" * 32, db) == "modified"


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def test_config_drift_reports_changed_conffiles_whatever_their_age_with_diversions_and_obsolete_ones(
        tmp_path: Path) -> None:
    etc, dpkg, ucf = tmp_path / "etc", tmp_path / "dpkg", tmp_path / "ucf"
    for folder in (etc / "pam.d", etc / "ssh", dpkg, ucf):
        folder.mkdir(parents=True)
    shipped = b"as the package wrote it\n"
    files = {name: etc / name for name in ("motd", "pam.d/sshd", "gone.conf", "old.conf", "kept.conf",
                                           "diverted.conf", "diverted.conf.distrib", "half.conf", "ssh/sshd_config")}
    for name, path in files.items():
        path.write_bytes(shipped if name in ("kept.conf", "diverted.conf.distrib") else b"changed\n")
    files["gone.conf"].unlink()  # deleted: not drift, listed apart
    (etc / "pam.d" / "su").write_bytes(shipped)
    (etc / "pam.d" / "su").unlink()
    for path in (files["motd"], files["pam.d/sshd"]):
        os.utime(path, (1e9, 1e9))  # changed years ago: still reported
    sum_ = _md5(shipped)
    (dpkg / "status").write_text(
        "Package: base-files\nStatus: install ok installed\nConffiles:\n"
        f" {files['motd']} {sum_}\n {files['gone.conf']} {sum_}\n {files['old.conf']} {sum_} obsolete\n"
        f" {files['kept.conf']} {sum_}\n {files['diverted.conf']} {sum_}\nDescription: x\n\n"
        "Package: libpam-runtime\nStatus: install ok installed\nConffiles:\n"
        f" {files['pam.d/sshd']} {sum_}\n {etc / 'pam.d/su'} {sum_}\n\n"
        "Package: upgrading\nStatus: install ok half-configured\nConffiles:\n"
        f" {files['half.conf']} {sum_}\n")
    # base-files' diverted.conf was moved aside by another package: the shipped version lives at .distrib
    (dpkg / "diversions").write_text(f"{files['diverted.conf']}\n{files['diverted.conf.distrib']}\nlocal-pkg\n")
    (ucf / "hashfile").write_text(f"{sum_}  {files['ssh/sshd_config']}\n")
    (ucf / "registry").write_text(f"openssh-server {files['ssh/sshd_config']}\n")

    drift = config_drift(str(dpkg), str(ucf), under=f"{etc}/")

    got = {Path(r["path"]).relative_to(etc).as_posix(): r["package"] for r in drift["drifted"]}
    assert got == {"motd": "base-files", "pam.d/sshd": "libpam-runtime", "ssh/sshd_config": "openssh-server"}
    assert drift["checked"] == 5  # motd, kept, diverted (.distrib), pam.d/sshd, sshd_config
    gone = {Path(r["path"]).relative_to(etc).as_posix(): r["package"] for r in drift["deleted"]}
    assert gone == {"gone.conf": "base-files", "pam.d/su": "libpam-runtime"}  # not half.conf: mid-upgrade
    facts = {**clean_facts(), "config_drift": {key: [
        {**r, "path": r["path"].replace(str(tmp_path), ""), "conffile": r["conffile"].replace(str(tmp_path), "")}
        for r in drift[key]] for key in ("drifted", "deleted")}}
    findings = {f.evidence["path"]: f for f in apply_checks(host(facts)).findings if f.check == "config-drift"}
    assert findings["/etc/motd"].severity == Severity.MEDIUM
    assert findings["/etc/pam.d/sshd"].severity == Severity.HIGH
    assert findings["/etc/ssh/sshd_config"].severity == Severity.HIGH
    assert "differs from what package libpam-runtime installed" in findings["/etc/pam.d/sshd"].what
    assert findings["/etc/pam.d/su"].severity == Severity.HIGH
    said = findings["/etc/pam.d/su"].what
    assert "/etc/pam.d/su, a configuration file of package libpam-runtime, was deleted" in said
    assert findings["/etc/gone.conf"].severity == Severity.LOW


def test_deleted_conffiles_are_high_for_login_and_loader_files_medium_for_logging_low_otherwise() -> None:
    assert deleted_severity("/etc/pam.d/common-auth") == Severity.HIGH
    assert deleted_severity("/etc/security/access.conf") == Severity.HIGH
    assert deleted_severity("/etc/sudoers.d/README") == Severity.LOW
    assert deleted_severity("/etc/logrotate.d/rsyslog") == Severity.MEDIUM
    assert deleted_severity("/etc/rsyslog.conf") == Severity.MEDIUM
    assert deleted_severity("/etc/debuginfod/elfutils.urls") == Severity.LOW


def test_mounts_over_proc_pid_are_read_from_mountinfo_with_their_escapes(tmp_path: Path) -> None:
    info = tmp_path / "mountinfo"
    info.write_text(
        "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
        "23 22 0:5 / /proc/sys/fs/binfmt_misc rw - autofs systemd-1 rw\n"
        "90 22 0:31 /.hide /proc/4242 rw,relatime shared:1 - tmpfs tmp rw\n"
        "91 22 8:1 /x\\040y /proc/77/fd rw - ext4 /dev/sda1 rw\n"
        "92 1 8:1 / /srv/proc/12 rw - ext4 /dev/sda1 rw\n")
    rows = proc_mounts(str(info))
    assert [(r["pid"], r["mount_point"], r["fstype"], r["root"]) for r in rows] == [
        (4242, "/proc/4242", "tmpfs", "/.hide"), (77, "/proc/77/fd", "ext4", "/x\\040y")]
    [finding] = [f for f in apply_checks(host(clean_facts(proc_mounts=rows[:1]))).findings]
    assert finding.check == "hidden-process" and finding.severity == Severity.CRITICAL
    assert "process 4242 is hidden by a mount over /proc/4242" in finding.what


def test_config_drift_does_not_apply_without_dpkg() -> None:
    result = apply_checks(host({**clean_facts(), "dpkg": False, "config_drift": None}))
    assert "config-drift" in result.not_applicable
    clean = apply_checks(host({**clean_facts(), "config_drift": {"checked": 200, "drifted": []}}))
    assert "config-drift" in clean.ran and not [f for f in clean.findings if f.check == "config-drift"]


def test_rpm_rows_give_ownership_sha256_integrity_and_config_drift(tmp_path: Path) -> None:
    conf, tool, gone = tmp_path / "etc/app.conf", tmp_path / "usr/bin/tool", tmp_path / "etc/pam.d/app"
    for path in (conf, tool, gone):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"shipped\n")
    shipped = hashlib.sha256(b"shipped\n").hexdigest()
    rows = [{"path": str(conf), "md5": shipped, "flags": RPM_CONFIG, "package": "app"},
            {"path": str(gone), "md5": shipped, "flags": RPM_CONFIG | 16, "package": "app"},
            {"path": str(tool), "md5": shipped, "flags": 0, "package": "app"},
            {"path": str(tmp_path / "var/log/app.log"), "md5": "", "flags": RPM_GHOST, "package": "app"}]
    db = rpm_db(rows)
    tool_sha = hashlib.sha256(b"shipped\n").hexdigest()
    assert package_state(str(tool), "x" * 32, db, tool_sha) == "owned"
    assert package_state(str(tool), "x" * 32, db, "f" * 64) == "modified"
    assert package_state(str(tmp_path / "var/log/app.log"), None, db) == "owned"
    conf.write_bytes(b"changed\n")
    gone.unlink()
    drift = rpm_config_drift(rows, under=str(tmp_path) + "/")
    assert [r["path"] for r in drift["drifted"]] == [str(conf)] and drift["drifted"][0]["md5"] == \
        hashlib.sha256(b"changed\n").hexdigest()
    assert [(r["path"], r["package"]) for r in drift["deleted"]] == [(str(gone), "app")]
    assert same_digest(None, {"md5": "a" * 32}) is None
