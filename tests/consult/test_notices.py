"""Notices from the outbox in the report and the timeline: real rows made by ``notify letters``, settled
through the outbox's own functions with the server's reply times."""

from __future__ import annotations

from pathlib import Path

from aftermath.case import Case
from aftermath.consult import report, timeline
from aftermath.notify.delivery import outbox
from aftermath.notify.letters.run import letters
from tests.notify.letters.helpers import TODAY, many_people, write_inputs

REPLIES = ("2026-11-29T10:00:01.000+00:00", "2026-11-29T10:00:02.500+00:00", "2026-11-29T10:00:03.000+00:00")


def settled(case: Case, tmp_path: Path) -> list[tuple[str, str]]:
    paths = write_inputs(tmp_path / "in", people=many_people(4))
    letters(paths["plan"], paths["people"], paths["incident"], case.root / "notices", case, None, TODAY, pdf=False)
    due = outbox.due(case, outbox.now_text())
    assert len(due) >= 4
    for (nid, _), (state, reply), at in zip(due, (("sent", "250 2.0.0 queued as A1"), ("sent", "250 ok"),
                                             ("moved_to_post", "550 5.1.1 no such user")), REPLIES, strict=False):
        assert outbox.claim(case, nid, outbox.now_text()) is not None
        outbox.finish(case, nid, state, reply, at)
    outbox.finish(case, due[3][0], "bounced", f"hard bounce from {due[3][1]}", "2026-11-29T11:00:00.000+00:00")
    return due


def test_timeline_has_one_event_per_send_and_bounce_at_the_reply_time(worked: Case, tmp_path: Path) -> None:
    due = settled(worked, tmp_path)
    found = [e for e in timeline.events(worked) if e["source"] == "notify"]
    assert [(e["timestamp_desc"], e["datetime"]) for e in found] == [
        ("Notice sent", "2026-11-29T10:00:01+00:00"), ("Notice sent", "2026-11-29T10:00:02.500000+00:00"),
        ("Notice moved to post", "2026-11-29T10:00:03+00:00"), ("Notice bounced", "2026-11-29T11:00:00+00:00")]
    assert found[0]["ref"] == f"notice:{due[0][0][:12]}" and "250 2.0.0 queued as A1" in found[0]["detail"]
    assert due[3][1] in found[3]["message"]
    # the journal's own notify.* entries still come too, and everything stays in time order
    stamps = [e["timestamp"] for e in timeline.events(worked)][1:]
    assert stamps == sorted(stamps)


def test_report_counts_notices_per_jurisdiction_and_audience(worked: Case, tmp_path: Path) -> None:
    settled(worked, tmp_path)
    data = report.gather(worked)
    individuals = [n for n in data["notices"] if n["audience"] == "individuals"]
    assert individuals and individuals[0]["jurisdiction"] == "US-CT"
    assert (individuals[0]["sent"], individuals[0]["bounced"], individuals[0]["moved_to_post"]) == (2, 1, 1)
    html = report.render_html(data)
    assert "Notices delivered" in html and "moved to post" in html


def test_report_without_an_outbox_says_nothing_of_notices(worked: Case) -> None:
    data = report.gather(worked)
    assert data["notices"] == []
    assert "Notices delivered" not in report.render_html(data)
