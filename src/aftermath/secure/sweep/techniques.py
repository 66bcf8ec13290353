"""Checks for the common Linux persistence and cover-up techniques (as red teams run them, MITRE ATT&CK).

Each reads facts the probe gathered (persistence files with their text, accounts and groups, file
capabilities, shell histories, logs, odd folders in temp places) and says in plain words what it found.
They are registered with the others in ``checks.CHECKS``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from aftermath.secure.sweep.check import TEMP_PREFIXES, Check, has_packages
from aftermath.secure.sweep.model import Finding, HostFacts, Severity

RUNS = ("cron", "systemd", "init")
TEMP_REF = re.compile(r"(?<![\w.])(/tmp|/var/tmp|/dev/shm)/[^\s'\";|&)]+")
NO_HISTORY = re.compile(r"HISTFILE=/dev/null|HISTFILE=\s*$|unset\s+HISTFILE|HIST(FILE)?SIZE=0\b|set\s+\+o\s+history",
                        re.MULTILINE)
PRELOAD_SET = re.compile(r"\bLD_PRELOAD=\S+")
SENSITIVE = re.compile(r"^/etc/(ssh/sshd_config|pam\.d/|pam\.conf$|security/|sudoers|ld\.so\.(preload|conf))")


def _runs(host: HostFacts, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    return [r for r in host.list("persistence") if r.get("kind") in kinds and r.get("text")]


def _lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


class StartupPointsToTemp(Check):
    """Cron jobs, units, init scripts and start-up files that run something from a temp folder."""

    name, severity = "persistence-runs-from-temp", Severity.CRITICAL
    about = "cron jobs, systemd units, init scripts, rc.local and start-up files that run programs from /tmp"

    def run(self, host: HostFacts) -> list[Finding]:
        """A finding per file, naming the temp paths it points into."""
        found = []
        for row in _runs(host, (*RUNS, "shell_profile")):
            paths = sorted({m.group(0) for ln in _lines(row["text"]) for m in TEMP_REF.finditer(ln)})
            if paths and not row.get("as_packaged"):  # packages' own scripts use /tmp for their own files
                sev = None if row["kind"] in RUNS else Severity.HIGH
                found.append(self.finding(host, f"{row['kind'].replace('_', ' ')} file {row['path']} points into a "
                                          f"temp folder: {', '.join(paths[:5])}", "Anyone can write to temp folders "
                                          "and nothing installed runs from there: this starts an attacker's tool "
                                          "again and again.", sev, path=row["path"], targets=paths))
        return found


class InitScript(Check):
    """rc.local and SysV init scripts that no package installed."""

    name, severity = "init-script", Severity.HIGH
    about = "rc.local and /etc/init.d or /etc/rc?.d scripts that no package installed"

    def run(self, host: HostFacts) -> list[Finding]:
        """A finding per unowned or changed init script (rc.local always counts when it runs something)."""
        found = []
        for row in _runs(host, ("init",)):
            path, state = row["path"], row.get("package")
            commands = [ln for ln in _lines(row["text"]) if ln != "exit 0" and not ln.startswith("#!")]
            rc_local = path == "/etc/rc.local"
            if rc_local and commands or state in ("unowned", "modified") and not rc_local:
                said = f"runs: {commands[0][:80]}" if commands else str(state)
                found.append(self.finding(host, f"boot script {path} ({said})",
                                          "It runs as root at every boot; packages install their scripts, people "
                                          "rarely do.", path=path, package=state, commands=commands[:10]))
        return found


class PamBackdoor(Check):
    """PAM rules that let anyone in, and PAM modules loaded from outside the system's security folder."""

    name, severity = "pam-backdoor", Severity.CRITICAL
    about = "PAM rules that accept anyone (pam_succeed_if uid >= 0, pam_permit as sufficient) or foreign modules"

    def run(self, host: HostFacts) -> list[Finding]:
        """A finding per dangerous rule."""
        found = []
        for row in _runs(host, ("pam",)):
            for line in _lines(row["text"]):
                why = pam_problem(line)
                if why:
                    found.append(self.finding(host, f"PAM file {row['path']}: '{line[:100]}' {why}",
                                              "Every login and su/sudo on the host goes through these rules: one "
                                              "line is enough to let anyone in or to record passwords.",
                                              path=row["path"], line=line))
        return found


