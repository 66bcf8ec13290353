"""The PDF adapter (WeasyPrint, pypdf): print files for the mail house, with the page where each letter starts.

Letters are printed as variable data (:func:`print_letters`): each distinct body (same laws and elements,
so the same words) is laid out once by WeasyPrint with its personal fields left empty at a fixed size;
every person's fields (address in the window, greeting, enrolment code) are laid out together as one small
document, one page per page of their letter, each field at the place its empty slot has in the body; pypdf
then lays each person's field page over a copy of their body page. Layout, the costly part, is paid once
per distinct body rather than once per letter.

A print file holds many letters; each letter's title (its ``h1``) is a PDF bookmark, which gives the
page each letter starts on (a long letter may take two pages). Print files are rendered in parallel,
one process per core, since WeasyPrint holds the GIL; the workers are forked from a process that has
already imported WeasyPrint and laid out a page (fonts found, default stylesheet parsed), so none of
them pays that again.
"""

from __future__ import annotations

import io
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from aftermath.errors import ToolError, from_os_error
from aftermath.notify.letters import render as words
from aftermath.notify.letters.wording import TITLE

if TYPE_CHECKING:
    from pypdf import PdfReader

T = TypeVar("T")
Slot = tuple[str, float, float, float, float]  # field, x, y, width, height (CSS px) on its page
OVERLAY = """<!doctype html><html><head><meta charset="utf-8"><style>
@page { size: 8.5in 11in; margin: 0; }
body { margin: 0; font: 11pt/1.35 Georgia, "Times New Roman", serif; }
.page { position: relative; width: 8.5in; height: 11in; overflow: hidden; break-after: page; }
.field { position: absolute; white-space: nowrap; overflow: hidden; }
</style></head><body>%s</body></html>"""


def render(html: str, target: Path) -> list[int]:
    """Write ``html`` as a PDF to ``target`` (atomically); the first page (1-based) of each letter."""
    from weasyprint import HTML  # heavy: imported only when letters are printed

    document = HTML(string=html).render()
    starts = [mark[1][0] + 1 for mark in document.make_bookmark_tree()]
    _write(target, document.write_pdf)
    return starts


def _write(target: Path, write: Callable[[Any], object]) -> None:
    """Write a PDF to ``target`` atomically, through ``write(file)``."""
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        write(tmp)
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise from_os_error(exc, f"writing {target} (print files already written are whole; run again)") from exc


def print_letters(letters: Sequence[words.PrintLetter], target: Path) -> list[int]:
    """Write ``letters`` as one print file (atomically); the first page (1-based) of each letter."""
    from pypdf import PdfReader, PdfWriter
    from weasyprint import HTML

    bodies: dict[str, tuple[PdfReader, list[list[Slot]]]] = {}
    pages: list[str] = []  # the pages that carry someone's fields (usually only each letter's first)
    for letter in letters:
        if letter.body not in bodies:
            document = HTML(string=words.print_file([letter.body], 0)).render()
            bodies[letter.body] = (PdfReader(io.BytesIO(document.write_pdf())), [_slots(p) for p in document.pages])
        pages += filter(None, _fields(letter, bodies[letter.body][1]))
    html = OVERLAY % "".join(f'<div class="page">{p}</div>' for p in pages)
    over = PdfReader(io.BytesIO(HTML(string=html).write_pdf())).pages if pages else []
    if len(over) != len(pages):  # a field page must never spill onto a second page
        raise ToolError(f"WeasyPrint made {len(over)} pages of personal fields for {len(pages)} letter pages: "
                        f"{target} not written; report this with the WeasyPrint version")
    writer, starts, used = PdfWriter(), [], 0
    forms: dict[tuple[str, int], tuple[str, Any, Any]] = {}  # each body page is stored once in the file, as a form
    for letter in letters:
        body, slots = bodies[letter.body]
        starts.append(len(writer.pages) + 1)
        for j, (page, fields) in enumerate(zip(body.pages, _fields(letter, slots), strict=True)):
            if (letter.body, j) not in forms:
                forms[letter.body, j] = _form(writer, page, f"/AmBody{len(forms)}")
            if fields:
                mine = writer.add_page(over[used])
                used += 1
            else:  # nothing of this person's on this page: the body alone
                mine = writer.add_blank_page(page.mediabox.width, page.mediabox.height)
            _draw_under(mine, *forms[letter.body, j])
        writer.add_outline_item(title=TITLE, page_number=starts[-1] - 1)
    _write(target, writer.write)
    return starts


