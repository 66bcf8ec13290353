"""Fabricated facts, shaped like the probe's output, for unit tests of the checks."""

from __future__ import annotations

from typing import Any

from aftermath.secure.sweep.model import HostFacts, Iocs, YaraMatch

NOW = 1_800_000_000.0
DAY = 86400.0


def proc(pid: int, exe: str | None = "/usr/sbin/cron", cmd: list[str] | None = None, ppid: int = 1,
         **extra: Any) -> dict[str, Any]:
    deleted = bool(exe and exe.endswith(" (deleted)"))
    comm = (exe or "x").removesuffix(" (deleted)").rsplit("/", 1)[-1][:15]
    return {"pid": pid, "ppid": ppid, "comm": comm, "uid": 0, "cmdline": cmd if cmd is not None else [exe or ""],
            "exe": exe, "exe_deleted": deleted, "memfd": bool(exe and exe.startswith("/memfd:")),
            "ld_preload": [], "exe_sha256": "a" * 64, "exe_md5": "b" * 32, "package": "owned",
            "exe_dir_world_writable": False, **extra}


def clean_facts(**changes: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "clock": {"epoch": NOW}, "dpkg": True, "config_drift": {"checked": 240, "drifted": []}, "hidden_pids": [],
        "ld_so_preload": "",
        "processes": [proc(1, "/usr/lib/systemd/systemd"), proc(2, None, [], ppid=0),
                      proc(40, None, [], ppid=2), proc(300, "/usr/sbin/sshd")],
        "sockets": [{"proto": "tcp", "local": "0.0.0.0", "lport": 22, "remote": "0.0.0.0", "rport": 0,
                     "state": "0A", "listening": True, "pid": 300, "exe": "/usr/sbin/sshd"}],
        "modules": {"loaded": [{"name": "ext4", "taint": ""}], "known": ["ext4", "veth"],
                    "modules_dir": "/lib/modules/6.1.0"},
        "accounts": [{"user": "root", "uid": 0, "gid": 0, "home": "/root", "shell": "/bin/bash"},
                     {"user": "www-data", "uid": 33, "gid": 33, "home": "/var/www", "shell": "/usr/sbin/nologin"}],
        "persistence": [{"path": "/etc/crontab", "kind": "cron", "mtime": NOW - 400 * DAY, "ctime": NOW - 400 * DAY}],
        "suid": [{"path": "/usr/bin/passwd", "mode": "0o104755", "package": "owned", "sha256": "c" * 64}],
        "binaries": [{"path": "/usr/bin/ls", "mode": "0o100755", "package": "owned", "sha256": "d" * 64,
                      "md5": "e" * 32}],
        "scan": [],
    }
    facts.update(changes)
    return facts


def host(facts: dict[str, Any] | None = None, iocs: Iocs | None = None, yara: tuple[YaraMatch, ...] = (),
         since: float = 14) -> HostFacts:
    return HostFacts("web1", facts or clean_facts(), since, iocs or Iocs(), yara)
