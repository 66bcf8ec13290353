"""The sender's handling of stored bytes: ``--from`` replaces the header, nothing else changes."""

from __future__ import annotations

import email
import email.policy

from aftermath.notify.delivery.send import _message

STORED = (b"Subject: Notice of Data Breach\r\nFrom: privacy@riverside.example\r\n (Privacy team)\r\n"
          b"To: ann@example.com\r\nMessage-ID: <abc@riverside.example>\r\n\r\nFrom: not a header\r\nbody\r\n")


def test_stored_message_is_sent_unchanged_with_its_own_sender() -> None:
    body, sender = _message(STORED, None)
    assert body == STORED and sender == "privacy@riverside.example"


def test_from_option_replaces_a_folded_from_header_and_keeps_message_id_and_body() -> None:
    body, sender = _message(STORED, "notices@relay.example")
    msg = email.message_from_bytes(body, policy=email.policy.default)
    assert sender == "notices@relay.example"
    assert msg.get_all("From") == ["notices@relay.example"]
    assert msg["Message-ID"] == "<abc@riverside.example>"
    assert body.endswith(b"\r\n\r\nFrom: not a header\r\nbody\r\n")
