"""The PDF adapter (WeasyPrint): print files for the mail house, with the page where each letter starts.

A print file holds many letters; each letter's title (its ``h1``) is a PDF bookmark, which gives the
page each letter starts on (a long letter may take two pages). Print files are rendered in parallel,
one process per core, since WeasyPrint holds the GIL; the workers are forked from a process that has
already imported WeasyPrint and laid out a page (fonts found, default stylesheet parsed), so none of
them pays that again.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from aftermath.errors import from_os_error


def render(html: str, target: Path) -> list[int]:
    """Write ``html`` as a PDF to ``target`` (atomically); the first page (1-based) of each letter."""
    from weasyprint import HTML  # heavy: imported only when letters are printed

    document = HTML(string=html).render()
    starts = [mark[1][0] + 1 for mark in document.make_bookmark_tree()]
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        document.write_pdf(tmp)
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise from_os_error(exc, f"writing {target} (print files already written are whole; run again)") from exc
    return starts


def render_all(jobs: Sequence[tuple[str, Path]], workers: int = 0) -> list[list[int]]:
    """Render several print files, in parallel when there are several; their letters' first pages."""
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    if workers <= 1 or len(jobs) <= 1:
        return [render(html, target) for html, target in jobs]
    warm_up()
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(render, [h for h, _ in jobs], [t for _, t in jobs]))


def warm_up() -> None:
    """Import WeasyPrint and lay out one small page: what every later document would otherwise pay first."""
    from weasyprint import HTML

    HTML(string="<p>warm</p>").render()
