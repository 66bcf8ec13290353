"""VERP: a return path per notice, so that a bounce names its notice even when it quotes nothing of it.

With ``notify send --verp`` each message's envelope sender (``MAIL FROM``) is ``<local>+<token>@<domain>``
of the sender address. The token is derived from the notice's stable Message-ID (itself derived from the
case and the notice): the same notice always carries the same token, and the token says nothing about the
person (no address, no name; a hash). A bounce is sent to the envelope sender, so the token comes back in
the headers the receiving mail system writes: the envelope recipient (``Delivered-To``, ``X-Original-To``,
``Envelope-To``), ``To``, or ``Return-Path``.
"""

from __future__ import annotations

import hashlib
import re
from email.message import Message

from aftermath.errors import UsageError

TOKEN_LENGTH = 16  # hex digits: 64 bits, no collision to fear within one case
SEPARATOR = "+"
# Where the bounce's own envelope recipient shows (in the order tried); never the quoted original's headers.
HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "X-Delivered-To", "To", "Return-Path")
_TOKEN = re.compile(rf"\{SEPARATOR}([0-9a-f]{{{TOKEN_LENGTH}}})@", re.IGNORECASE)


def token(message_id: str) -> str:
    """The notice's VERP token: a hash of its Message-ID (stable, and no personal data)."""
    return hashlib.sha256(f"verp\0{message_id.strip()}".encode()).hexdigest()[:TOKEN_LENGTH]


def return_path(sender: str, message_id: str) -> str:
    """The envelope sender for one notice: ``local+token@domain`` of ``sender``."""
    local, at, domain = sender.rpartition("@")
    if not at or not local or not domain:
        raise UsageError(f"--verp needs a sender address with a domain, not {sender!r}: give --from ADDRESS")
    return f"{local}{SEPARATOR}{token(message_id)}@{domain}"


def tokens_in(msg: Message) -> list[str]:
    """VERP tokens in a bounce's own envelope-recipient headers, To and Return-Path (lower case, in order)."""
    found: list[str] = []
    for name in HEADERS:
        for value in msg.get_all(name) or ():
            found.extend(t.lower() for t in _TOKEN.findall(str(value)))
    return list(dict.fromkeys(found))
