"""The obligations engine: who must be told what, by when. A pure function of its inputs.

``plan(people, discovered, entity_types, rules)`` evaluates every law rule the same way:

1. A rule applies to a person who lives where it applies (``applies_to_residents_of``: a subdivision such
   as US-TX, a country such as DE, or ``*``) and, for federal regimes, when the organisation is of one of
   its entity types (every organisation is a ``business``).
2. The person is *covered* when their exposed elements are personal information under that rule and no
   safe harbour excuses them (encrypted data whose key was not compromised); see
   :mod:`aftermath.notify.coverage`. Otherwise they are counted under ``not_covered`` with the reason,
   grouped by jurisdiction and reason (no personal data listed). An organisation the rule exempts
   (``exempt_entities``) owes only the duties the exemption keeps (``still_owed``).
3. Each duty of the rule (individuals, regulators, consumer reporting agencies, media) whose threshold is
   met by the number of covered residents (or everyone affected, ``count = "all_affected"``) becomes an
   obligation with its deadline (see ``deadlines``), its relation to the individuals' notice and any
   condition it depends on (the risk-of-harm exception relied on, a count not yet known).

Risk-of-harm exceptions are never applied: the duty is listed and the notes say the exception may apply,
because only counsel can decide it. The output supports, and does not replace, legal advice.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from operator import attrgetter
from typing import Any

from aftermath.notify import deadlines
from aftermath.notify.coverage import Cover, all_affected, by_place, counts_everyone, covered_residents, home, matches
from aftermath.notify.laws.schema import Deadline, ExemptEntity, LawRule
from aftermath.notify.people import Person

AUDIENCES = ("individuals", "regulator", "consumer_reporting_agencies", "media")
EXEMPT_ENTITY = "the organisation is exempt or deemed compliant as {entity}: "
RELATION_WORDS = {"before": "before individual notice", "with": "with individual notice",
                  "after": "after individual notice"}
RISK_CONDITION = "only if the risk-of-harm exception is relied on instead of notifying"
COUNT_CONDITION = "only if {threshold} or more people count (the number affected is not known yet)"
NO_RULE = "no law file for this place: check its law by hand"


@dataclass(frozen=True)
class Obligation:
    """One duty to notify one audience, with its deadline and where it comes from."""

    jurisdiction: str
    audience: str
    recipient: str
    people: int
    deadline: dt.date | None
    deadline_text: str
    citation: str
    notes: str
    clock: str
    deadline_at: dt.datetime | None = None
    area: str = ""
    last_reviewed: dt.date | None = None
    sources: tuple[str, ...] = ()
    uncertain: tuple[str, ...] = ()
    letter_content: tuple[str, ...] = ()
    person_ids: tuple[str, ...] = field(default=(), repr=False)
    relation: str = ""
    condition: str = ""

    @property
    def asap(self) -> bool:
        """No fixed date: the statute's words only; flagged "as soon as possible"."""
        return self.deadline is None

    def sort_key(self) -> tuple[Any, ...]:
        """Dated duties first by date and time, then words-only ones; ties by jurisdiction and audience."""
        moment = self.deadline_at.timestamp() if self.deadline_at else 0.0
        first = 0 if self.relation == RELATION_WORDS["before"] else 1
        return (self.deadline is None, self.deadline or dt.date.max, moment, first, self.jurisdiction,
                AUDIENCES.index(self.audience) if self.audience in AUDIENCES else 9, self.area, self.recipient)


@dataclass(frozen=True)
class NotCovered:
    """People of a jurisdiction left out of its duties, and why (counts only)."""

    jurisdiction: str
    reason: str
    people: int


@dataclass(frozen=True)
class BelowThreshold:
    """A duty that did not arise because too few residents were covered (kept for counsel's review)."""

    jurisdiction: str
    recipient: str
    people: int
    threshold: int


