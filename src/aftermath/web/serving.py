"""Where the dashboard may listen: loopback by default; other addresses only with TLS or when told."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from aftermath.errors import UsageError


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address or the name localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_listen(host: str, cert: Path | None, key: Path | None, insecure: bool) -> str | None:
    """Refuse a non-loopback address without TLS unless ``insecure``; returns a warning to print, or None."""
    if (cert is None) != (key is None):
        raise UsageError("TLS needs both --tls-cert and --tls-key")
    for path in (cert, key):
        if path is not None and not path.is_file():
            raise UsageError(f"cannot read {path}: give the TLS certificate and key files (PEM)")
    if is_loopback(host) or cert is not None:
        return None
    if not insecure:
        raise UsageError(f"refusing to listen on {host} without TLS: give --tls-cert and --tls-key, "
                         "or --insecure-listen behind a TLS proxy you trust")
    return (f"warning: listening on {host} without TLS: passwords and session cookies cross the network "
            "in clear text")
