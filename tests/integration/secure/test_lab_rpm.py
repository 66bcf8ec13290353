"""An rpm-based host: no dpkg, an rpm database. The sweep takes package ownership and integrity from rpm.

The lab host is this machine's Debian with its dpkg database moved away and an rpm database made by
Debian's own rpm (``rpmbuild`` builds a small package on the responder, ``rpm -i`` installs it in the
host's overlay only). Its files are then changed the way an attacker changes them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.secure.netlab import Lab, needs_lab

pytestmark = [pytest.mark.root, pytest.mark.slow, needs_lab]

SPEC = """\
Name: labtools
Version: 1.0
Release: 1
Summary: Files of an rpm-based lab host
License: MIT
%description
Files of an rpm-based lab host.
%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/etc/pam.d
cp /bin/true %{buildroot}/usr/bin/labtool
cp /bin/true %{buildroot}/usr/bin/labok
echo "setting=1" > %{buildroot}/etc/labtool.conf
echo "setting=2" > %{buildroot}/etc/labok.conf
echo "auth required pam_unix.so" > %{buildroot}/etc/pam.d/labtool
%files
/usr/bin/labtool
/usr/bin/labok
%config /etc/labtool.conf
%config /etc/labok.conf
%config(noreplace) /etc/pam.d/labtool
"""


def build_rpm(base: Path) -> Path:
    assert shutil.which("rpmbuild"), "Debian's rpm is missing: scripts/system-deps.sh installs it"
    (base / "labtools.spec").write_text(SPEC)
    subprocess.run(["rpmbuild", "-bb", "--define", f"_topdir {base / 'top'}", "--define", "debug_package %{nil}",
                    "--define", "__os_install_post %{nil}", "--define", "_build_id_links none",
                    str(base / "labtools.spec")], check=True, capture_output=True, timeout=120)
    [rpm] = (base / "top" / "RPMS").rglob("labtools-*.rpm")
    return rpm


def test_an_rpm_host_has_its_changed_binary_changed_and_deleted_config_and_unowned_programs_named(
        tmp_path: Path) -> None:
    package = build_rpm(tmp_path)
    with Lab(tmp_path / "lab") as lab:
        host = lab.add_host("rpmhost")
        (host.root / "root/labtools.rpm").write_bytes(package.read_bytes())
        host.run("rpm", "--dbpath", "/var/lib/rpm", "--force-debian", "--nodeps", "-i", "/root/labtools.rpm")
        host.run("mv", "/var/lib/dpkg", "/var/lib/dpkg.gone")  # no dpkg: an rpm-based host
        host.run("sh", "-c", "printf 'evil' >> /usr/bin/labtool && echo 'setting=0' > /etc/labtool.conf "
                             "&& rm /etc/pam.d/labtool && cp /bin/true /usr/bin/dropped")
        out = tmp_path / "rpm.json"
        lab.aftermath("secure", "sweep", "--host", f"root@{host.ip}", *lab.ssh_args(), "--json", str(out))
    report = json.loads(out.read_text())["hosts"][0]
    assert {"package-integrity", "config-drift"} <= set(report["checks_ran"])
    by = {(f["check"], f["evidence"].get("path")): f for f in report["findings"]}
    assert by[("package-integrity", "/usr/bin/labtool")]["severity"] == "critical"
    assert "/usr/bin/labtool differs from the file its package installed" in \
        by[("package-integrity", "/usr/bin/labtool")]["what"]
    assert by[("config-drift", "/etc/labtool.conf")]["what"] == \
        "/etc/labtool.conf differs from what package labtools installed"
    gone = by[("config-drift", "/etc/pam.d/labtool")]
    assert gone["severity"] == "high" and "a configuration file of package labtools, was deleted" in gone["what"]
    # ownership comes from rpm: its untouched files are not flagged, a file it does not list is
    assert ("package-integrity", "/usr/bin/labok") not in by and ("config-drift", "/etc/labok.conf") not in by
    assert "not installed by any package" in by[("package-integrity", "/usr/bin/dropped")]["what"]
