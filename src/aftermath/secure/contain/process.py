"""Stop attacker processes without losing evidence: freeze (SIGSTOP) keeps them for memory acquisition;
kill (SIGKILL) ends them only after their details and executable are in the case.

Details are read from ``/proc`` on the host, not from ``ps``, which an attacker may have replaced.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aftermath.case import journal
from aftermath.errors import IntegrityError, StateError, UsageError
from aftermath.secure.contain import state as st
from aftermath.secure.contain.runner import Runner, checked

if TYPE_CHECKING:
    from aftermath.case import Case

# Prints this command's own PID and each ancestor's up to (not including) PID 1: the responder's session.
_ANCESTORS = ('p=$$; while [ "$p" -gt 1 ]; do echo "$p"; n=0; '
              'while read -r k v; do [ "$k" = "PPid:" ] && n=$v; done < /proc/$p/status; p=$n; done')


@dataclass(frozen=True)
class ProcessInfo:
    """What was recorded about a process before it was stopped or ended."""

    pid: int
    name: str
    state: str
    ppid: int
    uid: str
    cmdline: list[str]
    exe: str | None
    exe_sha256: str | None
    status: str
    collected_at: str


def refuse(pids: Sequence[int], own: set[int]) -> None:
    """Raise UsageError for PID 1, nonsense PIDs and the responder's own session processes (pure)."""
    for pid in pids:
        if pid <= 1:
            raise UsageError(f"refusing PID {pid}: it is {'init' if pid == 1 else 'not a process'}; "
                             "stopping it would take the whole host down")
        if pid in own:
            raise UsageError(f"refusing PID {pid}: it belongs to the responder's own session on this host")


def own_session(runner: Runner) -> set[int]:
    """The PIDs of the responder's session on the host (this command's process and its ancestors)."""
    result = checked(runner, ["sh", "-c", _ANCESTORS], "listing the session's processes")
    return {int(x) for x in result.text.split() if x.isdigit()}


def parse_status(text: str) -> dict[str, str]:
    """``/proc/PID/status`` as a dict of field -> value (pure)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def collect(runner: Runner, pid: int) -> ProcessInfo:
    """Read status, command line, executable path and its SHA-256 from the host's /proc."""
    status = runner.run(["cat", f"/proc/{pid}/status"])
    if status.code != 0:
        raise StateError(f"no process {pid} on {runner.label}: check the PID (it may have exited)")
    fields = parse_status(status.text)
    cmdline = runner.run(["cat", f"/proc/{pid}/cmdline"]).out
    exe = runner.run(["readlink", f"/proc/{pid}/exe"])
    digest = runner.run(["sha256sum", f"/proc/{pid}/exe"])
    return ProcessInfo(pid, fields.get("Name", ""), fields.get("State", ""), int(fields.get("PPid", "0") or 0),
                       fields.get("Uid", ""), [a.decode(errors="replace") for a in cmdline.split(b"\0") if a],
                       exe.text.strip() if exe.code == 0 else None,
                       digest.text.split()[0] if digest.code == 0 and digest.text else None,
                       status.text, journal.timestamp())


def _stopped_state(runner: Runner, pid: int, tries: int = 30) -> str:
    """The state after SIGSTOP: the stop takes effect when the process next runs, late on a busy host."""
    state = "gone"
    for _ in range(tries):
        state = parse_status(runner.run(["cat", f"/proc/{pid}/status"]).text).get("State", "gone")
        if state.startswith(("T", "t")) or state == "gone":
            break
        time.sleep(0.1)
    return state


def freeze(case: Case, runner: Runner, pids: Sequence[int]) -> list[ProcessInfo]:
    """Record each process, then stop it with SIGSTOP; returns the records (state read after the stop)."""
    refuse(pids, own_session(runner))
    done = []
    for pid in pids:
        info = collect(runner, pid)
        doc = _save(case, runner, info)
        checked(runner, ["kill", "-STOP", str(pid)], f"SIGSTOP to {pid}")
        after = _stopped_state(runner, pid)
        case.write(st.FREEZE, runner.label, {"pid": pid, "name": info.name, "exe": info.exe,
                                             "exe_sha256": info.exe_sha256, "record": doc, "state_after": after})
        done.append(info)
    return done


def kill(case: Case, runner: Runner, pids: Sequence[int]) -> list[tuple[ProcessInfo, int]]:
    """Stop, record, copy the executable into evidence (hash checked), then SIGKILL each process.

    Returns (record, evidence id of the executable). A process whose executable cannot be copied and
    verified is left stopped, not killed, and the error says so.
    """
    refuse(pids, own_session(runner))
    done = []
    for pid in pids:
        checked(runner, ["kill", "-STOP", str(pid)], f"SIGSTOP to {pid}")
        info = collect(runner, pid)
        doc = _save(case, runner, info)
        evidence_id = _copy_exe(case, runner, info)
        checked(runner, ["kill", "-KILL", str(pid)], f"SIGKILL to {pid}")
        after = parse_status(runner.run(["cat", f"/proc/{pid}/status"]).text).get("State", "gone")
        case.write(st.KILL, runner.label, {"pid": pid, "name": info.name, "exe": info.exe,
                                           "exe_sha256": info.exe_sha256, "exe_evidence": evidence_id,
                                           "record": doc, "state_after": after})
        done.append((info, evidence_id))
    return done


def _save(case: Case, runner: Runner, info: ProcessInfo) -> int:
    body = json.dumps({"host": runner.label, **asdict(info)}, indent=2).encode()
    return case.save_document("process", f"process-{info.pid}.json", body, source=runner.label,
                              description=f"/proc/{info.pid} status, cmdline and exe hash before stopping it").id


def _copy_exe(case: Case, runner: Runner, info: ProcessInfo) -> int:
    if info.exe_sha256 is None:
        raise StateError(f"cannot read /proc/{info.pid}/exe on {runner.label} (a kernel thread, or no "
                         "permission): process left stopped, not killed")
    data = checked(runner, ["cat", f"/proc/{info.pid}/exe"], f"copying /proc/{info.pid}/exe", timeout=300).out
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"exe-{info.pid}-{Path(info.exe or 'unknown').name.split(' ')[0]}"
        path.write_bytes(data)
        item = case.register_evidence(path, source=f"{runner.label}:/proc/{info.pid}/exe",
                                      description=f"executable of PID {info.pid} ({info.exe}) before SIGKILL")
    if item.sha256 != info.exe_sha256:
        raise IntegrityError(f"copy of /proc/{info.pid}/exe does not match its SHA-256 on the host: process "
                             "left stopped, not killed; try again")
    return item.id
