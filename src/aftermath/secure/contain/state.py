"""Where a host's isolation stands, read from the case journal (pure), and what a fresh look at the
host means for it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aftermath.case.journal import Entry

ISOLATE = "secure.isolate"
SELFTEST = "secure.isolate.selftest"
FAILED = "secure.isolate.failed"
ROLLBACK = "secure.isolate.rollback"  # Aftermath removed it itself (failed self-test)
ROLLED_BACK = "secure.isolate.rolled_back"  # found gone on next contact (dead-man timer, or by hand)
CONFIRM = "secure.confirm"
RELEASE = "secure.release"
FREEZE = "secure.freeze"
KILL = "secure.kill"

_PHASE = {ISOLATE: "pending", CONFIRM: "confirmed", RELEASE: "released", ROLLBACK: "rolled_back",
          ROLLED_BACK: "rolled_back"}


@dataclass(frozen=True)
class IsolationState:
    """The last isolation of one host as the journal tells it."""

    phase: str = "none"  # none | pending | confirmed | released | rolled_back
    isolate: dict[str, Any] = field(default_factory=dict)  # data of the last secure.isolate entry
    seq: int | None = None

    @property
    def active(self) -> bool:
        """Whether the journal says the host should be isolated now."""
        return self.phase in ("pending", "confirmed")

    @property
    def deadman_pid(self) -> int | None:
        """The PID of the dead-man timer started by the last isolation."""
        pid = self.isolate.get("deadman_pid")
        return int(pid) if pid is not None else None


def state_of(entries: Iterable[Entry], subject: str) -> IsolationState:
    """Fold the journal's containment entries for one host into its isolation state."""
    current = IsolationState()
    for entry in entries:
        if entry.subject != subject or entry.action not in _PHASE:
            continue
        if entry.action == ISOLATE:
            current = IsolationState("pending", dict(entry.data), entry.seq)
        else:
            current = IsolationState(_PHASE[entry.action], current.isolate, current.seq)
    return current


def unnoticed_rollback(state: IsolationState, table_present: bool, timer_alive: bool) -> str | None:
    """Why the isolation is gone when the journal says it is on (None when nothing to record)."""
    if not state.active or table_present:
        return None
    if state.phase == "pending" and not timer_alive:
        return "the dead-man timer rolled isolation back: it was not confirmed in time"
    return "the isolation table was removed outside Aftermath"
