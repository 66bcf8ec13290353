"""The shape of a law-rule file (``notify/laws/<group>/<code>.toml``).

Law rules are data, not code: each file states what counts as personal information in one
jurisdiction, the safe harbours, the deadlines and who must be told, with its citation, sources and
the date it was last reviewed. The engine evaluates every file the same way. Where sources disagree
or a value is uncertain, the file says so in ``uncertain``.

Elements vocabulary (the people file's ``elements`` column):
ssn, drivers_license, passport, military_id, taxpayer_id, financial_account,
financial_account_access, account_credentials, medical, health_insurance, biometric, dob, national_id
(an identifier issued by a country other than the US: a Canadian SIN, a UK National Insurance number...).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

ELEMENTS = ("ssn", "drivers_license", "passport", "military_id", "taxpayer_id", "financial_account",
            "financial_account_access", "account_credentials", "medical", "health_insurance", "biometric", "dob",
            "national_id")
Element = Literal["ssn", "drivers_license", "passport", "military_id", "taxpayer_id", "financial_account",
                  "financial_account_access", "account_credentials", "medical", "health_insurance",
                  "biometric", "dob", "national_id"]
EntityType = Literal["business", "hipaa-covered-entity", "hipaa-business-associate", "financial-institution",
                     "public-company"]
ENTITY_TYPES: tuple[EntityType, ...] = (
    "business", "hipaa-covered-entity", "hipaa-business-associate", "financial-institution", "public-company")
LAWS_DIR = Path(__file__).parent


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Deadline(_Rule):
    """When a duty is due: a number of days or hours after its clock starts, or only words.

    ``clock`` names the event that starts it: ``discovery`` (of the breach), ``determination``
    (that a breach occurred or that notice is required; treated as discovery until recorded),
    ``individual_notice`` (the day residents were notified), ``materiality`` (SEC: the day the
    incident was judged material), ``calendar_year_end`` (HIPAA small breaches).
    """

    days: int | None = None
    hours: int | None = None
    business_days: bool = False
    clock: Literal["discovery", "determination", "individual_notice", "materiality", "calendar_year_end"] = (
        "discovery")
    text: str = Field(description="The statute's words, e.g. 'most expedient time possible'.")

    @model_validator(mode="after")
    def _one_unit(self) -> Deadline:
        if self.days is not None and self.hours is not None:
            raise ValueError("give days or hours, not both")
        return self


class PersonalInformation(_Rule):
    """What counts: a name together with any of ``with_name``, or any of ``alone`` by itself."""

    with_name: list[Element]
    alone: list[Element] = Field(default_factory=list)
    any_record: bool = Field(default=False, description=(
        "Every record about an identifiable person counts, even one with no listed element (GDPR "
        "'personal data', PIPEDA 'personal information')."))
    notes: str = ""


class SafeHarbor(_Rule):
    """Encryption safe harbour: encrypted data is exempt unless its key was exposed too."""

    encryption: bool = True
    unless_key_compromised: bool = True
    notes: str = ""


class RiskOfHarm(_Rule):
    """Whether a finding that harm is unlikely excuses notice (and what must be done to rely on it)."""

    allowed: bool
    notes: str = ""


class Individuals(_Rule):
    """The duty to notify affected residents."""

    deadline: Deadline
    notes: str = ""


class Regulator(_Rule):
    """A regulator (attorney general, agency) to notify when ``threshold`` or more residents are affected.

    ``below``: the duty applies only when fewer than this many are affected (HIPAA's annual log of small
    breaches). ``per_subdivision``: the threshold counts the residents of each state separately.
    ``applies_to_entities``: only organisations of these types notify this regulator (New York's DFS hears
    from the financial institutions it regulates); unset, every organisation the law applies to does.
    """

    recipient: str
    threshold: int = 1
    below: int | None = None
    per_subdivision: bool = False
    applies_to_entities: list[EntityType] | None = None
    deadline: Deadline
    notes: str = ""


class Agencies(_Rule):
    """Consumer reporting agencies, when ``threshold`` or more residents are affected."""

    threshold: int
    per_subdivision: bool = False
    deadline: Deadline
    notes: str = ""


class Media(_Rule):
    """Notice to prominent media (e.g. HIPAA: more than 500 residents of a state: ``per_subdivision``)."""

    threshold: int
    per_subdivision: bool = False
    deadline: Deadline
    notes: str = ""


class CreditMonitoring(_Rule):
    """A duty to offer identity-theft protection or credit monitoring."""

    required: bool
    months: int | None = None
    when_elements: list[Element] = Field(default_factory=list)
    notes: str = ""


class LawRule(_Rule):
    """One jurisdiction's breach-notification law."""

    jurisdiction: str = Field(description="ISO 3166-2 (US-TX) or a code such as EU-GDPR, US-HIPAA.")
    name: str
    kind: Literal["us-state", "us-territory", "federal", "country", "international"]
    applies_to_residents_of: list[str] = Field(
        description="Where the affected person lives: ISO 3166-2 subdivisions (US-TX) or ISO 3166-1 "
                    "countries (DE, GB); ['US'] for every US resident; ['*'] for anyone.")
    applies_to_entities: list[EntityType] = Field(default_factory=lambda: list(ENTITY_TYPES))
    citation: str
    sources: list[str] = Field(min_length=1)
    last_reviewed: dt.date
    effective: dt.date | None = None
    personal_information: PersonalInformation
    safe_harbor: SafeHarbor = Field(default_factory=SafeHarbor)
    risk_of_harm: RiskOfHarm
    individuals: Individuals | None = None
    regulators: list[Regulator] = Field(default_factory=list)
    consumer_reporting_agencies: Agencies | None = None
    media: Media | None = None
    letter_content: list[str] = Field(default_factory=list)
    credit_monitoring: CreditMonitoring | None = None
    assessment: Deadline | None = Field(default=None, description=(
        "A duty to finish assessing a suspected breach by a date (Australia s 26WH: 30 days)."))
    uncertain: list[str] = Field(default_factory=list, description="Where sources disagree or a value is unsure.")
    notes: str = ""


class LawFileError(ValueError):
    """A law-rule file that does not match the schema."""


def load_rule(path: Path) -> LawRule:
    """Read and validate one law-rule file."""
    try:
        return LawRule.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise LawFileError(f"{path.name}: {exc}") from exc


def load_all(root: Path = LAWS_DIR) -> list[LawRule]:
    """Every rule file under the laws folder, sorted by jurisdiction."""
    rules = [load_rule(p) for p in sorted(root.rglob("*.toml"))]
    return sorted(rules, key=lambda r: r.jurisdiction)
