"""Where a person lives, from the address in the data: offline, and honest about doubt.

The state comes from the address itself first (a state column, or the state parsed from a one-line US
address with ``usaddress``); the ZIP code is then looked up in the offline ``zipcodes`` data as a
cross-check. A disagreement keeps the address's state and is flagged for review, as are a state taken
from the ZIP alone, military (AA/AE/AP) addresses, unknown ZIPs and unknown countries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import us
import usaddress

COUNTRIES = {
    "united states": "US", "united states of america": "US", "usa": "US", "u.s.a.": "US", "u.s.": "US",
    "america": "US", "canada": "CA", "mexico": "MX", "united kingdom": "GB", "uk": "GB", "great britain": "GB",
    "england": "GB", "scotland": "GB", "wales": "GB", "ireland": "IE", "germany": "DE", "deutschland": "DE",
    "france": "FR", "spain": "ES", "italy": "IT", "netherlands": "NL", "belgium": "BE", "switzerland": "CH",
    "austria": "AT", "sweden": "SE", "norway": "NO", "denmark": "DK", "finland": "FI", "poland": "PL",
    "portugal": "PT", "australia": "AU", "new zealand": "NZ", "japan": "JP", "china": "CN", "india": "IN",
    "brazil": "BR", "south korea": "KR", "singapore": "SG", "israel": "IL", "south africa": "ZA",
    "puerto rico": "PR", "philippines": "PH",
}
MILITARY = {"AA", "AE", "AP"}
_ZIP = re.compile(r"^\s*(\d{5})(?:-?\d{4})?\s*$")


@dataclass(frozen=True)
class Residence:
    """A normalised postal address, with the reasons to double-check it (empty when none)."""

    street: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = "US"
    flags: tuple[str, ...] = field(default_factory=tuple)


@lru_cache(maxsize=1)
def _zip_states() -> dict[str, str]:
    import zipcodes  # noqa: PLC0415 - loads its data on first use (about 0.7 s)

    return {z["zip_code"]: z["state"] for z in zipcodes.list_all()}  # type: ignore[no-untyped-call]


def zip_state(zip5: str) -> str:
    """The state of a 5-digit ZIP code in the offline data, or "" when unknown."""
    return _zip_states().get(zip5, "")


@lru_cache(maxsize=4096)
def state_code(text: str) -> str:
    """``Texas``/``tx``/``TX`` -> ``TX``; military codes kept; "" when not a US state or territory."""
    t = text.strip()
    if t.upper() in MILITARY:
        return t.upper()
    if not t or t.isdigit():
        return ""
    found = us.states.lookup(t)
    return found.abbr if found is not None else ""


@lru_cache(maxsize=4096)
def country_code(text: str) -> str:
    """A country name or code as ISO 3166-1 alpha-2 ("" when empty, "ZZ" when not recognised)."""
    t = text.strip().lower()
    if not t:
        return ""
    if len(t) == 2 and t.isalpha():
        return t.upper()
    return COUNTRIES.get(t, "ZZ")


def _parse_one_line(address: str) -> dict[str, str]:
    try:
        tagged, _ = usaddress.tag(address)
    except usaddress.RepeatedLabelError:
        return {}
    street_parts = [v for k, v in tagged.items() if k not in ("PlaceName", "StateName", "ZipCode")]
    return {"street": " ".join(street_parts), "city": tagged.get("PlaceName", ""),
            "region": tagged.get("StateName", ""), "postal_code": tagged.get("ZipCode", "")}


def resolve(street: str, address2: str, city: str, region: str, postal_code: str, country: str) -> Residence:
    """Normalise an address and flag what needs review."""
    flags: list[str] = []
    code = country_code(country)
    if not (city or region or postal_code) and street and code in ("", "US"):
        parsed = _parse_one_line(street)
        if parsed.get("region") or parsed.get("postal_code"):
            street, city, region, postal_code = (parsed["street"], parsed["city"], parsed["region"],
                                                 parsed["postal_code"])
    street = f"{street} {address2}".strip() if address2 else street
    if code == "ZZ":
        flags.append(f"country {country.strip()!r} not recognised")
    if code not in ("", "US"):
        region = region.strip().upper() if 1 <= len(region.strip()) <= 3 else ""
        return Residence(street, city, region, postal_code.strip(), code, tuple(flags))
    state = state_code(region)
    if region and not state:
        flags.append(f"state {region.strip()!r} not recognised")
    zip_match = _ZIP.match(postal_code)
    zip_st = zip_state(zip_match.group(1)) if zip_match else ""
    if postal_code and zip_match and not zip_st:
        flags.append(f"ZIP {zip_match.group(1)} not in the ZIP data")
    if state and zip_st and state != zip_st:
        flags.append(f"ZIP {zip_match.group(1) if zip_match else ''} is in {zip_st}, the address says {state}")
    if not state and zip_st:
        state = zip_st
        flags.append("state taken from the ZIP code")
    if state in MILITARY:
        flags.append(f"military address ({state}): residence unknown")
    if not state and not code:
        flags.append("no US state and no country: residence unknown")
    return Residence(street, city, state, postal_code.strip(), "US" if (state or code == "US") else "ZZ",
                     tuple(flags))
