"""Bounce shapes flufl.bounce misreads or does not read, as bench/bounces_quality.py found them in real corpora.

Every message here is synthetic, written in the shape of a real server's bounce (the corpora stay outside
the repository).
"""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

from aftermath.case import Case
from aftermath.notify.delivery import outbox
from aftermath.notify.delivery.bounces import Failures, failures, import_bounces
from tests.notify.letters.test_bounces import dsn, sent  # noqa: F401 - the fixture

ORIGINAL = """From: Riverside Supply <privacy@riverside.example>
To: ann@example.com
Subject: Notice of Data Breach
Message-ID: <7c1e2f0a9b@riverside.example>

Dear Ann Lee,
"""


def read(text: str) -> Failures:
    return failures(email.message_from_string(text, policy=email.policy.compat32))


def test_a_dsn_that_gave_up_on_a_transient_condition_is_soft_not_hard() -> None:
    """``Action: failed`` with ``Status: 4.4.7`` (queue expired): the address may work; RFC 3463's class decides."""
    raw = dsn("ann@example.com", "<7c1e2f0a9b@riverside.example>", "4.4.7", "failed").decode()
    assert read(raw) == Failures(frozenset(), frozenset({"ann@example.com"}))
    assert read(raw.replace("4.4.7", "5.1.1")) == Failures(frozenset({"ann@example.com"}), frozenset())


def test_a_delivery_report_is_not_a_bounce() -> None:
    raw = dsn("ann@example.com", "<7c1e2f0a9b@riverside.example>", "2.1.5", "delivered").decode()
    assert read(raw) == Failures(frozenset(), frozenset())


def test_dsn_fields_written_in_a_text_part_are_read() -> None:
    """Amazon WorkMail's shape: the report's fields in quoted-printable text/plain, no delivery-status part."""
    raw = f"""From: MAILER-DAEMON@amazonses.example
To: privacy@riverside.example
Subject: Delivery Status Notification (Failure)
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="W"

--W
Content-Type: text/plain; charset=iso-8859-15
Content-Transfer-Encoding: quoted-printable

An error occurred while trying to deliver the mail to the following recip=
ients:
bob@example.org

Technical report:

Reporting-MTA: d=
sns; a1-2.smtp-out.example.com

Action: failed
Final-Reci=
pient: rfc822; bob@example.org
Diagnostic-Code: smtp; 550 5.1.1 <bob@example.org>... User Unknown
Status: 5.1.1

--W
Content-Type: message/rfc822

{ORIGINAL}
--W--
"""
    assert read(raw) == Failures(frozenset({"bob@example.org"}), frozenset())


def ses(kind: str, bounce_type: str = "Permanent") -> str:
    body = {"notificationType": kind, "mail": {"source": "privacy@riverside.example",
                                               "destination": ["ann@example.com"]}}
    if kind == "Bounce":
        body["bounce"] = {"bounceType": bounce_type, "bouncedRecipients": [
            {"emailAddress": "ann@example.com", "status": "5.1.1", "action": "failed"}]}
    return ("From: AWS Notifications <no-reply@sns.amazonaws.example>\nTo: privacy@riverside.example\n"
            f"Subject: AWS Notification Message\n\n{json.dumps(body)}\n\n--\nIf you wish to stop receiving ...\n")


def test_amazon_ses_notifications_bounce_types_and_non_bounces() -> None:
    assert read(ses("Bounce")) == Failures(frozenset({"ann@example.com"}), frozenset())
    assert read(ses("Bounce", "Transient")) == Failures(frozenset(), frozenset({"ann@example.com"}))
    assert read(ses("Delivery")) == Failures(frozenset(), frozenset())  # was a JSON fragment taken for an address
    assert read(ses("Complaint")) == Failures(frozenset(), frozenset())


