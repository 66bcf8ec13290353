from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from aftermath.case import Case
from aftermath.consult import records
from aftermath.web import plots
from tests.web.conftest import csrf_of, login

SECRET = "view on the SEC filing"


@pytest.fixture()
def web_case(both_stores_case: Case) -> Case:
    """The same pages on both stores: SQLite, and PostgreSQL as a team shares a case."""
    return both_stores_case


def test_every_page_renders_for_the_lead(client: TestClient):
    login(client, "lee")
    for path in ("/", "/journal", "/journal?page=2&action=consult&actor=lee", "/evidence", "/consult", "/backups",
                 "/secure", "/notify"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "lee (lead)" in response.text


def test_responder_adds_and_completes_a_task_journaled_under_their_name(client: TestClient, web_case: Case):
    login(client, "rae")
    token = csrf_of(client, "/consult")
    assert client.post("/consult/task", data={"title": "Reset every admin password", "csrf": token},
                       follow_redirects=False).status_code == 303
    task = next(r for r in records.load(web_case).of("task") if r.title == "Reset every admin password")
    assert client.post(f"/consult/task/{task.id}/state", data={"state": "done", "csrf": token},
                       follow_redirects=False).status_code == 303
    assert records.get(web_case, task.id).state["state"] == "done"
    assert [(e.action, e.actor) for e in web_case.entries("consult.")][-2:] == \
        [("consult.task", "rae"), ("consult.update.state", "rae")]
    assert task.actor == "rae"


def test_a_post_without_its_token_is_refused_and_changes_nothing(client: TestClient, web_case: Case):
    login(client, "lee")
    before = web_case.head()
    for url in ("/consult/decision", "/consult/contact", "/consult/note"):
        for data in ({"title": "x", "role": "insurer"}, {"title": "x", "role": "insurer", "csrf": "forged"}):
            response = client.post(url, data=data)
            assert response.status_code == 403 and "security token" in response.text, url
    assert web_case.head() == before


def test_a_viewer_changes_nothing_even_with_a_valid_token(client: TestClient, web_case: Case):
    login(client, "vic")
    token = csrf_of(client, "/consult")
    before = web_case.head()
    for url in ("/consult/task", "/consult/decision", "/consult/task/1/state", "/backups/plan/1/approve",
                "/consult/contact", "/consult/contact/1/notified", "/consult/note"):
        assert client.post(url, data={"title": "x", "role": "insurer", "csrf": token}).status_code == 403, url
    assert web_case.head() == before
    page = client.get("/consult").text
    assert "Add task" not in page and "Add contact" not in page and "Add note" not in page


def test_a_responder_adds_a_contact_marks_it_notified_and_adds_a_note_under_their_name(client: TestClient,
                                                                                       web_case: Case):
    login(client, "rae")
    token = csrf_of(client, "/consult")
    assert client.post("/consult/contact", data={
        "title": "Harbor Mutual", "role": "insurer", "policy": "CY-2291", "notice_within": "72h", "engaged": "on",
        "privileged": "on", "csrf": token}, follow_redirects=False).status_code == 303
    [insurer] = [r for r in records.load(web_case).of("contact") if r.title == "Harbor Mutual"]
    assert insurer.body["policy"] == "CY-2291" and insurer.body["notice_within"] == "72h"
    assert insurer.body["engaged"] and not insurer.privileged  # only counsel and the lead mark privileged
    assert client.post(f"/consult/contact/{insurer.id}/notified", data={"csrf": token},
                       follow_redirects=False).status_code == 303
    assert records.get(web_case, insurer.id).state["notified"].endswith(":00.000000Z")  # to the minute
    assert client.post("/consult/note", data={"title": "Insurer asked for the sweep report", "csrf": token},
                       follow_redirects=False).status_code == 303
    assert [(e.action, e.actor) for e in web_case.entries("consult.")][-3:] == \
        [("consult.contact", "rae"), ("consult.update.notified", "rae"), ("consult.note", "rae")]
    page = client.get("/consult").text
    assert "Harbor Mutual" in page and "Insurer asked for the sweep report" in page
    assert "Notified now" not in page  # the one contact is notified


def test_a_contact_with_a_bad_role_or_notice_period_is_refused_and_writes_nothing(client: TestClient,
                                                                                 web_case: Case):
    login(client, "lee")
    token = csrf_of(client, "/consult")
    before = web_case.head()
    for data in ({"title": "X", "role": "friend"}, {"title": "X", "role": "insurer", "notice_within": "soon"},
                 {"title": " ", "role": "insurer"}):
        response = client.post("/consult/contact", data={**data, "csrf": token})
        assert response.status_code == 400 and "<h1>400: refused</h1>" in response.text, data
    assert client.post("/consult/note", data={"title": "", "csrf": token}).status_code == 400
    assert web_case.head() == before


def test_a_responder_cannot_touch_a_privileged_contact(client: TestClient, web_case: Case):
    secret = records.add(web_case, "contact", "Outside counsel", {"role": "counsel"}, privileged=True)
    login(client, "rae")
    before = web_case.head()
    response = client.post(f"/consult/contact/{secret.id}/notified", data={"csrf": csrf_of(client, "/consult")})
    assert response.status_code == 403 and web_case.head() == before


def test_only_the_lead_approves_a_restore_plan(client: TestClient, web_case: Case):
    plan = web_case.evidence_items("restore-plan")[0]
    login(client, "rae")
    assert client.post(f"/backups/plan/{plan.id}/approve", data={"csrf": csrf_of(client)}).status_code == 403
    assert "Approve" not in client.get("/backups").text
    client.cookies.clear()
    login(client, "lee")
    token = csrf_of(client, "/backups")
    assert client.post(f"/backups/plan/{plan.id}/approve", data={"csrf": token, "note": "ok"},
                       follow_redirects=False).status_code == 303
    [approval] = web_case.entries("restore.approve")
    assert approval.subject == plan.sha256 and approval.actor == "lee"
    assert "by lee" in client.get("/backups").text


def test_privileged_records_and_entries_are_hidden_from_viewers_and_responders(client: TestClient):
    for name, sees in (("vic", False), ("rae", False), ("cora", True), ("lee", True)):
        client.cookies.clear()
        login(client, name)
        pages = [client.get(p).text for p in ("/", "/consult", "/journal", "/journal?action=consult")]
        assert any(SECRET in text for text in pages) is sees, name


def test_a_refusal_has_one_shape(client: TestClient, web_case: Case):
    login(client, "lee")
    response = client.post("/consult/task/999/state", data={"state": "done", "csrf": csrf_of(client)})
    assert response.status_code == 400
    assert "<h1>400: refused</h1>" in response.text and "no task 999" in response.text


def test_plots_escape_text_and_mark_the_last_clean_point():
    svg = plots.timeline_svg([{"id": "<x>", "time": "2026-11-20T23:00", "verdict": "clean", "first": [],
                               "last_clean": True},
                              {"id": "b", "time": "2026-11-21T23:00", "verdict": "infected", "first": ["a"],
                               "last_clean": False}])
    assert "<x>" not in svg and "&lt;x&gt;" in svg
    assert svg.count("#1565c0") == 1 and "#c62828" in svg and "<circle" in svg
    assert 'TX: 3' in plots.states_svg({"TX": 3})
    assert plots.bars_svg([], "none") == ""


def test_chain_is_verified_once_then_only_new_entries(web_case: Case):
    from aftermath.web import pages

    state = pages.ChainState()
    first = pages.verify_chain(web_case, state)
    assert first is not None and first.ok and first.entries == web_case.head().seq  # type: ignore[union-attr]
    records.add(web_case, "note", "one more", {})
    again = pages.verify_chain(web_case, state)
    assert again is not None and again.ok and again.entries == first.entries + 1
    assert state.counts["consult.note"] == 2
    assert web_case.verify().entries == again.entries


def test_verify_after_an_entry_catches_a_bad_link(web_case: Case):
    import dataclasses

    from aftermath.case import journal

    entries = web_case.entries()
    assert journal.verify(entries[3:], after=entries[2]).ok
    forged = [dataclasses.replace(entries[3], prev="0" * 64), *entries[4:]]
    verdict = journal.verify(forged, after=entries[2])
    assert not verdict.ok and verdict.bad_seq == entries[3].seq


def test_a_regulator_notice_is_marked_sent_on_the_web_under_the_users_name(client: TestClient, web_case: Case):
    import json

    from aftermath.notify.delivery.store import NoticeRow

    row = NoticeRow(id="a" * 64, person_id="regulator:US-VT", audience="regulator", channel="post", reason="",
                    recipient="Vermont Attorney General", duties=json.dumps([["US-VT", "regulator", "2026-12-21"]]),
                    message_id="<a@x>", subject="Notice", body=b"x", sha256="0" * 64, status="drafted", attempts=0,
                    ambiguous=0, created_at="2026-12-01T00:00:00Z", reply="")
    web_case.write("notify.store", "test", {}, rows=[row])
    login(client, "vic")
    assert "Mark sent" not in client.get("/notify").text
    client.cookies.clear()
    login(client, "rae")
    page = client.get("/notify").text
    assert "Vermont Attorney General" in page and "Mark sent" in page
    assert "notices sent or printed: <b>0</b>" in client.get("/").text
    response = client.post(f"/notify/{'a' * 64}/mark-sent", data={"how": "portal", "ref": "VT-123",
                                                                 "csrf": csrf_of(client)}, follow_redirects=False)
    assert response.status_code == 303
    [entry] = web_case.entries("notify.mark-sent")
    assert entry.actor == "rae" and entry.data["ref"] == "VT-123"
    assert "Mark sent" not in client.get("/notify").text
    assert "notices sent or printed: <b>1</b>" in client.get("/").text  # the outbox, not the journal's runs