@dataclass(frozen=True)
class Plan:
    """Every obligation for one breach, and the people no rule covers."""

    discovered: dt.datetime
    time_known: bool
    people_total: int
    entity_types: tuple[str, ...]
    events: Mapping[str, dt.date]
    obligations: tuple[Obligation, ...]
    not_covered: tuple[NotCovered, ...]
    below_threshold: tuple[BelowThreshold, ...]
    rules: tuple[tuple[str, dt.date], ...]
    places: tuple[tuple[str, int], ...] = ()
    count_known: bool = True

    @property
    def unmapped_people(self) -> int:
        """People living where no law file applies (the plan is incomplete for them)."""
        return sum(n.people for n in self.not_covered if n.reason == NO_RULE)


def plan(people: Sequence[Person], discovered: dt.datetime, entity_types: Iterable[str], rules: Sequence[LawRule],
         events: Mapping[str, dt.date] | None = None, time_known: bool = True, count_known: bool = True) -> Plan:
    """Evaluate every rule on the affected people; return the obligations sorted by deadline.

    ``count_known=False``: the people file is not the full count yet (the investigation goes on); a duty whose
    threshold is not met is listed all the same, with the condition that the count reaches its threshold.
    """
    types = frozenset(entity_types) | {"business"}
    events = dict(events or {})
    residents_by_place = by_place(people)
    obligations: list[Obligation] = []
    excluded: Counter[tuple[str, str]] = Counter()
    below: list[BelowThreshold] = []
    for rule in (r for r in rules if types & set(r.applies_to_entities)):
        residents = [p for place, group in residents_by_place.items() if matches(place, rule.applies_to_residents_of)
                     for p in group]
        exempt = next((e for e in rule.exempt_entities if e.entity in types), None)
        if exempt is not None:
            if residents and not exempt.still_owed:
                excluded[(rule.jurisdiction, EXEMPT_ENTITY.format(entity=exempt.entity) + exempt.text)] += len(
                    residents)
                continue
            rule = _still_owed(rule, exempt)
        covered, unharboured = covered_residents(rule, residents, excluded)
        if covered or unharboured:
            everyone = all_affected(rule, people) if counts_everyone(rule) else []
            cover = Cover(covered, unharboured, everyone, count_known)
            duties, missed = _duties(rule, cover, discovered, events, time_known, types)
            obligations += duties
            below += missed
    homes = [r.applies_to_residents_of for r in rules if r.kind != "federal"]
    for place, group in residents_by_place.items():
        if not any(matches(place, where) for where in homes):
            excluded[(place[1], NO_RULE)] += len(group)
    return Plan(discovered, time_known, len(people), tuple(sorted(types)), events,
                tuple(sorted(obligations, key=Obligation.sort_key)),
                tuple(NotCovered(j, why, n) for (j, why), n in sorted(excluded.items())),
                tuple(below), tuple((r.jurisdiction, r.last_reviewed) for r in rules),
                tuple(sorted((sub, len(group)) for (_, sub), group in residents_by_place.items())), count_known)


def _still_owed(rule: LawRule, exempt: ExemptEntity) -> LawRule:
    """The rule as it binds an organisation it deems compliant: only the duties it still owes."""
    note = f"Deemed compliant or exempt as {exempt.entity} ({exempt.text}); these duties remain."
    return rule.model_copy(update={"individuals": None, "regulators": exempt.still_owed, "media": None,
                                   "consumer_reporting_agencies": None, "exempt_entities": [],
                                   "notes": " ".join(n for n in [rule.notes, note] if n)})


@dataclass(frozen=True)
class _Duty:
    audience: str
    recipient: str
    threshold: int
    deadline: Deadline
    notes: str
    below: int | None = None
    per_subdivision: bool = False
    count: str = "residents"
    relation: str | None = None
    condition: str = ""
    when_elements: frozenset[str] = frozenset()


def _duty_list(rule: LawRule, types: frozenset[str]) -> list[_Duty]:
    """Every duty of the rule besides individuals' notice, for an organisation of these types."""
    regulators = [r for r in rule.regulators if r.applies_to_entities is None or types & set(r.applies_to_entities)]
    replaced = {r.replaces for r in regulators if r.replaces}
    duties = [_Duty("regulator", r.recipient, r.threshold, r.deadline, r.notes, r.below, r.per_subdivision, r.count,
                    r.relation, RISK_CONDITION if r.only_if_risk_of_harm_relied_on else "",
                    frozenset(r.when_elements))
              for r in regulators if r.recipient not in replaced]
    if rule.consumer_reporting_agencies:
        a = rule.consumer_reporting_agencies
        duties.append(_Duty("consumer_reporting_agencies", "Nationwide consumer reporting agencies", a.threshold,
                            a.deadline, a.notes, per_subdivision=a.per_subdivision, count=a.count))
    if rule.media:
        m = rule.media
        duties.append(_Duty("media", "Prominent media outlets", m.threshold, m.deadline, m.notes,
                            per_subdivision=m.per_subdivision))
    return duties