SECURITY_DIR = re.compile(r"^/(usr/)?lib(64)?/([^/]+/)?security/[^/]+$")


def pam_problem(line: str) -> str:
    """Why a PAM line is dangerous, or '' (pure)."""
    fields = line.split()
    if fields and fields[0].startswith("-"):
        fields[0] = fields[0][1:]
    if len(fields) < 3 or fields[0] != "auth":
        return "loads a module from outside the system's security folder" if len(fields) >= 3 and \
            fields[2].startswith("/") and not SECURITY_DIR.match(fields[2]) else ""
    control, module, args = fields[1], fields[2], " ".join(fields[3:])
    if module.startswith("/") and not SECURITY_DIR.match(module):
        return "loads a module from outside the system's security folder"
    base = module.rsplit("/", 1)[-1]
    if base.startswith("pam_succeed_if") and control == "sufficient" and re.search(r"uid\s*>=?\s*-?[01]\b", args):
        return "accepts every user without a password"
    if base.startswith("pam_permit") and control in ("sufficient", "[success=done default=ignore]"):
        return "accepts anyone: pam_permit always says yes"
    return ""


SHELLS_NOT_LOGIN = ("nologin", "false", "sync", "halt", "shutdown")
SERVICE_SHELLS = frozenset({"postgres", "git", "jenkins", "gitlab-runner"})  # packages give these a shell
ADMIN_GROUPS = ("sudo", "wheel", "admin", "root")


class AccountBackdoor(Check):
    """New login accounts, accounts in the root group or admin groups, and system accounts given a shell."""

    name, severity = "account-backdoor", Severity.HIGH
    about = "new accounts, GID 0 or sudo/wheel members, and system accounts given a login shell"

    def run(self, host: HostFacts) -> list[Finding]:
        """A finding per suspicious account."""
        today = host.now / 86400
        changed = {r["user"]: r.get("last_change_days") for r in host.list("shadow")}
        admins = {m: g["name"] for g in host.list("groups") if g["name"] in ADMIN_GROUPS for m in g["members"]}
        found = []
        for acc in host.list("accounts"):
            user, uid = acc["user"], int(acc["uid"])
            login = not str(acc.get("shell") or "").rsplit("/", 1)[-1].startswith(SHELLS_NOT_LOGIN)
            day = str(changed.get(user) or "")
            new = day.isdigit() and int(day) >= host.cutoff // 86400
            if user == "root":
                continue
            if int(acc.get("gid", -1)) == 0:
                found.append(self._one(host, acc, "has the root group (GID 0) as its main group"))
            if user in admins:
                found.append(self._one(host, acc, f"is in the {admins[user]} group (it can become root)",
                                       None if new else Severity.MEDIUM))
            if 0 < uid < 1000 and login and user not in SERVICE_SHELLS:
                found.append(self._one(host, acc, f"is a system account with a login shell ({acc.get('shell')})"))
            elif uid >= 1000 and login and new:
                found.append(self._one(host, acc, f"was created or got its password {today - int(day):.0f} day(s) ago"))
        return found

    def _one(self, host: HostFacts, acc: dict[str, Any], what: str, severity: Severity | None = None) -> Finding:
        return self.finding(host, f"account {acc['user']} (UID {acc['uid']}) {what}",
                            "Attackers add or reshape accounts so that they can log in again after the hole "
                            "they came through is closed.", severity, user=acc["user"], uid=acc["uid"])


CAPS = {0: "cap_chown", 1: "cap_dac_override", 2: "cap_dac_read_search", 3: "cap_fowner", 6: "cap_setgid",
        7: "cap_setuid", 16: "cap_sys_module", 19: "cap_sys_ptrace", 21: "cap_sys_admin"}


