"""Detectors: one fast multi-pattern pass (RE2) over a column's cells, then validation of candidates only.

How a column is scanned (why it is fast): its cells are joined with NUL into one string and RE2 runs once
over it; a match is mapped back to its row by bisection. Only candidates are validated, with python-stdnum
(``stdnum.us.ssn``, ``stdnum.us.itin``, ``stdnum.us.ein``, ``stdnum.us.rtn``, ``stdnum.luhn``,
``stdnum.iban``). Corroboration follows Macie: the column's name counts as a keyword for every cell; in
free text a keyword must appear within 40 characters before the match, inside the same cell. A bare
9-digit number is an SSN only with corroboration; a dashed one carries its format as evidence.

Kinds that are only recognisable by their column (a password, a diagnosis, a face template) are found
by the column's name plus a plausible value; in free text by a keyword followed by a value.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections.abc import Callable, Iterator
from itertools import accumulate
from typing import Any

import re2
from stdnum import iban, luhn
from stdnum.us import ein, itin, rtn, ssn

from aftermath.notify.discover.columns import ColumnHint
from aftermath.notify.discover.kinds import Detection

SEP = "\x00"
WINDOW = 40

_PATTERN = (
    r"(?P<date>\b(?:(?:19|20)\d\d[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])"
    r"|(?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])[-/.](?:19|20)\d\d)\b)"
    r"|(?P<num>\b\d(?:[ -]?\d){7,18}\b)"
    r"|(?P<email>\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b)"
    r"|(?P<iban>\b(?i:[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?)\b)"
    r"|(?P<mbi>\b[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d-?[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d-?"
    r"[AC-HJKMNP-RT-Y]{2}\d\d\b)"
    r"|(?P<kw>(?i:\b(?:password|passwd|pwd|passcode|cvv2?|cvc|security code|pin|driver'?s? licen[cs]e"
    r"|dl|passport|member id|insurance id|policy (?:number|no)|subscriber id|diagnosed with|diagnosis"
    r"|prescribed|medical record|mrn|security answer|mother'?s maiden name|(?:card )?exp(?:iry|iration)?(?: date)?)"
    r"\b(?:[ \t]*(?:#|:|=|(?:no|number|num|is|was|of)\b\.?))*[ \t]*[^\s,;\x00]+))"
)
# Keywords that corroborate a number in free text, looked for just before it (in the same cell).
_CANDIDATES = re2.compile(_PATTERN)
GROUPS = ("", "date", "num", "email", "iban", "mbi", "kw")
assert _CANDIDATES.groups == len(GROUPS) - 1  # noqa: S101 - the classifier relies on the group order


def _raw_matcher(pattern: str) -> Any:
    # The re2 module's own finditer builds Python objects and decodes offsets for every match, which
    # costs more than the matching in dense columns; its extension's Match returns plain spans.
    return re2._re2.RE2(pattern.encode(), re2.Options())


_RAW = _raw_matcher(_PATTERN)
_UNANCHORED = re2._re2.RE2.Anchor.UNANCHORED


def spans(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(group number, start, end) of every candidate in ``data``, left to right (byte offsets)."""
    pos, end, match = 0, len(data), _RAW.Match
    while pos < end:
        found = match(_UNANCHORED, data, pos, end)
        start, stop = found[0]
        if start < 0:
            return
        group = next(g for g in range(1, len(found)) if found[g][0] >= 0)
        yield group, start, stop
        pos = stop if stop > start else stop + 1


