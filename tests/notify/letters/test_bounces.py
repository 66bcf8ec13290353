"""``notify bounces``: real bounce shapes matched to their notices; hard ones suppress, soft ones retry."""

from __future__ import annotations

import mailbox
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from aftermath.case import Case
from aftermath.errors import UsageError
from aftermath.notify.delivery import outbox
from aftermath.notify.delivery.bounces import import_bounces
from aftermath.notify.delivery.store import NoticeRow
from aftermath.notify.letters.run import letters
from tests.conftest import run_cli
from tests.notify.letters.helpers import TODAY, many_people, write_inputs


def dsn(recipient: str, message_id: str, status: str = "5.1.1", action: str = "failed") -> bytes:
    """A delivery-status notification as Postfix writes it (RFC 3464 multipart/report)."""
    return f"""From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: privacy@riverside.example
Subject: Undelivered Mail Returned to Sender
Message-ID: <20261201.bounce.{status}@mx.example.net>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

I'm sorry to have to inform you that your message could not be delivered.

<{recipient}>: host mx.example.net said: 550 5.1.1 <{recipient}>: Recipient address rejected

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected

--B
Content-Type: text/rfc822-headers

From: privacy@riverside.example
To: {recipient}
Subject: Notice of Data Breach - Riverside Supply Co.
Message-ID: {message_id}

--B--
""".encode()


def exim(recipient: str) -> bytes:
    """A plain-text bounce as Exim writes it (no DSN part)."""
    return f"""From: Mail Delivery System <Mailer-Daemon@mail.example.org>
To: privacy@riverside.example
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: {recipient}

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {recipient}
    SMTP error from remote mail server after RCPT TO:<{recipient}>:
    550 5.1.1 User unknown
""".encode()


@pytest.fixture()
def sent(case: Case, tmp_path: Path) -> dict[str, str]:
    paths = write_inputs(tmp_path / "in", people=many_people(4))
    letters(paths["plan"], paths["people"], paths["incident"], case.root / "notices", case, None, TODAY, pdf=False)
    with Session(case.engine) as s, s.begin():
        s.execute(update(NoticeRow).where(NoticeRow.channel == "email").values(status="sent", reply="250 OK"))
    return {r.recipient: r.message_id for r in outbox.notices(case) if r.channel == "email"}


def test_hard_dsn_soft_dsn_and_exim_bounce_from_mbox_maildir_and_eml(case: Case, tmp_path: Path,
                                                                     sent: dict[str, str]) -> None:
    box = mailbox.mbox(tmp_path / "bounces.mbox")
    box.add(dsn("p00000@example.com", sent["p00000@example.com"]))
    box.add(dsn("p00001@example.com", sent["p00001@example.com"], "4.2.2", "delayed"))
    box.flush()
    maildir = mailbox.Maildir(tmp_path / "Maildir")
    maildir.add(exim("p00002@example.com"))
    (tmp_path / "stray.eml").write_bytes(dsn("nobody@example.com", "<never@sent.example>"))
    result = import_bounces(case, [tmp_path / "bounces.mbox", tmp_path / "Maildir", tmp_path / "stray.eml"])
    assert result.counts["hard"] == 2 and result.counts["soft"] == 1
    assert result.unmatched == [f"{tmp_path / 'stray.eml'}: no notice was sent to nobody@example.com "
                                "(quoted Message-ID <never@sent.example>)"]
    states = {r.recipient: r.status for r in outbox.notices(case) if r.channel == "email"}
    assert states == {"p00000@example.com": "bounced", "p00001@example.com": "retry",
                      "p00002@example.com": "bounced", "p00003@example.com": "sent"}
    assert outbox.suppressed(case) == {"p00000@example.com", "p00002@example.com"}
    entry = case.entries("notify.bounces")[-1]
    assert entry.data["hard"] == 2 and entry.data["unmatched"] == 1 and len(entry.data["sha256"]) == 64
    assert case.verify().ok


def test_bounced_person_gets_a_post_letter_when_letters_run_again(case: Case, tmp_path: Path,
                                                                   sent: dict[str, str]) -> None:
    (tmp_path / "b.eml").write_bytes(dsn("p00000@example.com", sent["p00000@example.com"]))
    import_bounces(case, [tmp_path / "b.eml"])
    paths = {k: tmp_path / "in" / v for k, v in (("plan", "plan.json"), ("people", "people.csv"),
                                                  ("incident", "INCIDENT.toml"))}
    again = letters(paths["plan"], paths["people"], paths["incident"], case.root / "notices", case, None, TODAY,
                    pdf=False)
    assert again.methods["post"] == 1
    post = [r for r in outbox.notices(case) if r.channel == "post"]
    assert [r.person_id for r in post] == ["p00000"]


def test_malformed_mbox_is_one_clear_line_and_changes_nothing(case: Case, tmp_path: Path,
                                                              sent: dict[str, str]) -> None:
    bad = tmp_path / "broken.mbox"
    bad.write_bytes(b"\x00\x01garbage that is not an mbox\n")
    with pytest.raises(UsageError, match="is not an mbox file"):
        import_bounces(case, [bad])
    result = run_cli("--case", str(case.root), "notify", "bounces", str(bad))
    assert result.code == 2 and result.err.count("\n") == 1
    assert {r.status for r in outbox.notices(case) if r.channel == "email"} == {"sent"}
