"""A column's name is evidence (as Amazon Macie treats it): which kinds it suggests, and which part of a
person's identity it holds (customer id, email, name, address parts).

Names are normalised to lower-case words joined by ``_`` (``Credit Card #`` -> ``credit_card``), and
matched against the patterns below in order; the first identity role wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# kind -> pattern over the normalised name. Checked before identity roles.
KIND_HINTS: dict[str, str] = {
    "ssn": r"(^|_)ssn|social_?sec|socsec|(^|_)ss_?num",
    "national_id": r"national_?id|(^|_)nino?($|_)|national_?insurance|(^|_)sin($|_)|social_?insurance|(^|_)cpr($|_)|"
                   r"personnummer|(^|_)insee|(^|_)nir($|_)|(^|_)pesel|(^|_)hetu|(^|_)cpf($|_)|(^|_)bsn($|_)|"
                   r"^id_?(no|num|number)$|identity_?(card|no|num|number)|^id_?card",
    "itin": r"(^|_)itin($|_)",
    "ein": r"(^|_)f?ein($|_)|employer_id",
    "drivers_license": r"driver|(^|_)dl($|_)|licen[cs]e_?(no|num|number|id)?$|state_id",
    "passport": r"passport",
    "card_number": r"(^|_|credit|debit)card_?(no|num|number)?$|(^|_)cc_?(no|num|number)?$|credit_?card|debit_?card|"
                   r"(^|_)pan($|_)",
    "card_security_code": r"cvv|cvc|cvn|(^|_)csc($|_)|security_code|card_code",
    "card_expiry": r"(^|_)exp($|_)|expir|valid_thru|(^|_)expiry",
    "pin": r"(^|_)pin($|_)|pin_?code",
    "bank_account": r"account_?(no|num|number)|(^|_)acct|bank_?account|iban|checking|savings",
    "routing_number": r"routing|(^|_)aba($|_)|(^|_)rtn($|_)|transit",
    "password": r"pass(word|wd)|(^|_)pwd|pw_?hash|passhash|(^|_)pass($|_)",
    "security_answer": r"security_?answer|secret_?answer|(^|_)answer|mothers_?maiden",
    "username": r"user_?name|^login$|login_?(name|id)|screen_?name|^handle$",
    "dob": r"(^|_)dob($|_)|birth|bday",
    "medical": r"diagnos|condition|medication|prescription|(^|_)rx($|_)|(^|_)icd|treatment|medical|(^|_)mrn|"
               r"procedure|allerg|symptom|clinical",
    "health_insurance": r"insur|member_?id|subscriber|policy_?(no|num|number|id)|group_?(no|num|number)|medicare|"
                        r"medicaid|(^|_)mbi($|_)|health_?plan",
    "biometric": r"fingerprint|face_?(template|print|encoding|embedding)|retina|iris|voice_?print|biometric|"
                 r"palm_?print",
}
ROLE_HINTS: dict[str, str] = {
    "customer_id": r"(customer|cust|client|user|patient)_?(id|no|num|number)$|^custno$",
    "email": r"e_?mail",
    "first_name": r"first_?name|given_?name|(^|_)fname$",
    "last_name": r"last_?name|surname|family_?name|(^|_)lname$",
    "name": r"(^|_)(?<!country_)(?<!state_)(?<!province_)(?<!region_)(?<!city_)(?<!street_)(?<!company_)name$|"
            r"full_?name|cardholder|holder",
    "address2": r"address_?(line)?_?2$|addr_?2|(^|_)(apt|unit|suite)($|_)",
    "address": r"address|(^|_)addr|street",
    "city": r"city|town",
    "region": r"^(state|province|region|st)(_?(code|abbr|full|name))?$|^county_?state$",
    "postal_code": r"zip|postal|postcode",
    "country": r"country",
}
# A table whose name says it holds people: its plain ``id`` column is the customer id.
PEOPLE_TABLES = re.compile(r"customer|client|crm|contact|people|person|patient|member|user|account|subscriber")
# A telephone number column is contact information (the "phone" role), unless it holds only a part of
# the number (a dialling code, an extension) or something about it (type, verified).
PHONE = re.compile(r"phone|mobile|(^|_)(tel|cell|msisdn)($|_)|(^|_)(tel|cell)_?(no|num|number)$")
NOT_PHONE = re.compile(r"code|dial|country|prefix|(^|_)ext|extension|type|kind|verified|valid|opt|consent|fax|"
                       r"count|carrier|imei|(^|_)id($|_)")
# Residence roles a column loses when its name says telephone: a dialling code is never a country.
RESIDENCE_ROLES = frozenset({"address", "address2", "city", "region", "postal_code", "country"})
# Ignore words (as Macie's): bare numbers in these columns are not taken for cards or accounts.
NEGATIVE = re.compile(r"order|invoice|tracking|sku|phone|fax|mobile|(^|_)tel($|_)|dial|calling_code|isbn|serial|"
                      r"imei|uuid|guid|(^|_)ups($|_)|fedex|usps|parcel|shipment|waybill|mtcn|transaction|(^|_)ref($|_)|reference|confirmation|ticket_?(id|no)")

# Columns that describe a person rather than hold their data: an occupation "Medical record coder" or a
# job title is not medical information, so keywords in their text are not evidence.
DESCRIPTIVE = re.compile(r"occupation|(^|_)job|profession|position|company|employer|department|"
                         r"vehicle|(^|_)domain($|_)|user_?agent|browser|(^|_)color($|_)")

_KIND_RE = [(k, re.compile(p)) for k, p in KIND_HINTS.items()]
_ROLE_RE = [(r, re.compile(p)) for r, p in ROLE_HINTS.items()]


@dataclass(frozen=True, slots=True)
class ColumnHint:
    """What a column's name says: the kinds it suggests and the identity role it plays (or "")."""

    name: str
    kinds: frozenset[str]
    role: str
    negative: bool = False  # "order_no", "phone": numbers here are not accounts or cards without a keyword
    descriptive: bool = False  # "occupation", "job_title": keywords in the text are not evidence


def normalise(name: str) -> str:
    """``Credit Card #`` -> ``credit_card``; ``DateOfBirth`` -> ``date_of_birth``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")


@lru_cache(maxsize=4096)
def hint(column: str, table: str = "") -> ColumnHint:
    """Classify a column by its name (and, for a bare ``id``, by its table's name)."""
    norm = normalise(column)
    kinds = frozenset(k for k, rx in _KIND_RE if rx.search(norm))
    if "passport" in kinds:
        kinds -= {"password"}
    if "drivers_license" in kinds and "state_id" in norm:
        kinds -= {"ssn"}
    role = next((r for r, rx in _ROLE_RE if rx.search(norm)), "")
    if role == "customer_id" and kinds:
        kinds = frozenset()  # "user_id" is who, not what
    if role in ("email",):
        kinds = frozenset({"email"}) | kinds
    if role and role != "email" and kinds:
        role = ""  # "card_holder_account" style names: the kind wins over the identity part
    negative = bool(NEGATIVE.search(norm))
    if negative and role in RESIDENCE_ROLES:
        role = ""  # "TelephoneCountryCode": a dialling code, "phone_zip"...
    if not role and not kinds and PHONE.search(norm) and not NOT_PHONE.search(norm):
        role, negative = "phone", True  # a phone number is never a card or an account
    if norm == "id" and PEOPLE_TABLES.search(normalise(table)):
        role = "customer_id"
    return ColumnHint(column, kinds, role, negative and not kinds, bool(DESCRIPTIVE.search(norm)) and not kinds)
