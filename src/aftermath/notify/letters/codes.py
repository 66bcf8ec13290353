"""Credit-monitoring enrolment codes: one per eligible person, never shared, the same on every run."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from aftermath.errors import UsageError


def read_codes(path: Path) -> list[str]:
    """Codes from a CSV or text file: the ``code`` column, or the first column; duplicates refused."""
    try:
        rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    except OSError as exc:
        raise UsageError(f"cannot read codes file {path}: {exc.strerror}") from exc
    if rows and rows[0] and rows[0][0].strip().lower() == "code":
        rows = rows[1:]
    codes = [r[0].strip() for r in rows if r and r[0].strip()]
    dupes = sorted({c for c in codes if codes.count(c) > 1}) if len(set(codes)) != len(codes) else []
    if dupes:
        raise UsageError(f"{path}: code {dupes[0]!r} appears twice: every code must be unique")
    return codes


def read_assigned(path: Path) -> dict[str, str]:
    """The assignment written by an earlier run (person id to code)."""
    if not path.exists():
        return {}
    with path.open(encoding="utf-8", newline="") as fh:
        return {row["person_id"]: row["code"] for row in csv.DictReader(fh)}


def assign(eligible: Sequence[str], codes: Sequence[str], earlier: dict[str, str]) -> dict[str, str]:
    """Keep every earlier assignment; give each new eligible person the next unused code (pure)."""
    out = {pid: earlier[pid] for pid in eligible if pid in earlier}
    used = set(earlier.values())
    free = iter(c for c in codes if c not in used)
    for pid in eligible:
        if pid not in out:
            code = next(free, None)
            if code is None:
                missing = sum(1 for p in eligible if p not in out)
                raise UsageError(f"not enough enrolment codes: {missing} more people are owed credit monitoring; "
                                 "add codes to the --codes file")
            out[pid] = code
    return out


def assign_codes(assigned_path: Path, codes_path: Path | None, eligible: Sequence[str]) -> dict[str, str]:
    """The assignment for this run (empty when no codes were given and none were assigned before)."""
    earlier = read_assigned(assigned_path)
    if codes_path is None and not earlier:
        return {}
    return assign(eligible, read_codes(codes_path) if codes_path else [], earlier)
