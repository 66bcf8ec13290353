"""Aftermath's host agent: a self-contained collector that runs on the examined host (standard library only).

It is sent as source text to ``python3 -I -S -B -`` with a cleared environment (locally or over SSH), so
it writes nothing to the host: no byte-code, no temporary files. Every result is streamed on stdout as
frames, each the run's random marker, a JSON header line, then ``size`` raw bytes. The responder's side
(``receiver.py``) hashes and stores them, and sets aside anything else that reached stdout.
Files are opened with O_NOATIME where the kernel allows it, so reading them does not touch access times.

Two modes, chosen by PARAMS["mode"]: ``collect`` (artifacts in order of volatility) and ``facts``
(what the compromise sweep checks: one JSON document, plus the content of web and temp files to scan).
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import time
from typing import Any

PARAMS_JSON = "{}"  # AFTERMATH-PARAMS (replaced when the agent is sent)
AGENT_VERSION = "1"
OUT = sys.stdout.buffer
MARK = [b""]  # this run's frame marker, from PARAMS["marker"]


# -- framing ------------------------------------------------------------------------------------
def emit(header: dict[str, Any], data: bytes | None = None) -> None:
    """Write one frame: the marker, a JSON header line, then the data bytes (if any)."""
    if data is not None:
        header = {**header, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    OUT.write(MARK[0] + json.dumps(header, default=str).encode() + b"\n")
    if data is not None:
        OUT.write(data)
    OUT.flush()


def emit_json(artifact: str, path: str, source: str, value: Any) -> None:
    """Emit a JSON document as one file of an artifact."""
    emit({"t": "file", "artifact": artifact, "path": path, "source": source},
         json.dumps(value, indent=1, default=str).encode())


# -- small readers --------------------------------------------------------------------------------
def read_bytes(path: str, limit: int = 1 << 26) -> bytes:
    """Read a file without changing its access time (O_NOATIME needs ownership or CAP_FOWNER)."""
    flags = os.O_RDONLY | getattr(os, "O_NOATIME", 0)
    try:
        fd = os.open(path, flags)
    except PermissionError:
        fd = os.open(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as fh:
        return fh.read(limit)


def read_text(path: str) -> str:
    """A small text file, or '' when it cannot be read."""
    try:
        return read_bytes(path, 1 << 22).decode(errors="replace")
    except OSError:
        return ""


ROOT_PREFIX = [""]  # set when the agent escaped the preload under a chroot (see outer_root)


def readlink(path: str) -> str | None:
    """A symlink's target, or None; /proc links are given as the host's processes see them."""
    try:
        target = os.readlink(path)
    except OSError:
        return None
    prefix = ROOT_PREFIX[0]
    return target[len(prefix):] if prefix and target.startswith(prefix + "/") else target


def outer_root() -> str:
    """Where the host's root lies in the paths the kernel gives this agent, when they differ.

    The agent's private mount namespace (made to escape /etc/ld.so.preload) holds copies of the host's
    mounts. Under a chroot (a jailed sshd, the test lab), links of other processes such as
    /proc/PID/exe then read with the chroot's outer path in front; PID 1's root link names that path.
    """
    if not os.environ.get("AFTERMATH_PRELOAD_FD"):
        return ""
    try:
        outer = os.readlink("/proc/1/root")
    except OSError:
        return ""
    return "" if outer == "/" else outer.rstrip("/")


def hashes(path: str) -> dict[str, Any]:
    """SHA-256 and MD5 of a file, read once."""
    sha, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
    flags = os.O_RDONLY | getattr(os, "O_NOATIME", 0)
    try:
        fd = os.open(path, flags)
    except PermissionError:
        fd = os.open(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as fh:
        while chunk := fh.read(1 << 20):
            sha.update(chunk)
            md5.update(chunk)
            size += len(chunk)
    return {"sha256": sha.hexdigest(), "md5": md5.hexdigest(), "size": size}


def users() -> list[pwd.struct_passwd]:
    """Every account of /etc/passwd (the agent's own view, not NSS caches)."""
    try:
        return pwd.getpwall()
    except OSError:
        return []


EXCLUDE: list[str] = []  # the collector's own output folder, when it is on the examined host


def excluded(path: str) -> bool:
    """Whether a path lies in a folder the agent must not read (its own output)."""
    return any(path == e or path.startswith(e.rstrip("/") + "/") for e in EXCLUDE)


def expand(patterns: list[str]) -> list[str]:
    """Glob patterns; ``~/`` means every account's home folder."""
    homes = sorted({u.pw_dir for u in users() if u.pw_dir and u.pw_dir != "/"})
    found: list[str] = []
    for pattern in patterns:
        variants = [h + pattern[1:] for h in homes] if pattern.startswith("~/") else [pattern]
        for variant in variants:
            found.extend(_glob(variant))
    return sorted(p for p in set(found) if not excluded(p))


def _glob(pattern: str) -> list[str]:
    """Glob that also matches hidden names (attackers favour them); Python before 3.11 lacks the flag."""
    try:
        return glob.glob(pattern, recursive=True, include_hidden=True)
    except TypeError:
        return glob.glob(pattern, recursive=True) + glob.glob(pattern.replace("*", ".*"), recursive=True)


def file_meta(path: str) -> dict[str, Any]:
    """Owner, mode and times of a path (lstat: a link is described, not followed)."""
    st = os.lstat(path)
    return {"path": path, "mode": oct(st.st_mode), "uid": st.st_uid, "gid": st.st_gid, "size": st.st_size,
            "mtime": st.st_mtime, "ctime": st.st_ctime, "inode": st.st_ino}


def walk(roots: list[str], keep: Any) -> list[str]:
    """Regular files under roots, staying on each root's file system, that ``keep(path, stat)`` accepts."""
    found: list[str] = []
    for root in roots:
        try:
            dev = os.lstat(root).st_dev
        except OSError:
            continue
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if _same_dev(os.path.join(folder, d), dev)
                       and not excluded(os.path.join(folder, d))]
            for name in files:
                path = os.path.join(folder, name)
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode) and keep(path, st):
                    found.append(path)
    return found


