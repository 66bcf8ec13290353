"""The demo's letters step on its own: notices, delivery to the sink, one hard bounce moved to post."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from rich.console import Console

from aftermath.case import Case
from aftermath.demo.notices import act_letters
from aftermath.demo.world import World
from aftermath.notify.delivery import outbox
from tests.notify.letters.helpers import HEADER, PEOPLE


def test_letters_act_delivers_bounces_to_post_and_meets_every_duty(tmp_path: Path) -> None:
    world = World(tmp_path / "w", seed=1)
    Case.init(world.case_dir)
    header = HEADER.replace(",esign_consent", "")
    rows = [",".join(p.split(",")[:-1]) for p in PEOPLE[:3]]  # everyone reachable by post or email
    (world.root / "people.csv").write_text(header + "\n".join(rows) + "\n")
    world.facts["discovered"] = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
    act_letters(world, Console(file=io.StringIO()))
    case = Case.open(world.case_dir)
    # the first consenting person's mailbox is dead; the other's bounces later, found by its VERP return path
    assert outbox.suppressed(case) == {"ann@example.com", "cy@example.com"}
    (kept,) = (world.root / "sink").glob("*.eml")
    assert kept.read_text().startswith("Return-Path: <privacy+")
    notices = {(r.person_id, r.channel): r.status for r in outbox.notices(case) if r.audience == "individuals"}
    assert notices[("1", "email")] == "moved_to_post" and notices[("1", "post")] == "printed"
    assert notices[("3", "email")] == "bounced" and notices[("3", "post")] == "printed"
    assert case.entries("notify.bounces")[-1].data["by_verp"] == 1
    duties = world.facts["notify_status"]["duties"]
    assert duties and all(d["flag"] == "done" for d in duties)
