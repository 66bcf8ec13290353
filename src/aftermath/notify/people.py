"""The people file, ``people.csv``: one row per affected person. A contract that scripts rely on.

Columns: ``id,name,street,city,region,postal_code,country,email,elements,encrypted,key_compromised``,
then the optional ``phone``. ``elements`` is a ``;``-separated set from
:data:`aftermath.notify.laws.schema.ELEMENTS`; ``region`` is a state or province code; ``country`` is
ISO 3166-1 alpha-2; ``encrypted`` and ``key_compromised`` are ``true``/``false``. ``phone`` is contact
information for a notice by telephone (E.164, ``+15125550100``; a national form is read in the person's
country), never an exposed element. Files without ``phone`` are read as before; Aftermath always writes it.
The file may be written by Aftermath or by hand; a malformed one is rejected with its line and column.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import phonenumbers

from aftermath.errors import UsageError
from aftermath.notify.laws.schema import ELEMENTS

COLUMNS = ("id", "name", "street", "city", "region", "postal_code", "country", "email", "elements",
           "encrypted", "key_compromised")
OPTIONAL = ("phone",)  # may be missing from the header (files written before it existed)
WRITTEN = COLUMNS + OPTIONAL
BOOLEAN = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False, "": False}


@dataclass(frozen=True)
class Person:
    """One affected person: what is needed to notify them and which kinds of data were exposed."""

    id: str
    name: str
    street: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = "US"
    email: str = ""
    elements: frozenset[str] = field(default_factory=frozenset)
    encrypted: bool = False
    key_compromised: bool = False
    phone: str = ""  # contact information (E.164), not an element

    @property
    def subdivision(self) -> str:
        """ISO 3166-2 code of the person's state or province (``US-TX``), or the country alone."""
        return f"{self.country}-{self.region}" if self.region else self.country


def e164(text: str, country: str) -> str:
    """A telephone number in E.164 (``+15125550100``), read in ``country`` when it has no ``+``; "" when it
    is not a possible number there (or has no ``+`` and the country is unknown)."""
    region = country.upper() if len(country) == 2 and country.upper() != "ZZ" else None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class PeopleFileError(UsageError):
    """A malformed people file; the message names the line and column."""


def _fail(path: str, line: int, column: str, why: str) -> PeopleFileError:
    return PeopleFileError(f"{path}: line {line}, column '{column}': {why}")


def parse_row(row: dict[str, str], path: str, line: int) -> Person:
    """Validate one CSV row into a Person."""
    values = {k: (row.get(k) or "").strip() for k in WRITTEN}
    if not values["id"]:
        raise _fail(path, line, "id", "empty: every person needs an id")
    country = values["country"].upper() or "US"
    if len(country) != 2 or not country.isalpha():
        raise _fail(path, line, "country", f"{values['country']!r} is not an ISO 3166-1 alpha-2 code (US, DE, GB)")
    elements = frozenset(e.strip().lower() for e in values["elements"].split(";") if e.strip())
    unknown = sorted(elements - set(ELEMENTS))
    if unknown:
        raise _fail(path, line, "elements", f"unknown element {unknown[0]!r}; use: {', '.join(ELEMENTS)}")
    flags = {}
    for name in ("encrypted", "key_compromised"):
        text = values[name].lower()
        if text not in BOOLEAN:
            raise _fail(path, line, name, f"{values[name]!r} is not true or false")
        flags[name] = BOOLEAN[text]
    region = values["region"].upper()
    if region and not (1 <= len(region) <= 3 and region.isalnum()):
        raise _fail(path, line, "region", f"{values['region']!r} is not a state or province code (TX, CA, ON)")
    phone = e164(values["phone"], country) if values["phone"] else ""
    if values["phone"] and not phone:
        raise _fail(path, line, "phone", f"{values['phone']!r} is not a telephone number in {country}: "
                                         "write it with its country code (+15125550100)")
    return Person(values["id"], values["name"], values["street"], values["city"], region, values["postal_code"],
                  country, values["email"], elements, flags["encrypted"], flags["key_compromised"], phone)


def read_people(path: Path) -> list[Person]:
    """Read and validate a people file; raise PeopleFileError naming the first bad line and column."""
    return parse_people(read_people_text(path), str(path))


def read_people_text(path: Path) -> str:
    """A people file's text (errors as :func:`read_people` gives them)."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(f"cannot read people file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not UTF-8 text: save it as UTF-8 CSV") from exc


def parse_people(text: str, name: str = "people.csv") -> list[Person]:
    """Parse people-file text (see :func:`read_people`)."""
    return [person for person, _row in iter_people(text, name)]


def iter_people(text: str, name: str = "people.csv") -> Iterator[tuple[Person, dict[str, str]]]:
    """Each person of people-file text with their row as read (for optional columns), one at a time.

    Validated as :func:`read_people` does; an error is raised when its row is reached, so a caller that must
    refuse a bad file before acting reads it through once first.
    """
    # strict: an unterminated quote is an error, not a name that swallows the rest of the file
    reader = csv.DictReader(_lines(text), strict=True)
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        raise _fail(name, 1, "(header)", f"not valid CSV: {exc}") from exc
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise _fail(name, 1, missing[0], "missing from the header; expected " + ",".join(COLUMNS))
    seen, line = set(), reader.line_num
    try:
        for row in reader:
            line = reader.line_num
            if None in row:
                raise _fail(name, line, "(extra)", "more fields than the header has")
            person = parse_row(row, name, line)
            if person.id in seen:
                raise _fail(name, line, "id", f"duplicate id {person.id!r}")
            seen.add(person.id)
            yield person, row
    except csv.Error as exc:  # name the line where the bad row starts (an open quote runs to the end)
        raise _fail(name, line + 1, "(row)", f"not valid CSV: {exc}; check its quotes") from exc


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` with their ends, as ``io.StringIO(text, newline="")`` gives them, without a copy
    (a StringIO holds four bytes a character)."""
    for match in _LINE.finditer(text):
        if match.group():
            yield match.group()


def format_people(people: Iterable[Person]) -> str:
    """The people file's text for ``people`` (stable order of columns and elements)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(WRITTEN)
    for p in people:
        writer.writerow([p.id, p.name, p.street, p.city, p.region, p.postal_code, p.country, p.email,
                         ";".join(sorted(p.elements)), str(p.encrypted).lower(), str(p.key_compromised).lower(),
                         p.phone])
    return out.getvalue()
