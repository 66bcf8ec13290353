"""``notify status``: counts per duty, days left, loud when a deadline is near or missed; ``mark-sent``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from aftermath.case import Case
from aftermath.notify.delivery import outbox
from aftermath.notify.delivery.status import summarise, to_json
from aftermath.notify.delivery.store import NoticeRow
from aftermath.notify.letters.run import letters
from tests.conftest import run_cli
from tests.notify.letters.helpers import TODAY, write_inputs


def row(pid: str, status: str, channel: str = "email", deadline: str | None = "2026-12-10") -> NoticeRow:
    return NoticeRow(id=pid + channel, person_id=pid, audience="individuals", channel=channel, status=status,
                     duties=json.dumps([["US-CT", "individuals", deadline]]))


def test_flags_due_soon_missed_and_done_and_a_bounce_carried_by_its_post_letter() -> None:
    rows = [row("1", "sent"), row("2", "pending"), row("3", "bounced"), row("3", "printed", "post")]
    (line,) = summarise(rows)
    assert line.counts == {"sent": 1, "pending": 1, "bounced": 1, "printed": 1}
    assert line.flag(dt.date(2026, 12, 1)) == "open"
    assert line.flag(dt.date(2026, 12, 7)) == "DUE SOON"
    assert line.flag(dt.date(2026, 12, 11)) == "MISSED"
    data = to_json(summarise(rows[:1] + rows[2:]), dt.date(2026, 12, 11))
    assert data["duties"][0]["flag"] == "done" and data["missed"] == 0
    assert data["duties"][0]["days_left"] == -1


def test_mark_sent_by_prefix_is_journaled_and_counted(case: Case, tmp_path: Path) -> None:
    paths = write_inputs(tmp_path / "in")
    letters(paths["plan"], paths["people"], paths["incident"], case.root / "notices", case, None, TODAY, pdf=False)
    draft = next(r for r in outbox.notices(case) if r.audience == "regulator")
    result = run_cli("--case", str(case.root), "notify", "mark-sent", draft.id[:10], "--how", "web form",
                     "--ref", "CT-1182")
    assert result.code == 0, result.err
    entry = case.entries("notify.mark-sent")[-1]
    assert entry.data["notice"] == draft.id and entry.data["ref"] == "CT-1182"
    status = run_cli("--case", str(case.root), "notify", "status", "--json")
    duties = json.loads(status.out)["duties"]
    sent = [d for d in duties if d["audience"] == "regulator" and d["counts"]["sent"] == 1]
    assert len(sent) == 1
    again = run_cli("--case", str(case.root), "notify", "mark-sent", "ffffffffff", "--how", "post")
    assert again.code == 2 and "no notice matches 'ffffffffff'" in again.err
