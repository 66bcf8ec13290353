"""``aftermath notify plan`` end to end, through the real command in a subprocess."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from aftermath.case import Case
from aftermath.notify.people import COLUMNS
from tests.conftest import run_cli

HEADER = ",".join(COLUMNS)


def write_people(folder: Path, rows: list[str]) -> Path:
    path = folder / "people.csv"
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def texas_and_germany(folder: Path) -> Path:
    rows = [f"t{i},Resident {i},,Austin,TX,78701,US,t{i}@example.org,ssn,false,false" for i in range(250)]
    rows += ["g1,Gerda,,Berlin,BE,10115,DE,g@example.org,,false,false",
             "x1,Xavier,,Austin,TX,78701,US,,dob,false,false"]
    return write_people(folder, rows)


def test_plan_json_and_html_without_a_case(tmp_path):
    people = texas_and_germany(tmp_path)
    out = run_cli("notify", "plan", "--people", str(people), "--discovered", "2026-11-25T10:00",
                  "--json", str(tmp_path / "plan.json"), "--html", str(tmp_path / "plan.html"), cwd=tmp_path)
    assert out.code == 0, out.err
    assert "nothing was journaled" in out.out
    assert "supports, and does not replace, counsel" in out.out
    data = json.loads((tmp_path / "plan.json").read_text())
    assert data["people_total"] == 252
    got = [(o["jurisdiction"], o["audience"], o["people"], o["deadline"]) for o in data["obligations"]]
    assert got == [("EU-GDPR", "regulator", 1, "2026-11-28"), ("US-TX", "regulator", 250, "2026-12-25"),
                   ("US-TX", "individuals", 250, "2027-01-24"), ("EU-GDPR", "individuals", 1, None)]
    assert data["not_covered"] == [{"jurisdiction": "US-TX", "people": 1,
                                    "reason": "only elements that are not personal information here: dob"}]
    assert data["inputs"]["people_file"]["sha256"] == hashlib.sha256(people.read_bytes()).hexdigest()
    assert {r["jurisdiction"] for r in data["inputs"]["rules"]} >= {"US-TX", "EU-GDPR", "US-HIPAA"}
    page = (tmp_path / "plan.html").read_text()
    assert "does not replace legal counsel" in page and "<svg" in page
    assert "Resident" not in page and "example.org" not in page  # no personal data in the report


def test_plan_json_to_stdout_with_entity_types_and_event(tmp_path):
    people = write_people(tmp_path, [f"p{i},P,,Houston,TX,,US,,medical,false,false" for i in range(3)])
    out = run_cli("notify", "plan", "--people", str(people), "--discovered", "2026-11-25",
                  "--entity-type", "public-company", "--entity-type", "hipaa-covered-entity",
                  "--event", "materiality=2026-12-18", "--json", "-", cwd=tmp_path)
    assert out.code == 0, out.err
    data = json.loads(out.out)
    assert data["entity_types"] == ["business", "hipaa-covered-entity", "public-company"]
    sec = next(o for o in data["obligations"] if o["jurisdiction"] == "US-SEC")
    assert sec["deadline"] == "2026-12-24" and sec["clock"] == "materiality"
    assert any(o["jurisdiction"] == "US-HIPAA" and o["audience"] == "individuals" for o in data["obligations"])
    assert "nothing was journaled" in out.err


def test_plan_is_journaled_with_input_hashes_when_a_case_exists(tmp_path, case: Case):
    people = texas_and_germany(tmp_path)
    out = run_cli("--case", str(case.root), "notify", "plan", "--people", str(people),
                  "--discovered", "2026-11-25", "--html", str(tmp_path / "p.html"), cwd=tmp_path)
    assert out.code == 0, out.err
    assert "journaled" in out.out and "nothing was journaled" not in out.out
    entry = case.entries("notify.plan")[-1]
    assert entry.data["people_file"]["sha256"] == hashlib.sha256(people.read_bytes()).hexdigest()
    assert entry.data["obligations"] == 4 and entry.data["people_total"] == 252
    assert any(r["jurisdiction"] == "US-TX" and r["last_reviewed"] == "2026-11-27" for r in entry.data["rules"])
    docs = {d.name: d for d in case.evidence_items("notify-plan")}
    assert set(docs) == {"notify-plan-2026-11-25.json", "notify-plan-2026-11-25.html"}
    saved = json.loads(docs["notify-plan-2026-11-25.json"].path.read_bytes())
    assert docs["notify-plan-2026-11-25.json"].sha256 == entry.data["document_sha256"]
    assert saved["inputs"]["rules_sha256"] == entry.data["rules_sha256"]
    assert run_cli("--case", str(case.root), "case", "verify").code == 0


def test_malformed_people_file_names_line_and_column_and_exits_2(tmp_path):
    people = write_people(tmp_path, ["1,A,,,TX,,US,,ssn,false,false", "2,B,,,TX,,US,,ssn;shoe_size,false,false"])
    out = run_cli("notify", "plan", "--people", str(people), "--discovered", "2026-11-25", "--json", "-",
                  cwd=tmp_path)
    assert out.code == 2
    assert "line 3, column 'elements'" in out.err and "shoe_size" in out.err
    assert out.out == ""


def test_bad_options_exit_2(tmp_path):
    people = write_people(tmp_path, ["1,A,,,TX,,US,,ssn,false,false"])
    base = ["notify", "plan", "--people", str(people)]
    bad_type = run_cli(*base, "--discovered", "2026-11-25", "--entity-type", "bank", cwd=tmp_path)
    assert bad_type.code == 2 and "unknown entity type 'bank'" in bad_type.err
    bad_date = run_cli(*base, "--discovered", "25/11/2026", cwd=tmp_path)
    assert bad_date.code == 2 and "bad --discovered" in bad_date.err
    bad_event = run_cli(*base, "--discovered", "2026-11-25", "--event", "lunch=2026-11-26", cwd=tmp_path)
    assert bad_event.code == 2 and "unknown event 'lunch'" in bad_event.err
    missing = run_cli("notify", "plan", "--people", str(tmp_path / "none.csv"), "--discovered", "2026-11-25",
                      cwd=tmp_path)
    assert missing.code == 2 and "cannot read people file" in missing.err


def test_people_where_no_law_file_applies_exit_1_and_are_listed(tmp_path):
    people = write_people(tmp_path, ["1,A,,,TX,,US,,ssn,false,false", "2,B,,,,,JP,,ssn,false,false"])
    out = run_cli("notify", "plan", "--people", str(people), "--discovered", "2026-11-25", "--json", "-",
                  cwd=tmp_path)
    assert out.code == 1
    data = json.loads(out.out)
    assert {"jurisdiction": "JP", "people": 1, "reason": "no law file for this place: check its law by hand"} \
        in data["not_covered"]
    assert "1 people live where no law file applies" in out.err


def test_events_out_of_order_are_refused_unless_allowed(tmp_path):
    people = write_people(tmp_path, ["f1,Flo,,Miami,FL,33101,US,,ssn,false,false"])
    base = ["notify", "plan", "--people", str(people), "--discovered", "2026-11-25", "--json", "-"]
    early = run_cli(*base, "--event", "determination=2026-11-20", cwd=tmp_path)
    assert early.code == 2
    assert "determination=2026-11-20 is before the discovery (2026-11-25)" in early.err
    assert "--allow-past-events" in early.err
    backwards = run_cli(*base, "--event", "determination=2026-12-01", "--event", "individual_notice=2026-11-28",
                        cwd=tmp_path)
    assert backwards.code == 2 and "is before determination=2026-12-01" in backwards.err
    allowed = run_cli(*base, "--event", "determination=2026-11-20", "--allow-past-events", cwd=tmp_path)
    assert allowed.code == 0, allowed.err
    (florida,) = [o for o in json.loads(allowed.out)["obligations"]
                  if o["jurisdiction"] == "US-FL" and o["audience"] == "individuals"]
    assert florida["deadline"] == "2026-12-20"


def test_territories_written_as_countries_have_their_law_and_exit_0(tmp_path):
    people = write_people(tmp_path, ["p1,Pia,,San Juan,,00901,PR,,ssn,false,false",
                                     "g1,Gus,,Hagatna,,96910,GU,,ssn,false,false",
                                     "v1,Val,,Charlotte Amalie,,00802,VI,,ssn,false,false"])
    out = run_cli("notify", "plan", "--people", str(people), "--discovered", "2026-11-25", "--json", "-",
                  cwd=tmp_path)
    assert out.code == 0, out.err
    data = json.loads(out.out)
    assert {o["jurisdiction"] for o in data["obligations"] if o["audience"] == "individuals"} == {
        "US-PR", "US-GU", "US-VI"}
    assert data["people_by_place"] == {"US-GU": 1, "US-PR": 1, "US-VI": 1}
    assert all("relation" in o and "condition" in o for o in data["obligations"])


def test_a_people_file_with_the_phone_column_plans_the_same_as_without(tmp_path):
    (tmp_path / "with").mkdir()
    without = texas_and_germany(tmp_path)
    lines = without.read_text().splitlines()
    phoned = tmp_path / "with/people.csv"
    phoned.write_text("\n".join([lines[0] + ",phone"] + [f"{line},+1512555{i:04d}" for i, line in enumerate(lines[1:])])
                      + "\n")
    plans = []
    for people in (without, phoned):
        out = run_cli("notify", "plan", "--people", str(people), "--discovered", "2026-11-25T10:00", "--json", "-",
                      cwd=tmp_path)
        assert out.code in (0, 1), out.err
        data = json.loads(out.out)
        plans.append([(o["jurisdiction"], o["audience"], o["people"], o["deadline"]) for o in data["obligations"]])
    assert plans[0] == plans[1] and len(plans[0]) == 4