def _duties(rule: LawRule, cover: Cover, discovered: dt.datetime, events: Mapping[str, dt.date], time_known: bool,
            types: frozenset[str] = frozenset({"business"})) -> tuple[list[Obligation], list[BelowThreshold]]:
    common = _common_notes(rule, cover.unharboured, discovered, events, time_known)
    out: list[Obligation] = []
    missed: list[BelowThreshold] = []
    individuals_due: dt.date | None = None
    residents = cover.for_audience(rule, "individuals")
    if rule.individuals and residents:
        ob = _obligation(rule, "individuals", f"Affected residents ({rule.name})", residents,
                         rule.individuals.deadline, rule.individuals.notes, common, discovered, events, time_known,
                         None)
        ob = _with_letter(ob, rule, residents)
        individuals_due = ob.deadline
        out.append(ob)
    for duty in _duty_list(rule, types):
        people = cover.for_audience(rule, duty.audience)
        if duty.when_elements:
            people = [p for p in people if p.elements & duty.when_elements]
        everyone = [p for p in cover.everyone if not duty.when_elements or p.elements & duty.when_elements]
        for area, group in _groups(people, duty.per_subdivision):
            label = f"{duty.recipient} serving {area}" if area else duty.recipient
            counted = len(everyone) if duty.count == "all_affected" else len(group)
            this = duty
            if counted < duty.threshold:
                missed.append(BelowThreshold(rule.jurisdiction, label, counted, duty.threshold))
                if cover.count_known:
                    continue
                this = replace(duty, condition=" and ".join(
                    c for c in [duty.condition, COUNT_CONDITION.format(threshold=duty.threshold)] if c))
            if this.below is None or counted < this.below:
                ob = _obligation(rule, this.audience, label, group, this.deadline, this.notes, common, discovered,
                                 events, time_known, individuals_due, area)
                out.append(_related(ob, this, counted, individuals_due))
    return out, missed


def _related(ob: Obligation, duty: _Duty, counted: int, individuals_due: dt.date | None) -> Obligation:
    """Say how a duty stands to the individuals' notice, its condition, and what its threshold counted."""
    changes: dict[str, Any] = {"condition": duty.condition}
    notes = [ob.notes]
    if duty.count == "all_affected":
        notes.append(f"The threshold counts all {counted} people affected, wherever they live.")
    if duty.condition:
        notes.append(f"This duty exists {duty.condition}.")
    if duty.relation:
        words = RELATION_WORDS[duty.relation]
        changes["relation"] = words
        changes["deadline_text"] = f"{ob.deadline_text} [{words}]"
        if duty.relation != "after" and individuals_due and (ob.deadline is None or ob.deadline > individuals_due):
            changes["deadline"] = individuals_due
    changes["notes"] = " ".join(n for n in notes if n)
    return Obligation(**{**ob.__dict__, **changes})


def _groups(covered: list[Person], per_subdivision: bool) -> list[tuple[str, list[Person]]]:
    if not per_subdivision:
        return [("", covered)]
    by_area: dict[str, list[Person]] = defaultdict(list)
    for person in covered:
        by_area[home(person)[1]].append(person)
    return sorted(by_area.items())


