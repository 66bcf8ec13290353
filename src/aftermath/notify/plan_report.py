"""The HTML view of a notification plan: a calendar of deadlines, a tile map of people by state, the duties.

Rendered from the plan's JSON (so a saved plan can be rendered again) with a Jinja2 template into one
self-contained file: inline CSS and SVG, nothing fetched.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Path(__file__).parent / "templates"
MAX_MONTHS = 18
COUNSEL_NOTICE = ("This plan supports and does not replace legal counsel. It is computed from law files that may be "
                  "out of date or incomplete; a lawyer must confirm every duty, deadline and exception before "
                  "anyone relies on it.")

# Tile-grid map of the US (column, row): one square per state, placed roughly where the state is.
US_TILES: dict[str, tuple[int, int]] = {
    "AK": (0, 0), "ME": (11, 0), "WI": (6, 1), "VT": (10, 1), "NH": (11, 1),
    "WA": (1, 2), "ID": (2, 2), "MT": (3, 2), "ND": (4, 2), "MN": (5, 2), "IL": (6, 2), "MI": (7, 2),
    "NY": (9, 2), "MA": (10, 2),
    "OR": (1, 3), "NV": (2, 3), "WY": (3, 3), "SD": (4, 3), "IA": (5, 3), "IN": (6, 3), "OH": (7, 3),
    "PA": (8, 3), "NJ": (9, 3), "CT": (10, 3), "RI": (11, 3),
    "CA": (1, 4), "UT": (2, 4), "CO": (3, 4), "NE": (4, 4), "MO": (5, 4), "KY": (6, 4), "WV": (7, 4),
    "VA": (8, 4), "MD": (9, 4), "DE": (10, 4),
    "AZ": (2, 5), "NM": (3, 5), "KS": (4, 5), "AR": (5, 5), "TN": (6, 5), "NC": (7, 5), "SC": (8, 5),
    "DC": (9, 5),
    "OK": (4, 6), "LA": (5, 6), "MS": (6, 6), "AL": (7, 6), "GA": (8, 6),
    "HI": (0, 7), "TX": (4, 7), "FL": (9, 7),
    "PR": (8, 8), "VI": (9, 8), "GU": (0, 8), "MP": (1, 8), "AS": (2, 8),
}
TILE = 44


def render_html(plan: dict[str, Any]) -> str:
    """The self-contained HTML page for a plan's JSON (see :func:`aftermath.notify.engine.to_json`)."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    places = plan.get("people_by_place", {})
    abroad = sorted(((k, v) for k, v in places.items() if _us_state(k) is None), key=lambda kv: (-kv[1], kv[0]))
    return env.get_template("plan.html.j2").render(
        plan=plan, notice=COUNSEL_NOTICE, months=calendar_months(plan), tiles=map_tiles(places),
        map_width=12 * TILE, map_height=9 * TILE, tile=TILE, abroad=abroad)


def calendar_months(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Month grids (weeks from Monday) from discovery to the last dated duty, each day with its duties."""
    start = dt.date.fromisoformat(plan["discovered"][:10])
    by_day: dict[dt.date, list[dict[str, Any]]] = defaultdict(list)
    for ob in plan["obligations"]:
        if ob["deadline"]:
            by_day[dt.date.fromisoformat(ob["deadline"])].append(ob)
    end = max([start, *by_day])
    months: list[dict[str, Any]] = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month) and len(months) < MAX_MONTHS:
        weeks = [[_day(d, month, start, by_day) for d in week]
                 for week in calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)]
        months.append({"title": f"{calendar.month_name[month]} {year}", "weeks": weeks})
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _day(day: dt.date, month: int, discovered: dt.date, by_day: dict[dt.date, list[dict[str, Any]]]) -> dict[str, Any]:
    return {"day": day.day, "iso": day.isoformat(), "in_month": day.month == month,
            "discovery": day == discovered, "duties": by_day.get(day, []) if day.month == month else []}


def map_tiles(places: dict[str, int]) -> list[dict[str, Any]]:
    """One tile per US state or territory, coloured by the number of affected people living there."""
    counts = {state: n for place, n in places.items() if (state := _us_state(place))}
    top = max(counts.values(), default=0)
    tiles = []
    for code, (x, y) in US_TILES.items():
        n = counts.get(code, 0)
        tiles.append({"code": code, "x": x * TILE, "y": y * TILE, "count": n, "fill": _shade(n, top)})
    return tiles


def _us_state(place: str) -> str | None:
    country, _, region = place.partition("-")
    return region if country == "US" and region in US_TILES else None


def _shade(count: int, top: int) -> str:
    """Light grey for none; from pale to deep red as the count approaches the largest."""
    if count == 0 or top == 0:
        return "#eeeeee"
    level = 0.25 + 0.75 * (count / top)
    red, green, blue = 255, int(235 - 190 * level), int(225 - 190 * level)
    return f"#{red:02x}{green:02x}{blue:02x}"
