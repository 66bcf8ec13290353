"""Render composed notices: email messages (text and HTML parts, stable Message-ID), print files, drafts."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.header import Header
from email.utils import format_datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from aftermath.notify.laws.schema import WebForm
from aftermath.notify.letters.incident import Incident
from aftermath.notify.letters.wording import TITLE, Section, plain_text
from aftermath.notify.people import Person

_env = Environment(loader=PackageLoader("aftermath.notify.letters", "templates"),
                   autoescape=select_autoescape(["html", "j2"]), keep_trailing_newline=True, auto_reload=False)
# compiled once: rendering a notice never looks at (or parses) a template file again
_LETTER = _env.get_template("letter.html.j2")
_EMAIL = _env.get_template("email.html.j2")
_PRINT = _env.get_template("print.html.j2")
LETTERS_PER_PRINT_FILE = 500


def notice_id(audience: str, key: str) -> str:
    """A notice's stable identity: the same person (or duty) always gets the same id."""
    return hashlib.sha256(f"{audience}\0{key}".encode()).hexdigest()[:32]


def message_id(case_key: str, nid: str, domain: str) -> str:
    """A stable Message-ID derived from the case and the notice: a resend carries the same one."""
    digest = hashlib.sha256(f"{case_key}\0{nid}".encode()).hexdigest()[:40]
    return f"<{digest}@{domain}>"


def greeting(person: Person) -> str:
    """The salutation."""
    return f"Dear {person.name}," if person.name.strip() else "Dear customer,"


def address_lines(person: Person) -> list[str]:
    """The address block as a mail house prints it."""
    place = " ".join(x for x in (f"{person.city}," if person.city else "", person.region, person.postal_code) if x)
    lines = [person.name, person.street, place.strip()]
    if person.country and person.country != "US":
        lines.append(person.country)
    return [x for x in lines if x]


def letter_html(person: Person, secs: Sequence[Section], incident: Incident, with_address: bool) -> str:
    """One notice as an HTML fragment (address block for a window envelope when printed)."""
    return _LETTER.render(
        title=TITLE, greeting=greeting(person), sections=secs, business=incident.business,
        address=address_lines(person) if with_address else None)


CODE_SLOT = "\ue000"  # stands for the enrolment code in a printed letter's body (a private-use character)


@dataclass(frozen=True)
class PrintLetter:
    """A printed letter as a body shared by everyone who gets the same words, and that person's own fields.

    ``body`` is the letter's HTML with every personal field left empty at a fixed size (the address window,
    the greeting's line, a slot as wide as the enrolment code): people whose letters say the same thing
    have the same body, which is laid out once; ``fields`` (address, greeting, code) are printed in place.
    """

    body: str
    fields: tuple[tuple[str, str], ...]


def print_letter(person: Person, slotted: Sequence[Section], incident: Incident, code: str | None) -> PrintLetter:
    """``person``'s printed letter; ``slotted`` are the sections made with :data:`CODE_SLOT` for the code."""
    html = _LETTER.render(title=TITLE, greeting="", sections=slotted, business=incident.business, address=[])
    fields = [("address", "\n".join(address_lines(person))), ("greeting", greeting(person))]
    if code:
        width = f"{0.66 * len(code) + 0.1:.2f}em"  # room for wide capitals; a field never wraps
        html = html.replace(CODE_SLOT, f'<span class="code" data-field="code" style="width: {width}">&#160;</span>')
        fields.append(("code", code))
    return PrintLetter(html, tuple(fields))


def overlay_field(text: str, x: float, y: float, width: float, height: float) -> str:
    """One personal field placed at a position (CSS px) of a page, in the letter's own font."""
    lines = Markup("<br>").join(escape(line) for line in text.split("\n"))
    return (f'<div class="field" style="left: {x:.3f}px; top: {y:.3f}px; width: {width:.3f}px; '
            f'height: {height:.3f}px">{lines}</div>')


def print_file(fragments: Sequence[str], batch: int) -> str:
    """A print file: many letters, one page break after each, as mail houses take them."""
    joined = Markup("\n".join(fragments))  # noqa: S704 - fragments come from our autoescaped template
    return _PRINT.render(title=TITLE, batch=batch, letters=joined)