def _obligation(rule: LawRule, audience: str, recipient: str, group: list[Person], deadline: Deadline, notes: str,
                common: list[str], discovered: dt.datetime, events: Mapping[str, dt.date], time_known: bool,
                individuals_due: dt.date | None, area: str = "") -> Obligation:
    when = deadlines.due(deadline, discovered, events, individuals_due, time_known)
    text = when.text if not when.asap else f"As soon as possible: {when.text}"
    return Obligation(
        jurisdiction=rule.jurisdiction, audience=audience, recipient=recipient, people=len(group),
        deadline=when.date, deadline_text=text, citation=rule.citation,
        notes=" ".join(n for n in [notes, when.note, *common] if n), clock=when.clock, deadline_at=when.at,
        area=area, last_reviewed=rule.last_reviewed, sources=tuple(rule.sources), uncertain=tuple(rule.uncertain),
        person_ids=tuple(map(attrgetter("id"), group)))


def _with_letter(ob: Obligation, rule: LawRule, covered: list[Person]) -> Obligation:
    extra = ""
    cm = rule.credit_monitoring
    if cm and cm.required and (not cm.when_elements or any(p.elements & set(cm.when_elements) for p in covered)):
        months = f"{cm.months} months of " if cm.months else ""
        extra = f"Offer {months}credit monitoring or identity-theft protection at no cost. {cm.notes}".strip()
    notes = " ".join(n for n in [ob.notes, extra] if n)
    return Obligation(**{**ob.__dict__, "notes": notes, "letter_content": tuple(rule.letter_content)})


def _common_notes(rule: LawRule, covered: list[Person], discovered: dt.datetime, events: Mapping[str, dt.date],
                  time_known: bool) -> list[str]:
    notes = []
    if rule.risk_of_harm.allowed:
        notes.append("A risk-of-harm exception may apply (listed anyway; counsel decides): "
                     + (rule.risk_of_harm.notes or "see the statute."))
    encrypted = sum(1 for p in covered if p.encrypted and not p.key_compromised)
    if encrypted and not rule.safe_harbor.encryption:
        notes.append(f"{encrypted} of these people's data was encrypted with a key not known to be compromised; "
                     "this law has no automatic encryption safe harbour, but encryption weighs on the risk "
                     "assessment.")
    elif encrypted and rule.safe_harbor.audiences is not None:
        notes.append(f"{encrypted} of these people's data was encrypted with a key not known to be compromised: "
                     f"that excuses only the notice to {', '.join(rule.safe_harbor.audiences)} here; for the other "
                     "duties encryption weighs on the risk assessment.")
    if rule.assessment:
        when = deadlines.due(rule.assessment, discovered, events, None, time_known)
        date = when.date.isoformat() if when.date else "as soon as possible"
        notes.append(f"Assessment of the suspected breach due by {date}: {rule.assessment.text}.")
    if rule.notes:
        notes.append(rule.notes)
    return notes


def to_json(result: Plan, with_ids: bool = False) -> dict[str, Any]:
    """The plan as the documented JSON shape (person ids only when ``with_ids``)."""
    return {
        "discovered": (result.discovered.isoformat() if result.time_known else result.discovered.date().isoformat()),
        "people_total": result.people_total,
        "entity_types": list(result.entity_types),
        "events": {k: v.isoformat() for k, v in sorted(result.events.items())},
        "obligations": [_obligation_json(o, with_ids) for o in result.obligations],
        "not_covered": [n.__dict__ for n in result.not_covered],
        "below_threshold": [b.__dict__ for b in result.below_threshold],
        "rules": [{"jurisdiction": j, "last_reviewed": d.isoformat()} for j, d in result.rules],
        "people_by_place": dict(result.places),
        "count_known": result.count_known,
    }


def _obligation_json(o: Obligation, with_ids: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "jurisdiction": o.jurisdiction, "audience": o.audience, "recipient": o.recipient, "people": o.people,
        "deadline": o.deadline.isoformat() if o.deadline else None, "deadline_text": o.deadline_text,
        "citation": o.citation, "notes": o.notes, "clock": o.clock, "asap": o.asap,
        "deadline_at": o.deadline_at.isoformat() if o.deadline_at else None, "area": o.area,
        "last_reviewed": o.last_reviewed.isoformat() if o.last_reviewed else None, "sources": list(o.sources),
        "uncertain": list(o.uncertain), "letter_content": list(o.letter_content),
        "relation": o.relation, "condition": o.condition,
    }
    if with_ids:
        out["person_ids"] = list(o.person_ids)
    return out