def _same_dev(path: str, dev: int) -> bool:
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return st.st_dev == dev and not stat.S_ISLNK(st.st_mode)


# -- /proc ------------------------------------------------------------------------------------------
def pids() -> list[int]:
    """Process IDs as /proc lists them."""
    return sorted(int(n) for n in os.listdir("/proc") if n.isdigit())


def process(pid: int, full: bool) -> dict[str, Any] | None:
    """One process from /proc/PID (None when it is gone)."""
    base = f"/proc/{pid}"
    stat_text = read_text(f"{base}/stat")
    if not stat_text:
        return None
    head, _, rest = stat_text.rpartition(")")
    fields = rest.split()
    status = dict(line.split(":", 1) for line in read_text(f"{base}/status").splitlines() if ":" in line)
    exe = readlink(f"{base}/exe")
    env = [e for e in read_bytes_safe(f"{base}/environ").decode(errors="replace").split("\0") if e]
    proc: dict[str, Any] = {
        "pid": pid, "ppid": int(fields[1]), "comm": head.partition("(")[2], "state": fields[0],
        "uid": int(status.get("Uid", "-1").split()[0]), "start_ticks": int(fields[19]),
        "start_utc": start_utc(int(fields[19]), boot_time(), os.sysconf("SC_CLK_TCK")),
        "cmdline": [a for a in read_bytes_safe(f"{base}/cmdline").decode(errors="replace").split("\0") if a],
        "exe": exe, "cwd": readlink(f"{base}/cwd"),
        "exe_deleted": bool(exe and exe.endswith(" (deleted)")), "memfd": bool(exe and exe.startswith("/memfd:")),
        "ld_preload": [e for e in env if e.startswith("LD_PRELOAD=")],
    }
    if exe:
        proc.update(exe_hashes(pid))
        folder = os.path.dirname(exe[:-len(" (deleted)")] if proc["exe_deleted"] else exe)
        try:
            proc["exe_dir_world_writable"] = bool(os.stat(folder).st_mode & stat.S_IWOTH)
        except OSError:
            proc["exe_dir_world_writable"] = None
    open_files = sorted({t for t in (readlink(f"{base}/fd/{fd}") for fd in listdir(f"{base}/fd")) if t})
    proc["temp_files_open"] = [t for t in open_files if t.startswith(TEMP_DIRS)]
    if full:
        proc["environ"] = env
        proc["open_files"] = open_files
        proc["maps"] = maps_summary(read_text(f"{base}/maps"))
    return proc


