"""Running a scope: plan units for every source, scan them (in parallel when local), merge into people."""

from __future__ import annotations

import gc
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from aftermath.notify.discover.files import Files, LocalFiles
from aftermath.notify.discover.merge import Merged, merge
from aftermath.notify.discover.scan import ColumnStats, UnitResult, scan_unit
from aftermath.notify.discover.sources import Unit, plan
from aftermath.notify.people import Person

# More than this share of people without a country (or a US state) makes the residence warning loud:
# a notification plan built on such a file would miss state and country duties.
UNKNOWN_RESIDENCE_SHARE = 0.03
RESIDENCE_ROLES = ("address", "city", "region", "postal_code", "country")
SPLIT_ROWS = 250_000  # a table larger than this is split into row ranges (units) for parallel scanning

Progress = Callable[[int, int], None]  # (units done, units total)


@dataclass
class ScopeResult:
    """Everything a scope run found: the people, and what the report says about how they were found."""

    sources: list[str]
    snapshot: str
    units: list[Unit]
    merged: Merged
    columns: list[ColumnStats]
    skipped_rows: list[tuple[str, str, int, str]]   # source, table, row, why
    skipped_files: list[tuple[str, str]]             # path, why
    rows_scanned: int
    cells: int
    seconds: float
    per_source_rows: dict[str, int] = field(default_factory=dict)

    @property
    def people(self) -> list[Person]:
        """The affected people (at least one element exposed)."""
        return self.merged.people

    def element_counts(self) -> dict[str, int]:
        """People per data element."""
        return dict(sorted(Counter(e for p in self.people for e in p.elements).items()))

    def state_counts(self) -> dict[str, int]:
        """People per residence (``US-TX``, ``DE``, ``ZZ`` for unknown)."""
        return dict(sorted(Counter(p.subdivision for p in self.people).items()))

    def damaged(self) -> list[tuple[str, str, str, int]]:
        """Values a spreadsheet visibly damaged: (table, column, why, count), for the report."""
        return [(c.table, c.column, why, n) for c in sorted(self.columns, key=lambda c: (c.source, c.table, c.column))
                for why, n in sorted(c.damaged.items())]

    def residence_unknown(self) -> int:
        """People without a country, or in the US without a state."""
        return sum(1 for p in self.people if p.country in ("", "ZZ") or (p.country == "US" and not p.region))

    def residence_warning(self) -> str:
        """A loud one-paragraph warning when too many people have no usable residence ("" otherwise),
        naming the address columns that were tried and how many of their values validated."""
        unknown = self.residence_unknown()
        if not self.people or unknown <= UNKNOWN_RESIDENCE_SHARE * len(self.people):
            return ""
        tried = [f"{c.table}.{c.column} ({c.role}" + (f", {c.valid} of {c.filled} valid" if c.role in
                                                      ("region", "postal_code", "country") else "") + ")"
                 for c in sorted(self.columns, key=lambda c: (c.source, c.table, c.column))
                 if c.role in RESIDENCE_ROLES]
        return (f"{unknown} of {len(self.people)} people ({unknown / len(self.people):.0%}) have no country or "
                f"US state: a notification plan built on this file would miss their state and country duties. "
                f"Columns tried: {', '.join(tried) if tried else 'none named like an address, state, ZIP or country'}."
                " Fix the columns (or the people file) before `notify plan`.")


def scope(sources: list[str], files: Files | None = None, *, snapshot: str = "", workers: int = 0,
          progress: Progress | None = None) -> ScopeResult:
    """Find the affected people in ``sources`` (read from ``files``: the local disk or a snapshot)."""
    started = time.monotonic()
    files = files or LocalFiles()
    local = isinstance(files, LocalFiles)
    workers = workers or (os.cpu_count() or 1)
    units: list[Unit] = []
    skipped_files: list[tuple[str, str]] = []
    for spec in sources:
        planned, notes = plan(spec, files, SPLIT_ROWS if local and workers > 1 else 0)
        units += planned
        skipped_files += notes
    with quiet_gc():
        results = _scan_all(units, files, workers if local else 1, progress)
        merged = merge((r.unit.source, r.rows) for r in results)
    skipped_files += dict.fromkeys((r.unit.locator, r.failed) for r in results if r.failed)  # a split file once
    columns: dict[tuple[str, str, str], ColumnStats] = {}
    per_source: Counter[str] = Counter()
    for r in results:
        per_source[r.unit.source] += r.scanned
        for (table, name), stats in r.columns.items():
            _add_stats(columns, (r.unit.source, table, name), stats)
    return ScopeResult(
        sources=sources, snapshot=snapshot, units=units, merged=merged, columns=list(columns.values()),
        skipped_rows=[(r.unit.source, t, n, why) for r in results for t, n, why in r.skipped],
        skipped_files=skipped_files, rows_scanned=sum(r.scanned for r in results),
        cells=sum(r.cells for r in results), seconds=time.monotonic() - started, per_source_rows=dict(per_source))


def _add_stats(into: dict[tuple[str, str, str], ColumnStats], key: tuple[str, str, str], s: ColumnStats) -> None:
    have = into.get(key)
    if have is None:
        into[key] = s
        return
    have.cells += s.cells
    have.filled += s.filled
    have.valid += s.valid
    have.damaged.update(s.damaged)
    have.ranking = have.ranking or s.ranking
    have.counts.update(s.counts)
    have.below.update(s.below)
    for kind, conf in s.confidence.items():
        if conf >= have.confidence.get(kind, 0.0):
            have.confidence[kind], have.reasons[kind] = conf, s.reasons[kind]


@contextmanager
def quiet_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: scanning allocates millions of acyclic tuples, and full
    collections over a large heap cost 40% of the run for nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _scan_one(unit: Unit) -> UnitResult:
    with quiet_gc():
        return scan_unit(unit)


def _scan_all(units: list[Unit], files: Files, workers: int, progress: Progress | None) -> list[UnitResult]:
    results: list[UnitResult] = []
    if workers <= 1 or len(units) <= 1:
        for unit in units:
            results.append(scan_unit(unit, files))
            if progress:
                progress(len(results), len(units))
        return results
    # Fork: the workers inherit the compiled patterns; each unit is independent (a table or a row range).
    with multiprocessing.get_context("fork").Pool(min(workers, len(units))) as pool:
        for result in pool.imap(_scan_one, units):
            results.append(result)
            if progress:
                progress(len(results), len(units))
    return results
