"""The sweep's probe: the ``facts`` mode of the host agent (standard library only).

At send time this file is appended to ``collect/agent.py`` with its ``# agent-import`` lines removed,
so the script that runs on the host stays one self-contained file. It gathers what the checks need
and nothing else; all judging happens on the responder's side, over ``facts.json``.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from typing import Any

from aftermath.secure.collect.agent import (  # agent-import
    clock,  # agent-import
    emit,  # agent-import
    emit_json,  # agent-import
    expand,  # agent-import
    file_meta,  # agent-import
    hidden_pids,  # agent-import
    listdir,  # agent-import
    modules,  # agent-import
    pids,  # agent-import
    preload_seen,  # agent-import
    process,  # agent-import
    read_bytes,  # agent-import
    read_text,  # agent-import
    safe_hashes,  # agent-import
    shadow_meta,  # agent-import
    sockets,  # agent-import
    users,  # agent-import
    walk,  # agent-import
)  # agent-import

BIN_DIRS = ("/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin")


# -- package ownership (dpkg) -----------------------------------------------------------------------
def dpkg_db(root: str = "/var/lib/dpkg/info") -> tuple[set[str], dict[str, str]]:
    """Paths owned by packages and their MD5 sums (conffiles' too), with usr-merge aliases (/bin is /usr/bin).

    The files of a package that a dpkg run left in the middle (half-installed, unpacked, half-configured) are
    owned but not checked: during an upgrade some of them are new and some old, and they would read as trojans.
    """
    owned: set[str] = set()
    status = os.path.join(os.path.dirname(root), "status")
    sums: dict[str, str] = conffile_sums(status)
    midway = dpkg_midway(status)
    for name in listdir(root):
        text = read_text(os.path.join(root, name))
        if name.endswith(".list"):
            owned.update(line for line in text.splitlines() if line)
        elif name.endswith(".md5sums") and name.rsplit(".", 1)[0].split(":")[0] not in midway:
            for line in text.splitlines():
                digest, _, rel = line.partition("  ")
                sums["/" + rel.strip()] = digest
    diversions(os.path.join(os.path.dirname(root), "diversions"), owned, sums)
    for path in list(owned) + list(sums):
        for short in ("/bin/", "/sbin/", "/lib/", "/lib64/"):
            if path.startswith(short) and os.path.islink(short.rstrip("/")):
                owned.add("/usr" + path)
                if path in sums:
                    sums["/usr" + path] = sums[path]
    return owned, sums


MIDWAY = ("half-installed", "unpacked", "half-configured")


def dpkg_midway(status: str = "/var/lib/dpkg/status") -> set[str]:
    """Packages a dpkg run is in the middle of (their files are partly old, partly new)."""
    midway, package = set(), ""
    for line in read_text(status).splitlines():
        if line.startswith("Package:"):
            package = line.split(":", 1)[1].strip()
        elif line.startswith("Status:") and line.split()[-1] in MIDWAY:
            midway.add(package)
    return midway


def diversions(path: str, owned: set[str], sums: dict[str, str]) -> None:
    """dpkg diversions: a package's file moved aside (pg_config to pg_config.libpq-dev) is still that package's.

    Two packages ship the diverted path, so its sum is ambiguous: neither name is checked against one.
    """
    lines = read_text(path).splitlines()
    for i in range(0, len(lines) - 2, 3):
        original, moved = lines[i], lines[i + 1]
        owned.update((original, moved))
        sums.pop(original, None)


def conffile_sums(status: str, ucf: str = "/var/lib/ucf/hashfile") -> dict[str, str]:
    """The MD5 of each configuration file as its package installed it (dpkg's 'Conffiles:', and ucf's hashes
    for files a package generates at install, such as sshd_config)."""
    sums = {path: digest for path, (digest, _) in ucf_sums(ucf).items()}
    sums.update((row["path"], row["md5"]) for row in conffile_rows(status))
    return sums


def ucf_sums(hashfile: str = "/var/lib/ucf/hashfile", registry: str = "/var/lib/ucf/registry"
             ) -> dict[str, tuple[str, str]]:
    """ucf's hashes of the files packages generate at install (sshd_config): path -> (MD5, package)."""
    owners = {}
    for line in read_text(registry).splitlines():
        parts = line.split()
        if len(parts) == 2:
            owners[parts[1]] = parts[0]
    sums = {}
    for line in read_text(hashfile).splitlines():
        digest, _, path = line.partition("  ")
        if len(digest) == 32 and path.startswith("/"):
            sums[path.strip()] = (digest, owners.get(path.strip(), "ucf"))
    return sums


def conffile_rows(status: str) -> list[dict[str, Any]]:
    """Each live conffile of each package in dpkg's status: package, package state, path, MD5.

    Obsolete conffiles (no longer shipped; dpkg leaves them) and ones not yet hashed ('newconffile') are left out.
    """
    rows: list[dict[str, Any]] = []
    package, state, inside = "", "", False
    for line in read_text(status).splitlines():
        if line.startswith("Package:"):
            package, state = line.split(":", 1)[1].strip(), ""
        elif line.startswith("Status:"):
            state = line.split()[-1]
        if line.startswith("Conffiles:"):
            inside = True
        elif inside and line.startswith(" /"):
            parts = line.split()
            if len(parts) >= 2 and len(parts[1]) == 32 and "obsolete" not in parts[2:]:
                rows.append({"package": package, "state": state, "path": parts[0], "md5": parts[1]})
        else:
            inside = False
    return rows  # dpkg writes Status before Conffiles, so each row has its package's state


def config_drift(root: str = "/var/lib/dpkg", ucf: str = "/var/lib/ucf", under: str = "/etc/") -> dict[str, Any]:
    """Configuration files under /etc that differ from what their package installed, whatever their age.

    dpkg's conffile MD5s (installed packages only: during a dpkg run the status holds the old sums) and ucf's.
    A diverted conffile is looked for where the diversion moved it, unless the package is the diversion's holder.
    A deleted conffile is listed apart (dpkg keeps it deleted on purpose, so an upgrade does not bring it back:
    an administrator's choice, or an attacker's who removed a PAM or logging rule).
    Returns the count checked, the drifted and the deleted.
    """
    moved: dict[str, tuple[str, str]] = {}
    lines = read_text(os.path.join(root, "diversions")).splitlines()
    for i in range(0, len(lines) - 2, 3):
        moved[lines[i]] = (lines[i + 1], lines[i + 2])
    wanted = [r for r in conffile_rows(os.path.join(root, "status")) if r["state"] == "installed"]
    known = {r["path"] for r in wanted}
    wanted += [{"package": pkg, "state": "installed", "path": path, "md5": digest, "ucf": True}
               for path, (digest, pkg) in ucf_sums(os.path.join(ucf, "hashfile"), os.path.join(ucf, "registry")).items()
               if path not in known]
    for row in wanted:
        divert = moved.get(row["path"])
        row["at"] = divert[0] if divert and divert[1] != row["package"] else row["path"]
    return drift_of(wanted, under)


def drift_of(wanted: list[dict[str, Any]], under: str = "/etc/") -> dict[str, Any]:
    """Compare configuration files with the digest (MD5 or SHA-256) their package recorded: the drifted and the
    deleted. Each row: package, path (as packaged), at (where it lives now), md5 (the recorded digest)."""
    checked, drifted, deleted = 0, [], []
    for row in wanted:
        path = row.get("at") or row["path"]
        if not row["path"].startswith(under):
            continue
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                continue
        except FileNotFoundError:
            if not os.path.lexists(path):
                deleted.append({"path": path, "package": row["package"], "conffile": row["path"],
                                "expected_md5": row["md5"], "ucf": bool(row.get("ucf"))})
            continue
        except OSError:
            continue
        checked += 1
        now = safe_hashes(path)
        if same_digest(row["md5"], now) is False:
            drifted.append({**file_meta(path), "package": row["package"], "conffile": row["path"],
                            "expected_md5": row["md5"], "md5": now.get("md5") if len(row["md5"]) == 32 else
                            now.get("sha256"), "ucf": bool(row.get("ucf"))})
    return {"checked": checked, "drifted": drifted, "deleted": deleted}


def same_digest(expected: str | None, got: dict[str, Any]) -> bool | None:
    """Whether a file's hashes match a package's recorded digest (MD5 for dpkg, SHA-256 or MD5 for rpm), or None
    when there is nothing to compare."""
    kind = {32: "md5", 64: "sha256"}.get(len(expected or ""))
    if not kind or not got.get(kind):
        return None
    return bool(got[kind] == expected)


# -- package ownership (rpm) ------------------------------------------------------------------------
RPM_FILES = "[%{FILENAMES}\t%{FILEDIGESTS}\t%{FILEFLAGS}\t%{=NAME}\n]"
RPM_CONFIG, RPM_GHOST = 1, 64  # RPMFILE_CONFIG, RPMFILE_GHOST
RPM_DBS = ("/var/lib/rpm", "/usr/lib/sysimage/rpm")


def rpm_rows() -> list[dict[str, Any]]:
    """Every file the rpm database lists: path, digest, flags, package (none without rpm or its database).

    The database's folder is named (--dbpath): Debian's own rpm defaults to ~/.rpmdb, rpm distributions to the
    folders of RPM_DBS."""
    found = [d for d in RPM_DBS if os.path.isdir(d) and listdir(d)]
    if not shutil.which("rpm") or not found:
        return []
    out = subprocess.run(["rpm", "--dbpath", found[0], "-qa", "--qf", RPM_FILES], capture_output=True, text=True,
                         check=False).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) == 4 and parts[0].startswith("/") and parts[2].isdigit():
            rows.append({"path": parts[0], "md5": parts[1], "flags": int(parts[2]), "package": parts[3]})
    return rows