def start_utc(ticks: int, btime: int | None, hz: int) -> str | None:
    """A process's start as UTC ISO 8601: boot time plus its start in clock ticks after boot (None unknown)."""
    if btime is None or hz <= 0:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(btime + ticks // hz))


_BTIME: list[int | None] = []


def boot_time() -> int | None:
    """The host's boot time in epoch seconds, from the ``btime`` line of /proc/stat (read once)."""
    if not _BTIME:
        found = [ln.split()[1] for ln in read_text("/proc/stat").splitlines() if ln.startswith("btime ")]
        _BTIME.append(int(found[0]) if found and found[0].isdigit() else None)
    return _BTIME[0]


TEMP_DIRS = ("/tmp/", "/var/tmp/", "/dev/shm/")  # noqa: S108 - folders examined, not used


def read_bytes_safe(path: str) -> bytes:
    """A /proc file's bytes, or b'' (gone or not permitted)."""
    try:
        return read_bytes(path, 1 << 20)
    except OSError:
        return b""


def listdir(path: str) -> list[str]:
    """A folder's names, or [] when it cannot be read."""
    try:
        return os.listdir(path)
    except OSError:
        return []


_HASH_CACHE: dict[tuple[int, int, float], dict[str, Any]] = {}


def exe_hashes(pid: int) -> dict[str, Any]:
    """Hashes of the running executable, read through /proc/PID/exe (works for deleted files)."""
    path = f"/proc/{pid}/exe"
    try:
        st = os.stat(path)
        key = (st.st_dev, st.st_ino, st.st_mtime)
        if key not in _HASH_CACHE:
            _HASH_CACHE[key] = {f"exe_{k}": v for k, v in hashes(path).items()}
        return _HASH_CACHE[key]
    except OSError as exc:
        return {"exe_error": str(exc)}


def maps_summary(maps: str) -> dict[str, Any]:
    """Mapped files, and anonymous regions that are writable and executable (injected code lives there)."""
    files: set[str] = set()
    rwx_anon = 0
    for line in maps.splitlines():
        parts = line.split(None, 5)
        if len(parts) < 5:
            continue
        path = parts[5].strip() if len(parts) == 6 else ""
        if path.startswith("/"):
            files.add(path)
        elif "w" in parts[1] and "x" in parts[1]:
            rwx_anon += 1
    return {"files": sorted(files), "rwx_anonymous_regions": rwx_anon}


def ps_pids() -> set[int] | None:
    """The PIDs ``ps`` shows (None when ps is missing)."""
    if not shutil.which("ps"):
        return None
    out = subprocess.run(["ps", "-eo", "pid="], capture_output=True, text=True, check=False).stdout
    return {int(x) for x in out.split() if x.isdigit()}


def hidden_pids() -> list[int]:
    """PIDs present in /proc but missing from two runs of ``ps``, and PIDs that answer by number but are
    missing from the /proc listing (a rootkit's signs)."""
    first = ps_pids()
    listed = set(pids())
    second = ps_pids() or set()
    me = os.getpid()
    from_ps = {p for p in listed - first - second if p != me and os.path.exists(f"/proc/{p}")} if first else set()
    probed = set(unlisted_pids(listed))
    return sorted(from_ps | (probed - set(pids())))  # listed again: those born during the probe are not hidden


def unlisted_pids(listed: set[int]) -> list[int]:
    """Processes that answer when probed by number (signal 0) but that the /proc listing left out.

    A preloaded library that filters readdir() hides a process from the listing, and from ps, but
    not from kill(pid, 0) or from opening /proc/PID by name. Threads answer too, so only thread-group
    leaders count. The probe goes up to the last PID the kernel handed out (and past the highest seen).
    """
    fields = read_text("/proc/loadavg").split()
    last = int(fields[-1]) if fields and fields[-1].isdigit() else 0
    top = min(max([last, *listed]) + 1024, 1 << 22)
    found = []
    for pid in range(1, top):
        if pid in listed:
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        except PermissionError:
            pass
        tgid = [ln.split()[1] for ln in read_text(f"/proc/{pid}/status").splitlines() if ln.startswith("Tgid:")]
        if tgid == [str(pid)] and pid != os.getpid():
            found.append(pid)
    return found


def _addr(hex_addr: str) -> str:
    ip_hex, port_hex = hex_addr.split(":")
    raw = bytes.fromhex(ip_hex)
    if len(raw) == 4:
        ip = socket.inet_ntop(socket.AF_INET, raw[::-1])
    else:
        words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
        ip = socket.inet_ntop(socket.AF_INET6, words)
    return f"{ip}|{int(port_hex, 16)}"


def sockets() -> list[dict[str, Any]]:
    """TCP and UDP sockets of this network namespace, each with its owning process."""
    owners: dict[str, int] = {}
    for pid in pids():
        for fd in listdir(f"/proc/{pid}/fd"):
            target = readlink(f"/proc/{pid}/fd/{fd}")
            if target and target.startswith("socket:["):
                owners.setdefault(target[8:-1], pid)
    found = []
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        for line in read_text(f"/proc/net/{proto}").splitlines()[1:]:
            f = line.split()
            local, remote = _addr(f[1]).split("|"), _addr(f[2]).split("|")
            listening = (proto.startswith("tcp") and f[3] == "0A") or (proto.startswith("udp") and remote[1] == "0")
            found.append({"proto": proto, "local": local[0], "lport": int(local[1]), "remote": remote[0],
                          "rport": int(remote[1]), "state": f[3], "listening": listening,
                          "pid": owners.get(f[9]), "exe": readlink(f"/proc/{owners[f[9]]}/exe") if f[9] in owners
                          else None})
    return found


def modules() -> dict[str, Any]:
    """Loaded modules with taint flags, the kernel's taint value, and the running kernel's module names."""
    loaded = []
    for line in read_text("/proc/modules").splitlines():
        parts = line.split()
        taint = parts[-1].strip("()") if parts[-1].startswith("(") else ""
        loaded.append({"name": parts[0], "taint": taint})
    release = os.uname().release
    mod_dir = f"/lib/modules/{release}"
    known: set[str] = set()
    for _folder, _dirs, files in os.walk(mod_dir):
        known.update(f.split(".ko")[0].replace("-", "_") for f in files if ".ko" in f)
    for line in read_text(f"{mod_dir}/modules.builtin").splitlines():
        known.add(line.rsplit("/", 1)[-1].split(".ko")[0].replace("-", "_"))
    tainted = read_text("/proc/sys/kernel/tainted").strip()
    return {"loaded": loaded, "release": release, "modules_dir": mod_dir, "known": sorted(known),
            "tainted": int(tainted) if tainted.isdigit() else None}


def clock() -> dict[str, Any]:
    """The host's clock: wall time, UTC offset, uptime (RFC 3227: record the clock first)."""
    now = time.time()
    return {"epoch": now, "local": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(now)),
            "utc_offset_seconds": time.localtime(now).tm_gmtoff, "timezone": time.tzname,
            "uptime": read_text("/proc/uptime").split()[:1], "monotonic": time.monotonic()}


