"""Server-rendered SVG plots: the snapshot timeline, bars over time, people per state. No JavaScript."""

from __future__ import annotations

from html import escape
from typing import Any

COLOURS = {"clean": "#2e7d32", "suspicious": "#f9a825", "infected": "#c62828", "encrypted": "#4a148c",
           "unreadable": "#6d4c41"}
# Rough tile-grid positions of the US states (column, row), as newsrooms draw them.
TILES = {
    "AK": (0, 0), "ME": (11, 0), "VT": (10, 1), "NH": (11, 1), "WA": (1, 2), "ID": (2, 2), "MT": (3, 2),
    "ND": (4, 2), "MN": (5, 2), "IL": (6, 2), "WI": (7, 2), "MI": (8, 2), "NY": (9, 2), "RI": (10, 2),
    "MA": (11, 2), "OR": (1, 3), "NV": (2, 3), "WY": (3, 3), "SD": (4, 3), "IA": (5, 3), "IN": (6, 3),
    "OH": (7, 3), "PA": (8, 3), "NJ": (9, 3), "CT": (10, 3), "CA": (1, 4), "UT": (2, 4), "CO": (3, 4),
    "NE": (4, 4), "MO": (5, 4), "KY": (6, 4), "WV": (7, 4), "VA": (8, 4), "MD": (9, 4), "DE": (10, 4),
    "AZ": (2, 5), "NM": (3, 5), "KS": (4, 5), "AR": (5, 5), "TN": (6, 5), "NC": (7, 5), "SC": (8, 5),
    "DC": (9, 5), "OK": (4, 6), "LA": (5, 6), "MS": (6, 6), "AL": (7, 6), "GA": (8, 6), "HI": (0, 7),
    "TX": (4, 7), "FL": (9, 7), "PR": (11, 7),
}


def timeline_svg(snapshots: list[dict[str, Any]]) -> str:
    """One square per snapshot, coloured by verdict; a ring marks the last clean point, a dot new findings."""
    if not snapshots:
        return ""
    step, width = 34, 34 * len(snapshots) + 20
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="70" role="img" '
             f'aria-label="snapshot timeline">']
    for i, s in enumerate(snapshots):
        x = 10 + i * step
        colour = COLOURS.get(s["verdict"], "#9e9e9e")
        title = escape(f'{s["time"]} {s["id"]} {s["verdict"]}' + (f' - first seen: {len(s["first"])}'
                                                                     if s["first"] else ""))
        parts.append(f'<g><title>{title}</title><rect x="{x}" y="10" width="26" height="26" fill="{colour}" '
                     f'rx="3"/>')
        if s["last_clean"]:
            parts.append(f'<rect x="{x - 3}" y="7" width="32" height="32" fill="none" stroke="#1565c0" '
                         f'stroke-width="3" rx="4"/>')
        if s["first"]:
            parts.append(f'<circle cx="{x + 13}" cy="48" r="5" fill="#000"/>')
        parts.append(f'<text x="{x + 13}" y="64" font-size="9" text-anchor="middle">{escape(s["time"][5:10])}'
                     '</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def bars_svg(points: list[tuple[str, int]], label: str) -> str:
    """A bar per (day, count)."""
    if not points:
        return ""
    top = max(n for _, n in points) or 1
    width = 40 * len(points) + 20
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="140" role="img" '
             f'aria-label="{escape(label)}">']
    for i, (day, n) in enumerate(points):
        h = int(100 * n / top)
        x = 10 + i * 40
        parts.append(f'<g><title>{escape(day)}: {n}</title><rect x="{x}" y="{110 - h}" width="30" height="{h}" '
                     f'fill="#1565c0"/><text x="{x + 15}" y="125" font-size="9" text-anchor="middle">'
                     f'{escape(day[5:])}</text><text x="{x + 15}" y="{106 - h}" font-size="9" '
                     f'text-anchor="middle">{n}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def states_svg(counts: dict[str, int]) -> str:
    """A tile map of the US: one square per state, darker with more people (counts only)."""
    if not counts:
        return ""
    top = max(counts.values()) or 1
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="440" height="300" role="img" '
             'aria-label="people in scope per state">']
    for state, (col, row) in TILES.items():
        n = counts.get(state, 0)
        shade = 0.1 + 0.9 * n / top if n else 0.0
        fill = f"rgba(21,101,192,{shade:.2f})" if n else "#eeeeee"
        x, y = 10 + col * 35, 10 + row * 35
        parts.append(f'<g><title>{state}: {n}</title><rect x="{x}" y="{y}" width="32" height="32" fill="{fill}" '
                     f'stroke="#fff"/><text x="{x + 16}" y="{y + 20}" font-size="10" text-anchor="middle">'
                     f'{state}</text></g>')
    parts.append("</svg>")
    return "".join(parts)