def rpm_db(rows: list[dict[str, Any]]) -> tuple[set[str], dict[str, str]]:
    """Owned paths and their digests from the rpm database's rows (ghost files are owned, not hashed)."""
    owned = {r["path"] for r in rows}
    sums = {r["path"]: r["md5"] for r in rows if r["md5"] and not r["flags"] & RPM_GHOST}
    return owned, sums


def rpm_config_drift(rows: list[dict[str, Any]], under: str = "/etc/") -> dict[str, Any]:
    """rpm -V for configuration files (%config): changed or deleted ones under /etc."""
    wanted = [{"package": r["package"], "path": r["path"], "md5": r["md5"]} for r in rows
              if r["flags"] & RPM_CONFIG and not r["flags"] & RPM_GHOST and r["md5"]]
    return drift_of(wanted, under)


def proc_mounts(mountinfo: str = "/proc/self/mountinfo") -> list[dict[str, Any]]:
    """Mounts whose mount point is /proc/PID or below it: a folder mounted over /proc/PID hides that process
    from ps, top and every reader of /proc (MITRE T1564). The PID, what was mounted there and its type."""
    rows = []
    for line in read_text(mountinfo).splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])  # mountinfo escapes
        parts = point.split("/")
        if len(parts) >= 3 and parts[1] == "proc" and parts[2].isdigit():
            dash = fields.index("-") if "-" in fields else len(fields)
            tail = fields[dash + 1:]
            rows.append({"pid": int(parts[2]), "mount_point": point, "root": fields[3],
                         "fstype": tail[0] if tail else "", "source": tail[1] if len(tail) > 1 else ""})
    return rows


