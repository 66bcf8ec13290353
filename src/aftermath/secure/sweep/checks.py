"""Compromise checks: small named classes, each with a severity, ``applies_to`` and plain-words findings.

Every check is pure over :class:`HostFacts`. They are registered in ``CHECKS`` below, built-ins exactly
as additions would be. A check that does not apply (no dpkg, no kernel modules folder, no indicators)
says so, and the sweep reports it as not run rather than as clean.
"""

from __future__ import annotations

import os
import stat
from typing import ClassVar

from aftermath.secure.sweep.check import KTHREADD, TEMP_PREFIXES, Check, has_packages, proc_label
from aftermath.secure.sweep.model import Finding, HostFacts, Severity
from aftermath.secure.sweep.techniques import TECHNIQUES


class SuspiciousExecutable(Check):
    """Processes whose program was deleted, lives only in memory, or sits in a temp or world-writable folder."""

    name, severity = "suspicious-executable", Severity.HIGH
    about = "processes running from deleted files, memory (memfd), /tmp, /dev/shm or world-writable folders"

    def run(self, host: HostFacts) -> list[Finding]:
        """One finding per such process."""
        found = []
        for proc in host.list("processes"):
            exe = proc.get("exe") or ""
            if not exe:
                continue
            ev = {"pid": proc["pid"], "exe": exe, "sha256": proc.get("exe_sha256"), "uid": proc.get("uid")}
            real = exe.removesuffix(" (deleted)")
            in_temp = real.startswith(TEMP_PREFIXES)
            if proc.get("memfd"):
                found.append(self.finding(host, f"{proc_label(proc)} runs a program that exists only in memory "
                                          f"({exe})", "Fileless malware loads itself through memfd so that "
                                          "nothing is left on disk to find.", Severity.CRITICAL, **ev))
            elif proc.get("exe_deleted"):
                sev = Severity.CRITICAL if in_temp else Severity.MEDIUM
                why = ("Its program was started from a temporary folder and then deleted: attackers do this to "
                       "hide their tools." if in_temp else "Its program file was deleted while running; after a "
                       "software update this is harmless (restart the service), otherwise it hides a tool.")
                found.append(self.finding(host, f"{proc_label(proc)} runs a deleted program ({real})", why, sev,
                                          **ev))
            elif in_temp or proc.get("exe_dir_world_writable"):
                found.append(self.finding(host, f"{proc_label(proc)} runs from {os.path.dirname(real)}",
                                          "Anyone can write to that folder; real services are not installed "
                                          "there, but dropped attack tools are.", **ev))
            elif "/." in real or real.startswith(("/home/", "/root/")):
                hidden = "/." in real
                found.append(self.finding(host, f"{proc_label(proc)} runs from a {'hidden' if hidden else 'home'} "
                                          f"folder ({os.path.dirname(real)})", "Services are installed in system "
                                          "folders; a program started from a hidden or home folder is often a "
                                          "dropped tool.", None if hidden else Severity.MEDIUM, **ev))
        return found


class FakeKernelThread(Check):
    """Userspace processes named like kernel threads ([kworker] and the like)."""

    name, severity = "fake-kernel-thread", Severity.HIGH
    about = "userspace processes disguised with a [kernel-thread] name"

    def run(self, host: HostFacts) -> list[Finding]:
        """A finding for each bracketed name that has a program file or a parent other than kthreadd."""
        found = []
        for proc in host.list("processes"):
            shown = " ".join(proc.get("cmdline") or [])
            if not (shown.startswith("[") and shown.endswith("]")):
                continue
            if proc.get("exe") or proc.get("ppid") not in (0, KTHREADD):
                found.append(self.finding(
                    host, f"process {proc['pid']} calls itself {shown} but is an ordinary program "
                    f"({proc.get('exe') or 'parent ' + str(proc.get('ppid'))})",
                    "Real kernel threads have no program file and are children of kthreadd; malware takes "
                    "their names to blend into process lists.", pid=proc["pid"], exe=proc.get("exe"),
                    ppid=proc.get("ppid")))
        return found


