"""``notify send``: deliver every pending email notice through SMTP, at most once outside one ambiguous window.

For each notice: claim it (one transaction), hand it to the server, record the server's reply (another).
A kill between the server's acceptance and the record leaves the notice ``claimed``; the next run (holding
the sender lock, so no other sender is alive) marks it ambiguous and sends it again with its same
Message-ID. Temporary failures are retried with exponential backoff; permanent ones suppress the address
and move the person to post.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import fcntl
import hashlib
import os
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

import aiosmtplib
from sqlalchemy import event

from aftermath.errors import AftermathError, SourceError, UsageError
from aftermath.notify.delivery import outbox
from aftermath.notify.delivery.smtp import Settings, connect, deliver

if TYPE_CHECKING:
    from aftermath.case import Case

MAX_ATTEMPTS = 6
MAX_RECONNECTS = 5


class SenderBusy(AftermathError):
    """Another ``notify send`` is running on this case."""

    exit_code = 10


@dataclass
class Options:
    """How a send run behaves."""

    sender: str | None = None
    rate: float = 0.0
    backoff: float = 5.0
    dry_run: bool = False


@dataclass
class Report:
    """What one run did."""

    outcomes: Counter[str] = field(default_factory=Counter)
    recovered: int = 0
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)
    failures: list[str] = field(default_factory=list)


@contextmanager
def sender_lock(case: Case) -> Iterator[None]:
    """One sender per case: a kernel lock, released even when the process is killed."""
    path = case.root / ".aftermath" / "notify-send.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise SenderBusy("another 'notify send' is running on this case: wait for it to finish") from exc
        yield
    finally:
        os.close(fd)


def run(case: Case, settings: Settings, options: Options, clock: Callable[[], dt.datetime] | None = None) -> Report:
    """Send everything due; journal the run's counts and the hash of what it recorded."""
    clock = clock or (lambda: dt.datetime.now(dt.UTC))
    with sender_lock(case):
        report = Report()
        if options.dry_run:
            report.outcomes["would_send"] = len(outbox.due(case, outbox.now_text(clock()), limit=10**9))
            return report
        _cheap_commits(case)
        report.recovered = outbox.recover(case)
        case.write("notify.send.start", f"{settings.host}:{settings.port}",
                   {"queued": outbox.counts(case), "ambiguous_requeued": report.recovered})
        try:
            asyncio.run(_loop(case, settings, options, clock, report))
        finally:
            case.write("notify.send", f"{settings.host}:{settings.port}",
                       {"outcomes": dict(report.outcomes), "ambiguous_requeued": report.recovered,
                        "records_sha256": report.digest.hexdigest(), "now": outbox.counts(case)})
        return report


def _cheap_commits(case: Case) -> None:
    """SQLite: write-ahead log, synced at checkpoints (see docs/decisions.md, the outbox's commits).

    Each message costs two commits; in SQLite's default rollback mode each is three fsyncs (25 ms here).
    In WAL mode with synchronous=NORMAL a commit survives the sender being killed (the kill this contract is
    about); only a crash of the machine may forget the last few, which are then sent again with their same
    Message-ID, the same as the ambiguous window. WAL cannot corrupt the file on power loss.
    """
    engine = case.engine
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA journal_mode=WAL")  # type: ignore[union-attr]
    finally:
        raw.close()
    if not event.contains(engine, "connect", _normal_sync):
        event.listen(engine, "connect", _normal_sync)
    engine.dispose()


def _normal_sync(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.execute("PRAGMA synchronous=NORMAL")


async def _loop(case: Case, settings: Settings, options: Options, clock: Callable[[], dt.datetime],
                report: Report) -> None:
    client: aiosmtplib.SMTP | None = None
    try:
        while True:
            batch = outbox.due(case, outbox.now_text(clock()))
            if not batch:
                wait = _wait_seconds(outbox.next_retry(case), clock())
                if wait is None:
                    return
                await asyncio.sleep(wait)
                continue
            for nid, recipient in batch:
                client = await _send_one(case, client, settings, options, clock, report, nid, recipient)
                if options.rate:
                    await asyncio.sleep(1 / options.rate)
    finally:
        if client is not None and client.is_connected:
            client.close()


def _wait_seconds(next_at: str | None, now: dt.datetime) -> float | None:
    if next_at is None:
        return None
    return max(0.0, (dt.datetime.fromisoformat(next_at) - now).total_seconds())


async def _send_one(case: Case, client: aiosmtplib.SMTP | None, settings: Settings, options: Options,
                    clock: Callable[[], dt.datetime], report: Report, nid: str,
                    recipient: str) -> aiosmtplib.SMTP | None:
    body = outbox.claim(case, nid, outbox.now_text(clock()))
    if body is None:
        return client
    message = _message(body, options.sender)
    sender = options.sender or str(message["From"])
    try:
        client = client if client is not None and client.is_connected else await _connect(settings, report)
        outcome = await deliver(client, message, sender, recipient)
    except aiosmtplib.SMTPSenderRefused as exc:
        outbox.finish(case, nid, "retry", f"{exc.code} {exc.message}", outbox.now_text(clock()))
        raise UsageError(f"the server refused the sender {sender!r} ({exc.code} {exc.message}): "
                         "use --from with an address it accepts") from exc
    except (aiosmtplib.SMTPException, OSError) as exc:
        # No final reply to DATA: the server has not taken the message; it is safe to send again.
        if client is not None:
            client.close()
        _record(case, nid, recipient, "temporary", f"connection lost: {exc}", options, clock, report)
        return None
    _record(case, nid, recipient, outcome.kind, outcome.reply, options, clock, report)
    return client


async def _connect(settings: Settings, report: Report) -> aiosmtplib.SMTP:
    for attempt in range(MAX_RECONNECTS):
        try:
            return await connect(settings)
        except (aiosmtplib.SMTPException, OSError) as exc:
            last = exc
            await asyncio.sleep(min(2.0**attempt * 0.2, 5))
    raise SourceError(f"cannot reach the SMTP server {settings.host}:{settings.port} ({last}): check --smtp; "
                      "nothing was lost, run 'notify send' again")


def _record(case: Case, nid: str, recipient: str, kind: str, reply: str, options: Options,
            clock: Callable[[], dt.datetime], report: Report) -> None:
    at = outbox.now_text(clock())
    if kind == "sent":
        outbox.finish(case, nid, "sent", reply, at)
    elif kind == "permanent":
        outbox.finish(case, nid, "moved_to_post", reply, at, suppress=recipient)
        report.failures.append(f"{recipient}: {reply}")
    else:
        attempts = outbox.finish(case, nid, "retry", reply, at)
        if attempts >= MAX_ATTEMPTS:
            outbox.finish(case, nid, "moved_to_post", f"gave up after {attempts} attempts: {reply}", at,
                          suppress=recipient)
            kind = "gave_up"
        else:
            later = clock() + dt.timedelta(seconds=options.backoff * 2 ** (attempts - 1))
            outbox.finish(case, nid, "retry", reply, at, retry_at=outbox.now_text(later))
    report.outcomes[kind] += 1
    report.digest.update(f"{nid}\0{kind}\0{reply}\n".encode())


def _message(body: bytes, sender: str | None) -> EmailMessage:
    message = email.message_from_bytes(body, policy=email.policy.SMTP)
    assert isinstance(message, EmailMessage)  # noqa: S101 - the SMTP policy always builds EmailMessage
    if sender:
        del message["From"]
        message["From"] = sender
    return message