def email_message(person: Person, secs: Sequence[Section], incident: Incident, mid: str,
                  when: dt.datetime) -> bytes:
    """The email notice as bytes (CRLF): a text part and an HTML part, with its stable Message-ID.

    Written directly rather than through the ``email`` package's generator (which cost about 7 ms a message,
    most of it folding headers that need no folding): the same MIME structure, checked by parsing it back in
    the tests. A part is sent as 7bit when it is ASCII with short lines, as base64 otherwise.
    """
    text = plain_text(secs, greeting(person))
    page = _EMAIL.render(title=TITLE, letter=Markup(letter_html(person, secs, incident, False)))  # noqa: S704
    boundary = f"=_{hashlib.sha256(mid.encode()).hexdigest()[:32]}"
    while boundary in text or boundary in page:  # practically never: the boundary must not occur in a part
        boundary += "_"
    head = [f"Content-Type: multipart/alternative; boundary=\"{boundary}\"", "MIME-Version: 1.0",
            _header("Subject", f"{TITLE} - {incident.business.name}"),
            _header("From", incident.contact.email or "notices@aftermath.invalid"), _header("To", person.email),
            f"Date: {format_datetime(when)}", _header("Message-ID", mid), ""]
    out = "\r\n".join(head) + "\r\n"
    for subtype, body in (("plain", text), ("html", page)):
        encoding, payload = _encode(body)
        out += (f"--{boundary}\r\nContent-Type: text/{subtype}; charset=\"utf-8\"\r\nMIME-Version: 1.0\r\n"
                f"Content-Transfer-Encoding: {encoding}\r\n\r\n{payload}\r\n")  # that CRLF belongs to the boundary
    return (out + f"--{boundary}--\r\n").encode("ascii")


def _header(name: str, value: str) -> str:
    """One header line; encoded (RFC 2047) and folded only when it is not short plain ASCII."""
    value = " ".join(value.split())  # no line break can reach a header from the data
    line = f"{name}: {value}"
    if value.isascii() and len(line) <= 78:
        return line
    return f"{name}: " + Header(value, "utf-8" if not value.isascii() else "us-ascii",
                                header_name=name).encode(linesep="\r\n")


def _encode(body: str) -> tuple[str, str]:
    """(Content-Transfer-Encoding, payload with CRLF line ends) for one text part."""
    lines = body.removesuffix("\n").split("\n")
    if body.isascii() and "\r" not in body and all(len(line) <= 998 for line in lines):
        return "7bit", "\r\n".join(lines) + "\r\n"
    return "base64", base64.encodebytes(body.encode()).decode("ascii").replace("\n", "\r\n")


def regulator_draft(ob: dict[str, Any], incident: Incident, counts: dict[str, int], today: dt.date,
                    sample: str = "") -> str:
    """A draft notice to a regulator, credit bureaus or media, with the plan's figures filled in."""
    ev = incident.incident
    lines = [f"DRAFT - {ob['recipient']}", f"Duty: {ob['jurisdiction']} {ob['audience'].replace('_', ' ')}; "
             f"{ob['citation']}", f"Due: {ob.get('deadline') or 'as soon as possible'} ({ob['deadline_text']})", "",
             f"Date: {today.isoformat()}", f"Organisation: {incident.business.name}, {incident.business.address}",
             f"Contact: {incident.contact.phone} {incident.contact.email} {incident.contact.website}".rstrip(), "",
             f"Number of residents affected: {ob['people']}",
             f"Breach dates: {ev.start or 'unknown'} to {ev.end or ev.start or 'unknown'}; "
             f"discovered {ev.discovered or 'unknown'}",
             f"Description: {ev.description.strip()}", f"Actions taken: {incident.response.done.strip()}",
             f"Notices to individuals: {counts.get('email', 0)} by email, {counts.get('post', 0)} by post, "
             f"{counts.get('substitute', 0)} by substitute notice",
             f"Credit monitoring offered: {incident.credit_monitoring.months} months "
             f"({incident.credit_monitoring.provider})" if incident.credit_monitoring.months else
             "Credit monitoring offered: none", "", "Notes from the plan: " + (ob.get("notes") or "none"),
             "", f"A sample individual notice (without personal information) is attached: {sample}." if sample else
             "No individual notice to this jurisdiction's residents was written: no sample to attach."]
    return "\n".join(lines) + "\n"


COUNSEL = "(to be answered by counsel)"


@dataclass
class Residents:
    """What the notices to one jurisdiction's residents were: how many by each channel, which data elements."""

    channels: dict[str, int]
    elements: set[str]


