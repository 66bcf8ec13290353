"""The sender's handling of stored bytes (``--from`` replaces the header, nothing else changes); its settings."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

from aftermath.case.config import SmtpConfig, load
from aftermath.errors import CaseError, UsageError
from aftermath.notify.delivery.send import _message
from aftermath.notify.delivery.smtp import from_config

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


def test_smtp_settings_come_from_argv_or_the_config_and_a_user_needs_a_named_password(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no SMTP server: give --smtp"):
        from_config(None, None, None, tmp_path)
    configured = SmtpConfig(host="relay.example", port=2587, user="mailer", password_file="pw")
    settings = from_config(None, None, configured, tmp_path)
    assert (settings.host, settings.port, settings.security) == ("relay.example", 2587, "starttls")
    assert settings.password_file == tmp_path / "pw" and settings.user == "mailer"
    assert from_config("127.0.0.1:2525", "tls", configured, tmp_path).security == "tls"
    (tmp_path / "aftermath.toml").write_text('[notify.smtp]\nhost = "relay.example"\nuser = "mailer"\n')
    with pytest.raises(CaseError, match="notify.smtp: Value error, a user needs password_file or password_env"):
        load(tmp_path / "aftermath.toml")
    (tmp_path / "aftermath.toml").write_text('[notify.smtp]\nhost = "relay.example"\npassword = "x"\n')
    with pytest.raises(CaseError, match="notify.smtp.password: Extra inputs are not permitted"):
        load(tmp_path / "aftermath.toml")