def host_identity() -> dict[str, Any]:
    """Hostname, machine-id, boot id, kernel and addresses."""
    addrs: set[str] = set()
    out = ""
    if shutil.which("ip"):
        out = subprocess.run(["ip", "-o", "addr", "show"], capture_output=True, text=True, check=False).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) > 3 and parts[2] in ("inet", "inet6"):
            addrs.add(parts[3].split("/")[0])
    return {"hostname": socket.gethostname(), "machine_id": read_text("/etc/machine-id").strip(),
            "boot_id": read_text("/proc/sys/kernel/random/boot_id").strip(), "kernel": " ".join(os.uname()),
            "ips": sorted(addrs - {"127.0.0.1", "::1"})}


# -- the two modes ----------------------------------------------------------------------------------
class NotInstalled(Exception):
    """A command the artifact needs is not on this host."""


def run_command(argv: list[str], timeout: float) -> tuple[bytes, str]:
    """Run a command (argument list, no shell); its output, and an error note ('' when it worked)."""
    if not shutil.which(argv[0]):
        raise NotInstalled(f"{argv[0]} is not installed")
    proc = subprocess.run(argv, capture_output=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)
    note = "" if proc.returncode == 0 else f"exit {proc.returncode}: {proc.stderr.decode(errors='replace')[:200]}"
    return proc.stdout, note.strip()