def _fields(letter: words.PrintLetter, slots: list[list[Slot]]) -> list[str]:
    """The HTML of ``letter``'s fields on each page of its body ("" where a page has none)."""
    fields = dict(letter.fields)
    return ["".join(words.overlay_field(fields[f], *at) for f, *at in page if f in fields) for page in slots]


def _form(writer: Any, page: Any, name: str) -> tuple[str, Any, Any]:
    """``page`` as a form XObject in ``writer``, and a content stream that draws it: (name, form, call)."""
    from pypdf.generic import DecodedStreamObject, NameObject

    form = DecodedStreamObject()
    form.set_data(page.get_contents().get_data())
    form.update({NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Form"),
                 NameObject("/BBox"): page.mediabox, NameObject("/Resources"): page["/Resources"].clone(writer)})
    call = DecodedStreamObject()
    call.set_data(f"q {name} Do Q\n".encode())
    return name, writer._add_object(form.flate_encode()), writer._add_object(call)  # noqa: SLF001


def _draw_under(page: Any, name: str, form: Any, call: Any) -> None:
    """Make ``page`` draw ``form`` first, under its own content (no content stream is parsed)."""
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject

    resources = page["/Resources"].get_object()
    if "/XObject" not in resources:
        resources[NameObject("/XObject")] = DictionaryObject()
    resources["/XObject"].get_object()[NameObject(name)] = form
    own = page.get("/Contents")
    own = own.get_object() if own is not None else ArrayObject()
    page[NameObject("/Contents")] = ArrayObject([call, *(own if isinstance(own, ArrayObject) else [page["/Contents"]])])


def _slots(page: Any) -> list[Slot]:
    """Where the personal fields (elements with ``data-field``) are on one laid-out page."""
    found: dict[str, Slot] = {}
    for box in page._page_box.descendants():  # noqa: SLF001 - WeasyPrint's laid-out boxes
        element = getattr(box, "element", None)
        field = element.get("data-field") if element is not None else None
        if field and field not in found:
            found[field] = (field, box.content_box_x(), box.content_box_y(), box.width, box.height)
    return list(found.values())


def render_all(jobs: Sequence[tuple[str, Path]], workers: int = 0) -> list[list[int]]:
    """Render several print files from HTML, in parallel when there are several; their letters' first pages."""
    return in_parallel(render, jobs, workers)


def print_all(jobs: Sequence[tuple[Sequence[words.PrintLetter], Path]], workers: int = 0) -> list[list[int]]:
    """Print several files of letters (:func:`print_letters`), in parallel; their letters' first pages."""
    return in_parallel(print_letters, jobs, workers)


def in_parallel(fn: Callable[[T, Path], list[int]], jobs: Sequence[tuple[T, Path]], workers: int) -> list[list[int]]:
    """``fn`` over the jobs, one process per core, forked once WeasyPrint is warm."""
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    if workers <= 1 or len(jobs) <= 1:
        return [fn(what, target) for what, target in jobs]
    warm_up()
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(fn, [w for w, _ in jobs], [t for _, t in jobs]))


def warm_up() -> None:
    """Import WeasyPrint and lay out one small page: what every later document would otherwise pay first."""
    from weasyprint import HTML

    HTML(string="<p>warm</p>").render()
