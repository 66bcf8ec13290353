"""The demo's first act, end to end with the real restic: the story's facts must hold."""

from __future__ import annotations

import hashlib
import io
import sqlite3
from datetime import date
from pathlib import Path

from rich.console import Console
from stdnum import luhn
from stdnum.us import rtn

from aftermath.case import Case
from aftermath.demo import business
from aftermath.demo.story import act_business, act_drill, act_restore, act_server_dies, act_two_weeks, play
from aftermath.demo.world import World
from aftermath.protect import records
from tests.conftest import run_cli


def test_act_one_fourteen_backups_dead_server_restore_and_drill(tmp_path: Path):
    seen: list[date] = []

    def drop_marker(world: World, day: date) -> None:  # how later acts plug in (web shell on day 6)
        seen.append(day)
        (world.web_root / "uploads" / "marker.txt").write_text(day.isoformat())

    world = World(tmp_path / "demo")
    world.add_event(6, drop_marker)
    out = io.StringIO()
    play(world, Console(file=out, width=140), [act_business, act_two_weeks, act_server_dies, act_restore, act_drill])
    story = out.getvalue()
    assert world.facts["snapshots"] == {"customers": 14, "files": 14}
    assert world.facts["drill_ok"] is True
    assert world.facts["restored_fingerprint"] == world.facts["day14_fingerprint"]
    assert business.fingerprint(world) == world.facts["day14_fingerprint"]
    assert seen == [world.day_date(6)]
    assert (world.web_root / "uploads" / "marker.txt").read_text() == world.day_date(6).isoformat()
    assert "Disaster" in story and "everything matches" in story and "MISMATCH" not in story
    # the snapshots carry the past days' times, one per night
    case = Case.open(world.case_dir)
    times = sorted(r.time.date() for r in records.snapshots(case) if r.source == "files")
    assert times == [world.day_date(d) for d in range(1, 15)]
    # the customer data looks real and is valid where validators exist
    con = sqlite3.connect(world.db_path)
    rows = con.execute("SELECT card_number, routing_number, state, ssn, email FROM customers").fetchall()
    assert len(rows) == world.facts["day14_customers"] > business.INITIAL_CUSTOMERS
    assert all(luhn.is_valid(r[0]) and rtn.is_valid(r[1]) for r in rows)
    assert len({r[2] for r in rows}) >= 30
    with_ssn = sum(1 for r in rows if r[3])
    assert 0 < with_ssn < len(rows)
    assert len(list((world.share / "exports").glob("customers-*.csv"))) == 14


def test_same_seed_same_business(tmp_path: Path):
    def customers(folder: Path) -> list[tuple]:
        world = World(folder, seed=7)
        business.build(world)
        business.churn(world, world.day_date(1))
        return sqlite3.connect(world.db_path).execute("SELECT * FROM customers ORDER BY id").fetchall()

    assert customers(tmp_path / "a") == customers(tmp_path / "b")
    assert customers(tmp_path / "c") != []


def test_demo_refuses_a_folder_that_is_not_empty(tmp_path: Path):
    (tmp_path / "x").write_text("keep me")
    result = run_cli("demo", "--dir", str(tmp_path))
    assert result.code == 2 and "not empty" in result.err
    assert (tmp_path / "x").read_text() == "keep me"


def test_the_whole_story_breach_secure_review_recover_notify(tmp_path: Path):
    from aftermath.demo import breach
    from aftermath.demo.story import ACTS

    world = World(tmp_path / "demo")
    out = io.StringIO()
    play(world, Console(file=out, width=160), ACTS)
    story = out.getvalue()
    # secure: the planted process and the web shell are named; evidence collected; the process killed
    assert {"suspicious-executable", "webshell"} <= set(world.facts["sweep_signs"])
    assert world.facts["collection"] and world.facts["collection"][0] in ("complete", "partial")
    case = Case.open(world.case_dir)
    killed = case.evidence(world.facts["killed_evidence"])
    assert killed.sha256 == hashlib.sha256(Path("/bin/sleep").read_bytes()).hexdigest()
    # review: the web shell from day 6, encryption from day 13, last clean before day 6
    verdicts = world.facts["verdicts"]
    assert world.facts["last_clean_day"] is not None and world.facts["last_clean_day"] <= breach.SHELL_DAY
    assert all(v == "clean" for d, v in verdicts.items() if d < breach.SHELL_DAY)
    assert verdicts[breach.RANSOM_DAY] == "encrypted"
    # recover: verified, promoted; no shell, no encrypted file, no note; the database of day 12
    assert world.facts["restore_verified"] is True
    after = world.facts["after"]
    assert after == {"web_shell": False, "locked_files": 0, "ransom_note": False,
                     "customers": world.facts["customers_by_day"][breach.RANSOM_DAY - 1]}
    assert not breach.shell_path(world).exists()
    assert world.facts["surgical_vs_last_clean"]["db_day"][0] == breach.RANSOM_DAY - 1
    # notify: everyone in the stolen dump is found; duties computed
    assert world.facts["people"] == world.facts["dumped_customers"]
    assert world.facts["duties"] > 0
    people = (world.root / "people.csv").read_text()
    assert people.count("\n") == world.facts["dumped_customers"] + 1
    assert "does not replace" in story and "Breach" in story
    assert case.verify().ok
    # the dashboard: a lead user whose generated password only the owner can read, and the command to serve
    from aftermath.web import users

    secret = world.facts["dashboard_password_file"]
    assert secret.stat().st_mode & 0o777 == 0o600
    assert f"aftermath --case {world.case_dir} serve" in story.replace("\n", "")
    lead = users.authenticate(case, "lead", secret.read_text().strip())
    assert lead is not None and lead.role == "lead" and lead.must_change