def collect_files(art: dict[str, Any], since: float) -> int:
    """Copy the files an artifact names (optionally only those changed since a time).

    Bounded three ways: bytes per file, bytes in all, and number of files (a temp folder can hold
    millions); what is left out is said in one note, and the recent-files listing still names it.
    """
    count, limit, budget = 0, int(art.get("max_size", 64 << 20)), int(art.get("max_total", 1 << 30))
    max_files, over = int(art.get("max_files", 5000)), 0
    for path in expand(art["paths"]):
        if count >= max_files or budget <= 0:
            over += 1
            continue
        try:
            st = os.stat(path)
            if not stat.S_ISREG(st.st_mode) or (art.get("recent") and max(st.st_mtime, st.st_ctime) < since):
                continue
            if st.st_size > min(limit, budget):
                emit({"t": "note", "artifact": art["name"], "msg": f"{path}: {st.st_size} bytes, over the limit"})
                continue
            budget -= st.st_size
            emit({"t": "file", "artifact": art["name"], "path": "files" + path, "source": path,
                  "meta": file_meta(path)}, read_bytes(path, limit + 1))
            count += 1
        except OSError as exc:
            emit({"t": "note", "artifact": art["name"], "msg": f"{path}: {exc.strerror}"})
    if over:
        emit({"t": "note", "artifact": art["name"],
              "msg": f"{over} more paths not copied: limit of {max_files} files or {art.get('max_total')} bytes"})
    return count


def walker(name: str, params: dict[str, Any]) -> int:
    """Run a named Python walker; it emits its own files and returns how many."""
    art, since = f"{name}", float(params["since"])
    full = params.get("profile") == "full"
    if name == "clock":
        emit_json(art, "proc/clock.json", "time.time, /proc/uptime", clock())
    elif name == "sockets":
        emit_json(art, "proc/sockets.json", "/proc/net/{tcp,tcp6,udp,udp6} + /proc/PID/fd", sockets())
    elif name == "processes":
        procs = [p for p in (process(pid, True) for pid in pids()) if p]
        emit_json(art, "proc/processes.json", "/proc/PID/{stat,status,cmdline,exe,cwd,environ,fd,maps}", procs)
        emit_json(art, "proc/hidden_pids.json", "/proc listing versus ps -eo pid", hidden_pids())
    elif name == "recover_exe":
        return recover_executables()
    elif name == "modules":
        emit_json(art, "proc/modules.json", "/proc/modules, /proc/sys/kernel/tainted, /lib/modules", modules())
    elif name == "accounts":
        emit_json(art, "proc/shadow_meta.json", "/etc/shadow (no hashes)", shadow_meta())
    elif name == "suid":
        found = walk(params["suid_roots"], lambda p, st: st.st_mode & (stat.S_ISUID | stat.S_ISGID))
        emit_json(art, "proc/suid_sgid.json", "walk of " + ", ".join(params["suid_roots"]), described(found, True))
    elif name == "recent":
        found = walk(params["recent_roots"], lambda p, st: max(st.st_mtime, st.st_ctime) >= since)
        cap = int(params.get("recent_max", 50000))
        temp = tuple(params.get("temp_roots", []))
        found.sort(key=lambda p: (bool(temp) and p.startswith(temp), p))  # system folders before temp folders
        if len(found) > cap:
            emit({"t": "note", "artifact": art, "msg": f"{len(found) - cap} more recent files not listed ({cap} max)"})
        emit_json(art, "proc/recent_files.json", "walk of " + ", ".join(params["recent_roots"]),
                  described(found[:cap], full))
    else:
        raise ValueError(f"unknown walker {name}")
    return 1


def described(paths: list[str], with_hashes: bool) -> list[dict[str, Any]]:
    """Metadata (and hashes of files under 16 MiB, or all with ``with_hashes``); vanished files are left out."""
    rows = []
    for path in paths:
        try:
            meta = file_meta(path)
        except OSError:
            continue
        if with_hashes or meta["size"] < 1 << 24:
            meta.update(safe_hashes(path))
        rows.append(meta)
    return rows


def safe_hashes(path: str) -> dict[str, Any]:
    """Hashes, or the reason they could not be computed."""
    try:
        return hashes(path)
    except OSError as exc:
        return {"hash_error": exc.strerror}


