"""The isolation ruleset, built by pure functions: what goes into ``nft -f`` and what comes back out.

The ruleset is one nftables table of Aftermath's own, ``inet aftermath_isolation``. Its text begins with
the create-delete-create idiom, so that loading it replaces any older copy of the table in the same
transaction: ``nft -f`` applies the whole file or nothing.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aftermath.errors import UsageError

TABLE = "aftermath_isolation"
FAMILY = "inet"
DEADMAN_MARK = "aftermath-deadman"
# Neighbour discovery must pass or IPv6 to the allowed responder dies with it: these messages go to
# multicast and link-local addresses that no allow list names. Hop limit 255 proves they are on-link.
ND_TYPES = "nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Session:
    """The SSH session that applies the rules, as the host sees it (``$SSH_CONNECTION``)."""

    client: ipaddress.IPv4Address | ipaddress.IPv6Address
    client_port: int
    server: ipaddress.IPv4Address | ipaddress.IPv6Address
    server_port: int

    @classmethod
    def parse(cls, text: str) -> Session | None:
        """Parse ``CLIENT_IP CLIENT_PORT SERVER_IP SERVER_PORT``; None when empty or malformed."""
        parts = text.split()
        if len(parts) != 4:
            return None
        try:
            client, server = ipaddress.ip_address(parts[0]), ipaddress.ip_address(parts[2])
            ports = int(parts[1]), int(parts[3])
        except ValueError:
            return None
        if client.version != server.version or not all(0 < p < 65536 for p in ports):
            return None
        return cls(client, ports[0], server, ports[1])

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form for the journal."""
        return {"client": str(self.client), "client_port": self.client_port,
                "server": str(self.server), "server_port": self.server_port}


def parse_allow(values: Iterable[str]) -> list[Network]:
    """Parse ``--allow`` values (each may hold several addresses or CIDR networks, comma-separated).

    Raises UsageError on an address that does not parse, on an empty list, and on a network so wide
    (``0.0.0.0/0``, ``::/0``) that isolating would mean nothing.
    """
    networks: list[Network] = []
    for value in values:
        for item in (part.strip() for part in value.split(",")):
            if not item:
                continue
            try:
                net = ipaddress.ip_network(item.strip("[]"), strict=False)
            except ValueError as exc:
                raise UsageError(f"bad --allow address {item!r}: use an IPv4 or IPv6 address or network, "
                                 "e.g. 192.0.2.10 or 2001:db8::10 or 192.0.2.0/24") from exc
            if net.prefixlen == 0:
                raise UsageError(f"--allow {item} would allow everything: name the responder's addresses")
            if net not in networks:
                networks.append(net)
    if not networks:
        raise UsageError("--allow is required: give the responder's address(es), e.g. --allow 192.0.2.10")
    return networks


def allows(networks: Sequence[Network], address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether an address falls inside the allow list."""
    return any(address.version == net.version and address in net for net in networks)


def build_ruleset(allow: Sequence[Network], session: Session | None) -> str:
    """The full ``nft -f`` text: drop everything in, out and through, except loopback, ``allow`` and
    the established SSH ``session``. Pure: same input, same text (and so the same hash)."""
    if not allow:
        raise UsageError("--allow is required: give the responder's address(es)")
    v4 = [str(n) for n in allow if n.version == 4]
    v6 = [str(n) for n in allow if n.version == 6]
    inbound = ['iif "lo" accept']
    outbound = ['oif "lo" accept']
    if v4:
        inbound.append(f"ip saddr {_set(v4)} accept")
        outbound.append(f"ip daddr {_set(v4)} accept")
    if v6:
        inbound.append(f"ip6 saddr {_set(v6)} accept")
        outbound.append(f"ip6 daddr {_set(v6)} accept")
    inbound.append(f"icmpv6 type {{ {ND_TYPES} }} ip6 hoplimit 255 accept")
    outbound.append(f"icmpv6 type {{ {ND_TYPES} }} ip6 hoplimit 255 accept")
    if session is not None:
        inbound.append(_session_rule(session, inbound=True))
        outbound.append(_session_rule(session, inbound=False))
    lines = [f"table {FAMILY} {TABLE}", f"delete table {FAMILY} {TABLE}", f"table {FAMILY} {TABLE} {{"]
    for chain, hook, rules in (("input", "input", inbound), ("output", "output", outbound),
                               ("forward", "forward", [])):
        lines.append(f"\tchain {chain} {{")
        lines.append(f"\t\ttype filter hook {hook} priority filter - 10; policy drop;")
        lines.extend(f"\t\t{rule}" for rule in rules)
        lines.append("\t}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _set(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else "{ " + ", ".join(items) + " }"


def _session_rule(session: Session, *, inbound: bool) -> str:
    ip = "ip" if session.client.version == 4 else "ip6"
    if inbound:
        src, sport, dst, dport = session.client, session.client_port, session.server, session.server_port
    else:
        src, sport, dst, dport = session.server, session.server_port, session.client, session.client_port
    return (f"{ip} saddr {src} {ip} daddr {dst} tcp sport {sport} tcp dport {dport} "
            "ct state established,related accept")


def ruleset_hash(text: str) -> str:
    """SHA-256 of the ruleset text, as journaled."""
    return hashlib.sha256(text.encode()).hexdigest()


def release_text() -> str:
    """The ``nft -f`` text that removes exactly Aftermath's table (and fails when it is not there)."""
    return f"delete table {FAMILY} {TABLE}\n"


def deadman_command(seconds: float) -> list[str]:
    """A detached shell that deletes the table after ``seconds`` unless killed first; it prints its PID.

    ``setsid -f`` puts it in a session of its own, so the SSH session ending does not take it along, and
    makes it a process-group leader that ``confirm`` kills as a group. It closes every inherited stream
    at once, so the command that started it returns. ``$0`` carries a mark that proves, before we kill a
    PID, that it is still our timer.
    """
    if not 0 < seconds <= 86400:
        raise UsageError(f"--confirm-within {seconds:g} is out of range: give 1 to 86400 seconds")
    inner = (f"echo $$; exec </dev/null >/dev/null 2>&1; sleep {seconds:g}; "
             f"nft delete table {FAMILY} {TABLE}")
    return ["setsid", "-f", "sh", "-c", inner, DEADMAN_MARK]


def deadline(now: datetime, seconds: float) -> datetime:
    """When the dead-man timer fires."""
    return now + timedelta(seconds=seconds)


def canonical(ruleset_json: str) -> list[Any]:
    """``nft -j list ruleset`` without its metainfo (which names the nft version), for comparison."""
    try:
        items = json.loads(ruleset_json or '{"nftables": []}').get("nftables", [])
    except (ValueError, AttributeError) as exc:
        raise UsageError(f"not nft JSON output: {exc}") from exc
    return [item for item in items if "metainfo" not in item]


def tables(ruleset_json: str) -> list[tuple[str, str]]:
    """The (family, name) of every table in ``nft -j list ruleset`` output."""
    return [(i["table"]["family"], i["table"]["name"]) for i in canonical(ruleset_json) if "table" in i]


def without_isolation(ruleset_json: str) -> list[Any]:
    """The canonical ruleset with Aftermath's own table and everything in it left out."""
    def ours(item: dict[str, Any]) -> bool:
        kind, body = next(iter(item.items()))
        key = "name" if kind == "table" else "table"
        return isinstance(body, dict) and body.get("family") == FAMILY and body.get(key) == TABLE
    return [item for item in canonical(ruleset_json) if not ours(item)]