def package_state(path: str, md5: str | None, db: tuple[set[str], dict[str, str]], sha256: str | None = None) -> str:
    """'modified', 'unowned', 'owned' or 'no-dpkg' (no package database) for one file."""
    owned, sums = db
    if not owned:
        return "no-dpkg"
    real = os.path.realpath(path)
    if path not in owned and real not in owned:
        return "unowned"
    expected = sums.get(path) or sums.get(real)
    return "modified" if same_digest(expected, {"md5": md5, "sha256": sha256}) is False else "owned"


def executables(paths: list[str], db: tuple[set[str], dict[str, str]]) -> list[dict[str, Any]]:
    """Files with their hashes and package state (owned, unowned, modified)."""
    rows = []
    for path in paths:
        row = {**file_meta(path), **safe_hashes(path)}
        row["package"] = package_state(path, row.get("md5"), db, row.get("sha256"))
        rows.append(row)
    return rows


def bin_files() -> list[str]:
    """Regular files in the system's binary folders, each real file once (usr-merge makes aliases)."""
    seen: dict[str, str] = {}
    for folder in BIN_DIRS:
        if os.path.islink(folder):
            continue
        for path in walk([folder], lambda p, st: True):
            seen.setdefault(os.path.realpath(path), path)
    return sorted(seen.values())


