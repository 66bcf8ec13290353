"""National identifiers outside the US (a Canadian SIN, a UK National Insurance number, a Danish CPR, a
South African ID...): personal information under PIPEDA, the GDPR and others.

Several of them use the Luhn check by design (South African ID, Canadian SIN) or are long digit strings
(French INSEE/NIR), so a Luhn-valid number is not always a card: where a number validates as the national
identifier of the row's country, it is that identifier. Validators are python-stdnum's, per country.
"""

from __future__ import annotations

import importlib
import re
from functools import cache
from typing import Any

# Country (ISO 3166-1 alpha-2) -> python-stdnum modules of its personal national identifiers.
VALIDATORS: dict[str, tuple[str, ...]] = {
    "ZA": ("za.idnr",), "CA": ("ca.sin",), "DK": ("dk.cpr",), "SE": ("se.personnummer",), "PL": ("pl.pesel",),
    "FI": ("fi.hetu",), "FR": ("fr.nir",), "BR": ("br.cpf",), "IT": ("it.codicefiscale",),
    "NO": ("no.fodselsnummer",), "NL": ("nl.bsn",), "BE": ("be.nn",), "IS": ("is_.kennitala",), "EE": ("ee.ik",),
    "ES": ("es.dni", "es.nie"), "CH": ("ch.ssn",), "CZ": ("cz.rc",), "SK": ("cz.rc",), "SI": ("si.emso",),
    "PT": ("pt.cc",), "BG": ("bg.egn",), "RO": ("ro.cnp",), "LT": ("lt.asmens",), "LV": ("lv.pvn",),
    "HR": ("hr.oib",), "IE": ("ie.pps",), "MX": ("mx.curp",), "CN": ("cn.ric",), "KR": ("kr.rrn",),
    "IN": ("in_.aadhaar",), "TR": ("tr.tckimlik",), "AR": ("ar.dni",), "CL": ("cl.rut",), "IL": ("il.idnr",),
    "AU": ("au.tfn",), "NZ": ("nz.ird",), "GR": ("gr.amka",),
}
# The UK National Insurance number has no stdnum module: two prefix letters, six digits, a suffix A-D.
_NINO = re.compile(r"^(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d\d ?\d\d ?\d\d ?[A-D]?$")


@cache
def _module(name: str) -> Any:
    try:
        return importlib.import_module(f"stdnum.{name}")
    except ImportError:
        return None


def identify(value: str, country: str) -> str:
    """The name of the national identifier of ``country`` that ``value`` validates as ("" when none)."""
    v = value.strip()
    if not v or not country:
        return ""
    if country == "GB":
        return "UK National Insurance number" if _NINO.match(v.upper()) else ""
    for name in VALIDATORS.get(country, ()):
        module = _module(name)
        if module is not None and module.is_valid(v):
            return f"{country} national identifier (stdnum.{name})"
    return ""
