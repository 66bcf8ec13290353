"""The sweep's typed records: severities, findings, a host's facts, indicators."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Severity(IntEnum):
    """How much a finding matters; high and critical make the sweep exit 1."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Finding:
    """One sign of compromise, in plain words: what it is and why it matters."""

    host: str
    check: str
    severity: Severity
    what: str
    why: str
    evidence: dict[str, Any] = field(default_factory=dict)
    at: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"host": self.host, "check": self.check, "severity": str(self.severity), "what": self.what,
                "why": self.why, "evidence": self.evidence, "at": self.at}


@dataclass(frozen=True)
class Iocs:
    """Indicators of compromise: addresses (networks) and file hashes (SHA-256 or MD5)."""

    networks: tuple[IpNetwork, ...] = ()
    hashes: frozenset[str] = frozenset()

    def matches_ip(self, text: str) -> IpNetwork | None:
        """The indicator network that holds an address, if any."""
        try:
            addr = ipaddress.ip_address(text)
        except ValueError:
            return None
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
            addr = addr.ipv4_mapped
        return next((n for n in self.networks if addr.version == n.version and addr in n), None)


@dataclass(frozen=True)
class YaraMatch:
    """A rule that matched a file's content."""

    path: str
    rules: tuple[str, ...]
    sha256: str


@dataclass(frozen=True)
class HostFacts:
    """Everything the checks look at for one host, gathered by the probe; checks are pure over it."""

    host: str
    facts: dict[str, Any]
    since_days: float = 14.0
    iocs: Iocs = field(default_factory=Iocs)
    yara: tuple[YaraMatch, ...] = ()

    @property
    def now(self) -> float:
        """The host's clock when the facts were taken (epoch seconds)."""
        return float(self.facts.get("clock", {}).get("epoch", 0.0))

    @property
    def cutoff(self) -> float:
        """Where the --since window starts (epoch seconds): counted from when the command started."""
        start = self.facts.get("window_start")
        return float(start) if start is not None else self.now - self.since_days * 86400

    @property
    def at(self) -> str:
        """The facts' time as ISO 8601 UTC."""
        return datetime.fromtimestamp(self.now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def list(self, key: str) -> list[dict[str, Any]]:
        """A list of records from the facts (empty when absent)."""
        value = self.facts.get(key)
        return value if isinstance(value, list) else []