_CONTEXT = {
    "ssn": re.compile(r"\bssn|social security|\bsoc\.? ?sec|\bss#|\bss no\b", re.I),
    "itin": re.compile(r"itin|taxpayer|tax ?id|\btin\b", re.I),
    "ein": re.compile(r"\bein\b|employer id|tax ?id|\bfein\b", re.I),
    "routing_number": re.compile(r"routing|\baba\b|\brtn\b|transit", re.I),
    "bank_account": re.compile(r"\baccounts?\b|\bacct\b|\ba/c\b|\bchecking\b|\bsavings\b", re.I),
    "card_number": re.compile(r"\bcards?\b|\bvisa\b|\bmastercard\b|\bamex\b|\bdiscover\b|\bcc\b", re.I),
    "dob": re.compile(r"\bdob\b|d\.o\.b|birth|born|bday", re.I),
    "national_id": re.compile(r"national id|\bid (?:number|no)\b|identity (?:number|no|card)|\bsin\b|social insurance"
                              r"|national insurance|\bnino?\b|\binsee\b|\bnir\b|\bcpr\b|personnummer|\bpesel\b"
                              r"|\bcpf\b|\bbsn\b", re.I),
}
_KEYWORD_KIND = [
    (re.compile(r"pass(?:word|wd|code)|pwd", re.I), "password"),
    (re.compile(r"cvv|cvc|security code", re.I), "card_security_code"),
    (re.compile(r"\bpin\b", re.I), "pin"),
    (re.compile(r"driver|\bdl\b", re.I), "drivers_license"),
    (re.compile(r"passport", re.I), "passport"),
    (re.compile(r"member id|insurance id|policy|subscriber", re.I), "health_insurance"),
    (re.compile(r"diagnos|prescribed|medical record|mrn", re.I), "medical"),
    (re.compile(r"security answer|maiden", re.I), "security_answer"),
    (re.compile(r"exp", re.I), "card_expiry"),
]
_KW_VALUE = re.compile(r"(?:[ \t]*(?:#|:|=|(?:no|number|num|is|was|of)\b\.?))*[ \t]*([^\s,;\x00]+)$", re.I)
# Card brands: (prefix ranges as (low, high) over the first digits, accepted lengths). A number with a
# brand's prefix is that brand's only with one of that brand's lengths.
CARD_BRANDS: tuple[tuple[str, tuple[tuple[int, int], ...], tuple[int, ...]], ...] = (
    ("Visa", ((4, 4),), (13, 16, 19)),
    ("Mastercard", ((51, 55), (2221, 2720)), (16,)),
    ("American Express", ((34, 34), (37, 37)), (15,)),
    ("Discover", ((6011, 6011), (644, 649), (65, 65), (622126, 622925)), (16, 17, 18, 19)),
    ("UnionPay", ((62, 62), (81, 81)), (16, 17, 18, 19)),
    ("JCB", ((3528, 3589),), (16, 17, 18, 19)),
    ("JCB", ((1800, 1800), (2131, 2131)), (15,)),
    ("Diners Club", ((300, 305), (3095, 3095), (36, 36), (38, 39)), (14, 15, 16, 17, 18, 19)),
    ("Mir", ((2200, 2204),), (16, 17, 18, 19)),
    ("Maestro", ((50, 50), (56, 69)), tuple(range(12, 20))),
)


def card_brand(digits: str) -> str:
    """The brand whose prefix and length ``digits`` has ("" when none)."""
    n = len(digits)
    for brand, ranges, lengths in CARD_BRANDS:
        if n in lengths and any(lo <= int(digits[:len(str(lo))]) <= hi for lo, hi in ranges):
            return brand
    return ""

_EMPTY = frozenset({"", "none", "null", "n/a", "na", "-", "0", "nan"})


def _matcher(pattern: str) -> Callable[[str], bool]:
    rx = re.compile(pattern)
    return lambda v: rx.match(v) is not None


