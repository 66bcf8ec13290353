"""The scope's outputs: people.csv (the contract), a findings CSV, and a self-contained HTML report.

None of them holds a sensitive value: people.csv has what is needed to notify (name, address, email,
kinds of data); the findings file and the report add only where each kind was found.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from aftermath.notify.discover.kinds import DIRECT, THRESHOLD
from aftermath.notify.discover.run import ScopeResult
from aftermath.notify.discover.scan import ColumnStats
from aftermath.notify.people import format_people

REPORT_PEOPLE = 500
REPORT_ROWS = 1000


def people_csv(result: ScopeResult) -> str:
    """The people file (see :mod:`aftermath.notify.people`)."""
    return format_people(result.people)


def findings_csv(result: ScopeResult) -> str:
    """Every location of every person's data: person id, kind, element, source, table, column, row, confidence."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["person_id", "kind", "element", "source", "table", "column", "row", "confidence"])
    for p in result.people:
        for loc in result.merged.locations.get(p.id, []):
            w.writerow([p.id, loc.kind, DIRECT.get(loc.kind, ""), loc.source, loc.table, loc.column, loc.row,
                        f"{loc.confidence:.2f}"])
    return out.getvalue()


def _columns(result: ScopeResult) -> list[dict[str, Any]]:
    rows = []
    for c in sorted(result.columns, key=lambda c: (c.source, c.table, c.column)):
        for kind in sorted(set(c.counts) | set(c.below)) or [""]:
            rows.append({"source": c.source, "table": c.table, "column": c.column, "role": c.role, "kind": kind,
                         "count": c.counts.get(kind, 0), "filled": c.filled,
                         "confidence": f"{c.confidence[kind]:.2f}" if kind in c.confidence else "",
                         "reason": c.reasons.get(kind, f"{c.below[kind]} below threshold" if kind else ""),
                         "address": _address_check(c)})
    return rows


def _address_check(c: ColumnStats) -> str:
    if c.role not in ("region", "postal_code", "country"):
        return ""
    return f"{c.valid} of {c.filled} valid" + (f"; {c.ranking}" if c.ranking else "")


def html_report(result: ScopeResult, findings_note: str = "") -> str:
    """The HTML report (self-contained: inline style, no script, no external resource)."""
    env = Environment(loader=PackageLoader("aftermath.notify.discover", "templates"),
                      autoescape=select_autoescape(["html", "j2"]))
    flags = [(pid, why) for pid, whys in sorted(result.merged.flags.items()) for why in whys]
    skipped = result.skipped_rows
    people = result.people[:REPORT_PEOPLE]
    return env.get_template("report.html.j2").render(
        people_count=len(result.people), rows_scanned=result.rows_scanned, cells=result.cells,
        seconds=result.seconds, snapshot=result.snapshot, unaffected=result.merged.unaffected,
        sources=sorted(result.per_source_rows.items()), elements=list(result.element_counts().items()),
        states=list(result.state_counts().items()), columns=_columns(result), threshold=THRESHOLD,
        flags=flags[:REPORT_ROWS], flags_more=max(0, len(flags) - REPORT_ROWS),
        skipped_rows=skipped[:REPORT_ROWS], skipped_more=max(0, len(skipped) - REPORT_ROWS),
        unattributed=result.merged.unattributed[:REPORT_ROWS], skipped_files=result.skipped_files,
        locations=[(p.id, ", ".join(sorted(p.elements)), result.merged.locations.get(p.id, [])) for p in people],
        findings_note=findings_note, residence_warning=result.residence_warning(), damaged=result.damaged())
