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


def test_print_file_gives_each_letters_first_page_and_address_text_in_the_window(tmp_path: Path) -> None:
    html = render.print_file([fragment(1, "CT"), fragment(2, "NC"), fragment(3, "MA")], 1)
    target = tmp_path / "print.pdf"
    starts = pdf.render(html, target)
    assert len(starts) == 3 and starts[0] == 1 and starts[0] < starts[1] < starts[2]
    # the address block sits in the #10 window: 7/8 in. from the left, about 2 to 3 1/8 in. from the top
    box = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-x", "60", "-y", "140", "-W", "300", "-H", "85",
                          str(target), "-"], capture_output=True, text=True, check=True).stdout
    assert "Pat Doe 1" in box and "1 Main St" in box


def test_full_disk_while_writing_a_pdf_is_one_line_and_leaves_no_partial_file(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.fail("/dev/full is missing: this test needs a Linux device that is always full")
    target = tmp_path / "print.pdf"
    target.with_name(".print.pdf.tmp").symlink_to("/dev/full")
    with pytest.raises(StorageError, match="writing .*print.pdf"):
        pdf.render(render.print_file([fragment(1, "CT")], 1), target)
    assert not target.exists()