def _value_checks() -> dict[str, Callable[[str], bool]]:
    alnum_id = _matcher(r"^(?=.*\d)[A-Za-z0-9-]{4,20}$")
    return {
        "card_security_code": _matcher(r"^\d{1,4}$"),  # 1-2 digits: leading zeros lost (see damage())
        "pin": _matcher(r"^\d{4,6}$"),
        "card_expiry": _matcher(r"^(?:0?[1-9]|1[0-2]) ?[/-] ?(?:\d\d|20\d\d)$|^20\d\d-\d\d(?:-\d\d)?$"),
        "drivers_license": alnum_id,
        "passport": _matcher(r"^(?=.*\d)[A-Za-z0-9]{6,9}$"),
        "health_insurance": alnum_id,
        "dob": lambda v: _plausible_birth(v) is not None,
        "national_id": _matcher(r"^(?=.*\d)(?!\d{3}-\d\d-\d{4}$)[A-Za-z0-9][A-Za-z0-9 ./-]{4,23}$"),
    }


_CHECKS = _value_checks()
# Kinds recognised only by the column's name and a non-empty (plausible) value.
NAME_ONLY = frozenset({"national_id", "card_security_code", "pin", "card_expiry", "drivers_license", "passport",
                       "health_insurance", "dob", "password", "security_answer", "username", "medical",
                       "biometric"})


def _plausible_birth(text: str, today: dt.date | None = None) -> dt.date | None:
    text = text.strip()[:10]
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%Y/%m/%d", "%m-%d-%Y", "%d.%m.%Y"):
        try:
            day = dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        now = today or dt.date.today()
        return day if dt.date(1900, 1, 1) <= day <= now else None
    return None


def scan_column(values: list[str], hint: ColumnHint) -> list[tuple[int, Detection]]:
    """Every detection in one column's cells, as (index of the cell, detection)."""
    found: list[tuple[int, Detection]] = []
    by_name = hint.kinds & NAME_ONLY
    if by_name:
        found.extend(_by_name(values, hint, by_name))
    encoded = [v.encode() for v in values]
    starts = list(accumulate((len(e) + 1 for e in encoded), initial=0))
    data = b"\x00".join(encoded)
    for group, start, stop in spans(data):
        i = bisect.bisect_right(starts, start) - 1
        det = _classify(GROUPS[group], data[start:stop].decode(), data, starts[i], start, hint)
        if det is not None:
            found.append((i, det))
    return found


def _by_name(values: list[str], hint: ColumnHint, kinds: frozenset[str]) -> list[tuple[int, Detection]]:
    out = []
    for kind in sorted(kinds):
        check = _CHECKS.get(kind)
        det = Detection(kind, 0.9, f"column name '{hint.name}' and a plausible value")
        for i, v in enumerate(values):
            v = v.strip()
            if v.lower() in _EMPTY or (check is not None and not check(v)):
                continue
            out.append((i, det))
    return out


def _context(kind: str, data: bytes, cell_start: int, at: int) -> bool:
    window = data[max(cell_start, at - WINDOW):at].decode(errors="ignore")
    return bool(_CONTEXT[kind].search(window))


def _classify(group: str, value: str, text: bytes, cell_start: int, at: int,
              hint: ColumnHint) -> Detection | None:
    if group == "num":
        return _number(value, text, cell_start, at, hint)
    if group == "date":
        if "dob" in hint.kinds:
            return None  # the by-name pass reported it
        if _context("dob", text, cell_start, at) and _plausible_birth(value):
            return Detection("dob", 0.85, "a date after a birth keyword in the text")
        return None
    if group == "email":
        return Detection("email", 0.99, "an email address")
    if group == "iban":
        if iban.is_valid(value):
            return Detection("bank_account", 0.99, "IBAN with valid check digits (stdnum.iban)")
        return None
    if group == "mbi":
        conf = 0.95 if "health_insurance" in hint.kinds else 0.8
        return Detection("health_insurance", conf, "Medicare Beneficiary Identifier format")
    if group == "kw" and not hint.kinds & NAME_ONLY and not hint.descriptive:
        return _keyword(value)
    return None