class FileCapability(Check):
    """Programs given capabilities that amount to root (cap_setuid on a copy of an interpreter)."""

    name, severity = "file-capability", Severity.HIGH
    about = "programs with file capabilities that let them become root (cap_setuid, cap_sys_admin, ...)"

    def run(self, host: HostFacts) -> list[Finding]:
        """A finding per program with a root-equivalent capability."""
        found = []
        for row in host.list("capabilities"):
            names = [n for bit, n in CAPS.items() if int(row.get("caps", 0)) >> bit & 1]
            if not names:
                continue
            sev = Severity.CRITICAL if row.get("package") != "owned" else None
            found.append(self.finding(host, f"{row['path']} has {', '.join(names)}"
                                      f"{' and no package installed it' if row.get('package') == 'unowned' else ''}",
                                      "Anyone who runs it can become root; attackers leave such a program behind "
                                      "as a quiet way back.", sev, path=row["path"], caps=names,
                                      package=row.get("package"), sha256=row.get("sha256")))
        return found


class PythonStartupHook(Check):
    """.pth files with import lines, and sitecustomize/usercustomize, that no package installed."""

    name, severity = "python-startup-hook", Severity.HIGH
    about = "Python .pth import lines and sitecustomize files that no package installed"

    def run(self, host: HostFacts) -> list[Finding]:
        """A finding per unowned or changed hook that runs code."""
        found = []
        for row in _runs(host, ("python_hook",)):
            code = [ln for ln in _lines(row["text"]) if ln.startswith(("import ", "import\t"))]
            if row.get("package") == "owned" or not (code or row["path"].endswith("customize.py")):
                continue
            found.append(self.finding(host, f"Python start-up hook {row['path']} ({row.get('package')})"
                                      f"{': ' + code[0][:100] if code else ''}", "Python runs it every time "
                                      "it starts, so every Python program on the host runs the attacker's code.",
                                      path=row["path"], code=code[:5]))
        return found


class StartupPreload(Check):
    """LD_PRELOAD set in a unit, cron job, init script or start-up file (one program made to load a library)."""

    name, severity = "startup-preload", Severity.HIGH
    about = "LD_PRELOAD set in systemd units, cron, init scripts or shell start-up files"

    def run(self, host: HostFacts) -> list[Finding]:
        """A finding per file that sets LD_PRELOAD."""
        found = []
        for row in _runs(host, (*RUNS, "shell_profile")):
            values = sorted({m.group(0) for ln in _lines(row["text"]) for m in PRELOAD_SET.finditer(ln)})
            if values:
                found.append(self.finding(host, f"{row['path']} sets {values[0][:120]}", "The programs it "
                                          "starts load that library first; it can change what they do or hide "
                                          "things from them.", path=row["path"], values=values))
        return found


class DroppedProgram(Check):
    """Programs and libraries (ELF files) in temp folders, and odd folder names there."""

    name, severity = "dropped-in-temp", Severity.HIGH
    about = "programs or libraries in /tmp, /var/tmp, /dev/shm, and folders named '...' or ' ' there"

    def run(self, host: HostFacts) -> list[Finding]:
        """A finding per ELF file in a temp folder and per odd folder name."""
        found = [self.finding(host, f"program or library {r['path']} sits in a temp folder", "Installed software "
                              "never lives in temp folders; attackers drop their tools there.", path=r["path"],
                              sha256=r.get("sha256"))
                 for r in host.list("scan") if r.get("elf") and r["path"].startswith(TEMP_PREFIXES)]
        found += [self.finding(host, f"folder {r['path']!r} in a temp place is named to be overlooked",
                               "Names made of dots or spaces hide in listings; there is no honest reason for one.",
                               path=r["path"]) for r in host.list("odd_folders")]
        return found


class VanishedScript(Check):
    """Processes that hold a deleted file from a temp folder open (a script run from /tmp, then removed)."""

    name, severity = "vanished-script", Severity.HIGH
    about = "processes running a script from a temp folder that has since been deleted"

    def run(self, host: HostFacts) -> list[Finding]:
        """A finding per process with such a file open."""
        found = []
        for proc in host.list("processes"):
            gone = [t for t in proc.get("temp_files_open") or [] if t.endswith(" (deleted)")]
            if gone:
                found.append(self.finding(host, f"process {proc['pid']} ({' '.join(proc.get('cmdline') or [])[:80]}) "
                                          f"holds the deleted {gone[0].removesuffix(' (deleted)')}", "A script or "
                                          "file was run from a temp folder and removed to leave no trace; the "
                                          "running process still has it.", pid=proc["pid"], files=gone))
        return found


