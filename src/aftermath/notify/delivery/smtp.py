"""The SMTP adapter (aiosmtplib): settings, credentials, one connection, replies.

Credentials never travel in argv: the user is ``$AFTERMATH_SMTP_USER`` and the password is read from the
file named by ``$AFTERMATH_SMTP_PASSWORD_FILE``; without them, ``[notify.smtp]`` in ``aftermath.toml`` may
name a user and where the password is (``password_file`` or ``password_env``), never the password itself.
Replies are reduced to three outcomes the outbox acts on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import aiosmtplib

from aftermath.errors import PasswordError, UsageError

if TYPE_CHECKING:
    from aftermath.case.config import SmtpConfig

ENV_USER = "AFTERMATH_SMTP_USER"
ENV_PASSWORD_FILE = "AFTERMATH_SMTP_PASSWORD_FILE"


@dataclass(frozen=True)
class Settings:
    """Where and how to connect (no secret in here: the password is read when connecting)."""

    host: str
    port: int
    security: str = "none"  # none | starttls | tls
    timeout: float = 30.0
    user: str | None = None  # from aftermath.toml; the environment's user wins
    password_file: Path | None = None
    password_env: str | None = None


def from_config(smtp: str | None, security: str | None, config: SmtpConfig | None, root: Path) -> Settings:
    """Settings from ``--smtp`` (and ``--starttls``/``--tls``), else from ``[notify.smtp]`` in the case's config.

    The login (user, where the password is) comes from the config in both cases, unless the environment
    gives one.
    """
    if smtp:
        base = parse_target(smtp, security or "none")
    elif config is not None:
        base = Settings(config.host, config.port, security or config.security)
    else:
        raise UsageError("no SMTP server: give --smtp HOST:PORT, or set [notify.smtp] host in aftermath.toml")
    if config is None or not config.user:
        return base
    secret = Path(config.password_file) if config.password_file else None
    return replace(base, user=config.user, password_env=config.password_env,
                   password_file=secret if secret is None or secret.is_absolute() else root / secret)


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


def credentials(settings: Settings | None = None) -> tuple[str, str] | None:
    """(user, password) from the environment and its password file, else from the settings; None: no login."""
    user = os.environ.get(ENV_USER)
    if user:
        name = os.environ.get(ENV_PASSWORD_FILE)
        if not name:
            raise PasswordError(f"{ENV_USER} is set but {ENV_PASSWORD_FILE} is not: name the file holding the password")
        return user, _read_secret(Path(name))
    if settings is None or not settings.user:
        return None
    if settings.password_env:
        value = os.environ.get(settings.password_env)
        if value is None:
            raise PasswordError(f"environment variable {settings.password_env} is not set (notify.smtp.password_env "
                                "in aftermath.toml): export it")
        return settings.user, value
    assert settings.password_file is not None  # the config requires one of the two
    return settings.user, _read_secret(settings.password_file)


def _read_secret(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise PasswordError(f"cannot read SMTP password file {path}: {exc.strerror}") from exc


async def connect(settings: Settings) -> aiosmtplib.SMTP:
    """An open, authenticated connection (raises aiosmtplib errors; the sender translates them)."""
    client = aiosmtplib.SMTP(hostname=settings.host, port=settings.port, timeout=settings.timeout,
                             use_tls=settings.security == "tls", start_tls=settings.security == "starttls")
    await client.connect()
    login = credentials(settings)
    if login:
        await client.login(*login)
    return client


async def deliver(client: aiosmtplib.SMTP, message: bytes, sender: str, recipient: str) -> Outcome:
    """Send one stored message, as its bytes, to one recipient; a lost connection propagates (caller reconnects)."""
    try:
        _errors, reply = await client.sendmail(sender, [recipient], message)
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