def recover_executables() -> int:
    """Copy the executables of processes whose file was deleted or lives only in memory (memfd)."""
    count = 0
    for pid in pids():
        exe = readlink(f"/proc/{pid}/exe")
        if not exe or not (exe.endswith(" (deleted)") or exe.startswith("/memfd:")):
            continue
        try:
            data = read_bytes(f"/proc/{pid}/exe", 256 << 20)
        except OSError as exc:
            emit({"t": "note", "artifact": "recover_exe", "msg": f"pid {pid}: {exc.strerror}"})
            continue
        emit({"t": "file", "artifact": "recover_exe", "path": f"recovered/{pid}.exe", "source": f"/proc/{pid}/exe",
              "meta": {"pid": pid, "exe": exe}}, data)
        count += 1
    return count


def shadow_meta() -> list[dict[str, Any]]:
    """Account metadata from /etc/shadow without the password hashes."""
    rows = []
    for line in read_text("/etc/shadow").splitlines():
        f = line.split(":")
        if len(f) >= 8:
            state = "locked" if f[1].startswith("!") else "none" if f[1] in ("", "*") else "set"
            rows.append({"user": f[0], "password": state, "last_change_days": f[2], "max_days": f[4],
                         "expire_days": f[7]})
    return rows


def collect(params: dict[str, Any]) -> None:
    """Collect every artifact of the profile, in order, each reported as ok, skipped or failed."""
    for art in params["artifacts"]:
        emit({"t": "start", "artifact": art["name"]})
        try:
            if art["kind"] == "command":
                data, note = run_command(art["command"], float(art.get("timeout", 120)))
                emit({"t": "file", "artifact": art["name"], "path": f"live/{art['name']}.txt",
                      "source": " ".join(art["command"])}, data)
                emit({"t": "artifact", "name": art["name"], "status": "ok" if not note else "partial", "note": note})
                continue
            count = collect_files(art, params["since"]) if art["kind"] == "files" else walker(art["walker"], params)
            emit({"t": "artifact", "name": art["name"], "status": "ok", "files": count})
        except NotInstalled as exc:
            emit({"t": "artifact", "name": art["name"], "status": "skipped", "note": str(exc)})
        except Exception as exc:  # noqa: BLE001 - one artifact failing must not stop the others
            emit({"t": "artifact", "name": art["name"], "status": "failed", "note": f"{type(exc).__name__}: {exc}"})


def private_stdout() -> None:
    """Keep stdout for frames only: frames go to a copy of it, and fd 1 now points at stderr.

    So a library loaded into this process (or a program it runs) that prints later cannot write into
    the middle of a frame; what it printed before this point the responder sets aside as stray output.
    """
    global OUT
    OUT = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)


def preload_seen() -> dict[str, Any]:
    """/etc/ld.so.preload as the host has it, and whether this agent escaped it.

    The launcher opens the real file on fd 3 before it hides it from the agent (a bind mount in a
    private mount namespace); the libraries mapped into this process say whether that worked.
    """
    fd = os.environ.get("AFTERMATH_PRELOAD_FD")
    text = ""
    if fd and fd.isdigit():
        try:
            text = os.pread(int(fd), 1 << 20, 0).decode(errors="replace")
        except OSError:
            text = ""
    else:
        text = read_text("/etc/ld.so.preload")
    listed = [w for w in text.split() if w.startswith("/")]
    mapped = set(maps_summary(read_text("/proc/self/maps"))["files"])
    real = {os.path.realpath(p) for p in listed}
    return {"text": text, "exists": bool(fd) or os.path.exists("/etc/ld.so.preload"),
            "loaded_into_agent": sorted(p for p in mapped if p in real or p in listed),
            "env_preload": os.environ.get("LD_PRELOAD", "")}


def main() -> None:
    """Read the parameters, say hello with the host's identity, run the mode, say done."""
    params = json.loads(PARAMS_JSON)
    MARK[0] = str(params.get("marker", "")).encode()
    ROOT_PREFIX[0] = outer_root()
    private_stdout()
    EXCLUDE.extend(params.get("exclude", []))
    emit({"t": "hello", "version": AGENT_VERSION, "clock": clock(), "host": host_identity(), "uid": os.getuid(),
          "preload": preload_seen()})
    if params.get("mode") == "facts":
        globals()["facts"](params)  # the sweep's probe is appended to this script when it is sent
    else:
        collect(params)
    emit({"t": "done"})


if __name__ == "__main__":
    main()
