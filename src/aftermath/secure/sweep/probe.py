"""The sweep's probe: the ``facts`` mode of the host agent (standard library only).

At send time this file is appended to ``collect/agent.py`` with its ``# agent-import`` lines removed,
so the script that runs on the host stays one self-contained file. It gathers what the checks need
and nothing else; all judging happens on the responder's side, over ``facts.json``.
"""

from __future__ import annotations

import os
import stat
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
    process,  # agent-import
    read_bytes,  # agent-import
    read_text,  # agent-import
    safe_hashes,  # agent-import
    sockets,  # agent-import
    users,  # agent-import
    walk,  # agent-import
)  # agent-import

BIN_DIRS = ("/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin")


# -- package ownership (dpkg) -----------------------------------------------------------------------
def dpkg_db(root: str = "/var/lib/dpkg/info") -> tuple[set[str], dict[str, str]]:
    """Paths owned by packages and their MD5 sums, with usr-merge aliases (/bin is /usr/bin)."""
    owned: set[str] = set()
    sums: dict[str, str] = {}
    for name in listdir(root):
        text = read_text(os.path.join(root, name))
        if name.endswith(".list"):
            owned.update(line for line in text.splitlines() if line)
        elif name.endswith(".md5sums"):
            for line in text.splitlines():
                digest, _, rel = line.partition("  ")
                sums["/" + rel.strip()] = digest
    for path in list(owned) + list(sums):
        for short in ("/bin/", "/sbin/", "/lib/", "/lib64/"):
            if path.startswith(short) and os.path.islink(short.rstrip("/")):
                owned.add("/usr" + path)
                if path in sums:
                    sums["/usr" + path] = sums[path]
    return owned, sums


def package_state(path: str, md5: str | None, db: tuple[set[str], dict[str, str]]) -> str:
    """'modified', 'unowned', 'owned' or 'no-dpkg' for one file."""
    owned, sums = db
    if not owned:
        return "no-dpkg"
    real = os.path.realpath(path)
    if path not in owned and real not in owned:
        return "unowned"
    expected = sums.get(path) or sums.get(real)
    return "modified" if expected and md5 and expected != md5 else "owned"


def executables(paths: list[str], db: tuple[set[str], dict[str, str]]) -> list[dict[str, Any]]:
    """Files with their hashes and package state (owned, unowned, modified)."""
    rows = []
    for path in paths:
        row = {**file_meta(path), **safe_hashes(path)}
        row["package"] = package_state(path, row.get("md5"), db)
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


def persistence(kinds: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Cron, systemd, shell start-up and SSH key files with their times; keys listed by comment."""
    rows = []
    for kind, patterns in kinds.items():
        for path in expand(patterns):
            try:
                if not stat.S_ISREG(os.stat(path).st_mode):
                    continue
                row = {**file_meta(path), "kind": kind}
            except OSError:
                continue
            if kind == "authorized_keys":
                keys = [ln.split() for ln in read_text(path).splitlines() if ln.strip() and not ln.startswith("#")]
                row["keys"] = [" ".join(k[2:]) or k[1][-12:] for k in keys if len(k) >= 2]
            rows.append(row)
    return rows


MAX_SCAN_ROWS = 50000


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
            row = {**file_meta(path), **safe_hashes(path)}
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
    procs = [p for p in (process(pid, False) for pid in pids()) if p]
    for proc in procs:
        exe = proc.get("exe") or ""
        if exe.startswith("/") and not proc["exe_deleted"]:
            proc["package"] = package_state(exe, proc.get("exe_md5"), db)
    suid = walk(params["suid_roots"], lambda p, st: st.st_mode & (stat.S_ISUID | stat.S_ISGID))
    value = {
        "clock": clock(), "processes": procs, "hidden_pids": hidden_pids(), "sockets": sockets(),
        "modules": modules(), "ld_so_preload": read_text("/etc/ld.so.preload"),
        "ld_so_preload_exists": os.path.exists("/etc/ld.so.preload"),
        "accounts": [{"user": u.pw_name, "uid": u.pw_uid, "gid": u.pw_gid, "home": u.pw_dir, "shell": u.pw_shell}
                     for u in users()],
        "persistence": persistence(params["persistence"]), "dpkg": bool(db[0]),
        "suid": executables(suid, db), "binaries": executables(bin_files(), db),
        "scan": scan_files(params["scan_roots"], int(params.get("scan_max", 4 << 20)),
                           int(params.get("scan_total", 256 << 20))),
    }
    emit_json("facts", "facts.json", "aftermath sweep probe", value)