class HiddenProcess(Check):
    """Processes present in /proc that ps does not show."""

    name, severity = "hidden-process", Severity.CRITICAL
    about = ("processes that ps or the /proc listing does not show but that answer by number, and folders mounted "
             "over /proc/PID (rootkits and attackers hide processes so)")

    def run(self, host: HostFacts) -> list[Finding]:
        """One finding listing the hidden PIDs, and one per mount over /proc/PID."""
        hidden = [int(p) for p in host.facts.get("hidden_pids") or []]
        found = [self.finding(host, f"{len(hidden)} process(es) hidden from ps or the /proc listing: PIDs "
                              f"{hidden[:20]}", "Only a rootkit makes the process list lie; the host's own tools "
                              "cannot be trusted.", pids=hidden)] if hidden else []
        for row in host.list("proc_mounts"):
            found.append(self.finding(
                host, f"process {row['pid']} is hidden by a mount over {row['mount_point']} ({row.get('fstype')} "
                f"{row.get('source')}, folder {row.get('root')})", "Mounting a folder over /proc/PID blanks that "
                "process for ps, top and every tool that reads /proc; nothing installed does this. Look at the "
                "process from another mount namespace or after unmounting it.", pid=row["pid"],
                mount_point=row["mount_point"], source=row.get("source"), root=row.get("root")))
        return found


class LdPreload(Check):
    """LD_PRELOAD in process environments and a non-empty /etc/ld.so.preload."""

    name, severity = "ld-preload", Severity.HIGH
    about = "libraries forced into programs through LD_PRELOAD or /etc/ld.so.preload"

    def run(self, host: HostFacts) -> list[Finding]:
        """Findings for the preload file and each process with LD_PRELOAD."""
        found = []
        content = str(host.facts.get("ld_so_preload") or "").strip()
        if content:
            inside = host.facts.get("channel", {}).get("preload", {}).get("loaded_into_agent")
            agent = ("; it was loaded into the sweep's own agent too (it could not be bypassed: not root, or no "
                     "unshare), so this host's answers may be filtered" if inside else
                     "; the sweep's agent ran without it" if inside is not None else "")
            found.append(self.finding(host, f"/etc/ld.so.preload loads {content.splitlines()[0][:120]}{agent}",
                                      "Every program on the host loads that library first; user-space rootkits "
                                      "use it to hide files, processes and connections.", Severity.CRITICAL,
                                      content=content[:2000], loaded_into_agent=inside))
        for proc in host.list("processes"):
            for value in proc.get("ld_preload") or []:
                found.append(self.finding(host, f"{proc_label(proc)} has {value[:160]}",
                                          "The library named there runs inside the process and can change "
                                          "what it does.", pid=proc["pid"], value=value))
        return found


class StrayOutput(Check):
    """Bytes on the agent's channel that the agent did not write."""

    name, severity = "stray-output", Severity.HIGH
    about = "output the sweep's agent did not write (a preloaded library or a replaced python3 that prints)"

    def run(self, host: HostFacts) -> list[Finding]:
        """One finding with a sample of what was printed."""
        channel = host.facts.get("channel") or {}
        count = int(channel.get("stray_bytes") or 0)
        if not count:
            return []
        sample = str(channel.get("stray", ""))[:120]
        return [self.finding(host, f"{count} byte(s) reached the sweep's output that its agent did not write: "
                             f"{sample!r}", "Something on this host runs code inside programs as they start (a "
                             "library in /etc/ld.so.preload, a replaced python3 or shell start-up file) and it "
                             "prints. The sweep set those bytes aside; find what wrote them.",
                             stray_bytes=count, sample=channel.get("stray", ""))]


class UnexpectedModule(Check):
    """Kernel modules not shipped with the running kernel, or that taint it."""

    name, severity = "kernel-module", Severity.HIGH
    about = "kernel modules not in the running kernel's modules folder, unsigned or forced"

    def applies_to(self, host: HostFacts) -> bool:
        """Needs the running kernel's module list (absent in some containers)."""
        return bool(host.facts.get("modules", {}).get("known"))

    def run(self, host: HostFacts) -> list[Finding]:
        """A finding for each module that is unknown or taints the kernel."""
        mods = host.facts["modules"]
        known = set(mods["known"])
        found = []
        for mod in mods.get("loaded", []):
            name, taint = mod["name"], mod.get("taint", "")
            if name.replace("-", "_") not in known:
                found.append(self.finding(host, f"kernel module {name} is not from the running kernel "
                                          f"({mods['modules_dir']})", "A module from elsewhere runs with full "
                                          "control of the machine; kernel rootkits load this way.", module=name,
                                          taint=taint))
            elif {"F", "E"} & set(taint):
                found.append(self.finding(host, f"kernel module {name} is unsigned or was force-loaded "
                                          f"(taint {taint})", "Signed modules from the distribution do not "
                                          "taint the kernel.", Severity.MEDIUM, module=name, taint=taint))
        return found


