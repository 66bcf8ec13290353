"""The words of a notice: its sections under California's five headings, from a :class:`Letter` (pure).

Text and HTML are both rendered from these sections, so the two parts of an email and the printed
letter always say the same thing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from aftermath.notify.letters.content import Agency, Letter
from aftermath.notify.letters.incident import Incident

TITLE = "Notice of Data Breach"
HEADINGS = ("What Happened", "What Information Was Involved", "What We Are Doing", "What You Can Do",
            "For More Information")


@dataclass(frozen=True)
class Section:
    """One heading and its paragraphs."""

    heading: str
    paragraphs: tuple[str, ...]


def sections(letter: Letter, incident: Incident, agencies: Sequence[Agency], today: dt.date,
             code: str | None = None) -> list[Section]:
    """Every section of ``letter``, in the order of the five headings."""
    b = letter.blocks
    return [Section(HEADINGS[0], tuple(_happened(b, incident, today))),
            Section(HEADINGS[1], tuple(_involved(letter, incident))),
            Section(HEADINGS[2], tuple(_doing(incident))),
            Section(HEADINGS[3], tuple(_you_can_do(letter, incident, agencies, code))),
            Section(HEADINGS[4], tuple(_more(incident)))]


def _span(incident: Incident) -> str:
    ev = incident.incident
    if ev.start and ev.end and ev.end != ev.start:
        return f"between {ev.start:%B %-d, %Y} and {ev.end:%B %-d, %Y}"
    return f"on {ev.start:%B %-d, %Y}" if ev.start else "on a date we are still establishing"


def _happened(b: frozenset[str], incident: Incident, today: dt.date) -> list[str]:
    ev = incident.incident
    out = []
    if "what_happened" in b:
        out.append(ev.description.strip())
    else:
        out.append(f"We are writing about an incident at {incident.business.name} that involved some of your "
                   "personal information.")
    found = f" We discovered it on {ev.discovered:%B %-d, %Y}." if ev.discovered else ""
    out.append(f"It happened {_span(incident)}.{found}")
    if "law_enforcement_delay" in b:
        out.append("This notice was delayed at the request of law enforcement, so as not to impede its "
                   "investigation." if ev.law_enforcement_delay else
                   "This notice was not delayed by a law-enforcement investigation.")
    if "notice_date" in b:
        out.append(f"Date of this notice: {today:%B %-d, %Y}.")
    return out


def _involved(letter: Letter, incident: Incident) -> list[str]:
    words = [incident.words(e) for e in sorted(letter.person.elements)]
    return ["The information involved was your name together with " + _join(words) + "."]


def _doing(incident: Incident) -> list[str]:
    return [t.strip() for t in (incident.response.done, incident.response.doing) if t.strip()]


def _you_can_do(letter: Letter, incident: Incident, agencies: Sequence[Agency], code: str | None) -> list[str]:
    b = letter.blocks
    out = [incident.response.you_can_do.strip()] if incident.response.you_can_do.strip() else []
    if letter.monitoring_months:
        cm = incident.credit_monitoring
        how = " or ".join(x for x in (cm.enrol_url, f"call {cm.enrol_phone}" if cm.enrol_phone else "") if x)
        by = f" Enrol by {cm.enrol_by:%B %-d, %Y}." if cm.enrol_by else ""
        your = f" Your enrolment code is {code}." if code else ""
        out.append(f"We are offering you {cm.months} months of credit monitoring and identity-theft protection "
                   f"from {cm.provider}, at no cost to you. To enrol, visit {how}.{your}{by}")
    if "change_password" in b:
        out.append("Change your password and security question and answer for this account, and for any other "
                   "account where you use the same ones.")
    if "vigilance" in b:
        out.append("Remain vigilant: review your account statements and monitor your free credit reports "
                   "(annualcreditreport.com, 1-877-322-8228).")
    if "security_freeze" in b:
        out.append("You can place a fraud alert or a security freeze on your credit file at each credit bureau "
                   "below. Placing, lifting or removing a security freeze is free. Have your name, addresses "
                   "of the past five years, date of birth and Social Security number ready.")
    if "police_report" in b:
        out.append("You have the right to obtain a police report about this incident, and to report suspected "
                   "identity theft to local law enforcement, your state attorney general and the FTC.")
    if "crb_contacts" in b or "security_freeze" in b:  # a freeze is placed at each bureau: list them
        out += [_agency(a) for a in agencies if a.key == "CRA"]
    if "ftc_contacts" in b or "regulator_contacts" in b:
        listed = [a for a in agencies if a.key == "FTC" or a.key in letter.regulators]
        out.append("You can learn about identity theft, fraud alerts and security freezes, and how to avoid "
                   "identity theft, from:")
        out += [_agency(a) for a in listed]
    return out


def _more(incident: Incident) -> list[str]:
    c = incident.contact
    phone = f"call {'toll-free ' if c.toll_free else ''}{c.phone}" if c.phone else ""
    hours = f" ({c.hours})" if c.hours else ""
    ways = [x for x in (phone + hours, f"write to {c.address}" if c.address else "",
                        f"email {c.email}" if c.email else "", f"visit {c.website}" if c.website else "") if x]
    return [f"For more information or assistance, {_join(ways, 'or')}.", f"Sincerely, {incident.business.name}"]


def _agency(a: Agency) -> str:
    return f"{a.name}: {a.address}; {a.phone}; {a.website}"


def _join(items: Sequence[str], last: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {last} " + items[-1]


def plain_text(secs: Sequence[Section], greeting: str) -> str:
    """The notice as plain text (the email's text part)."""
    parts = [TITLE, "", greeting, ""]
    for sec in secs:
        parts += [sec.heading, "-" * len(sec.heading), *[p + "\n" for p in sec.paragraphs]]
    return "\n".join(parts).rstrip() + "\n"
