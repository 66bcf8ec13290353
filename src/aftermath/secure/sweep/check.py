"""The contract of a sweep check: a name, a severity, ``applies_to`` and findings in plain words."""

from __future__ import annotations

from typing import Any, ClassVar

from aftermath.secure.sweep.model import Finding, HostFacts, Severity

TEMP_PREFIXES = ("/tmp/", "/var/tmp/", "/dev/shm/")  # noqa: S108 - folders examined, not used
KTHREADD = 2


class Check:
    """Base of every check."""

    name: ClassVar[str] = "check"
    severity: ClassVar[Severity] = Severity.MEDIUM
    about: ClassVar[str] = ""

    def applies_to(self, host: HostFacts) -> bool:
        """Whether the facts let this check say anything about the host."""
        return True

    def run(self, host: HostFacts) -> list[Finding]:
        """The findings on one host."""
        raise NotImplementedError

    def finding(self, host: HostFacts, what: str, why: str, severity: Severity | None = None,
                **evidence: Any) -> Finding:
        """A finding of this check."""
        return Finding(host.host, self.name, severity or self.severity, what, why, evidence, host.at)


def has_packages(host: HostFacts) -> bool:
    """Whether the probe read a package database (dpkg, or rpm where there is no dpkg)."""
    return bool(host.facts.get("dpkg") or host.facts.get("rpm"))


def proc_label(proc: dict[str, Any]) -> str:
    """How a process is named in a finding: its PID and command line."""
    cmd = " ".join(proc.get("cmdline") or []) or f"[{proc.get('comm')}]"
    return f"process {proc['pid']} ({cmd[:80]})"