def persistence(kinds: dict[str, list[str]], db: tuple[set[str], dict[str, str]]) -> list[dict[str, Any]]:
    """Persistence files (cron, systemd, init, shell start-up, PAM, Python hooks, SSH) with their times,
    text (the checks read what they run) and package state; keys listed by comment."""
    rows = []
    for kind, patterns in kinds.items():
        for path in expand(patterns):
            try:
                if not stat.S_ISREG(os.stat(path).st_mode):
                    continue
                row = {**file_meta(path), "kind": kind, "text": read_text(path)[:MAX_TEXT]}
            except OSError:
                continue
            got = safe_hashes(path)
            row["package"] = package_state(path, got.get("md5"), db, got.get("sha256"))
            expected = db[1].get(path) or db[1].get(os.path.realpath(path))
            row["as_packaged"] = same_digest(expected, got) is True  # exactly what the package manager wrote
            if kind == "authorized_keys":
                keys = [ln.split() for ln in read_text(path).splitlines() if ln.strip() and not ln.startswith("#")]
                row["keys"] = [" ".join(k[2:]) or k[1][-12:] for k in keys if len(k) >= 2]
            rows.append(row)
    return rows


MAX_SCAN_ROWS = 50000
MAX_TEXT = 1 << 16
ELF = b"\x7fELF"
LOGS = ("/var/log/auth.log", "/var/log/secure", "/var/log/syslog", "/var/log/messages", "/var/log/wtmp",
        "/var/log/btmp", "/var/log/lastlog")
CAP_XATTR = "security.capability"


def capabilities(path: str) -> int | None:
    """The permitted capability bits a file grants (its security.capability attribute), or None."""
    try:
        raw = os.getxattr(path, CAP_XATTR, follow_symlinks=False)
    except OSError:
        return None
    if len(raw) < 12:
        return None
    low = int.from_bytes(raw[4:8], "little")
    high = int.from_bytes(raw[12:16], "little") if len(raw) >= 20 else 0
    return low | high << 32


def privileged_files(roots: list[str], db: tuple[set[str], dict[str, str]]) -> tuple[list[dict[str, Any]],
                                                                                    list[dict[str, Any]]]:
    """SUID/SGID programs, and programs that carry file capabilities, in one walk."""
    caps: dict[str, int] = {}

    def keep(path: str, st: os.stat_result) -> bool:
        if st.st_mode & (stat.S_ISUID | stat.S_ISGID):
            return True
        if st.st_mode & 0o111 and (bits := capabilities(path)):
            caps[path] = bits
        return False
    suid = executables(walk(roots, keep), db)
    return suid, [{**row, "caps": caps[row["path"]]} for row in executables(sorted(caps), db)]


def history_files(patterns: list[str]) -> list[dict[str, Any]]:
    """Shell histories: where they point, their size and times, and their last lines."""
    rows = []
    for path in expand(patterns):
        try:
            row = {**file_meta(path), "link": os.readlink(path) if os.path.islink(path) else None}
        except OSError:
            continue
        row["tail"] = read_text(path)[-8192:] if not row["link"] else ""
        rows.append(row)
    return rows


