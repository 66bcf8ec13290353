"""Isolate a host, confirm it, release it, and notice when the dead-man timer rolled it back.

Order of a safe isolation: record the old ruleset as evidence; arm the dead-man timer ON THE HOST;
apply the table in one ``nft -f`` transaction; self-test; on a failed self-test remove the table at
once. Whatever goes wrong after the timer is armed, the host opens up again on its own.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aftermath.case import journal
from aftermath.errors import AftermathError, SourceError, StateError
from aftermath.secure.contain import nft
from aftermath.secure.contain import ruleset as rs
from aftermath.secure.contain import state as st
from aftermath.secure.contain.runner import Runner

if TYPE_CHECKING:
    from aftermath.case import Case


@dataclass(frozen=True)
class Check:
    """One self-test check: ok is True, False, or None when it could not be tested."""

    name: str
    ok: bool | None
    detail: str


@dataclass
class Isolation:
    """What ``isolate`` did."""

    host: str
    rules_sha256: str
    allow: list[str]
    deadline: str
    deadman_pid: int
    session: dict[str, Any] | None
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No check failed (checks that could not run do not fail the self-test)."""
        return all(c.ok is not False for c in self.checks)


def status(case: Case, runner: Runner) -> st.IsolationState:
    """The host's isolation state; journals an automatic rollback noticed now (on next contact)."""
    state = st.state_of(case.entries("secure."), runner.label)
    if not state.active:
        return state
    present = nft.table_present(runner)
    pid = state.deadman_pid
    alive = pid is not None and state.phase == "pending" and nft.deadman_alive(runner, pid)
    why = st.unnoticed_rollback(state, present, alive)
    if why is None:
        return state
    case.write(st.ROLLED_BACK, runner.label, {"reason": why, "isolated_at_seq": state.seq,
                                              "deadline": state.isolate.get("deadline")})
    return st.IsolationState("rolled_back", state.isolate, state.seq)


def isolate(case: Case, runner: Runner, allow: Sequence[rs.Network], confirm_within: float, now: datetime,
            probe: str | None = None) -> Isolation:
    """Isolate the host behind Aftermath's nft table; raise StateError (after rolling back) when the
    self-test fails."""
    rs.deadman_command(confirm_within)  # validates the time before touching anything
    if status(case, runner).active or nft.table_present(runner):
        raise StateError(f"{runner.label} is already isolated (table {rs.FAMILY} {rs.TABLE}): "
                         "'aftermath secure release' first, or 'confirm' it")
    nft.version(runner)
    before = _record_before(case, runner)
    session = nft.session(runner)
    text = rs.build_ruleset(allow, session)
    probe_addr = _probe_address(runner, allow, probe)
    probe_before = nft.probe_outbound(runner, probe_addr) if probe_addr else None
    doc = case.save_document("ruleset", f"isolation-{_safe(runner.label)}.nft", text.encode(),
                             source=runner.label, description="nftables isolation ruleset as applied")
    pid = nft.start_deadman(runner, confirm_within)
    try:
        nft.apply(runner, text)
    except AftermathError as exc:
        nft.cancel_deadman(runner, pid)
        case.write(st.FAILED, runner.label, {"error": exc.message, "rules_sha256": rs.ruleset_hash(text)})
        raise
    result = Isolation(runner.label, rs.ruleset_hash(text), [str(n) for n in allow],
                       journal.timestamp(rs.deadline(now, confirm_within)), pid,
                       session.as_dict() if session else None)
    case.write(st.ISOLATE, runner.label, {
        "rules_sha256": result.rules_sha256, "ruleset_document": doc.id, "allow": result.allow,
        "deadline": result.deadline, "confirm_within_s": confirm_within, "deadman_pid": pid,
        "session": result.session, "before_evidence": before.id, "before_sha256": before.sha256,
        "undo": f"nft delete table {rs.FAMILY} {rs.TABLE}"})
    result.checks = self_test(runner, allow, session, probe_addr, probe_before)
    case.write(st.SELFTEST, runner.label, {"passed": result.passed,
                                           "checks": [c.__dict__ for c in result.checks]})
    if not result.passed:
        _roll_back(case, runner, pid, result.checks)
    return result


def self_test(runner: Runner, allow: Sequence[rs.Network], session: rs.Session | None, probe_addr: str | None,
              probe_before: nft.Probe | None) -> list[Check]:
    """Check from both ends that the table is live and the responder still gets in."""
    checks = [_check_table(runner), _check_session(runner, session)]
    checks.append(_check_new_ssh(runner, allow, session))
    checks.append(_check_outbound(runner, probe_addr, probe_before))
    return checks


def confirm(case: Case, runner: Runner) -> st.IsolationState:
    """Keep the isolation: cancel the dead-man timer (refused when it already rolled back)."""
    state = status(case, runner)
    if state.phase == "rolled_back":
        raise StateError(f"isolation of {runner.label} was already rolled back (not confirmed in time): "
                         "run 'aftermath secure isolate' again")
    if state.phase != "pending" or state.deadman_pid is None:
        raise StateError(f"nothing to confirm on {runner.label}: it is {state.phase.replace('_', ' ')}")
    cancelled = nft.cancel_deadman(runner, state.deadman_pid)
    if not cancelled or not nft.table_present(runner):
        # The timer fired between our look and the kill: the host is open again; say so.
        return status(case, runner)
    case.write(st.CONFIRM, runner.label, {"deadman_pid": state.deadman_pid, "deadline": state.isolate.get("deadline"),
                                          "isolated_at_seq": state.seq})
    return st.IsolationState("confirmed", state.isolate, state.seq)


