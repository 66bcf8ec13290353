"""The nftables adapter: every ``nft`` call and the dead-man timer on the host go through here."""

from __future__ import annotations

import ipaddress
import json
import socket
from dataclasses import dataclass
from typing import Any

from aftermath.errors import ToolError
from aftermath.secure.contain import ruleset as rs
from aftermath.secure.contain.runner import Runner, checked

# Run on the host: send one UDP datagram; EPERM means a netfilter rule dropped it on the way out.
_PROBE = """
import errno, socket, sys
addr = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.sendto(b"aftermath isolation self-test", (addr, 9))
    print("sent")
except OSError as exc:
    print(errno.errorcode.get(exc.errno, "error"))
"""


def version(runner: Runner) -> str:
    """``nft --version`` on the host (ToolError with a hint when nft is missing)."""
    result = runner.run(["nft", "--version"])
    if result.code != 0:
        raise ToolError(f"nftables is not usable on {runner.label}: {result.last_error()} "
                        "(install it: apt-get install nftables)")
    return result.text.strip()


def list_ruleset(runner: Runner) -> str:
    """The host's whole ruleset as nft JSON."""
    return checked(runner, ["nft", "-j", "list", "ruleset"], "nft list ruleset").text


def apply(runner: Runner, text: str) -> None:
    """Load ruleset text in one ``nft -f`` transaction: all of it or nothing."""
    checked(runner, ["nft", "-f", "/dev/stdin"], "nft -f (applying isolation)", stdin=text.encode())


def table_present(runner: Runner) -> bool:
    """Whether Aftermath's isolation table is loaded on the host."""
    return runner.run(["nft", "list", "table", rs.FAMILY, rs.TABLE]).code == 0


def table_json(runner: Runner) -> list[Any]:
    """Aftermath's table as nft JSON items (empty when absent)."""
    result = runner.run(["nft", "-j", "list", "table", rs.FAMILY, rs.TABLE])
    return rs.canonical(result.text) if result.code == 0 else []


def delete_table(runner: Runner) -> bool:
    """Remove Aftermath's table and nothing else; False when it was not there."""
    if not table_present(runner):
        return False
    checked(runner, ["nft", "-f", "/dev/stdin"], "nft delete table", stdin=rs.release_text().encode())
    return True


def session(runner: Runner) -> rs.Session | None:
    """The SSH session this command arrived on, from the host's ``$SSH_CONNECTION`` (None when local)."""
    return rs.Session.parse(runner.run(["sh", "-c", 'echo "$SSH_CONNECTION"']).text)


def start_deadman(runner: Runner, seconds: float) -> int:
    """Start the dead-man timer on the host and return its PID."""
    result = checked(runner, rs.deadman_command(seconds), "starting the dead-man timer", stdin=b"")
    try:
        return int(result.text.split()[0])
    except (ValueError, IndexError) as exc:
        raise ToolError(f"the dead-man timer on {runner.label} did not report its PID: {result.text!r}") from exc


def deadman_alive(runner: Runner, pid: int) -> bool:
    """Whether ``pid`` is still our running timer (its mark is in its command line, and it is no zombie)."""
    status = runner.run(["cat", f"/proc/{pid}/status", f"/proc/{pid}/cmdline"])
    if status.code != 0:
        return False
    text = status.out.decode(errors="replace")
    return rs.DEADMAN_MARK in text and "State:\tZ" not in text


def cancel_deadman(runner: Runner, pid: int) -> bool:
    """Stop the timer's process group; False when the timer was already gone (it fired, or never ran)."""
    if not deadman_alive(runner, pid):
        return False
    checked(runner, ["sh", "-c", 'kill -TERM -"$1"', "sh", str(pid)], "cancelling the dead-man timer")
    return True


@dataclass(frozen=True)
class Probe:
    """One outbound probe from the host: what it sent to, and what happened."""

    address: str
    outcome: str  # "sent", "EPERM" (dropped by the firewall), another errno name, or "skipped: why"

    @property
    def blocked(self) -> bool:
        """EPERM is netfilter's answer to a dropped local packet: the only proof of the block itself."""
        return self.outcome == "EPERM"


def default_gateway(runner: Runner) -> str | None:
    """The host's IPv4 default gateway, then its IPv6 one (the natural way out to test), or None."""
    for family in ("-4", "-6"):
        result = runner.run(["ip", "-j", family, "route", "show", "default"])
        try:
            routes = json.loads(result.text or "[]") if result.code == 0 else []
        except ValueError:
            continue
        for route in routes:
            if route.get("gateway"):
                return str(route["gateway"])
    return None


def probe_outbound(runner: Runner, address: str) -> Probe:
    """Send one UDP datagram from the host to ``address``."""
    result = runner.run(["python3", "-I", "-c", _PROBE, address], timeout=20)
    if result.code != 0:
        return Probe(address, f"skipped: python3 could not run on the host ({result.last_error()})")
    return Probe(address, result.text.strip() or "no answer")


def ssh_banner(address: str, port: int, timeout: float = 5.0) -> str | None:
    """From the responder: open a new TCP connection and read the SSH banner (None when it fails)."""
    try:
        ip = ipaddress.ip_address(address)
        target: tuple[str, int] = (str(ip), port)
    except ValueError:
        target = (address, port)
    try:
        with socket.create_connection(target, timeout=timeout) as sock:
            line = sock.recv(256).decode(errors="replace").strip()
    except OSError:
        return None
    return line if line.startswith("SSH-") else None
