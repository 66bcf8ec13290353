"""VERP tokens: stable per notice, nothing personal in them, found only in the bounce's own envelope headers."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from aftermath.case import Case
from aftermath.errors import UsageError
from aftermath.notify.delivery import outbox, verp
from aftermath.notify.delivery.bounces import import_bounces
from aftermath.notify.delivery.send import _message
from aftermath.notify.delivery.store import NoticeRow
from aftermath.notify.letters.run import letters
from tests.notify.letters.helpers import TODAY, many_people, write_inputs
from tests.notify.letters.test_bounces import dsn


def test_token_is_stable_per_message_id_and_differs_between_notices() -> None:
    a, b = "<3f2a@riverside.example>", "<3f2b@riverside.example>"
    assert verp.token(a) == verp.token(a) == verp.token(f" {a} ")
    assert verp.token(a) != verp.token(b)
    assert len(verp.token(a)) == verp.TOKEN_LENGTH and int(verp.token(a), 16) >= 0
    assert verp.return_path("notices@riverside.example", a) == f"notices+{verp.token(a)}@riverside.example"
    assert verp.return_path("a+b@x.example", a) == f"a+b+{verp.token(a)}@x.example"
    with pytest.raises(UsageError, match="--verp needs a sender address with a domain"):
        verp.return_path("postmaster", a)


def test_message_keeps_from_and_puts_the_token_only_in_the_envelope() -> None:
    body = (b"From: privacy@riverside.example\r\nTo: ann@example.com\r\nMessage-ID: <m1@riverside.example>\r\n"
            b"Subject: x\r\n\r\nhello\r\n")
    same, envelope = _message(body, None, verp=True)
    assert same == body and envelope == f"privacy+{verp.token('<m1@riverside.example>')}@riverside.example"
    replaced, envelope = _message(body, "notices@other.example", verp=True)
    assert replaced.startswith(b"From: notices@other.example\r\n") and b"privacy@" not in replaced
    assert envelope == f"notices+{verp.token('<m1@riverside.example>')}@other.example"
    assert _message(body, None) == (body, "privacy@riverside.example")  # without --verp: as before


def test_tokens_come_from_the_bounces_own_headers_not_from_the_quoted_original() -> None:
    raw = ("Delivered-To: n+0123456789abcdef@r.example\nTo: <N+FEDCBA9876543210@r.example>\n"
           "Subject: failed\nContent-Type: multipart/report; boundary=B\n\n--B\nContent-Type: text/rfc822-headers\n\n"
           "Return-Path: <n+1111111111111111@r.example>\n\n--B--\n")
    msg = email.message_from_string(raw, policy=email.policy.compat32)
    assert verp.tokens_in(msg) == ["0123456789abcdef", "fedcba9876543210"]


def test_a_quoted_message_id_matches_its_notice_when_the_failed_address_was_rewritten(case: Case,
                                                                                      tmp_path: Path) -> None:
    paths = write_inputs(tmp_path / "in", people=many_people(2))
    letters(paths["plan"], paths["people"], paths["incident"], case.root / "notices", case, None, TODAY, pdf=False)
    with Session(case.engine) as s, s.begin():
        s.execute(update(NoticeRow).where(NoticeRow.channel == "email").values(status="sent", reply="250 OK"))
    sent = {r.recipient: r.message_id for r in outbox.notices(case) if r.channel == "email"}
    (tmp_path / "fwd.eml").write_bytes(dsn("forwarded@elsewhere.example", sent["p00001@example.com"]))
    result = import_bounces(case, [tmp_path / "fwd.eml"])
    assert result.unmatched == [] and result.counts["by_message_id"] == 1 and result.counts["hard"] == 1
    assert result.matched[0].endswith("to p00001@example.com, matched by quoted Message-ID")
    assert outbox.suppressed(case) == {"p00001@example.com"}
