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
import fcntl
import functools
import hashlib
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any

import aiosmtplib
from sqlalchemy import event

from aftermath.errors import AftermathError, SourceError, UsageError
from aftermath.notify.delivery import outbox
from aftermath.notify.delivery.smtp import Outcome, Settings, connect, deliver
from aftermath.notify.delivery.verp import return_path

if TYPE_CHECKING:
    from aftermath.case import Case

MAX_ATTEMPTS = 6
MAX_RECONNECTS = 5
BATCH = 5000  # notices fetched per query: each query sorts the outbox, so fewer is cheaper


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
    connections: int = 4  # each connection has at most one message in flight: a kill leaves at most this many ambiguous
    verp: bool = False  # envelope sender local+token@domain per notice (see verp.py)


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
    ledger = outbox.Ledger(case)
    try:
        while True:
            batch = outbox.due(case, outbox.now_text(clock()), limit=BATCH)
            if not batch:
                wait = _wait_seconds(outbox.next_retry(case), clock())
                if wait is None:
                    return
                await asyncio.sleep(wait)
                continue
            queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
            for item in batch:
                queue.put_nowait(item)
            await asyncio.gather(*(_worker(ledger, settings, options, clock, report, queue)
                                   for _ in range(max(1, options.connections))))
    finally:
        ledger.close()


async def _worker(ledger: outbox.Ledger, settings: Settings, options: Options, clock: Callable[[], dt.datetime],
                  report: Report, queue: asyncio.Queue[tuple[str, str]]) -> None:
    """One SMTP connection kept open across messages, one message in flight at a time.

    The reply to a message is recorded in the same transaction that claims the connection's next message,
    with no ``await`` between the reply and that commit; before anything that waits (a reconnection, the
    rate limit, the end) it is recorded on its own. Steps are synchronous, so workers never race.
    """
    client: aiosmtplib.SMTP | None = None
    done: list[outbox.Outcome] = []
    try:
        while not queue.empty():
            nid, recipient = queue.get_nowait()
            if client is None or not client.is_connected:
                # Connect before claiming: an unreachable server leaves the notice pending, not ambiguous.
                done = _flush(ledger, done, clock)
                client = await _connect(settings)
            claimed = ledger.step(done, nid, outbox.now_text(clock()))
            done = []
            if claimed is None:
                continue
            body, attempts = claimed
            message, sender = _message(body, options.sender, options.verp)
            try:
                result = await deliver(client, message, sender, recipient)
            except aiosmtplib.SMTPSenderRefused as exc:
                ledger.step([outbox.Outcome(nid, "retry", f"{exc.code} {exc.message}", outbox.now_text(clock()))],
                            None, "")
                raise UsageError(f"the server refused the sender {sender!r} ({exc.code} {exc.message}): "
                                 "use --from with an address it accepts") from exc
            except (aiosmtplib.SMTPException, OSError) as exc:
                # No final reply to DATA: the server has not taken the message; it is safe to send again.
                client.close()
                result = Outcome("temporary", f"connection lost: {exc}")
            done = [_decide(nid, recipient, result, attempts, options, clock(), report)]
            if options.rate:
                done = _flush(ledger, done, clock)
                await asyncio.sleep(max(1, options.connections) / options.rate)
    finally:
        _flush(ledger, done, clock)
        if client is not None and client.is_connected:
            client.close()


def _flush(ledger: outbox.Ledger, done: list[outbox.Outcome], clock: Callable[[], dt.datetime]) -> list[outbox.Outcome]:
    if done:
        ledger.step(done, None, outbox.now_text(clock()))
    return []


def _wait_seconds(next_at: str | None, now: dt.datetime) -> float | None:
    if next_at is None:
        return None
    return max(0.0, (dt.datetime.fromisoformat(next_at) - now).total_seconds())


async def _connect(settings: Settings) -> aiosmtplib.SMTP:
    for attempt in range(MAX_RECONNECTS):
        try:
            return await connect(settings)
        except (aiosmtplib.SMTPException, OSError) as exc:
            last = exc
            await asyncio.sleep(min(2.0**attempt * 0.2, 5))
    raise SourceError(f"cannot reach the SMTP server {settings.host}:{settings.port} ({last}): check --smtp; "
                      "nothing was lost, run 'notify send' again")


def _decide(nid: str, recipient: str, result: Outcome, attempts: int, options: Options, now: dt.datetime,
            report: Report) -> outbox.Outcome:
    """What to record for one attempt (``attempts`` counts this one); counted and hashed in the report."""
    at, kind, reply = outbox.now_text(now), result.kind, result.reply
    if kind == "sent":
        outcome = outbox.Outcome(nid, "sent", reply, at)
    elif kind == "permanent":
        outcome = outbox.Outcome(nid, "moved_to_post", reply, at, suppress=recipient)
        report.failures.append(f"{recipient}: {reply}")
    elif attempts >= MAX_ATTEMPTS:
        outcome = outbox.Outcome(nid, "moved_to_post", f"gave up after {attempts} attempts: {reply}", at,
                                 suppress=recipient)
        kind = "gave_up"
    else:
        later = now + dt.timedelta(seconds=options.backoff * 2 ** (attempts - 1))
        outcome = outbox.Outcome(nid, "retry", reply, at, retry_at=outbox.now_text(later))
    report.outcomes[kind] += 1
    report.digest.update(f"{nid}\0{kind}\0{reply}\n".encode())
    return outcome


def _message(body: bytes, sender: str | None, verp: bool = False) -> tuple[bytes, str]:
    """The stored bytes (with From replaced when ``--from`` is given) and the envelope sender.

    With ``verp`` the envelope sender is ``local+token@domain`` of the sender, the token derived from the
    message's own Message-ID (so from the notice); the From header keeps the plain address.
    """
    head, sep, rest = body.partition(b"\r\n\r\n") if b"\r\n\r\n" in body else body.partition(b"\n\n")
    if sender:
        envelope = sender
    else:
        found = _FROM.search(head)
        envelope = _address(found.group(1) if found else b"")
    if verp:
        mid = _MESSAGE_ID.search(head)
        envelope = return_path(envelope, _unfold(mid.group(1)) if mid else "")
    if not sender:
        return body, envelope
    newline = b"\r\n" if sep == b"\r\n\r\n" else b"\n"
    lines, skipping = [], False
    for line in head.split(newline):
        skipping = line.lower().startswith(b"from:") or (skipping and line[:1] in (b" ", b"\t"))
        if not skipping:
            lines.append(line)
    return newline.join([f"From: {sender}".encode(), *lines]) + sep + rest, envelope


_FROM = re.compile(rb"^from:[ \t]*([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)", re.IGNORECASE | re.MULTILINE)
_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)", re.IGNORECASE | re.MULTILINE)


def _unfold(value: bytes) -> str:
    return re.sub(rb"\r?\n(?=[ \t])", b"", value).decode("ascii", "surrogateescape").strip()


@functools.lru_cache(maxsize=256)
def _address(value: bytes) -> str:
    """The address in a From header's value (unfolded); the same few values recur in every message."""
    return parseaddr(_unfold(value))[1]
