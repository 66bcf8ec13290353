"""How each person is notified, and why: the method follows every law that covers them (pure functions).

Post by default. Email where the person consented to electronic notices (people.csv's ``esign_consent``), or
where EVERY law covering them allows email without consent (a law file's ``notice_methods.electronic``).
Substitute notice (email to those with an address, a website posting, statewide media) only where EVERY law
covering the person allows it on the facts: the cost estimate or head count over the law's threshold, the
person's contact details insufficient, or disproportionate effort. A law file without ``notice_methods``
allows neither. Each decision names the rule(s) that made it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aftermath.notify.laws.schema import LawRule, NoticeMethods
from aftermath.notify.letters.content import Letter, Method
from aftermath.notify.letters.incident import Incident
from aftermath.notify.people import Person

PART_WORDS = {
    "email": "email notice to everyone with an email address on file",
    "website": "conspicuous posting of the notice on the business's website",
    "media": "notification to major statewide media",
    "attorney_general": "a written letter to the attorney general showing the facts that allow substitute notice",
    "toll_free_number": "a toll-free number, active for at least 90 days, where people can learn whether "
                        "their information was involved",
    "alternative": "an alternative form of written notice, telephone, or other means",
}


@dataclass(frozen=True)
class Facts:
    """What the choice of method turns on, for the whole run."""

    cost_usd: int | None = None
    cost_by_jurisdiction: Mapping[str, int] = field(default_factory=dict)
    residents: Mapping[str, int] = field(default_factory=dict)  # people owed notice under each law (plan)
    notified: int = 0  # people owed any individual notice
    all_affected: int = 0  # the plan's people_total
    lacking: Mapping[str, int] = field(default_factory=dict)  # people under each law without usable contact details
    email_primary_channel: bool = False
    disproportionate_effort: bool = False


def has_post(person: Person) -> bool:
    """A postal address a letter can go to."""
    return bool(person.street and person.city and person.postal_code)


def email_without_consent(rule: LawRule, facts: Facts) -> str | None:
    """Why ``rule`` allows email to this person without e-sign consent, or None."""
    nm = rule.notice_methods
    if nm is None or nm.electronic in ("esign", "none"):
        return None
    if nm.electronic == "customary" and not facts.email_primary_channel:
        return None
    how = "email is the primary channel (INCIDENT.toml notice.email_primary_channel) and " \
        if nm.electronic == "customary" else ""
    return f"{how}{rule.jurisdiction} allows it ({nm.citation}: \"{nm.electronic_text}\")"


def email_lawful(person: Person, rule: LawRule, consent: bool, usable: bool, facts: Facts) -> bool:
    """Whether an email to ``person`` is a notice under ``rule``."""
    nm = rule.notice_methods
    if not usable or (nm is not None and nm.electronic == "none"):
        return False
    return consent or email_without_consent(rule, facts) is not None


def lacks_contact(person: Person, rule: LawRule, consent: bool, usable: bool, facts: Facts) -> bool:
    """No postal address and no email that is a notice under ``rule``: the contact details are insufficient."""
    return not has_post(person) and not email_lawful(person, rule, consent, usable, facts)


def cost_share(rule: LawRule, facts: Facts) -> tuple[int, str] | None:
    """The cost of notice under ``rule`` and how it was found (None without an estimate)."""
    if rule.jurisdiction in facts.cost_by_jurisdiction:
        return facts.cost_by_jurisdiction[rule.jurisdiction], "cost estimate"
    if facts.cost_usd is None:
        return None
    sub = rule.notice_methods.substitute if rule.notice_methods else None
    if sub and sub.count == "all_affected" or not facts.notified:
        return facts.cost_usd, "cost estimate"
    n = facts.residents.get(rule.jurisdiction, 0)
    if n >= facts.notified:
        return facts.cost_usd, "cost estimate"
    return facts.cost_usd * n // facts.notified, f"cost estimate for its {n:,} people (pro rata)"


def substitute_reason(rule: LawRule, lacking: bool, facts: Facts) -> str | None:
    """Why ``rule`` allows substitute notice for a person on these facts (None when it does not)."""
    nm = rule.notice_methods
    sub = nm.substitute if nm else None
    if nm is None or sub is None:
        return None
    where = f"{rule.jurisdiction}'s"
    cost = cost_share(rule, facts)
    if sub.cost_over is not None and cost and cost[0] > sub.cost_over:
        return f"{cost[1]} ${cost[0]:,} over {where} ${sub.cost_over:,} ({nm.citation})"
    people = facts.all_affected if sub.count == "all_affected" else facts.residents.get(rule.jurisdiction, 0)
    if sub.people_over is not None and people > sub.people_over:
        return f"{people:,} people to notify, over {where} {sub.people_over:,} ({nm.citation})"
    short = facts.lacking.get(rule.jurisdiction, 0)
    if lacking and sub.insufficient_contact and short >= sub.insufficient_contact_at_least:
        many = f" ({short} people lack them; {sub.insufficient_contact_at_least} or more needed)" \
            if sub.insufficient_contact_at_least > 1 else ""
        return f"contact details insufficient{many}, as {where} rule allows ({nm.citation})"
    if sub.disproportionate_effort and facts.disproportionate_effort:
        return f"individual notice would involve disproportionate effort (INCIDENT.toml), as {where} rule " \
               f"allows ({nm.citation})"
    return None


def why_not_substitute(rule: LawRule, facts: Facts) -> str:
    """Why ``rule`` does not allow substitute notice here (for the reason of a person who gets a letter)."""
    nm = rule.notice_methods
    if nm is None:
        return f"{rule.jurisdiction}'s law file has no notice-method rule"
    if nm.substitute is None:
        return f"{rule.jurisdiction} provides no substitute notice ({nm.citation})"
    sub = nm.substitute
    limits = [f"cost over ${sub.cost_over:,}" for _ in [0] if sub.cost_over is not None]
    limits += [f"more than {sub.people_over:,} people" for _ in [0] if sub.people_over is not None]
    if sub.insufficient_contact:
        at = f" for {sub.insufficient_contact_at_least} or more people" if sub.insufficient_contact_at_least > 1 else ""
        limits.append(f"insufficient contact details{at}")
    return f"{rule.jurisdiction} allows substitute notice only with {' or '.join(limits) or 'other facts'} " \
           f"({nm.citation})"


def decide(person: Person, rules: Sequence[LawRule], consent: bool, suppressed: bool, facts: Facts) -> Method:
    """The method for ``person`` under every one of ``rules``, with the reason naming the rule(s) (pure)."""
    usable = bool(person.email) and not suppressed
    if rules:
        reasons = [substitute_reason(r, lacks_contact(person, r, consent, usable, facts), facts) for r in rules]
        if all(reasons):
            why = "substitute notice: " + "; ".join(r for r in reasons if r)
            if usable and all(_email_part(r) for r in rules):
                return Method("email", why + "; email is part of it", "substitute")
            return Method("substitute", why, "substitute")
    if usable and consent:
        return Method("email", "consented to electronic notices (esign_consent)", "consent")
    allowed = [email_without_consent(r, facts) for r in rules]
    if usable and rules and all(allowed):
        return Method("email", "email without consent: " + "; ".join(a for a in allowed if a), "without consent")
    blocked = _blockers(rules, facts)
    if has_post(person):
        why = "address failed or bounced: moved to post" if suppressed else "postal address (default method)"
        return Method("post", why + blocked, "bounced" if suppressed else "default")
    if usable:
        return Method("email", "no postal address: email is the only contact" + blocked, "no address")
    return Method("substitute", "no usable postal address or email: substitute notice (website and media)" + blocked,
                  "no address")


def _email_part(rule: LawRule) -> bool:
    nm = rule.notice_methods
    return bool(nm and nm.substitute and "email" in nm.substitute.parts)


def _blockers(rules: Sequence[LawRule], facts: Facts) -> str:
    """The rules that kept substitute notice out, when another rule would have allowed it on the facts."""
    if not any(substitute_reason(r, False, facts) for r in rules):
        return ""
    return "; no substitute notice: " + "; ".join(why_not_substitute(r, facts) for r in rules
                                                  if not substitute_reason(r, False, facts))


def facts_for(plan: Mapping[str, Any], letters: Iterable[tuple[Letter, bool]], rules: Mapping[str, LawRule],
              incident: Incident, suppressed: set[str]) -> Facts:
    """The run's facts: the incident's estimate, head counts from the plan, who lacks contact details.

    ``letters`` gives each covered person's letter with their e-sign consent, once (read as it streams).
    """
    residents = {o["jurisdiction"]: int(o.get("people") or 0) for o in plan.get("obligations", [])
                 if o.get("audience") == "individuals"}
    base = Facts(incident.notice.cost_estimate_usd, dict(incident.notice.cost_by_jurisdiction), residents,
                 0, int(plan.get("people_total") or 0), {},
                 incident.notice.email_primary_channel, incident.notice.disproportionate_effort)
    lacking: Counter[str] = Counter()
    notified = 0
    for letter, consent in letters:
        notified += 1
        p = letter.person
        usable = bool(p.email) and p.email.lower() not in suppressed
        for j in letter.jurisdictions:
            if j in rules and lacks_contact(p, rules[j], consent, usable, base):
                lacking[j] += 1
    return Facts(base.cost_usd, base.cost_by_jurisdiction, residents, notified, base.all_affected or notified,
                 dict(lacking), base.email_primary_channel, base.disproportionate_effort)


def chooser(plan: Mapping[str, Any], letters: Iterable[tuple[Letter, bool]], rules: Iterable[LawRule],
            incident: Incident, suppressed: set[str]) -> Callable[[Letter, bool], Method]:
    """A function giving each letter's method under its laws (given the person's e-sign consent), with the facts
    of this run (read once from ``letters``) bound in."""
    by_j = {r.jurisdiction: r for r in rules}
    facts = facts_for(plan, letters, by_j, incident, suppressed)

    def choose(letter: Letter, consent: bool) -> Method:
        p = letter.person
        mine = [by_j[j] for j in letter.jurisdictions if j in by_j]
        return decide(p, mine, consent, p.email.lower() in suppressed, facts)

    return choose


def substitute_requirements(rules: Iterable[LawRule]) -> str:
    """What each law's substitute notice consists of, in its words' order (for ``substitute/requirements.txt``)."""
    lines = ["Substitute notice: what each law that allowed it requires.", ""]
    for rule in rules:
        nm: NoticeMethods | None = rule.notice_methods
        if nm is None or nm.substitute is None:
            continue
        sub = nm.substitute
        parts = [PART_WORDS[p] + (f", for at least {sub.website_days} days" if p == "website" and sub.website_days
                                  else "") for p in sub.parts]
        lines.append(f"{rule.jurisdiction} ({nm.citation}):")
        lines += [f"  - {p}" for p in parts]
        lines.append(f"  As the law file words it: \"{sub.text}\"")
        lines.append("")
    return "\n".join(lines)
