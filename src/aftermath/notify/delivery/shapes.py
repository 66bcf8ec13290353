"""Bounce shapes flufl.bounce does not read, written by hand (measured with bench/bounces_quality.py).

* Status class: RFC 3463 says what a failure is: ``5.x.x`` permanent, ``4.x.x`` transient. flufl.bounce
  reads only a DSN's ``Action`` (``failed`` is permanent), so a report that gave up on a transient
  condition (``Action: failed``, ``Status: 4.4.7``, the receiving server unreachable for days) would
  suppress an address that works. Here a recipient's ``Status`` decides; without one, its ``Action``.
* DSN fields written as text: some servers put ``Final-Recipient``/``Action``/``Status`` in a text/plain part
  (Amazon WorkMail) rather than in a message/delivery-status part.
* Amazon SES notifications (JSON, by email through SNS): ``Bounce`` with its ``bounceType`` and
  ``bouncedRecipients``; ``Delivery`` and ``Complaint`` are not bounces.
* Plain-text bounces of servers flufl.bounce has no reader for (DragonFly, OpenSMTPD, Notes, v5 sendmail,
  carriers): when the message is from a mailer daemon or says so in its subject, the addresses named in its
  own text (before the copy of the original message) with the status or SMTP reply after each.
* Anything that is not an address (a JSON fragment, a phrase) is never reported as one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr
from typing import Any

ADDRESS = re.compile(r"[^@\s\"'(){}\[\],:;<>\\]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*",
                     re.IGNORECASE)
_STATUS = re.compile(r"(?<![\d.])([245])\.\d{1,3}\.\d{1,3}(?![\d.])")
_REPLY = re.compile(r"(?<![\d.])([45])\d\d(?=[ -])")
_DAEMON = re.compile(r"mailer-?daemon|postmaster|mail delivery|mail-?daemon|delivery subsystem|mdaemon", re.I)
_SUBJECT = re.compile(r"undeliver|returned mail|delivery (status notification|fail|problem|report)|failure notice|"
                      r"could not be delivered|not delivered|delivery has failed|mail delivery|warning: message|"
                      r"nondeliverable|non[- ]?delivery|returned to sender", re.I)
# where a bounce's own words end and its copy of the original message begins
_ORIGINAL = re.compile(r"^\W*(original message|message headers follow|(below this line|this) is a copy of the "
                       r"message|unsent message|returned message|the original message (follows|is (attached|"
                       r"included|below))|original message headers|content-type: message/rfc822|received: )",
                       re.I | re.M)
# addresses that are not recipients: Message-IDs (they look like addresses), and senders named anywhere
_IDS = re.compile(r"^(?:message-id|in-reply-to|references):.*$", re.I | re.M)
_SENDERS = re.compile(r"^(?:from|sender|reply-to|return-path):.*$", re.I | re.M)
_SOFT_WORDS = re.compile(r"temporar|delayed|will (be )?retr|try again later|still trying|deferred|"
                         r"not yet been delivered", re.I)
NOT_FAILED = ("delivered", "relayed", "expanded")


@dataclass(frozen=True)
class Reading:
    """Failed recipients (lower case) by kind, as one of the readers here found them."""

    hard: frozenset[str] = frozenset()
    soft: frozenset[str] = frozenset()


def is_address(text: str) -> bool:
    """Whether ``text`` is an email address (and not a fragment of something else)."""
    return ADDRESS.fullmatch(text) is not None


def amazon_ses(msg: Message) -> Reading | None:
    """An Amazon SES notification (JSON by email through SNS): its bounced recipients; None when not one."""
    for text in _texts(msg):
        data = _ses_json(text)
        if data is None:
            continue
        if data.get("notificationType") != "Bounce":
            return Reading()  # a delivery or a complaint: not a bounce
        bounce = data.get("bounce") or {}
        addresses = frozenset(str(r.get("emailAddress", "")).lower() for r in bounce.get("bouncedRecipients") or [])
        addresses = frozenset(a for a in (parseaddr(x)[1] for x in addresses) if is_address(a))
        if bounce.get("bounceType") == "Permanent":
            return Reading(hard=addresses)
        return Reading(soft=addresses)
    return None


def _ses_json(text: str) -> dict[str, Any] | None:
    """The SES notification in ``text``: raw, folded into lines, or as the "Message" of an SNS envelope."""
    start = text.find('{"notificationType"')
    if start < 0:
        envelope = _json_at(text, text.find("{")) if '"Message"' in text else None
        inner = envelope.get("Message") if envelope else None
        return _json_at(inner, 0) if isinstance(inner, str) and '"notificationType"' in inner else None
    return _json_at(text, start)


def _json_at(text: str, start: int) -> dict[str, Any] | None:
    if start < 0:
        return None
    for candidate in (text[start:], re.sub(r"\r?\n", "", text[start:])):  # the JSON may be folded into lines
        try:
            data, _ = json.JSONDecoder().raw_decode(candidate)
        except ValueError:
            continue
        return data if isinstance(data, dict) else None
    return None


def dsn_statuses(msg: Message) -> dict[str, str]:
    """Each recipient of the DSN fields in ``msg`` and its kind by status class: ``hard``, ``soft``, or
    ``delivered`` (the report says it was delivered or relayed: not a failure)."""
    kinds: dict[str, str] = {}
    for block in _dsn_blocks(msg):
        action = (block.get("Action") or "").strip().lower()
        status = _STATUS.search(block.get("Status") or "")
        if action.startswith(NOT_FAILED) or (status and status.group(1) == "2"):
            kind = "delivered"
        elif status:
            kind = "hard" if status.group(1) == "5" else "soft"
        elif action.startswith(("fail", "error")):
            kind = "hard"
        elif action.startswith("delayed"):
            kind = "soft"
        else:
            continue
        for field in ("Original-Recipient", "Final-Recipient", "X-Actual-Recipient"):
            address = _recipient(block.get(field) or "")
            if address:
                kinds[address] = "hard" if "hard" in (kind, kinds.get(address)) else kind
                break
    return kinds


def plain_text(msg: Message) -> Reading:
    """A bounce that says in words which addresses failed; nothing when ``msg`` does not look like a bounce."""
    sender = str(msg.get("From") or "")
    failed_header = [a for _, a in getaddresses([str(v) for v in msg.get_all("X-Failed-Recipients") or []])]
    if not (_DAEMON.search(sender) or _SUBJECT.search(str(msg.get("Subject") or "")) or failed_header):
        return Reading()
    own = not_recipients(msg, senders=True)
    words = "\n".join(_ORIGINAL.split(text, maxsplit=1)[0] for text in _texts(msg, human=True))
    found: dict[str, str] = {}
    candidates = [(a.lower(), words.find(a)) for a in failed_header if is_address(a)]
    if not candidates:
        candidates = [(m.group(0).lower().rstrip("."), m.end()) for m in ADDRESS.finditer(words)]
    for address, at in candidates:
        local = address.split("@")[0]
        if address in own or _DAEMON.search(local) or not is_address(address):
            continue
        kind = _kind_after(words, max(at, 0))
        found[address] = "hard" if kind == "hard" or found.get(address) == "hard" else kind
    return Reading(frozenset(a for a, k in found.items() if k == "hard"),
                   frozenset(a for a, k in found.items() if k == "soft"))


def not_recipients(msg: Message, senders: bool = False) -> set[str]:
    """Addresses in a bounce that are not failed recipients: Message-IDs (they look like addresses) and, with
    ``senders``, the bounce's own From/To and every sender it names (the quoted original's From: right for
    our notices, wrong for a mailing list's bounce, where the poster may be the one who failed)."""
    raw = msg.as_bytes().decode("utf-8", "replace")
    lines = _IDS.findall(raw)
    own: set[str] = set()
    if senders:
        lines += _SENDERS.findall(raw)
        own = {parseaddr(str(msg.get(h) or ""))[1].lower() for h in ("From", "To", "Return-Path", "Reply-To")}
    return own | {m.group(0).lower() for line in lines for m in ADDRESS.finditer(line)}