HISTORY_TRACES = re.compile(r"(?:^|[\s;|&])(?:sh|bash|python3?|perl|chmod\s+\+x)\s+(?:/tmp|/var/tmp|/dev/shm)/\S+|"
                            r"(?:^|[\s;|&])(?:/tmp|/var/tmp|/dev/shm)/\S+|(?:curl|wget)\s[^|]*\|\s*(?:ba)?sh",
                            re.MULTILINE)


class CoverTracks(Check):
    """Shell histories switched off or wiped, logs emptied or missing, and history lines that run from /tmp."""

    name, severity = "cover-tracks", Severity.HIGH
    about = "histories linked to /dev/null, cleared or disabled; auth.log, syslog or wtmp emptied or missing"
    LOGGED: ClassVar[tuple[str, ...]] = ("/var/log/auth.log", "/var/log/syslog", "/var/log/wtmp")

    def run(self, host: HostFacts) -> list[Finding]:
        """Findings for histories, start-up files that disable them, and logs."""
        return self._histories(host) + self._profiles(host) + self._logs(host)

    def _histories(self, host: HostFacts) -> list[Finding]:
        found, cutoff = [], host.cutoff
        for row in host.list("histories"):
            if row.get("link"):
                found.append(self.finding(host, f"shell history {row['path']} is a link to {row['link']}",
                                          "Nothing typed in that account's shell is kept: someone wanted no "
                                          "record.", path=row["path"]))
            elif row.get("size") == 0 and max(row["mtime"], row["ctime"]) >= cutoff:
                found.append(self.finding(host, f"shell history {row['path']} was emptied recently", "Clearing "
                                          "history removes the record of what was typed.", path=row["path"]))
            traces = [m.group(0).strip() for m in HISTORY_TRACES.finditer(row.get("tail") or "")]
            if traces:
                found.append(self.finding(host, f"shell history {row['path']} runs a downloaded or temp-folder script: "
                                          f"{traces[-1][:100]}", "Scripts run from /tmp and then deleted leave "
                                          "this trace behind.", Severity.MEDIUM, path=row["path"], lines=traces[-10:]))
        return found

    def _profiles(self, host: HostFacts) -> list[Finding]:
        return [self.finding(host, f"start-up file {r['path']} switches shell history off "
                             f"({NO_HISTORY.search(r['text']).group(0).strip()})",  # type: ignore[union-attr]
                             "With history off, nothing typed in the shell is recorded.", path=r["path"])
                for r in _runs(host, ("shell_profile",)) if NO_HISTORY.search(r["text"])]

    def _logs(self, host: HostFacts) -> list[Finding]:
        found, cutoff = [], host.cutoff
        for row in host.list("logs"):
            path = row["path"]
            if not row.get("exists"):
                if path in self.LOGGED and row.get("rotated_mtime"):
                    found.append(self.finding(host, f"log {path} is missing but its older copies are there",
                                              "Deleting a log removes the record of logins and commands.", path=path))
            elif row.get("size") == 0 and row["mtime"] >= cutoff > (row.get("rotated_mtime") or 0):
                found.append(self.finding(host, f"log {path} was emptied recently (not by log rotation)",
                                          "Emptying a log removes the record of logins and commands.", path=path))
        return found


BORROWED = re.compile(r"^(kworker|kthreadd|ksoftirqd|kswapd|migration|rcu_|watchdog|kdevtmpfs|jbd2|"
                      r"sshd|cron|crond|systemd|rsyslogd|dbus-daemon|agetty|nginx|apache2|httpd|mysqld|postgres)")


