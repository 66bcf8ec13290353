"""Render a review: the JSON document (see :meth:`ReviewResult.to_json`) and a self-contained HTML page.

The HTML works from the JSON alone, so a saved review can be rendered again later.
"""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any

from aftermath.review.result import ReviewResult
from aftermath.review.scanner import SEVERITY_ORDER

if TYPE_CHECKING:
    import jinja2


@cache
def _env() -> jinja2.Environment:
    import jinja2  # only when a page is rendered: a review without --html does not load it

    return jinja2.Environment(loader=jinja2.PackageLoader("aftermath.review", "templates"),
                              autoescape=jinja2.select_autoescape(["html", "j2"]), undefined=jinja2.StrictUndefined)


def to_json_text(result: ReviewResult) -> str:
    """The JSON report as text."""
    return json.dumps(result.to_json(), indent=2) + "\n"


def to_html(review: ReviewResult | dict[str, Any]) -> str:
    """The HTML report: a timeline coloured by verdict, first appearances marked, findings grouped by rule."""
    doc = review.to_json() if isinstance(review, ReviewResult) else review
    by_id = {s["id"]: s for s in doc["snapshots"]}
    first: dict[str, list[dict[str, Any]]] = {}
    for f in doc["findings"]:
        first.setdefault(f["first_seen"], []).append(f)
    counts = {v: sum(1 for s in doc["snapshots"] if s["verdict"] == v) for v in SEVERITY_ORDER}
    return _env().get_template("report.html.j2").render(r=doc, by_id=by_id, first=first, counts=counts,
                                                      groups=_groups(doc["findings"]))


def _groups(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Findings grouped by (kind, rule), most severe and earliest groups first."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for position, f in enumerate(findings):  # findings come sorted by first appearance
        g = groups.setdefault((f["kind"], f["rule"]), {"kind": f["kind"], "rule": f["rule"], "rows": [],
                                                       "severity": f.get("severity", "infected"),
                                                       "first": f["first_seen"], "order": position})
        g["rows"].append(f)
    return sorted(groups.values(), key=lambda g: (SEVERITY_ORDER.index(g["severity"]), g["order"]))
