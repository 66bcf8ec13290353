"""Who a law covers: where a person lives, and whether their exposed data is personal information there.

Pure functions used by the engine (:mod:`aftermath.notify.engine`): a person is covered by a rule when they
live where it applies and their elements count under it, and no safe harbour excuses them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aftermath.notify.laws.schema import LawRule
from aftermath.notify.people import Person

NO_ELEMENTS = "no personal-information elements exposed"
SAFE_HARBOUR = "encrypted and the key was not compromised (encryption safe harbour)"
KEY_TAKEN_EXEMPT = "encrypted; exempt here even though the key was compromised, in the statute's words: "
NO_NAME = "no name with the elements (they count here only together with a name)"
# US territories that address files often write as countries (PR rather than US + PR).
TERRITORIES = frozenset({"PR", "GU", "VI", "AS", "MP"})


@dataclass(frozen=True)
class Cover:
    """Who a rule's duties count: ``harboured`` with the safe harbour applied, ``unharboured`` without it
    (for audiences the harbour does not excuse), and ``everyone`` the rule would cover wherever they live."""

    harboured: list[Person]
    unharboured: list[Person]
    everyone: list[Person]
    count_known: bool = True

    def for_audience(self, rule: LawRule, audience: str) -> list[Person]:
        """The people a duty to ``audience`` counts."""
        audiences = rule.safe_harbor.audiences
        return self.harboured if audiences is None or audience in audiences else self.unharboured


def covered_residents(rule: LawRule, residents: list[Person],
             excluded: Counter[tuple[str, str]]) -> tuple[list[Person], list[Person]]:
    """Residents covered with the safe harbour applied, and (when it excuses only some audiences) without it."""
    partial = rule.safe_harbor.audiences is not None
    covered: list[Person] = []
    unharboured: list[Person] = []
    seen: dict[tuple[frozenset[str], bool, bool, bool], tuple[str | None, str | None]] = {}
    for person in residents:
        shape = (person.elements, bool(person.name.strip()), person.encrypted, person.key_compromised)
        if shape not in seen:
            seen[shape] = (exclusion(person, rule), element_exclusion(person, rule) if partial else None)
        reason, element_reason = seen[shape]
        if reason:
            excluded[(rule.jurisdiction, reason)] += 1
        else:
            covered.append(person)
        if partial and not element_reason:
            unharboured.append(person)
    return covered, (unharboured if partial else covered)


def counts_everyone(rule: LawRule) -> bool:
    """Whether any duty of the rule counts everyone affected rather than its residents."""
    cra = rule.consumer_reporting_agencies
    return any(r.count == "all_affected" for r in rule.regulators) or bool(cra and cra.count == "all_affected")


def all_affected(rule: LawRule, people: Sequence[Person]) -> list[Person]:
    """Everyone in the breach whose data this rule would cover if they lived there ("persons at one time")."""
    return [p for p in people if exclusion(p, rule) is None]


def home(person: Person) -> tuple[str, str]:
    """Where a person lives as (country, subdivision); a US territory written as a country is read as US."""
    if person.country in TERRITORIES and not person.region:
        return "US", f"US-{person.country}"
    if person.country in TERRITORIES and person.region == person.country:
        return "US", f"US-{person.country}"
    return person.country, person.subdivision


def by_place(people: Sequence[Person]) -> dict[tuple[str, str], list[Person]]:
    """People grouped by where they live, (country, subdivision)."""
    groups: dict[tuple[str, str], list[Person]] = defaultdict(list)
    for person in people:
        groups[home(person)].append(person)
    return groups


def matches(place: tuple[str, str], where: Iterable[str]) -> bool:
    """Whether a (country, subdivision) is one of ``where`` (``*`` is anywhere)."""
    return any(w in ("*", place[0], place[1]) for w in where)


def lives_in(person: Person, places: Iterable[str]) -> bool:
    """Whether the person's residence (subdivision or country) is one of ``places`` (``*`` is anywhere)."""
    return matches(home(person), places)


def exclusion(person: Person, rule: LawRule) -> str | None:
    """Why a resident is not covered by ``rule`` (None when covered).

    The encryption safe harbour never excuses data whose key was compromised unless the file quotes the
    statute saying it does, and the reason given then says so: it never contradicts the input.
    """
    reason = element_exclusion(person, rule)
    if reason:
        return reason
    harbour = rule.safe_harbor
    if not (harbour.encryption and person.encrypted):
        return None
    if not person.key_compromised:
        return SAFE_HARBOUR
    if harbour.unless_key_compromised:
        return None
    return KEY_TAKEN_EXEMPT + harbour.key_compromised_text


def element_exclusion(person: Person, rule: LawRule) -> str | None:
    """Why a person's elements are not personal information under ``rule`` (None when they are)."""
    info = rule.personal_information
    if not info.any_record:
        if not person.elements:
            return NO_ELEMENTS
        counted = set(info.alone) | (set(info.with_name) if person.name.strip() else set())
        if not person.elements & counted:
            if person.elements & set(info.with_name):
                return NO_NAME
            return "only elements that are not personal information here: " + ", ".join(sorted(person.elements))
    return None
