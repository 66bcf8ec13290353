"""``notify sink``: a local SMTP server (aiosmtpd) that keeps every message it accepts, one file each.

For rehearsals, the demo and the tests. It answers 250 only after the file is on disk, so a message the
sender saw accepted is always there; each file starts with a ``Return-Path`` header naming the envelope
sender (``MAIL FROM``), as a final delivery does. ``reject`` addresses get a permanent 550 at RCPT (a hard bounce).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class Keeper:
    """The aiosmtpd handler: refuse the listed recipients, store every accepted message."""

    def __init__(self, folder: Path, reject: Iterable[str] = ()) -> None:
        self.folder = folder
        self.reject = {r.lower() for r in reject}
        self._counter = itertools.count(1)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          options: list[str]) -> str:
        """Refuse listed recipients with 550, accept the others."""
        if address.lower() in self.reject:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        """Write the message to its own file (atomically, synced) before saying 250.

        The write and its fsync run in a worker thread: the server goes on reading the other connections
        meanwhile instead of waiting for the disk.
        """
        name = f"{time.time_ns()}-{os.getpid()}-{next(self._counter):06d}.eml"
        data = envelope.original_content or envelope.content
        # the envelope sender, as a delivering server records it (RFC 5321 4.4): where a bounce would go
        head = f"Return-Path: <{envelope.mail_from or ''}>\r\n".encode()
        await asyncio.to_thread(self._keep, name, head + (data if isinstance(data, bytes) else data.encode()))
        return f"250 2.0.0 stored as {name}"

    def _keep(self, name: str, data: bytes) -> None:
        tmp = self.folder / f".{name}.tmp"
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(self.folder / name)


def start(folder: Path, host: str = "127.0.0.1", port: int = 2525, reject: Iterable[str] = ()) -> Controller:
    """Start the sink in a background thread; ``stop()`` the returned controller to end it."""
    folder.mkdir(parents=True, exist_ok=True)
    controller = Controller(Keeper(folder, reject), hostname=host, port=port)
    controller.start()
    return controller