class RenamedProcess(Check):
    """Processes whose name (comm, set with prctl) is neither their program's nor their script's."""

    name, severity = "renamed-process", Severity.MEDIUM
    about = "processes renamed (prctl) away from their program's name, above all to a kernel thread's or daemon's"

    def run(self, host: HostFacts) -> list[Finding]:
        """A finding per renamed process; high when the name borrowed is a kernel thread's or a daemon's."""
        found = []
        for proc in host.list("processes"):
            exe, comm = str(proc.get("exe") or ""), str(proc.get("comm") or "")
            if not exe.startswith("/") or not comm or comm.startswith("("):
                continue
            names = {n.removesuffix(" (deleted)").rsplit("/", 1)[-1][:15] for n in [exe, *proc.get("cmdline", [])[:3]]}
            if comm in names:
                continue
            sev = Severity.HIGH if BORROWED.match(comm) else None
            found.append(self.finding(host, f"process {proc['pid']} calls itself {comm!r} but runs {exe}", "Malware "
                                      "renames itself to pass for a kernel thread or a service in process lists.",
                                      sev, pid=proc["pid"], comm=comm, exe=exe))
        return found


class ConfigDrift(Check):
    """Configuration files under /etc that differ from the version their package installed, whatever their age."""

    name, severity = "config-drift", Severity.MEDIUM
    about = ("files under /etc whose digest differs from the one dpkg (or ucf, or rpm) recorded when the package "
             "installed them, or that were deleted; high for sshd, PAM, sudo and the dynamic loader's files")

    def applies_to(self, host: HostFacts) -> bool:
        """Where dpkg (its status lists each conffile's MD5) or rpm (each %config file's digest) is present."""
        return has_packages(host) and isinstance(host.facts.get("config_drift"), dict)

    def run(self, host: HostFacts) -> list[Finding]:
        """A finding per changed configuration file."""
        found = []
        for row in host.facts["config_drift"].get("drifted", []):
            path, package = row["path"], row.get("package", "?")
            key = SENSITIVE.search(row.get("conffile") or path) or SENSITIVE.search(path)
            why = ("It decides who may log in or become root, or which libraries every program loads: an "
                   "attacker who changes it keeps a way in. Compare it with the package's version." if key else
                   "Often an administrator's own change; compare it with the package's version and ask who made "
                   "it.")
            moved = f" (diverted from {row['conffile']})" if row.get("conffile") not in (None, path) else ""
            found.append(self.finding(host, f"{path}{moved} differs from what package {package} installed", why,
                                      Severity.HIGH if key else None, path=path, package=package,
                                      expected_md5=row.get("expected_md5"), md5=row.get("md5"),
                                      mtime=row.get("mtime")))
        for row in host.facts["config_drift"].get("deleted", []):
            path, package = row["path"], row.get("package", "?")
            sev = deleted_severity(path)
            found.append(self.finding(host, f"{path}, a configuration file of package {package}, was deleted",
                                      DELETED_WHY[sev], sev, path=path, package=package, deleted=True,
                                      expected_md5=row.get("expected_md5")))
        return found


LOGGING = re.compile(r"^/etc/(rsyslog|syslog|logrotate|audit/|systemd/journald|default/rsyslog)")
DELETED_WHY = {
    Severity.HIGH: "Without it, logins, su and sudo fall back to other rules or the loader to other settings; "
                   "attackers delete such a file to loosen the rules. dpkg will not bring it back by itself: "
                   "reinstall the package (apt-get install --reinstall -o Dpkg::Options::=--force-confmiss).",
    Severity.MEDIUM: "Without it, logs are no longer written or kept as set up; removing it is a way to cover "
                     "tracks. dpkg will not bring it back by itself (--force-confmiss on a reinstall does).",
    Severity.LOW: "Usually an administrator's or an image builder's choice (dpkg keeps a deleted configuration "
                  "file deleted); ask who removed it.",
}


def deleted_severity(path: str) -> Severity:
    """How much a deleted conffile matters (pure): high for login, sudo and loader files, medium for logging."""
    if SENSITIVE.search(path) and not path.rsplit("/", 1)[-1].upper().startswith("README"):
        return Severity.HIGH
    return Severity.MEDIUM if LOGGING.search(path) else Severity.LOW


TECHNIQUES: list[Check] = [
    StartupPointsToTemp(), InitScript(), PamBackdoor(), AccountBackdoor(), FileCapability(), PythonStartupHook(),
    StartupPreload(), DroppedProgram(), VanishedScript(), CoverTracks(), RenamedProcess(), ConfigDrift(),
]
