"""The email notice, written without the ``email`` package's generator, parses back to the same notice; writing."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import errno
import io
import os
from pathlib import Path
from typing import Any

import pytest

from aftermath.errors import StorageError
from aftermath.notify.laws.schema import load_all
from aftermath.notify.letters import render, run
from aftermath.notify.letters.content import compose, load_agencies, load_blocks, rules_for
from aftermath.notify.letters.incident import EXAMPLE, load_incident
from aftermath.notify.letters.run import write_files
from aftermath.notify.letters.wording import plain_text, sections
from aftermath.notify.people import Person
from tests.notify.letters.helpers import TODAY

RULES = [r for r in load_all() if "business" in r.applies_to_entities]
WHEN = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)


def message(person: Person, business: str | None = None) -> tuple[email.message.EmailMessage, str]:
    incident = load_incident(EXAMPLE)
    if business:
        incident.business.name = business
    secs = sections(compose(person, rules_for(person, RULES), load_blocks()), incident, load_agencies(), TODAY)
    raw = render.email_message(person, secs, incident, "<abc123@example.org>", WHEN)
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed, plain_text(secs, render.greeting(person))


def test_ascii_notice_parses_back_with_both_parts_and_headers() -> None:
    p = Person(id="1", name="Ann Lee", street="1 Main St", city="Hartford", region="CT", postal_code="06103",
               email="ann@example.com", elements=frozenset({"ssn"}))
    m, text = message(p)
    assert m.get_content_type() == "multipart/alternative"
    subject = f"Notice of Data Breach - {load_incident(EXAMPLE).business.name}"
    assert (m["To"], m["Message-ID"], m["Subject"]) == ("ann@example.com", "<abc123@example.org>", subject)
    assert m["Date"].datetime == WHEN
    plain, html = m.get_body(("plain",)), m.get_body(("html",))
    assert plain is not None and html is not None
    assert plain["Content-Transfer-Encoding"] == "7bit"
    assert plain.get_content().replace("\r\n", "\n") == text  # 7bit keeps the wire's CRLF
    assert "<h2>What Happened</h2>" in html.get_content() and "Dear Ann Lee," in html.get_content()


def test_non_ascii_name_and_long_subject_are_encoded_and_a_newline_in_an_address_cannot_add_a_header() -> None:
    p = Person(id="2", name="José Müller", street="2 Oak", city="Hartford", region="CT", postal_code="06103",
               email="jose@example.com\r\nBcc: victim@example.net", elements=frozenset({"ssn"}))
    m, text = message(p, business="Société Générale des Très Longues Raisons Sociales et Compagnie, Incorporated")
    assert m["Subject"] == ("Notice of Data Breach - Société Générale des Très Longues Raisons Sociales et "
                            "Compagnie, Incorporated")
    assert m["Bcc"] is None
    plain = m.get_body(("plain",))
    assert plain is not None and plain["Content-Transfer-Encoding"] == "base64"
    assert plain.get_content() == text and "Dear José Müller," in text


def test_a_full_disk_while_writing_notices_is_one_line_and_leaves_only_whole_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Full(io.FileIO):
        def write(self, data: Any) -> int:
            super().write(bytes(data)[:1])  # a partial temporary file, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device", str(self.name))

    def opened(name: str, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if os.path.basename(name) == ".b.eml.tmp":
            return Full(name, "w")
        return open(name, mode, *args, **kwargs)

    monkeypatch.setattr(run, "open", opened, raising=False)  # the writer's own open(): the one file that fails
    with pytest.raises(StorageError, match=r"no space left while writing .*email/b\.eml \(3 files; the ones already"):
        write_files(tmp_path, {f"email/{c}.eml": b"whole" for c in "abc"})
    names = {p.name for p in (tmp_path / "email").iterdir()}
    assert "a.eml" in names and names <= {"a.eml", "c.eml"}  # c may or may not have been written: never b, no tmp
    assert {p.read_bytes() for p in (tmp_path / "email").iterdir()} == {b"whole"}