def form_answers(ob: dict[str, Any], form: WebForm, incident: Incident, residents: Residents | None,
                 total: int, today: dt.date, sample: str) -> list[dict[str, str]]:
    """Each field of a regulator's form, in the form's order, with its answer from the plan and INCIDENT.toml.

    A field only the business and its counsel can answer, or whose figure is not known, says so.
    """
    ev, c, b = incident.incident, incident.contact, incident.business
    channels = residents.channels if residents else {}
    zips = re.findall(r"\b\d{5}(?:-\d{4})?\b", b.address)
    delay = {True: "Yes", False: "No", None: ""}[ev.law_enforcement_delay]
    cm = incident.credit_monitoring
    known: dict[str, object] = {
        "organisation": b.name, "organisation_address": b.address, "organisation_zip": zips[-1] if zips else "",
        "contact_name": "", "contact_phone": c.phone, "contact_email": c.email,
        "residents": ob["people"], "residents_notified": channels.get("email", 0) + channels.get("post", 0),
        "total_affected": total, "breach_start": ev.start or "", "breach_end": ev.end or ev.start or "",
        "breach_dates": f"{ev.start} to {ev.end or ev.start}" if ev.start else "",
        "discovery_date": ev.discovered or "", "notice_date": today.isoformat(),
        "information_types": "; ".join(re.sub(r"^your ", "", incident.words(e)) for e in sorted(residents.elements))
        if residents else "",
        "description": ev.description.strip(), "actions_taken": incident.response.done.strip(),
        "actions_planned": incident.response.doing.strip(), "law_enforcement_delay": delay,
        "notice_method": (f"{channels.get('email', 0)} by email, {channels.get('post', 0)} by post, "
                          f"{channels.get('substitute', 0)} by substitute notice, dated {today.isoformat()}"),
        "substitute_notice": "Yes" if channels.get("substitute") else "No",
        "credit_monitoring": f"{cm.months} months ({cm.provider})" if cm.months else "None offered",
        "sample_notice": sample, "counsel": ""}
    return [{"label": f.label, "answer": str(known[f.answer]) or COUNSEL, "from": f.answer} for f in form.fields]


def form_text(ob: dict[str, Any], form: WebForm, answers: list[dict[str, str]]) -> str:
    """The answers as a text page to fill the form from, field by field."""
    lines = [f"FORM ANSWERS - {ob['recipient']}", f"Form: {form.url}", f"Field list read from: {form.source}"]
    if form.notes:
        lines.append(f"Note: {form.notes}")
    lines.append("")
    for i, a in enumerate(answers, 1):
        lines.extend([f"{i}. {a['label']}", f"   {a['answer']}"])
    return "\n".join(lines) + "\n"


def substitute_texts(incident: Incident, people: int) -> dict[str, str]:
    """Website posting and statewide-media text for substitute notice."""
    ev, c = incident.incident, incident.contact
    body = (f"{TITLE}: {incident.business.name}. {ev.description.strip()} The incident occurred "
            f"{ev.start or ''}{' to ' + str(ev.end) if ev.end else ''}. We give this notice in place of "
            f"a letter to {people} affected people. If you are a customer, call {c.phone} or visit {c.website}.")
    page = f"<!doctype html><html lang=en><meta charset=utf-8><title>{TITLE}</title><h1>{TITLE}</h1><p>{body}</p>"
    return {"website.html": page + "\n", "media.txt": body + "\n"}


def faq(incident: Incident) -> str:
    """Questions and answers for the call centre."""
    c, cm, ev = incident.contact, incident.credit_monitoring, incident.incident
    qa = [("What happened?", ev.description.strip()),
          ("When?", f"From {ev.start} to {ev.end or ev.start}; discovered {ev.discovered}."),
          ("What are you doing?", f"{incident.response.done} {incident.response.doing}".strip()),
          ("Is there credit monitoring?", f"Yes: {cm.months} months from {cm.provider}; enrol at {cm.enrol_url} "
           f"or {cm.enrol_phone} with the code in the letter." if cm.months else "No offer was made."),
          ("What should I do?", incident.response.you_can_do or "Review statements and credit reports."),
          ("How do I reach you?", f"{c.phone} ({c.hours}), {c.email}, {c.website}.")]
    return "# Call-centre FAQ\n\n" + "\n".join(f"**{q}**\n{a}\n" for q, a in qa)
