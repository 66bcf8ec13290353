"""``notify letters`` as a user runs it: every notice written, stored once, methods and codes kept."""

from __future__ import annotations

import csv
import email
import email.policy
import subprocess
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aftermath.case import Case
from aftermath.notify.delivery.store import NoticeRow
from aftermath.notify.planning import make_plan, plan_json_bytes
from tests.conftest import run_cli
from tests.notify.letters.helpers import PEOPLE, write_inputs


def letters(case: Case, paths: dict[str, Path], *extra: str):  # type: ignore[no-untyped-def]
    return run_cli("--case", str(case.root), "notify", "letters", "--plan", str(paths["plan"]), "--people",
                   str(paths["people"]), "--incident", str(paths["incident"]), *extra)


def test_letters_write_every_notice_with_its_method_and_store_them_once(case: Case, tmp_path: Path) -> None:
    paths = write_inputs(tmp_path / "in")
    codes = tmp_path / "codes.csv"
    codes.write_text("code\nK1\nK2\nK3\nK4\n")
    first = letters(case, paths, "--codes", str(codes))
    assert first.code == 0, first.err
    out = case.root / "notices"
    methods = {r["person_id"]: r["method"] for r in csv.DictReader((out / "methods.csv").open())}
    assert methods == {"1": "email", "2": "post", "3": "email", "4": "email", "5": "substitute"}
    assert "email" in first.out and "consent" in first.out and "substitute" in first.out
    mails = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in out.glob("email/*.eml")]
    assert sorted(str(m["To"]) for m in mails) == ["ann@example.com", "cy@example.com", "dee@example.com"]
    for m in mails:
        assert m.get_body(("plain",)) is not None and m.get_body(("html",)) is not None
    ann = next(m for m in mails if str(m["To"]) == "ann@example.com").get_body(("plain",)).get_content()
    assert "24 months of credit monitoring" in ann and "enrolment code is K1" in ann
    cy = next(m for m in mails if str(m["To"]) == "cy@example.com").get_body(("plain",)).get_content()
    assert "copied records" not in cy and "police report" in cy  # Massachusetts: no nature of the breach
    mailhouse = list(csv.DictReader((out / "post/mailhouse.csv").open()))
    assert mailhouse[0]["name"] == "Bob Roe" and mailhouse[0]["file"] == "post/print-0001.pdf"
    assert mailhouse[0]["page"] == "1" and mailhouse[0]["address_2"] == "Los Angeles, CA 90001"
    assert (out / "post/print-0001.pdf").read_bytes().startswith(b"%PDF")
    assert "Bob Roe" in (out / "post/print-0001.html").read_text()
    page_1 = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(out / "post/print-0001.pdf"), "-"],
                            capture_output=True, text=True, check=True).stdout
    assert "Dear Bob Roe," in page_1 and "Los Angeles, CA 90001" in page_1
    assert list(out.glob("regulators/*.txt")) and (out / "substitute/website.html").exists()
    assigned = (out / "codes-assigned.csv").read_text()
    again = letters(case, paths, "--codes", str(codes))
    assert again.code == 0, again.err
    assert (out / "codes-assigned.csv").read_text() == assigned
    with Session(case.engine) as s:
        drafts = [p for p in out.glob("regulators/*.txt") if not p.name.endswith("-form.txt")
                  and not p.name.startswith("sample-notice-")]  # a form's answers and a sample go with a draft
        assert s.scalar(select(func.count()).select_from(NoticeRow)) == 5 + len(drafts)
    assert [e.data["added"] for e in case.entries("notify.letters")][1] == 0


def test_plan_from_another_people_file_is_refused_before_anything_is_written(case: Case, tmp_path: Path) -> None:
    paths = write_inputs(tmp_path / "in")
    paths["people"].write_text(paths["people"].read_text().replace("Ann Lee", "Ann Leigh"))
    result = letters(case, paths)
    assert result.code == 2
    assert "was made from another people file" in result.err
    assert not (case.root / "notices").exists()


def test_missing_incident_field_names_jurisdiction_and_field(case: Case, tmp_path: Path) -> None:
    from aftermath.notify.letters.incident import EXAMPLE

    text = EXAMPLE.read_text().replace("law_enforcement_delay = false", "")
    paths = write_inputs(tmp_path / "in", incident=text)
    result = letters(case, paths)
    assert result.code == 2
    assert "field 'incident.law_enforcement_delay' is empty but US-CA requires it" in result.err
    assert not (case.root / "notices").exists()


def test_person_without_any_address_gets_substitute_notice_and_is_counted(tmp_path: Path) -> None:
    paths = write_inputs(tmp_path / "in", people=[PEOPLE[4]])
    result = run_cli("notify", "letters", "--plan", str(paths["plan"]), "--people", str(paths["people"]),
                     "--incident", str(paths["incident"]), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.code == 0, result.err
    assert "substitute" in result.out and "nothing stored in an outbox" in result.out
    assert (tmp_path / "out/substitute/people.csv").read_text() == "person_id\n5\n"


def test_a_people_file_with_the_phone_column_gives_the_same_notices(tmp_path: Path) -> None:
    paths = write_inputs(tmp_path / "in", people=PEOPLE[:3])
    lines = paths["people"].read_text().splitlines()
    paths["people"].write_text("\n".join([lines[0] + ",phone"] + [f"{line},+1860555010{i}" for i, line in
                                                                   enumerate(lines[1:])]) + "\n")
    paths["plan"].write_bytes(plan_json_bytes(make_plan(paths["people"], "2026-11-28")))
    plain = write_inputs(tmp_path / "plain", people=PEOPLE[:3])
    outs = []
    for p, out in ((paths, tmp_path / "out"), (plain, tmp_path / "out-plain")):
        result = run_cli("notify", "letters", "--plan", str(p["plan"]), "--people", str(p["people"]),
                         "--incident", str(p["incident"]), "--out", str(out), cwd=tmp_path)
        assert result.code == 0, result.err
        outs.append((out / "methods.csv").read_text())
    assert outs[0] == outs[1] and outs[0].count("\n") == 4
