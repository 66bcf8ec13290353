"""Print files: many letters in one PDF, the page where each starts, the address where the window is."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from aftermath.errors import StorageError
from aftermath.notify.laws.schema import load_all
from aftermath.notify.letters import pdf, render
from aftermath.notify.letters.content import compose, load_agencies, load_blocks, rules_for
from aftermath.notify.letters.incident import EXAMPLE, load_incident
from aftermath.notify.letters.wording import sections
from aftermath.notify.people import Person
from tests.notify.letters.helpers import TODAY

RULES = [r for r in load_all() if "business" in r.applies_to_entities]


def fragment(i: int, region: str) -> str:
    p = Person(id=str(i), name=f"Pat Doe {i}", street=f"{i} Main St", city="Town", region=region,
               postal_code="00000", elements=frozenset({"ssn"}))
    letter = compose(p, rules_for(p, RULES), load_blocks())
    secs = sections(letter, load_incident(EXAMPLE), load_agencies(), TODAY, "CODE-1")
    return render.letter_html(p, secs, load_incident(EXAMPLE), with_address=True)


def printed(i: int, region: str, name: str = "", code: str | None = "CODE-1") -> render.PrintLetter:
    """A postal letter as ``notify letters`` prints it (body shared with others, personal fields apart)."""
    p = Person(id=str(i), name=name or f"Pat Doe {i}", street=f"{i} Main St", city="Town", region=region,
               postal_code="00000", elements=frozenset({"ssn"}))
    letter = compose(p, rules_for(p, RULES), load_blocks())
    secs = sections(letter, load_incident(EXAMPLE), load_agencies(), TODAY, render.CODE_SLOT if code else None)
    return render.print_letter(p, secs, load_incident(EXAMPLE), code)


def text(target: Path, page: int, *box: int) -> str:
    """pdftotext of one page (of the box x, y, width, height in points, when given)."""
    crop = [a for flag, v in zip(("-x", "-y", "-W", "-H"), box, strict=False) for a in (flag, str(v))]
    return subprocess.run(["pdftotext", "-layout", "-f", str(page), "-l", str(page), *crop, str(target), "-"],
                          capture_output=True, text=True, check=True).stdout


def test_printed_letters_share_a_body_and_each_carries_its_own_fields_on_its_own_pages(tmp_path: Path) -> None:
    people = [printed(1, "CT", "Ann Lee", "K-ANN-0001"), printed(2, "NC", code=None),  # NC: no monitoring
              printed(3, "CT", "Bartholomew Montgomery-Fitzwilliam", "K-BOB-0002")]
    assert people[0].body == people[2].body != people[1].body  # same laws and elements: one body, laid out once
    target = tmp_path / "print.pdf"
    starts = pdf.print_letters(people, target)
    assert starts[0] == 1 and starts[0] < starts[1] < starts[2]
    pages = int(subprocess.run(["pdfinfo", str(target)], capture_output=True, text=True, check=True).stdout
                .split("Pages:")[1].split()[0])
    ends = [*starts[1:], pages + 1]
    fields = [("Ann Lee", "1 Main St", "K-ANN-0001"), ("Pat Doe 2", "2 Main St", ""),
              ("Bartholomew Montgomery-Fitzwilliam", "3 Main St", "K-BOB-0002")]
    letters = []
    for (name, street, code), first, end in zip(fields, starts, ends, strict=True):
        window = text(target, first, 60, 140, 300, 85)  # the #10 window, as in the test above
        assert name in window and street in window and "Town, " in window
        own = [text(target, n) for n in range(first, end)]
        assert f"Dear {name}," in own[0] and own[0].count(name) == 2  # window and greeting, on its page 1
        said = " ".join(" ".join(own).split())
        assert (f"Your enrolment code is {code}" in said) if code else ("enrolment code" not in said)
        others = [f for f in fields if f[0] != name]
        assert not any(o and o in "".join(own) for other in others for o in other)  # no one else's fields
        mine = "".join(own).replace(name, "NAME").replace(street, "STREET")
        letters.append(mine.replace(code, "CODE") if code else mine)
    assert letters[0] == letters[2] != letters[1]  # the same words, but for the personal fields


def test_print_file_gives_each_letters_first_page_and_address_text_in_the_window(tmp_path: Path) -> None:
    html = render.print_file([fragment(1, "CT"), fragment(2, "NC"), fragment(3, "MA")], 1)
    target = tmp_path / "print.pdf"
    starts = pdf.render(html, target)
    assert len(starts) == 3 and starts[0] == 1 and starts[0] < starts[1] < starts[2]
    # the address block sits in the #10 window: 7/8 in. from the left, about 2 to 3 1/8 in. from the top
    box = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-x", "60", "-y", "140", "-W", "300", "-H", "85",
                          str(target), "-"], capture_output=True, text=True, check=True).stdout
    assert "Pat Doe 1" in box and "1 Main St" in box


@pytest.mark.parametrize("printing", ["html", "letters"])
def test_full_disk_while_writing_a_pdf_is_one_line_and_leaves_no_partial_file(tmp_path: Path, printing: str) -> None:
    if not Path("/dev/full").exists():
        pytest.fail("/dev/full is missing: this test needs a Linux device that is always full")
    target = tmp_path / "print.pdf"
    target.with_name(".print.pdf.tmp").symlink_to("/dev/full")
    with pytest.raises(StorageError, match="writing .*print.pdf"):
        if printing == "html":
            pdf.render(render.print_file([fragment(1, "CT")], 1), target)
        else:
            pdf.print_letters([printed(1, "CT")], target)
    assert not target.exists()


def test_a_field_beyond_the_first_page_is_printed_on_its_own_page_and_text_is_escaped(tmp_path: Path) -> None:
    body = ('<section class="letter"><div class="window" data-field="address"></div>'
            '<p class="greeting" data-field="greeting"></p><div style="height: 9in"></div>'
            '<p>Your enrolment code is <span class="code" data-field="code" style="width: 6em">&#160;</span>.</p>'
            '</section>')
    people = [render.PrintLetter(body, (("address", f"Zoë <O'Brien> & Co {i}\n{i} Elm St"),
                                        ("greeting", f"Dear Zoë {i},"), ("code", f"K<&>{i}")))
              for i in (1, 2)]
    target = tmp_path / "print.pdf"
    assert pdf.print_letters(people, target) == [1, 3]
    for i, first in ((1, 1), (2, 3)):
        assert f"Zoë <O'Brien> & Co {i}" in text(target, first, 60, 140, 300, 85)
        assert f"Dear Zoë {i}," in text(target, first) and "enrolment code" not in text(target, first)
        assert f"Your enrolment code is K<&>{i}" in " ".join(text(target, first + 1).split())