def test_a_plain_text_daemon_bounce_names_the_address_and_the_reply_after_it() -> None:
    """DragonFly's shape: no DSN, the address in a sentence, the server's multi-line 550 after it."""
    raw = f"""From: MAILER-DAEMON <>
To: privacy@riverside.example
Subject: Mail delivery failed

This is the DragonFly Mail Agent v0.13 at mx.riverside.example.

There was an error delivering your mail to <ann@example.com>.

mx.example.com [192.0.2.1] did not like our final DATA:
550-5.7.26 Unauthenticated email from riverside.example is not accepted due to domain's
550 5.7.26 DMARC policy.

Message headers follow.

Received: from root (uid 0)
{ORIGINAL}"""
    assert read(raw) == Failures(frozenset({"ann@example.com"}), frozenset())


def test_a_plain_text_delay_warning_is_soft_and_message_ids_are_not_addresses() -> None:
    raw = f"""From: Mail Delivery Subsystem <mailer-daemon@mx.example.net>
To: privacy@riverside.example
Subject: Delivery Status Notification (Delay)

THIS IS A WARNING MESSAGE ONLY. YOU DO NOT NEED TO RESEND YOUR MESSAGE.

Delivery to the following recipient has been delayed:

     ann@example.com

Message will be retried for 2 more day(s)
Reference: <20261201.abc123@mx.example.net>

----- Original message -----

{ORIGINAL}"""
    assert read(raw) == Failures(frozenset(), frozenset({"ann@example.com"}))


def test_a_mail_that_is_not_from_a_daemon_is_never_read_as_a_bounce() -> None:
    raw = ("From: Ann <ann@example.com>\nTo: privacy@riverside.example\nSubject: question\n\n"
           "My friend bob@example.org asks.\n")
    assert read(raw) == Failures(frozenset(), frozenset())


def test_an_expired_queue_report_puts_the_notice_back_in_the_queue(case: Case, tmp_path: Path,
                                                                   sent: dict[str, str]) -> None:  # noqa: F811
    (tmp_path / "expired.eml").write_bytes(dsn("p00000@example.com", sent["p00000@example.com"], "4.4.7", "failed"))
    result = import_bounces(case, [tmp_path / "expired.eml"])
    assert result.counts["soft"] == 1 and result.counts["hard"] == 0
    states = {r.recipient: r.status for r in outbox.notices(case) if r.channel == "email"}
    assert states["p00000@example.com"] == "retry" and outbox.suppressed(case) == set()


def test_an_ses_notification_folded_into_lines_is_still_read() -> None:
    raw = ses("Bounce")
    head, _, body = raw.partition("\n\n")
    folded = body.replace('"bounceType"', '\n "bounceType"', 1)  # a line break inside the JSON, as mailers fold
    assert read(f"{head}\n\n{folded}") == Failures(frozenset({"ann@example.com"}), frozenset())


def test_a_sendmail_bounce_whose_report_names_no_usable_recipient_is_read_from_its_words() -> None:
    """Sendmail opens with "The original message was received at": that is not the copy of the original."""
    raw = f"""From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>
To: privacy@riverside.example
Subject: Returned mail: see transcript for details
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="S"

--S
Content-Type: text/plain

The original message was received at Tue, 1 Dec 2026 10:00:00 +0000
from mail.riverside.example [192.0.2.7]

   ----- The following addresses had permanent fatal errors -----
<ann@example.com>
    (reason: 550 Host unknown)

--S
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: RFC822; @mx.example.net
Action: failed
Status: 5.1.2

--S
Content-Type: message/rfc822

{ORIGINAL}
--S--
"""
    assert read(raw) == Failures(frozenset({"ann@example.com"}), frozenset())


def test_an_ses_notification_inside_an_sns_envelope_is_read() -> None:
    head, _, body = ses("Bounce", "Transient").partition("\n\n")
    inner = body.split("\n\n--")[0]
    envelope = json.dumps({"Type": "Notification", "TopicArn": "arn:aws:sns:x", "Message": inner}, indent=2)
    assert read(f"{head}\n\n{envelope}\n") == Failures(frozenset(), frozenset({"ann@example.com"}))
