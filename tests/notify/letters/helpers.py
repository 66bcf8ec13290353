"""A small set of affected people, their plan and incident file, shared by the letters and delivery tests."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from aftermath.notify.letters.incident import EXAMPLE
from aftermath.notify.planning import make_plan, plan_json_bytes

HEADER = "id,name,street,city,region,postal_code,country,email,elements,encrypted,key_compromised,esign_consent\n"
PEOPLE = [
    "1,Ann Lee,1 Main St,Hartford,CT,06103,US,ann@example.com,ssn,false,false,true",
    "2,Bob Roe,2 Oak Ave,Los Angeles,CA,90001,US,bob@example.com,ssn;drivers_license,false,false,false",
    "3,Cy Doe,3 Elm Rd,Boston,MA,02108,US,cy@example.com,ssn,false,false,true",
    "4,Dee Fox,,,NC,,US,dee@example.com,financial_account_access,false,false,false",
    "5,Eve Ng,,,MD,,US,,ssn,false,false,false",
]
TODAY = dt.date(2026, 12, 1)


def write_inputs(folder: Path, people: list[str] | None = None, incident: str | None = None) -> dict[str, Path]:
    """people.csv, plan.json (made from it) and INCIDENT.toml in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"people": folder / "people.csv", "plan": folder / "plan.json", "incident": folder / "INCIDENT.toml"}
    paths["people"].write_text(HEADER + "\n".join(people or PEOPLE) + "\n")
    paths["plan"].write_bytes(plan_json_bytes(make_plan(paths["people"], "2026-11-28")))
    paths["incident"].write_text(incident if incident is not None else EXAMPLE.read_text())
    return paths


def many_people(n: int) -> list[str]:
    """``n`` Connecticut residents who consented to email, each with an SSN."""
    return [f"p{i:05d},Person {i},{i} Main St,Hartford,CT,06103,US,p{i:05d}@example.com,ssn,false,false,true"
            for i in range(n)]


def plan_of(paths: dict[str, Path]) -> dict[str, object]:
    """The plan as JSON."""
    return dict(json.loads(paths["plan"].read_text()))
