"""``notify plan`` at the edges: read the inputs, run the pure engine, keep the result in the case.

The engine (:mod:`aftermath.notify.engine`) decides; this module reads the people file and the law files,
hashes them so the plan can be reproduced and checked later, and journals the plan when a case exists.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aftermath.case import hash_file, journal
from aftermath.errors import UsageError, from_os_error
from aftermath.notify import engine
from aftermath.notify.deadlines import parse_discovered
from aftermath.notify.laws.schema import ENTITY_TYPES, LAWS_DIR, LawFileError, LawRule, load_rule
from aftermath.notify.people import read_people

if TYPE_CHECKING:
    from aftermath.case import Case

EVENTS = ("determination", "individual_notice", "materiality", "hhs_notice", "no_harm_determination")
# Each event cannot come before these (discovery is always before every event).
ORDER = {"individual_notice": ("determination",), "no_harm_determination": ("determination",)}


@dataclass(frozen=True)
class RuleFile:
    """One law file with its validated rule and the SHA-256 of its bytes."""

    path: Path
    rule: LawRule
    sha256: str


@dataclass(frozen=True)
class PlanRun:
    """A computed plan and the fingerprints of everything it was computed from."""

    plan: engine.Plan
    inputs: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The plan's JSON with an ``inputs`` section (hashes, never personal data)."""
        return {**engine.to_json(self.plan), "inputs": self.inputs}


def load_rules(root: Path = LAWS_DIR) -> list[RuleFile]:
    """Every law file under ``root``, validated and hashed, sorted by jurisdiction."""
    files = []
    for path in sorted(root.rglob("*.toml")):
        try:
            rule = load_rule(path)
        except LawFileError as exc:
            raise UsageError(f"law file {path} is invalid: {exc}; fix it (see docs/laws.md)") from exc
        files.append(RuleFile(path, rule, hashlib.sha256(path.read_bytes()).hexdigest()))
    return sorted(files, key=lambda f: f.rule.jurisdiction)


def parse_entity_types(values: Iterable[str]) -> tuple[str, ...]:
    """Validate ``--entity-type`` values (default: business)."""
    chosen = tuple(dict.fromkeys(v.strip().lower() for v in values)) or ("business",)
    for value in chosen:
        if value not in ENTITY_TYPES:
            raise UsageError(f"unknown entity type {value!r}: use one of {', '.join(ENTITY_TYPES)}")
    return chosen


def parse_events(values: Iterable[str]) -> dict[str, dt.date]:
    """Parse ``--event NAME=YYYY-MM-DD`` values (see :data:`EVENTS`)."""
    events = {}
    for value in values:
        name, _, date = value.partition("=")
        name = name.strip().replace("-", "_")
        if name not in EVENTS:
            raise UsageError(f"unknown event {name!r} in {value!r}: use {', '.join(EVENTS)} as NAME=YYYY-MM-DD")
        try:
            events[name] = dt.date.fromisoformat(date.strip())
        except ValueError as exc:
            raise UsageError(f"bad date in --event {value!r}: use NAME=YYYY-MM-DD") from exc
    return events


def check_event_order(discovered: dt.date, events: dict[str, dt.date]) -> None:
    """Refuse events that cannot have happened in that order (a determination before discovery, individual
    notice before the determination): they would yield deadlines already past. Raises UsageError."""
    for name, day in sorted(events.items()):
        if day < discovered:
            raise UsageError(f"--event {name}={day} is before the discovery ({discovered}): check the dates, or "
                             "pass --allow-past-events if you mean it")
        for earlier in ORDER.get(name, ()):
            if earlier in events and day < events[earlier]:
                raise UsageError(f"--event {name}={day} is before {earlier}={events[earlier]}: check the dates, or "
                                 "pass --allow-past-events if you mean it")


def make_plan(people_path: Path, discovered: str, entity_types: Iterable[str] = (), events: Iterable[str] = (),
              laws_root: Path = LAWS_DIR, allow_past_events: bool = False, count_known: bool = True) -> PlanRun:
    """Read and check every input, then run the engine. Raises UsageError for bad input (exit 2)."""
    try:
        when, time_known = parse_discovered(discovered)
    except ValueError as exc:
        raise UsageError(f"bad --discovered {discovered!r}: use YYYY-MM-DD or YYYY-MM-DDTHH:MM[+HH:MM]") from exc
    journal.check_past(when, dt.datetime.now(dt.UTC), "--discovered", "give the day the breach was discovered")
    types = parse_entity_types(entity_types)
    recorded = parse_events(events)
    if not allow_past_events:
        check_event_order(when.date(), recorded)
    people = read_people(people_path)
    rule_files = load_rules(laws_root)
    try:
        digest, size = hash_file(people_path)
    except OSError as exc:
        raise from_os_error(exc, f"reading {people_path}") from exc
    result = engine.plan(people, when, types, [f.rule for f in rule_files], recorded, time_known, count_known)
    rules = [{"jurisdiction": f.rule.jurisdiction, "file": str(f.path.relative_to(laws_root)),
              "last_reviewed": f.rule.last_reviewed.isoformat(), "sha256": f.sha256} for f in rule_files]
    combined = hashlib.sha256("".join(f"{r['file']}:{r['sha256']}\n" for r in rules).encode()).hexdigest()
    inputs = {"people_file": {"name": people_path.name, "sha256": digest, "size": size},
              "rules_sha256": combined, "rules": rules}
    return PlanRun(result, inputs)


def plan_json_bytes(run: PlanRun) -> bytes:
    """The plan as stable JSON bytes (what is saved and hashed)."""
    return (json.dumps(run.to_json(), indent=2, default=str) + "\n").encode()


def record(case: Case, run: PlanRun, html: str | None = None) -> str:
    """Save the plan (and its HTML view) as case documents and journal the inputs' hashes; return its SHA-256."""
    stamp = run.plan.discovered.date().isoformat()
    document = case.save_document("notify-plan", f"notify-plan-{stamp}.json", plan_json_bytes(run),
                                  description="Notification obligations plan (supports, does not replace, counsel)")
    if html is not None:
        case.save_document("notify-plan", f"notify-plan-{stamp}.html", html.encode(),
                           description="Notification obligations plan, HTML view")
    plan = run.plan
    case.write("notify.plan", f"obligations plan for discovery {stamp}", {
        "discovered": engine.to_json(plan)["discovered"], "entity_types": list(plan.entity_types),
        "events": {k: v.isoformat() for k, v in plan.events.items()}, "people_total": plan.people_total,
        "obligations": len(plan.obligations), "not_covered": sum(n.people for n in plan.not_covered),
        "document_sha256": document.sha256, **run.inputs})
    return document.sha256
