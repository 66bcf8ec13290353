from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aftermath.case import Case
from aftermath.consult import records, report
from aftermath.errors import StateError

LATER = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_report_holds_what_the_case_holds(worked: Case):
    data = report.gather(worked, now=LATER)
    html = report.render_html(data)
    first_page = html[: html.index("<h2>1. Summary")]
    assert "1 privileged entry was left out" in first_page
    assert "Florida" not in html and "Restore from the surgical plan" in html
    for item in worked.evidence_items():
        assert item.sha256 in html
    [insurer] = [o for o in data["obligations"] if "insurer" in o["what"]]
    assert (insurer["due"], insurer["state"]) == ("2026-11-23T08:00+00:00", "overdue")
    assert [t["title"] for t in data["tasks"] if t["overdue"]] == ["Image web01's disk"]
    assert data["head"].startswith(f"{worked.head().seq}:")


def test_privileged_copy_says_so(worked: Case):
    html = report.render_html(report.gather(worked, include_privileged=True, now=LATER))
    assert "PRIVILEGED AND CONFIDENTIAL" in html and "No risk-of-harm exception claimed for Florida" in html


def test_custody_history_shows_in_the_evidence_list(worked: Case):
    worked.custody(1, "responder", "Blue Harbor IR", "sealed USB drive")
    [item] = [e for e in report.gather(worked)["evidence"] if e["id"] == 1]
    assert [(c["to"], c["note"]) for c in item["custody"]] == [("Blue Harbor IR", "sealed USB drive")]


def test_done_tasks_leave_the_open_list(worked: Case):
    records.set_task_state(worked, 3, "done")
    assert report.gather(worked, now=LATER)["tasks"] == []


def test_pdf_renders(worked: Case):
    pdf = report.render_pdf(report.render_html(report.gather(worked, now=LATER)))
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF") and len(pdf) > 10_000


def test_report_needs_an_incident(case: Case):
    with pytest.raises(StateError, match="no incident"):
        report.gather(case)


def test_long_journal_shows_the_newest_entries_and_says_how_many(worked: Case, monkeypatch: pytest.MonkeyPatch):
    for n in range(5):
        worked.write("note", f"call {n}")
    monkeypatch.setattr(report, "NARRATIVE_CAP", 3)
    data = report.gather(worked)
    assert [e["subject"] for e in data["narrative"]] == ["call 2", "call 3", "call 4"]
    assert data["narrative_total"] > 3
    assert f"{data['narrative_total']} significant journal entries; the newest 3 are shown" in report.render_html(data)