@dataclass(frozen=True)
class Release:
    """What ``release`` did and whether the ruleset is back exactly as before."""

    host: str
    removed: bool
    timer_cancelled: bool
    restored_exactly: bool | None  # None when there was no recorded ruleset to compare with
    differences: int


def release(case: Case, runner: Runner) -> Release:
    """Remove exactly Aftermath's table and compare the ruleset with the one recorded before isolating."""
    state = status(case, runner)
    pid = state.deadman_pid if state.phase == "pending" else None
    cancelled = nft.cancel_deadman(runner, pid) if pid is not None else False
    removed = nft.delete_table(runner)
    restored, diffs = _compare_with_before(case, runner, state)
    result = Release(runner.label, removed, cancelled, restored, diffs)
    case.write(st.RELEASE, runner.label, {"removed": removed, "timer_cancelled": cancelled,
                                          "restored_exactly": restored, "differences": diffs,
                                          "isolated_at_seq": state.seq})
    return result


def _compare_with_before(case: Case, runner: Runner, state: st.IsolationState) -> tuple[bool | None, int]:
    before_id = state.isolate.get("before_evidence")
    if before_id is None:
        return None, 0
    item = case.evidence(int(before_id))
    case.check_evidence(item)
    before = rs.without_isolation(item.path.read_text())
    after = rs.canonical(nft.list_ruleset(runner))
    diffs = sum(1 for x in before if x not in after) + sum(1 for x in after if x not in before)
    return before == after, diffs


def _record_before(case: Case, runner: Runner) -> Any:
    text = nft.list_ruleset(runner)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"nft-ruleset-before-isolation-{_safe(runner.label)}.json"
        path.write_text(text)
        return case.register_evidence(path, source=runner.label,
                                      description="nft -j list ruleset, recorded before isolation")


def _probe_address(runner: Runner, allow: Sequence[rs.Network], probe: str | None) -> str | None:
    import ipaddress

    candidate = probe or nft.default_gateway(runner)
    if candidate is None:
        return None
    try:
        if rs.allows(allow, ipaddress.ip_address(candidate)):
            return None
    except ValueError:
        return None
    return candidate


def _check_table(runner: Runner) -> Check:
    items = nft.table_json(runner)
    drops = {i["chain"]["name"] for i in items if "chain" in i and i["chain"].get("policy") == "drop"}
    ok = drops >= {"input", "output", "forward"}
    return Check("table loaded", ok, f"drop policy on {', '.join(sorted(drops)) or 'no chain'}")


def _check_session(runner: Runner, session: rs.Session | None) -> Check:
    try:
        alive = runner.run(["true"], timeout=15).code == 0
    except SourceError as exc:
        return Check("control session still works", False, exc.message)
    where = f"SSH session from {session.client}:{session.client_port}" if session else "local"
    return Check("control session still works", alive, where)


def _check_new_ssh(runner: Runner, allow: Sequence[rs.Network], session: rs.Session | None) -> Check:
    name = "responder can open a new SSH connection"
    if runner.address is None or session is None:
        return Check(name, None, "skipped: not over SSH")
    if not rs.allows(allow, session.client):
        return Check(name, None, f"skipped: responder {session.client} is not in --allow (only this session is kept)")
    banner = nft.ssh_banner(runner.address, runner.port)
    return Check(name, banner is not None, banner or f"no SSH answer from {runner.address}:{runner.port}")


def _check_outbound(runner: Runner, address: str | None, before: nft.Probe | None) -> Check:
    name = "outbound traffic is dropped"
    if address is None:
        return Check(name, None, "skipped: no default gateway or --probe address outside the allow list")
    after = nft.probe_outbound(runner, address)
    was = f"before: {before.outcome}, " if before else ""
    if after.blocked:
        return Check(name, True, f"UDP to {address}: {was}now EPERM (dropped by the firewall)")
    return Check(name, False if after.outcome == "sent" else None, f"UDP to {address}: {was}now {after.outcome}")


def _roll_back(case: Case, runner: Runner, pid: int, checks: list[Check]) -> None:
    failed = [f"{c.name}: {c.detail}" for c in checks if c.ok is False]
    try:
        removed = nft.delete_table(runner)
        nft.cancel_deadman(runner, pid)
    except AftermathError as exc:
        case.write(st.ROLLBACK, runner.label, {"reason": "self-test failed", "failed": failed,
                                               "removed": False, "error": exc.message})
        raise StateError(f"self-test failed ({'; '.join(failed)}) and the table could not be removed now: "
                         f"the dead-man timer (PID {pid}) will remove it") from exc
    case.write(st.ROLLBACK, runner.label, {"reason": "self-test failed", "failed": failed, "removed": removed})
    raise StateError(f"self-test failed on {runner.label} ({'; '.join(failed)}): isolation was rolled back")


def _safe(label: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in label)