def _keyword(value: str) -> Detection | None:
    for rx, kind in _KEYWORD_KIND:
        head = rx.search(value)
        if head is None:
            continue
        tail = _KW_VALUE.search(value[head.end():])
        token = tail.group(1).rstrip(".!?)'\"") if tail else ""
        check = _CHECKS.get(kind)
        if kind == "medical":
            return Detection(kind, 0.8, "a medical keyword in the text")
        if not token or token.lower() in _EMPTY or (check is not None and not check(token)):
            return None
        if kind in ("password", "security_answer") and len(token) < 4:
            return None
        return Detection(kind, 0.85, f"a value after the keyword '{head.group().lower()}' in the text")
    return None


def _number(value: str, text: bytes, cell_start: int, at: int, hint: ColumnHint) -> Detection | None:
    digits = value.replace("-", "").replace(" ", "")
    n = len(digits)
    shape = re.sub(r"\d", "d", value)
    kinds = hint.kinds

    def corroborated(kind: str) -> bool:
        return kind in kinds or _context(kind, text, cell_start, at)

    if n == 9:
        dashed = shape == "ddd-dd-dddd"  # "ddd dd dddd" needs a keyword: "Suite 680 36 4022" is an address
        if ssn.is_valid(digits) and (dashed or corroborated("ssn")):
            why = "column name" if "ssn" in kinds else ("keyword nearby" if not dashed else "dashed SSN format")
            return Detection("ssn", 0.99 if corroborated("ssn") else 0.85, f"valid SSN (stdnum.us.ssn), {why}")
        if itin.is_valid(digits) and (dashed or corroborated("itin") or "ssn" in kinds):
            return Detection("itin", 0.9, "valid ITIN (stdnum.us.itin)")
        if rtn.is_valid(digits) and corroborated("routing_number"):
            return Detection("routing_number", 0.95, "valid ABA routing number (stdnum.us.rtn) with context")
        if ein.is_valid(digits) and "ein" in kinds:
            return Detection("ein", 0.9, "valid EIN (stdnum.us.ein), column name")
    if shape == "dd-ddddddd" and ein.is_valid(digits) and corroborated("ein"):
        return Detection("ein", 0.95, "valid EIN (stdnum.us.ein) with context")
    if hint.negative and not any(_context(k, text, cell_start, at) for k in ("card_number", "bank_account")):
        return None  # a number in an order/phone/tracking column: an ignore word, as in Macie, unless a keyword
    if "national_id" in kinds:
        return None  # the column holds national identifiers (found by its name): not a card, whatever Luhn says
    if 9 <= n <= 19 and "card_number" not in kinds and _context("national_id", text, cell_start, at):
        return Detection("national_id", 0.85, "a number after a national-identifier keyword in the text")
    if 12 <= n <= 19 and "bank_account" not in kinds and luhn.is_valid(digits):
        brand = card_brand(digits)
        if brand or corroborated("card_number"):
            conf = 0.99 if corroborated("card_number") else 0.9
            why = f"{brand} prefix and length" if brand else ("column name" if "card_number" in kinds
                                                              else "card keyword nearby")
            return Detection("card_number", conf, f"Luhn-valid card number (stdnum.luhn), {why}")
    if 8 <= n <= 17 and "-" not in value and corroborated("bank_account") and "card_number" not in kinds:
        where = "column name" if "bank_account" in kinds else "keyword nearby"
        return Detection("bank_account", 0.9, f"8-17 digit account number, {where} (no checksum exists)")
    return None


_SCIENTIFIC = re.compile(r"^\d(?:[.,]\d+)?E\+?\d+$", re.I)


def damage(value: str, kinds: frozenset[str]) -> str:
    """Why a value in a column of ``kinds`` was visibly damaged by a spreadsheet ("" when it was not):
    a long number shown in scientific notation (``5.54563E+15``: its digits are lost), a security code
    that lost its leading zeros (``51`` for ``051``: still counted, padded)."""
    v = value.strip()
    if _SCIENTIFIC.match(v):
        return "number in scientific notation (digits lost)"
    if "card_security_code" in kinds and v.isdigit() and len(v) < 3:
        return "leading zeros lost"
    return ""
