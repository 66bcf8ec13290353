"""The shape of a law-rule file (``notify/laws/<group>/<code>.toml``).

Law rules are data, not code: each file states what counts as personal information in one
jurisdiction, the safe harbours, the deadlines and who must be told, with its citation, sources and
the date it was last reviewed. The engine evaluates every file the same way. Where sources disagree
or a value is uncertain, the file says so in ``uncertain``.

Elements vocabulary (the people file's ``elements`` column):
ssn, drivers_license, passport, military_id, taxpayer_id, financial_account,
financial_account_access, account_credentials, medical, health_insurance, biometric, dob, state_id,
genetic, precise_geolocation, irs_ip_pin, electronic_signature, national_id (an identifier issued by a
country other than the US: a Canadian SIN, a UK National Insurance number...).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Element = Literal["ssn", "drivers_license", "passport", "military_id", "taxpayer_id", "financial_account",
                  "financial_account_access", "account_credentials", "medical", "health_insurance",
                  "biometric", "dob", "state_id", "genetic", "precise_geolocation", "irs_ip_pin",
                  "electronic_signature", "national_id"]
ELEMENTS: tuple[str, ...] = get_args(Element)
Clock = Literal["discovery", "determination", "individual_notice", "materiality", "calendar_year_end",
                "hhs_notice", "no_harm_determination"]
Relation = Literal["before", "with", "after"]
# state-regulated-financial: licensed or regulated by a state's banking, insurance or securities regulator
# (Maine, Vermont, New Hampshire: that regulator hears of the breach instead of the attorney general).
# public-body: a public body or an organisation supported wholly or principally by public funds (Virginia's
# medical-information law binds only these).
EntityType = Literal["business", "hipaa-covered-entity", "hipaa-business-associate", "financial-institution",
                     "public-company", "state-regulated-financial", "public-body"]
ENTITY_TYPES: tuple[EntityType, ...] = get_args(EntityType)
LAWS_DIR = Path(__file__).parent


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Period(_Rule):
    """A number of days or hours after a clock starts.

    ``clock`` names the event that starts it: ``discovery`` (of the breach), ``determination``
    (that a breach occurred or that notice is required; treated as discovery until recorded),
    ``individual_notice`` (the day residents were notified), ``materiality`` (SEC: the day the
    incident was judged material), ``calendar_year_end`` (HIPAA small breaches), ``hhs_notice`` (the
    day HHS was notified under HIPAA: another regime's event), ``no_harm_determination`` (the day the
    organisation determined in writing that harm is unlikely). Hours follow their clock as days do.
    """

    days: int | None = None
    hours: int | None = None
    business_days: bool = False
    clock: Clock = "discovery"

    @model_validator(mode="after")
    def _one_unit(self) -> Period:
        if self.days is not None and self.hours is not None:
            raise ValueError("give days or hours, not both")
        return self


class Deadline(Period):
    """When a duty is due: a period after its clock, or only words; ``earliest_of`` adds other clocks.

    ``earliest_of`` lists further periods, each with its own clock, of which the statute says "whichever
    is sooner" (Arkansas: with individual notice or within 45 days; Vermont: 14 business days or when
    consumers are notified): the duty is due at the earliest of them all.
    """

    text: str = Field(description="The statute's words, e.g. 'most expedient time possible'.")
    earliest_of: list[Period] = Field(default_factory=list)


class PersonalInformation(_Rule):
    """What counts: a name together with any of ``with_name``, or any of ``alone`` by itself."""

    with_name: list[Element]
    alone: list[Element] = Field(default_factory=list)
    any_record: bool = Field(default=False, description=(
        "Every record about an identifiable person counts, even one with no listed element (GDPR "
        "'personal data', PIPEDA 'personal information')."))
    notes: str = ""


class SafeHarbor(_Rule):
    """Encryption safe harbour: encrypted data is exempt unless its key was exposed too.

    ``unless_key_compromised = false`` (the exemption survives a stolen key) needs ``key_compromised_text``:
    the statute's own words that say so. ``audiences``: the duties the harbour excuses (GDPR Art. 34(3)(a)
    excuses the notice to individuals, while Art. 33 still requires the regulator); unset, all of them.
    """

    encryption: bool = True
    unless_key_compromised: bool = True
    key_compromised_text: str = ""
    audiences: list[Literal["individuals", "regulator", "consumer_reporting_agencies", "media"]] | None = None
    notes: str = ""

    @model_validator(mode="after")
    def _key_rule_quoted(self) -> SafeHarbor:
        if self.encryption and not self.unless_key_compromised and not self.key_compromised_text.strip():
            raise ValueError("unless_key_compromised = false needs key_compromised_text: the statute's words that "
                             "exempt encrypted data even when its key was taken")
        return self


class RiskOfHarm(_Rule):
    """Whether a finding that harm is unlikely excuses notice (and what must be done to rely on it)."""

    allowed: bool
    notes: str = ""


class Individuals(_Rule):
    """The duty to notify affected residents."""

    deadline: Deadline
    notes: str = ""


FormAnswer = Literal["organisation", "organisation_address", "organisation_zip", "contact_name", "contact_phone",
                     "contact_email", "residents", "residents_notified", "total_affected", "breach_start",
                     "breach_end", "breach_dates", "discovery_date", "notice_date", "information_types",
                     "description", "actions_taken", "actions_planned", "law_enforcement_delay", "notice_method",
                     "substitute_notice", "credit_monitoring", "sample_notice", "counsel"]
FORM_ANSWERS: tuple[str, ...] = get_args(FormAnswer)


class FormField(_Rule):
    """One field of a regulator's form: its label as the form shows it, and what answers it.

    ``answer`` names the figure filled from the plan and INCIDENT.toml (``residents``: the plan's count
    for this duty; ``notice_date``: the date of the notices; ``sample_notice``: the sample notice file
    written next to the draft...); ``counsel`` when only the business and its counsel can answer.
    """

    label: str
    answer: FormAnswer = "counsel"
    notes: str = ""


class WebForm(_Rule):
    """A regulator's reporting form (web form, or a form file it asks for): where it is and its fields in order.

    ``source``: where the field list was read and when (also in the law file's ``sources``); a list read
    from a secondary description says so in the file's ``uncertain``.
    """

    url: str
    source: str
    fields: list[FormField] = Field(min_length=1)
    notes: str = ""


class Regulator(_Rule):
    """A regulator (attorney general, agency) to notify when ``threshold`` or more residents are affected.

    ``below``: the duty applies only when fewer than this many are affected (HIPAA's annual log of small
    breaches). ``per_subdivision``: the threshold counts the residents of each state separately.
    ``applies_to_entities``: only organisations of these types notify this regulator (New York's DFS hears
    from the financial institutions it regulates); unset, every organisation the law applies to does.
    ``replaces``: the recipient this one stands in for when it applies (Maine: the Department of
    Professional and Financial Regulation instead of the attorney general for the entities it licenses).
    ``relation``: the duty's place relative to the notice to individuals (``before``: Maryland, New Jersey).
    ``only_if_risk_of_harm_relied_on``: the duty exists only when the organisation relies on the
    risk-of-harm exception instead of notifying (Florida, Alaska: the written determination goes to the AG).
    ``when_elements``: the duty arises only for people whose exposed elements include one of these.
    """

    recipient: str
    threshold: int = 1
    below: int | None = None
    per_subdivision: bool = False
    applies_to_entities: list[EntityType] | None = None
    replaces: str | None = None
    relation: Relation | None = None
    only_if_risk_of_harm_relied_on: bool = False
    when_elements: list[Element] = Field(default_factory=list)
    count: Literal["residents", "all_affected"] = "residents"
    deadline: Deadline
    notes: str = ""
    form: WebForm | None = None  # its reporting form's fields, answered next to the draft


class ExemptEntity(_Rule):
    """An organisation type the law exempts or deems compliant (Minnesota: GLBA financial institutions).

    ``still_owed``: duties that remain for it all the same (Illinois: a HIPAA entity deemed compliant must
    still send the attorney general a copy within 5 business days of notifying HHS).
    """

    entity: EntityType
    text: str = Field(description="The statute's words that exempt it or deem it compliant.")
    still_owed: list[Regulator] = Field(default_factory=list)


class Agencies(_Rule):
    """Consumer reporting agencies, when ``threshold`` or more residents are affected.

    ``count``: ``residents`` (the default) counts the covered residents of the jurisdiction;
    ``all_affected`` counts every person the breach touched whose data is covered under this law, wherever
    they live (statutes that say "more than 1,000 persons at one time").
    """

    threshold: int
    per_subdivision: bool = False
    count: Literal["residents", "all_affected"] = "residents"
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


Electronic = Literal["esign", "customary", "any", "none"]
SubstitutePart = Literal["email", "website", "media", "attorney_general", "toll_free_number", "alternative"]


class Substitute(_Rule):
    """When the statute lets a website posting and media notice stand in for individual notice, and what it is.

    Substitute notice is allowed when ANY of the triggers the statute names is met: the cost of notice
    ``cost_over`` dollars (strictly more: "would exceed $250,000"), the people to be notified
    ``people_over`` (strictly more: "the affected class ... exceeds 500,000"; counted as ``count`` says),
    the organisation lacks sufficient contact details (``insufficient_contact``; ``insufficient_contact_at_least``:
    only when that many people lack them, HIPAA's 10), or individual notice would take disproportionate
    effort (``disproportionate_effort``: GDPR Art. 34(3)(c), PIPEDA's undue hardship, Australia's "not
    practicable"; a judgment the business records in INCIDENT.toml). ``parts`` is what the substitute notice
    consists of (``email`` to those with an address, a conspicuous ``website`` posting, for ``website_days`` days
    where the statute says, ``media``: major statewide media, ``attorney_general``: a letter showing the facts,
    ``toll_free_number``, ``alternative``: another form of written notice or telephone, HIPAA's for fewer than
    10). ``text``: the statute's words (where only secondary sources were read, their summary of them, and the
    file's ``uncertain`` says so).
    """

    cost_over: int | None = Field(default=None, ge=0)
    people_over: int | None = Field(default=None, ge=0)
    count: Literal["residents", "all_affected"] = "residents"
    insufficient_contact: bool = False
    insufficient_contact_at_least: int = Field(default=1, ge=1)
    disproportionate_effort: bool = False
    parts: list[SubstitutePart] = Field(min_length=1)
    website_days: int | None = Field(default=None, ge=1)
    text: str = Field(min_length=1)

    @model_validator(mode="after")
    def _some_trigger(self) -> Substitute:
        if (self.cost_over is None and self.people_over is None and not self.insufficient_contact
                and not self.disproportionate_effort):
            raise ValueError("substitute notice needs a trigger: cost_over, people_over, insufficient_contact "
                             "or disproportionate_effort")
        return self


class NoticeMethods(_Rule):
    """How the notice to individuals may be given (issue 15: the method follows the law).

    ``written``: written notice by post. ``electronic``: ``esign`` (only as 15 U.S.C. § 7001 allows, i.e. with
    the person's consent to electronic notices), ``customary`` (also without consent where email is the
    organisation's primary or customary means of communicating with the person: Colorado, Oregon, Ohio...),
    ``any`` (email to an address on file is enough: Florida, Arizona, Indiana, GDPR), ``none``; any value but
    ``esign`` and ``none`` needs ``electronic_text``, the statute's condition in its words. ``telephone``:
    telephonic notice is allowed (unset: not recorded). ``substitute``: see :class:`Substitute`; unset, the
    statute provides none.
    """

    written: bool = True
    electronic: Electronic
    electronic_text: str = ""
    telephone: bool | None = None
    substitute: Substitute | None = None
    citation: str = Field(min_length=1, description="The subsection that says how notice may be given.")
    notes: str = ""

    @model_validator(mode="after")
    def _condition_quoted(self) -> NoticeMethods:
        if self.electronic in ("customary", "any") and not self.electronic_text.strip():
            raise ValueError(f"electronic = {self.electronic!r} needs electronic_text: the statute's words that "
                             "allow email without the person's consent")
        return self


class LawRule(_Rule):
    """One jurisdiction's breach-notification law."""

    jurisdiction: str = Field(description="ISO 3166-2 (US-TX) or a code such as EU-GDPR, US-HIPAA.")
    name: str
    kind: Literal["us-state", "us-territory", "federal", "country", "international"]
    applies_to_residents_of: list[str] = Field(
        description="Where the affected person lives: ISO 3166-2 subdivisions (US-TX) or ISO 3166-1 "
                    "countries (DE, GB); ['US'] for every US resident; ['*'] for anyone.")
    applies_to_entities: list[EntityType] = Field(default_factory=lambda: list(ENTITY_TYPES))
    exempt_entities: list[ExemptEntity] = Field(default_factory=list, description=(
        "Organisation types the law exempts or deems compliant: when the user names one with --entity-type, "
        "no duty of this law is listed and the reason is given."))
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
    notice_methods: NoticeMethods | None = Field(default=None, description=(
        "How the notice to individuals may be given: post, email with or without consent, substitute notice."))
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