class UnknownListener(Check):
    """Listening sockets owned by a program no package installed."""

    name, severity = "unknown-listener", Severity.MEDIUM
    about = "listening services whose program is not from a package"

    def applies_to(self, host: HostFacts) -> bool:
        """Needs the package database (dpkg or rpm)."""
        return has_packages(host)

    def run(self, host: HostFacts) -> list[Finding]:
        """A finding per listening socket of an unpackaged program."""
        by_pid = {p["pid"]: p for p in host.list("processes")}
        found = []
        for sock in host.list("sockets"):
            proc = by_pid.get(sock.get("pid"))
            if not sock.get("listening") or not proc or proc.get("package") not in ("unowned", "modified"):
                continue
            found.append(self.finding(
                host, f"{sock['proto']} port {sock['lport']} is served by {proc.get('exe')}, which no package "
                f"installed ({proc['package']})", "A backdoor often listens for its owner; check whether you "
                "installed this service yourself.", Severity.HIGH if proc["package"] == "modified" else None,
                pid=proc["pid"], exe=proc.get("exe"), port=sock["lport"], proto=sock["proto"]))
        return found


class IocConnection(Check):
    """Connections to or from addresses named in indicator files."""

    name, severity = "ioc-connection", Severity.CRITICAL
    about = "connections to indicator addresses (--ioc)"

    def applies_to(self, host: HostFacts) -> bool:
        """Needs indicator addresses."""
        return bool(host.iocs.networks)

    def run(self, host: HostFacts) -> list[Finding]:
        """A finding per connection whose remote end is an indicator."""
        by_pid = {p["pid"]: p for p in host.list("processes")}
        found = []
        for sock in host.list("sockets"):
            net = host.iocs.matches_ip(sock.get("remote", ""))
            if net and sock.get("rport"):
                proc = by_pid.get(sock.get("pid"), {})
                found.append(self.finding(host, f"{sock['proto']} connection to {sock['remote']}:{sock['rport']} "
                                          f"(indicator {net}) by {proc.get('exe') or 'an unknown process'}",
                                          "The address is on your indicator list: the host is talking to the "
                                          "attacker's infrastructure.", remote=sock["remote"], port=sock["rport"],
                                          pid=sock.get("pid")))
        return found


class RecentPersistence(Check):
    """Cron, systemd, shell start-up and authorized_keys files changed within --since days."""

    name, severity = "recent-persistence", Severity.HIGH
    about = "cron, systemd, shell start-up and authorized_keys entries added or changed recently"
    WHY: ClassVar[dict[str, str]] = {
        "cron": "Scheduled jobs are the commonest way attackers make sure they come back.",
        "systemd": "A service or timer added by hand starts the attacker's program at every boot.",
        "shell_profile": "Start-up files run their commands at every login.",
        "authorized_keys": "An added key lets its holder log in without a password, even after passwords change.",
        "ssh_config": "Changed SSH server settings can open new ways in.",
        "init": "Boot scripts run as root every time the machine starts.",
        "pam": "PAM rules decide who may log in; a changed rule can let anyone in or record passwords.",
        "python_hook": "Python runs these at every start, so every Python program runs what they say.",
    }

    def run(self, host: HostFacts) -> list[Finding]:
        """A finding per recently changed file (the later of its modification and change times)."""
        cutoff = host.cutoff
        found = []
        for row in host.list("persistence"):
            changed = max(float(row["mtime"]), float(row["ctime"]))
            if changed < cutoff or row.get("as_packaged"):  # installed or upgraded by the package manager, unchanged
                continue
            kind = row.get("kind", "")
            days = max(0.0, (host.now - changed) / 86400)
            keys = f"; keys: {', '.join(row['keys'][:5])}" if row.get("keys") else ""
            back = back_dated(float(row["mtime"]), float(row["ctime"]), cutoff)
            said = f" (back-dated: its modification time says {(host.now - row['mtime']) / 86400:.0f} days ago)" \
                if back else ""
            sev = Severity.MEDIUM if kind == "shell_profile" and not back else None
            found.append(self.finding(host, f"{kind.replace('_', ' ')} file {row['path']} changed "
                                      f"{days:.1f} days ago{said}{keys}", self.WHY.get(kind, "") + (
                                          " Its modification time was set back to make it look old." if back else ""),
                                      sev, path=row["path"], kind=kind, mtime=row["mtime"], ctime=row["ctime"],
                                      keys=row.get("keys"), back_dated=back))
        return found


