"""``INCIDENT.toml``: what every notice must tell, written once by the business with counsel.

Validated with pydantic; :func:`missing_for` names, per jurisdiction, the fields its letters need and the
file leaves empty, so a notice is never written with a hole in it.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aftermath.errors import UsageError
from aftermath.notify.laws.schema import ELEMENTS

EXAMPLE = Path(__file__).parent / "incident.example.toml"

# How each element is worded in a letter when INCIDENT.toml does not say it better.
ELEMENT_WORDS = {
    "ssn": "your Social Security number", "drivers_license": "your driver's licence or state ID number",
    "passport": "your passport number", "military_id": "your military ID number",
    "taxpayer_id": "your taxpayer identification number", "financial_account": "your financial account or card number",
    "financial_account_access": "your financial account or card number with the code that gives access to it",
    "account_credentials": "your username or email address with your password or security answer",
    "medical": "information about your medical history or treatment",
    "health_insurance": "your health insurance policy or member number", "biometric": "your biometric data",
    "dob": "your date of birth",
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Business(_Model):
    """Who is writing."""

    name: str
    address: str = ""


class Contact(_Model):
    """Where a reader gets help."""

    phone: str = ""
    toll_free: bool = False
    address: str = ""
    website: str = ""
    email: str = ""
    hours: str = ""


class Event(_Model):
    """What happened and when."""

    start: dt.date | None = None
    end: dt.date | None = None
    discovered: dt.date | None = None
    description: str = ""
    law_enforcement_delay: bool | None = Field(default=None, description="Was notice delayed by law enforcement?")


class Response(_Model):
    """What the business did and is doing, and what the reader can do."""

    done: str = ""
    doing: str = ""
    you_can_do: str = ""


class Monitoring(_Model):
    """The credit-monitoring or identity-protection offer."""

    provider: str = ""
    months: int = 0
    enrol_url: str = ""
    enrol_phone: str = ""
    enrol_by: dt.date | None = None


class Notice(_Model):
    """Facts the laws' choice of method turns on (issue 15): the cost of notice and how the business writes to people.

    ``cost_estimate_usd``: the estimated cost of notifying everyone owed a notice by the ordinary methods (post,
    email); a law's share is this sum pro rata to its residents unless ``cost_by_jurisdiction`` gives it
    (``{"US-CA" = 280000}``). ``email_primary_channel``: email is the business's primary or customary means of
    communicating with these people (some statutes then allow email without e-sign consent).
    ``disproportionate_effort``: counsel judged that notifying each person would involve disproportionate effort
    (GDPR Art. 34(3)(c); PIPEDA's undue hardship; Australia's "not practicable").
    """

    cost_estimate_usd: int | None = Field(default=None, ge=0)
    cost_by_jurisdiction: dict[str, int] = Field(default_factory=dict)
    email_primary_channel: bool = False
    disproportionate_effort: bool = False


class Incident(_Model):
    """The whole file."""

    business: Business
    contact: Contact = Field(default_factory=Contact)
    incident: Event = Field(default_factory=Event)
    response: Response = Field(default_factory=Response)
    credit_monitoring: Monitoring = Field(default_factory=Monitoring)
    notice: Notice = Field(default_factory=Notice)
    elements: dict[str, str] = Field(default_factory=dict)

    @field_validator("elements")
    @classmethod
    def _known(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(ELEMENTS))
        if unknown:
            raise ValueError(f"unknown element {unknown[0]!r} (known: {', '.join(ELEMENTS)})")
        return value

    def words(self, element: str) -> str:
        """How ``element`` is named in a letter."""
        return self.elements.get(element) or ELEMENT_WORDS[element]

    def value(self, dotted: str) -> object:
        """The value of a field named ``section.field`` (for the requirement checks)."""
        section, _, name = dotted.partition(".")
        return getattr(getattr(self, section), name)


def load_incident(path: Path) -> Incident:
    """Read and validate INCIDENT.toml; a bad file is one line naming the field."""
    try:
        return Incident.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise UsageError(f"cannot read incident file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from exc
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise UsageError(f"{path}: field '{where}': {err['msg']}; see {EXAMPLE.name} for the shape") from exc


def is_blank(value: object) -> bool:
    """A field counts as missing when it is None, empty, or zero months."""
    if isinstance(value, bool):
        return False  # false is an answer ("not delayed"), not a blank
    return value is None or value == "" or value == 0
