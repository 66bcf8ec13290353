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

import pycountry
import us
import usaddress

# Names people write that the ISO table (pycountry) does not carry; everything else goes through pycountry.
ALIASES = {
    "usa": "US", "u.s.a.": "US", "u.s.": "US", "america": "US", "united states of america": "US",
    "uk": "GB", "u.k.": "GB", "great britain": "GB", "britain": "GB", "england": "GB", "scotland": "GB",
    "wales": "GB", "northern ireland": "GB", "deutschland": "DE", "holland": "NL", "russia": "RU",
    "turkey": "TR", "macedonia": "MK", "ivory coast": "CI", "czechia": "CZ", "south korea": "KR",
    "north korea": "KP", "vatican": "VA", "burma": "MM", "swaziland": "SZ", "cape verde": "CV",
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
    """A country name or ISO code as ISO 3166-1 alpha-2 ("" when empty, "ZZ" when not recognised).

    Names and alpha-2/alpha-3 codes go through pycountry's ISO 3166 table. A value with a digit (a
    dialling code such as ``1`` or ``357``) is never a country.
    """
    t = text.strip()
    if not t:
        return ""
    if any(c.isdigit() for c in t):
        return "ZZ"
    alias = ALIASES.get(t.lower())
    if alias:
        return alias
    try:
        found = pycountry.countries.lookup(t)
    except LookupError:
        return "ZZ"
    return str(found.alpha_2)


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
    short_zip = postal_code.strip()
    if short_zip.isdigit() and 3 <= len(short_zip) <= 4:  # a spreadsheet dropped the leading zeros
        postal_code = short_zip.zfill(5)
        flags.append(f"ZIP {short_zip} damaged (leading zeros lost): read as {postal_code}")
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


# Identity roles that can be claimed by several columns of one table (Country, CountryFull, a dialling
# code...): their columns are ranked by how many of their values validate, never taken in column order.
RANKED = ("postal_code", "region", "country")  # in this order: a state column is ranked with the ZIPs chosen
_POSTAL = re.compile(r"^(?=.*\d)[A-Za-z0-9][A-Za-z0-9 -]{1,9}$")


def valid(role: str, value: str) -> str:
    """``value`` normalised for ``role`` when it validates as one ("" when it does not)."""
    v = value.strip()
    if not v:
        return ""
    if role == "country":
        code = country_code(v)
        return "" if code == "ZZ" else code
    if role == "region":
        return state_code(v) or (v.upper() if v.replace(" ", "").replace("-", "").isalpha() else "")
    if role == "postal_code":
        return v.upper() if _POSTAL.match(v) else ""
    return v


def rank(role: str, columns: list[list[str]], zips: list[str] | None = None) -> tuple[list[int], list[int]]:
    """The columns' indices best first, and the number of valid values of each column.

    Best is the most values that validate; for a state, first the most states that agree with the row's
    US ZIP code (when ``zips`` are known and several columns claim the state); the earlier column on a tie.
    """
    counts = [sum(1 for v in col if valid(role, v)) for col in columns]
    agree = [0] * len(columns)
    if role == "region" and zips and len(columns) > 1:
        for j, col in enumerate(columns):
            agree[j] = sum(1 for v, z in zip(col, zips, strict=True) if _ZIP.match(z) and state_code(v)
                           and zip_state(z.strip()[:5]) == state_code(v))
    return sorted(range(len(columns)), key=lambda j: (-agree[j], -counts[j], j)), counts


def pick(role: str, names: list[str], cells: list[str]) -> tuple[str, str]:
    """One row's value for ``role`` from its candidate cells (best column first), and a note when two
    candidates that both validate disagree ("" when they agree)."""
    chosen, first = "", ""
    seen: dict[str, str] = {}
    for name, cell in zip(names, cells, strict=True):
        v = cell.strip()
        first = first or v
        norm = valid(role, v)
        if not norm:
            continue
        chosen = chosen or v
        key = state_code(v) if role == "region" else norm
        if key and key not in seen.values() and seen and role != "postal_code":
            other, said = next(iter(seen.items()))
            return chosen, f"{role} columns disagree: {other} says {said}, {name} says {key}"
        if key:
            seen.setdefault(name, key)
    return chosen or first, ""