def back_dated(mtime: float, ctime: float, cutoff: float) -> bool:
    """A file whose modification time is before the window and more than a day before its change time (pure).

    touch -d and utime set the modification time; the change time cannot be set, it says when that happened.
    """
    return mtime < cutoff <= ctime and ctime - mtime > 86400


class ExtraRootAccount(Check):
    """Accounts other than root with UID 0."""

    name, severity = "uid0-account", Severity.CRITICAL
    about = "accounts with UID 0 other than root"

    def run(self, host: HostFacts) -> list[Finding]:
        """A finding per extra UID 0 account."""
        return [self.finding(host, f"account {a['user']} has UID 0 (it is root under another name)",
                             "A second root account is a classic backdoor that survives password resets.",
                             user=a["user"], shell=a.get("shell"))
                for a in host.list("accounts") if a.get("uid") == 0 and a.get("user") != "root"]


class PackageIntegrity(Check):
    """SUID programs and system binaries not from a package, or changed since the package installed them."""

    name, severity = "package-integrity", Severity.HIGH
    about = "SUID and system binaries not owned by a package or differing from the package's checksum"

    def applies_to(self, host: HostFacts) -> bool:
        """Needs the package database (dpkg or rpm)."""
        return has_packages(host)

    def run(self, host: HostFacts) -> list[Finding]:
        """Findings for modified binaries, unowned SUID files and unowned system binaries."""
        found = []
        for row in host.list("suid") + host.list("binaries"):
            state, path = row.get("package"), row["path"]
            suid = bool(int(row["mode"], 8) & (stat.S_ISUID | stat.S_ISGID))
            ev = {"path": path, "sha256": row.get("sha256"), "package": state, "mode": row["mode"]}
            if state == "modified":
                found.append(self.finding(host, f"{path} differs from the file its package installed",
                                          "Replacing a system program (ls, ps, sshd...) with a trojan is how "
                                          "rootkits hide and steal passwords.", Severity.CRITICAL, **ev))
            elif state == "unowned" and suid:
                found.append(self.finding(host, f"SUID/SGID program {path} was not installed by any package",
                                          "A program that runs with its owner's rights, left behind, gives "
                                          "anyone on the host a way back to root.", **ev))
            elif state == "unowned" and not path.startswith("/usr/local/"):
                found.append(self.finding(host, f"system program {path} was not installed by any package",
                                          "Programs in the system folders normally come from packages; an "
                                          "extra one may be a planted tool.", Severity.MEDIUM, **ev))
        return found


class WebShell(Check):
    """Web shells and backdoors found by YARA rules in web roots and temp folders."""

    name, severity = "webshell", Severity.CRITICAL
    about = "web shells and backdoors matched by YARA rules in web roots and temp folders"

    def run(self, host: HostFacts) -> list[Finding]:
        """A finding per file that matched."""
        return [self.finding(host, f"{m.path} matches {', '.join(m.rules)}",
                             "A web shell lets anyone on the internet run commands on this server through the "
                             "web site.", path=m.path, rules=list(m.rules), sha256=m.sha256) for m in host.yara]


class IocHash(Check):
    """Executables and dropped files whose hash is on an indicator list."""

    name, severity = "ioc-hash", Severity.CRITICAL
    about = "executables, SUID programs, web and temp files whose hash is an indicator (--ioc)"

    def applies_to(self, host: HostFacts) -> bool:
        """Needs indicator hashes."""
        return bool(host.iocs.hashes)

    def run(self, host: HostFacts) -> list[Finding]:
        """A finding per matching file or running executable."""
        found, seen = [], set()
        rows = [(f"running {proc_label(p)}", p.get("exe_sha256"), p.get("exe_md5")) for p in host.list("processes")]
        rows += [(r["path"], r.get("sha256"), r.get("md5")) for k in ("suid", "binaries", "scan") for r in host.list(k)]
        for label, sha, md5 in rows:
            hit = next((h for h in (sha, md5) if h and h in host.iocs.hashes), None)
            if hit and (label, hit) not in seen:
                seen.add((label, hit))
                found.append(self.finding(host, f"{label} has indicator hash {hit}",
                                          "This exact file is known from the attack.", item=label, hash=hit))
        return found


# The registry: every check the sweep runs, in the order findings are listed.
CHECKS: list[Check] = [
    SuspiciousExecutable(), FakeKernelThread(), HiddenProcess(), LdPreload(), StrayOutput(), UnexpectedModule(),
    UnknownListener(), IocConnection(), RecentPersistence(), ExtraRootAccount(), PackageIntegrity(), WebShell(),
    IocHash(), *TECHNIQUES,
]