def log_files() -> list[dict[str, Any]]:
    """The main logs: present or not, size and times, and when their rotated copies last changed."""
    rows = []
    for path in LOGS:
        rotated = [os.lstat(p).st_mtime for p in expand([path + ".*"])]
        try:
            rows.append({**file_meta(path), "exists": True, "rotated_mtime": max(rotated, default=None)})
        except OSError:
            rows.append({"path": path, "exists": False, "rotated_mtime": max(rotated, default=None)})
    return rows


def odd_folders(roots: list[str]) -> list[dict[str, Any]]:
    """Folders in temp places named to be overlooked: only dots and spaces ('...', '. '), or a leading space."""
    rows = []
    for root in roots:
        for folder, dirs, _files in os.walk(root):
            for name in dirs:
                if name.strip(". ") == "" or name.startswith(" ") or name.endswith(" "):
                    rows.append(file_meta(os.path.join(folder, name)))
    return rows


def group_rows() -> list[dict[str, Any]]:
    """/etc/group: name, GID and members."""
    rows = []
    for line in read_text("/etc/group").splitlines():
        f = line.split(":")
        if len(f) >= 4 and f[2].lstrip("-").isdigit():
            rows.append({"name": f[0], "gid": int(f[2]), "members": [m for m in f[3].split(",") if m]})
    return rows


def scan_files(roots: list[str], limit: int, budget: int) -> list[dict[str, Any]]:
    """Web and temp files; the content of each small one is streamed for the YARA scan, up to a budget."""
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for path in walk(roots, lambda p, st: True):
        if path in seen:  # roots may overlap (a web root inside /tmp): each file once
            continue
        seen.add(path)
        if len(rows) >= MAX_SCAN_ROWS:  # a temp folder can hold millions of files: say so, keep memory bounded
            emit({"t": "note", "artifact": "scan", "msg": f"more than {MAX_SCAN_ROWS} files under {', '.join(roots)}: "
                  "the rest were not scanned"})
            break
        try:
            row = {**file_meta(path), **safe_hashes(path), "elf": read_bytes(path, 4) == ELF}
            row["sent"] = row["size"] <= min(limit, budget)
            if row["sent"]:
                budget -= row["size"]
                emit({"t": "file", "artifact": "scan", "path": "scan" + path, "source": path}, read_bytes(path, limit))
        except OSError:
            continue
        rows.append(row)
    return rows


def facts(params: dict[str, Any]) -> None:
    """Gather the sweep's facts and emit them as facts.json."""
    db = dpkg_db()
    rpm = rpm_rows() if not db[0] else []  # an rpm-based host: no dpkg, an rpm database
    if rpm:
        db = rpm_db(rpm)
    preload = preload_seen()
    procs = [p for p in (process(pid, False) for pid in pids()) if p]
    for proc in procs:
        exe = proc.get("exe") or ""
        if exe.startswith("/") and not proc["exe_deleted"]:
            proc["package"] = package_state(exe, proc.get("exe_md5"), db, proc.get("exe_sha256"))
    suid, caps = privileged_files(params["suid_roots"], db)
    value = {
        "clock": clock(), "processes": procs, "hidden_pids": hidden_pids(), "proc_mounts": proc_mounts(),
        "sockets": sockets(),
        "modules": modules(), "ld_so_preload": preload["text"], "ld_so_preload_exists": preload["exists"],
        "accounts": [{"user": u.pw_name, "uid": u.pw_uid, "gid": u.pw_gid, "home": u.pw_dir, "shell": u.pw_shell}
                     for u in users()],
        "persistence": persistence(params["persistence"], db), "dpkg": bool(db[0]) and not rpm, "rpm": bool(rpm),
        "config_drift": rpm_config_drift(rpm) if rpm else config_drift() if db[0] else None,
        "suid": suid, "capabilities": caps, "binaries": executables(bin_files(), db),
        "groups": group_rows(), "shadow": shadow_meta(), "histories": history_files(params.get("history", [])),
        "logs": log_files(), "odd_folders": odd_folders(params.get("temp_roots", [])),
        "scan": scan_files(params["scan_roots"], int(params.get("scan_max", 4 << 20)),
                           int(params.get("scan_total", 256 << 20))),
    }
    emit_json("facts", "facts.json", "aftermath sweep probe", value)
