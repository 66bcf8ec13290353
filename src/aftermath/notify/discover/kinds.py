"""What a detection is, and how the kinds found in one row become data elements of the law.

Detectors find fine-grained *kinds* (a card number, its security code, a password hash...). The law
speaks of *elements* (``financial_account`` vs ``financial_account_access``...), and some elements
exist only as a combination inside one record: a card number is ``financial_account``; with its
security code, PIN or a password in the same row it is ``financial_account_access``. A username or
email is nothing by itself; with a password or security answer it is ``account_credentials``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Kinds a detector can report. "email" and "username" are not elements on their own.
KINDS = ("ssn", "national_id", "itin", "ein", "drivers_license", "passport", "card_number", "card_security_code",
         "card_expiry", "pin", "bank_account", "routing_number", "password", "security_answer", "username",
         "email", "dob", "medical", "health_insurance", "biometric")

# Kinds that are an element by themselves.
DIRECT: dict[str, str] = {
    "ssn": "ssn", "national_id": "national_id", "itin": "taxpayer_id", "ein": "taxpayer_id",
    "drivers_license": "drivers_license",
    "passport": "passport", "card_number": "financial_account", "bank_account": "financial_account",
    "dob": "dob", "medical": "medical", "health_insurance": "health_insurance", "biometric": "biometric",
}
ACCOUNT = frozenset({"card_number", "bank_account"})
ACCESS_CODES = frozenset({"card_security_code", "pin", "password", "security_answer"})
SECRETS = frozenset({"password", "security_answer"})
LOGINS = frozenset({"username", "email"})

# The confidence below which a detection is reported in the column table but counts for nobody.
THRESHOLD = 0.5


@dataclass(frozen=True, slots=True)
class Detection:
    """One thing found in one cell: its kind, how sure we are (0..1) and why, in words."""

    kind: str
    confidence: float
    reason: str


def elements_of(kinds: Iterable[str]) -> frozenset[str]:
    """The data elements exposed by a row that held ``kinds`` (all from the same record)."""
    found = set(kinds)
    elements = {DIRECT[k] for k in found if k in DIRECT}
    if found & ACCOUNT and found & ACCESS_CODES:
        elements.add("financial_account_access")
    if found & LOGINS and found & SECRETS:
        elements.add("account_credentials")
    return frozenset(elements)
