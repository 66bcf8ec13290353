"""Scanning one work unit: every column of every chunk through the detectors, then per-row records.

A unit's result is small and picklable (tuples, dicts of counts), so units can run in other processes.
It never holds a sensitive value: only kinds, columns, row numbers and the identity fields needed to
notify (customer id, email, name, postal address).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from stdnum.us import ssn

from aftermath.notify.discover import detectors, national, residence
from aftermath.notify.discover.columns import hint
from aftermath.notify.discover.files import Files, LocalFiles
from aftermath.notify.discover.kinds import THRESHOLD
from aftermath.notify.discover.sources import Chunk, Unit, read, reason, skippable

ROLES = ("customer_id", "email", "name", "first_name", "last_name", "address", "address2", "city", "region",
         "postal_code", "country", "residence_note", "phone")
# Kinds that tell who the row is about rather than what was exposed.
IDENTITY_KINDS = frozenset({"email"})

# (table, row number, identity values in ROLES order, ((column, kind, confidence), ...))
RowRecord = tuple[str, int, tuple[str, ...], tuple[tuple[str, str, float], ...]]


@dataclass
class ColumnStats:
    """What was found in one column: counts, best confidence and a reason per kind."""

    source: str
    table: str
    column: str
    role: str
    name_kinds: tuple[str, ...]
    cells: int = 0
    filled: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    below: Counter[str] = field(default_factory=Counter)
    confidence: dict[str, float] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    damaged: Counter[str] = field(default_factory=Counter)  # why -> values damaged by a spreadsheet
    valid: int = 0     # values that validate for its residence role (country, state, postal code)
    ranking: str = ""  # when several columns claim that role: which one was used


@dataclass
class UnitResult:
    """Everything one unit contributes: row records, column statistics, rows skipped."""

    unit: Unit
    rows: list[RowRecord] = field(default_factory=list)
    columns: dict[tuple[str, str], ColumnStats] = field(default_factory=dict)
    skipped: list[tuple[str, int, str]] = field(default_factory=list)
    scanned: int = 0
    cells: int = 0
    failed: str = ""  # why a file found in a folder could not be read ("" when it was)


def scan_unit(unit: Unit, files: Files | None = None) -> UnitResult:
    """Read and scan one unit (from the local disk unless ``files`` says otherwise).

    A file found in a folder that cannot be read is skipped as a whole: nothing it gave counts, and
    ``failed`` says why, so that the scan goes on with the other files."""
    result = UnitResult(unit)
    skipped: list[tuple[int, str]] = []
    table = unit.table or unit.locator
    try:
        for chunk in read(unit, files or LocalFiles(), skipped):
            scan_chunk(chunk, chunk.table or table, result)
    except Exception as exc:
        if not (unit.found and skippable(exc)):
            raise
        return UnitResult(unit, failed=reason(exc))
    result.skipped += [(table, n, why) for n, why in skipped]
    return result


def scan_chunk(chunk: Chunk, table: str, result: UnitResult) -> None:
    """Scan one chunk of rows into ``result``."""
    n = len(chunk.rows)
    hits: list[list[tuple[str, str, float]]] = [[] for _ in range(n)]
    identity: list[list[str]] = [[""] * len(ROLES) for _ in range(n)]
    ranked: dict[str, list[tuple[ColumnStats, list[str]]]] = defaultdict(list)
    for j, name in enumerate(chunk.columns):
        h = hint(name, table)
        values = [row[j] for row in chunk.rows]
        stats = result.columns.get((table, name))
        if stats is None:
            stats = ColumnStats(result.unit.source, table, name, h.role, tuple(sorted(h.kinds)))
            result.columns[(table, name)] = stats
        stats.cells += n
        stats.filled += sum(1 for v in values if v)
        if h.kinds:
            stats.damaged.update(why for why in (detectors.damage(v, h.kinds) for v in values if v) if why)
        if h.role in residence.RANKED:
            ranked[h.role].append((stats, values))
        elif h.role:
            slot = ROLES.index(h.role)
            keep = h.role == "phone"  # of several phone columns (home, mobile), the first filled one
            for i, v in enumerate(values):
                if not (keep and identity[i][slot]):
                    identity[i][slot] = v.strip()
        for i, det in detectors.scan_column(values, h):
            if det.confidence < THRESHOLD:
                stats.below[det.kind] += 1
                continue
            stats.counts[det.kind] += 1
            if det.confidence >= stats.confidence.get(det.kind, 0.0):
                stats.confidence[det.kind] = det.confidence
                stats.reasons[det.kind] = det.reason
            hits[i].append((name, det.kind, det.confidence))
    for role in residence.RANKED:
        if role in ranked:
            _fill_ranked(role, ranked[role], identity)
    _national_ids(chunk, table, hits, identity, result)
    result.cells += n * len(chunk.columns)
    result.scanned += n
    for i in range(n):
        ident = tuple(identity[i])
        if hits[i] or any(ident):
            result.rows.append((table, chunk.numbers[i], ident, tuple(_dedupe(hits[i]))))


def _dedupe(hits: list[tuple[str, str, float]]) -> list[tuple[str, str, float]]:
    """One hit per (column, kind): a text cell naming two SSNs still exposes one element there."""
    if len(hits) < 2 or len({(c, k) for c, k, _ in hits}) == len(hits):
        return hits
    best: dict[tuple[str, str], float] = defaultdict(float)
    for column, kind, conf in hits:
        best[(column, kind)] = max(best[(column, kind)], conf)
    return [(c, k, v) for (c, k), v in best.items()]


def _fill_ranked(role: str, candidates: list[tuple[ColumnStats, list[str]]], identity: list[list[str]]) -> None:
    """Fill a residence role from the column whose values validate best; note rows where they disagree."""
    zips = [ident[ROLES.index("postal_code")] for ident in identity]
    order, counts = residence.rank(role, [values for _, values in candidates], zips)
    for (stats, _), count in zip(candidates, counts, strict=True):
        stats.valid += count
    best = candidates[order[0]][0].column
    if len(candidates) > 1:
        others = ", ".join(candidates[j][0].column for j in order[1:])
        candidates[order[0]][0].ranking = f"used for {role} (validates best; also tried {others})"
        if role == "region":
            candidates[order[0]][0].ranking = f"used for {role} (agrees best with the ZIP codes; also tried {others})"
        for j in order[1:]:
            candidates[j][0].ranking = f"not used for {role}: {best} validates better"
    names = [candidates[j][0].column for j in order]
    slot, note_slot = ROLES.index(role), ROLES.index("residence_note")
    for i, ident in enumerate(identity):
        value, note = residence.pick(role, names, [candidates[j][1][i] for j in order])
        ident[slot] = value
        if note:
            ident[note_slot] = "; ".join(filter(None, (ident[note_slot], note)))


def _national_ids(chunk: Chunk, table: str, hits: list[list[tuple[str, str, float]]], identity: list[list[str]],
                  result: UnitResult) -> None:
    """A Luhn-valid number that validates as a national identifier of the row's country is that identifier,
    not a card (unless its column says card); a national identifier of a US resident that is a valid SSN
    is an SSN, reported once."""
    index = {name: j for j, name in enumerate(chunk.columns)}
    slot = ROLES.index("country")
    for i, row_hits in enumerate(hits):
        if not any(k in ("card_number", "national_id") for _, k, _ in row_hits):
            continue
        country = residence.country_code(identity[i][slot])
        ssn_columns = {c for c, k, _ in row_hits if k == "ssn"}
        kept = []
        for column, kind, conf in row_hits:
            value = chunk.rows[i][index[column]] if column in index else ""
            new = kind
            if kind == "national_id" and (column in ssn_columns or (country in ("US", "") and _is_ssn(value))):
                new = "" if column in ssn_columns else "ssn"
            elif (kind == "card_number" and "card_number" not in hint(column, table).kinds
                  and national.identify(value, country)):
                new = "national_id"
            if new != kind:
                stats = result.columns[(table, column)]
                stats.counts[kind] -= 1
                if new:
                    stats.counts[new] += 1
                    stats.confidence.setdefault(new, 0.95)
                    stats.reasons.setdefault(new, f"valid {national.identify(value, country) or 'SSN'}, not a card"
                                             if kind == "card_number" else "valid SSN of a US resident")
            if new:
                kept.append((column, new, conf))
        hits[i] = kept


def _is_ssn(value: str) -> bool:
    digits = value.replace("-", "").replace(" ", "")
    return len(digits) == 9 and ssn.is_valid(digits)