def original_sender(msg: Message) -> set[str]:
    """The bounce's own recipient, when the bounce also names it as a sender (it sent the original)."""
    own = {parseaddr(str(v))[1].lower() for h in ("To", "Delivered-To") for v in msg.get_all(h) or ()}
    raw = msg.as_bytes().decode("utf-8", "replace")
    named = {m.group(0).lower() for line in _SENDERS.findall(raw) for m in ADDRESS.finditer(line)}
    return own & named


def _kind_after(words: str, at: int) -> str:
    """Hard or soft, from the first status code or SMTP reply after an address (else from the whole text)."""
    for text in (words[at:at + 600], words):
        status = _STATUS.search(text)
        if status and status.group(1) != "2":
            return "hard" if status.group(1) == "5" else "soft"
        reply = _REPLY.search(text)
        if reply:
            return "hard" if reply.group(1) == "5" else "soft"
    return "soft" if _SOFT_WORDS.search(words) else "hard"


def _recipient(value: str) -> str | None:
    """The address of a ``Final-Recipient: rfc822; addr`` field (or a bare or bracketed address)."""
    _, _, address = value.rpartition(";")
    address = parseaddr(address.strip())[1].lower() or address.strip().strip("<>").lower()
    return address if is_address(address) else None


def _dsn_blocks(msg: Message) -> Iterator[Message]:
    """The per-recipient field blocks of every DSN in ``msg``, as a delivery-status part or written in text."""
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            payload = part.get_payload()
            if isinstance(payload, list):
                yield from (p for p in payload if isinstance(p, Message))
            else:
                yield from _blocks(_decoded(part))
        elif kind == "text/plain" and not _inside_original(msg, part):
            text = _decoded(part)
            if re.search(r"^Final-Recipient:", text, re.I | re.M):
                yield from _blocks(text)


def _blocks(text: str) -> Iterator[Message]:
    for paragraph in re.split(r"\r?\n\s*\r?\n", text):
        if re.search(r"^(Final|Original)-Recipient:", paragraph, re.I | re.M):
            yield HeaderParser().parsestr(paragraph.strip() + "\n")


def _texts(msg: Message, human: bool = False) -> Iterator[str]:
    """The text parts of ``msg`` (with ``human``: only the bounce's own words, not the quoted original).

    A multipart message whose boundary does not match its body (it happens) has no parts: its whole body is
    read as text.
    """
    found = False
    for part in msg.walk():
        if part.get_content_maintype() == "text" and part.get_content_type() != "text/rfc822-headers":
            if human and _inside_original(msg, part):
                continue
            found = True
            yield _decoded(part)
    if not found and msg.is_multipart():
        yield msg.as_bytes().decode("utf-8", "replace").partition("\n\n")[2]


def _inside_original(msg: Message, target: Message) -> bool:
    """Whether ``target`` is part of an attached message/rfc822 (the copy of the original)."""
    return any(part is not msg and part.get_content_type() == "message/rfc822"
               and any(inner is target for inner in part.walk()) for part in msg.walk())


def _decoded(part: Message) -> str:
    raw = part.get_payload(decode=True)
    if isinstance(raw, bytes):
        try:
            return raw.decode(part.get_content_charset() or "utf-8", "replace")
        except LookupError:  # a charset Python does not know
            return raw.decode("utf-8", "replace")
    payload = part.get_payload()
    return payload if isinstance(payload, str) else ""
