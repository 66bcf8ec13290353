"""What each person's notice must say, and how it reaches them: pure functions over typed values.

One notice per person: the union of the blocks every applicable law asks for (see ``blocks.toml``),
minus what any of them forbids; the credit-monitoring offer for the longest period any of them requires.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from aftermath.errors import UsageError
from aftermath.notify.coverage import exclusion, lives_in
from aftermath.notify.laws.schema import LawRule
from aftermath.notify.letters.incident import Incident, is_blank
from aftermath.notify.people import Person

HERE = Path(__file__).parent


class Block(BaseModel):
    """One piece of required content, recognised in law files' ``letter_content`` lines."""

    model_config = ConfigDict(extra="forbid")
    id: str
    match: list[str] = Field(default_factory=list)
    always: bool = False
    requires: list[str] = Field(default_factory=list)
    suppresses: list[str] = Field(default_factory=list)
    when_elements: list[str] = Field(default_factory=list)


class Agency(BaseModel):
    """An agency whose contact details a letter prints (FTC, a credit bureau, an attorney general)."""

    model_config = ConfigDict(extra="forbid")
    key: str
    name: str
    address: str
    phone: str
    website: str


def load_blocks(path: Path = HERE / "blocks.toml") -> list[Block]:
    """The registry of content blocks (data, not code)."""
    return [Block.model_validate(b) for b in tomllib.loads(path.read_text(encoding="utf-8"))["block"]]


def load_agencies(path: Path = HERE / "contacts.toml") -> list[Agency]:
    """Contact details of the agencies letters point to."""
    return [Agency.model_validate(a) for a in tomllib.loads(path.read_text(encoding="utf-8"))["agency"]]


@dataclass(frozen=True)
class Letter:
    """What one person's notice carries, and which laws asked for it."""

    person: Person
    jurisdictions: tuple[str, ...]
    blocks: frozenset[str]
    monitoring_months: int = 0
    regulators: tuple[str, ...] = ()
    why: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    monitoring_from: tuple[str, ...] = ()


def rules_for(person: Person, rules: Iterable[LawRule]) -> list[LawRule]:
    """The rules (among those with a duty to individuals in the plan) under which this person is covered."""
    return [r for r in rules if lives_in(person, r.applies_to_residents_of) and exclusion(person, r) is None]


def compose(person: Person, rules: Sequence[LawRule], blocks: Sequence[Block]) -> Letter:
    """The union of what ``rules`` require for ``person`` (pure)."""
    why: dict[str, list[str]] = {}
    for block in blocks:
        if block.when_elements and not person.elements & set(block.when_elements):
            continue
        if block.always:
            why.setdefault(block.id, [])
        for rule in rules:
            if any(p in line.lower() for line in rule.letter_content for p in block.match):
                why.setdefault(block.id, []).append(rule.jurisdiction)
    suppressed = {s for b in blocks if b.id in why for s in b.suppresses}
    chosen = frozenset(why) - suppressed
    months = max((monitoring_months(person, r) for r in rules), default=0)
    regulators = tuple(r.jurisdiction for r in rules if any(b.id == "regulator_contacts" and r.jurisdiction in
                                                             why.get(b.id, []) for b in blocks))
    source = tuple(r.jurisdiction for r in rules if months and monitoring_months(person, r) == months)
    return Letter(person, tuple(r.jurisdiction for r in rules), chosen, months, regulators,
                  {k: tuple(v) for k, v in why.items()}, source)


def monitoring_months(person: Person, rule: LawRule) -> int:
    """Months of credit monitoring ``rule`` requires for ``person`` (0 when none)."""
    cm = rule.credit_monitoring
    if not cm or not cm.required or (cm.when_elements and not person.elements & set(cm.when_elements)):
        return 0
    return cm.months or 12


def check_incident(letters: Iterable[Letter], incident: Incident, blocks: Sequence[Block]) -> None:
    """Raise naming the jurisdiction and the field when a letter needs what INCIDENT.toml leaves empty."""
    needs = {b.id: b.requires for b in blocks}
    for letter in letters:
        for block_id in sorted(letter.blocks):
            for name in needs.get(block_id, []):
                if is_blank(incident.value(name)):
                    who = ", ".join(letter.why.get(block_id, ())) or "every notice"
                    raise UsageError(f"INCIDENT.toml: field '{name}' is empty but {who} requires it "
                                     f"(person {letter.person.id}): fill it in and run again")
        if letter.monitoring_months:
            _check_monitoring(letter, incident)


def _check_monitoring(letter: Letter, incident: Incident) -> None:
    cm = incident.credit_monitoring
    who = ", ".join(letter.monitoring_from)
    for name in ("provider", "months"):
        if is_blank(getattr(cm, name)):
            raise UsageError(f"INCIDENT.toml: field 'credit_monitoring.{name}' is empty but {who} requires a "
                             f"credit-monitoring offer (person {letter.person.id}): fill it in and run again")
    if not (cm.enrol_url or cm.enrol_phone):
        raise UsageError(f"INCIDENT.toml: field 'credit_monitoring.enrol_url' (or enrol_phone) is empty but {who} "
                         f"requires saying how to enrol (person {letter.person.id}): fill it in and run again")
    if cm.months < letter.monitoring_months:
        raise UsageError(f"INCIDENT.toml: field 'credit_monitoring.months' is {cm.months} but {who} requires "
                         f"{letter.monitoring_months} (person {letter.person.id}): offer at least that")


@dataclass(frozen=True)
class Method:
    """How a person is notified, and why (chosen in ``methods.decide``)."""

    channel: str  # email | post | substitute
    reason: str
    basis: str = ""  # consent | without consent | substitute | default | bounced | no address
