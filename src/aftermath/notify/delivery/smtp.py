"""The SMTP adapter (aiosmtplib): settings, credentials from the environment, one connection, replies.

Credentials never travel in argv: the user is ``$AFTERMATH_SMTP_USER`` and the password is read from the
file named by ``$AFTERMATH_SMTP_PASSWORD_FILE``. Replies are reduced to three outcomes the outbox acts on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

from aftermath.errors import PasswordError, UsageError

ENV_USER = "AFTERMATH_SMTP_USER"
ENV_PASSWORD_FILE = "AFTERMATH_SMTP_PASSWORD_FILE"


@dataclass(frozen=True)
class Settings:
    """Where and how to connect (no secret in here: the password is read when connecting)."""

    host: str
    port: int
    security: str = "none"  # none | starttls | tls
    timeout: float = 30.0


@dataclass(frozen=True)
class Outcome:
    """What the server said about one message: ``sent``, ``temporary`` (retry) or ``permanent``."""

    kind: str
    reply: str


def parse_target(value: str, security: str) -> Settings:
    """``HOST:PORT`` into settings."""
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"bad --smtp {value!r}: use HOST:PORT, for example 127.0.0.1:2525")
    return Settings(host.strip("[]"), int(port), security)


def credentials() -> tuple[str, str] | None:
    """(user, password) from the environment and the password file, or None for no login."""
    user = os.environ.get(ENV_USER)
    if not user:
        return None
    name = os.environ.get(ENV_PASSWORD_FILE)
    if not name:
        raise PasswordError(f"{ENV_USER} is set but {ENV_PASSWORD_FILE} is not: name the file holding the password")
    try:
        return user, Path(name).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise PasswordError(f"cannot read SMTP password file {name}: {exc.strerror}") from exc


async def connect(settings: Settings) -> aiosmtplib.SMTP:
    """An open, authenticated connection (raises aiosmtplib errors; the sender translates them)."""
    client = aiosmtplib.SMTP(hostname=settings.host, port=settings.port, timeout=settings.timeout,
                             use_tls=settings.security == "tls", start_tls=settings.security == "starttls")
    await client.connect()
    login = credentials()
    if login:
        await client.login(*login)
    return client


async def deliver(client: aiosmtplib.SMTP, message: EmailMessage, sender: str, recipient: str) -> Outcome:
    """Send one message to one recipient; a lost connection propagates (the caller reconnects)."""
    try:
        _errors, reply = await client.send_message(message, sender=sender, recipients=[recipient])
        return Outcome("sent", reply)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        refused = exc.recipients[0] if exc.recipients else None
        code = refused.code if refused else 550
        text = f"{code} {refused.message}" if refused else str(exc)
        return Outcome("permanent" if code >= 500 else "temporary", text)
    except aiosmtplib.SMTPSenderRefused:
        raise
    except aiosmtplib.SMTPResponseException as exc:
        return Outcome("permanent" if exc.code >= 500 else "temporary", f"{exc.code} {exc.message}")
