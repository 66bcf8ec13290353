"""The dashboard in a real browser: log in, walk every page, change things, and check the roles hold."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from aftermath.case import Case
from tests.e2e.conftest import PASSWORD

pytestmark = pytest.mark.slow
PAGES = [("/", "overview"), ("/secure", "secure"), ("/backups", "backups"), ("/consult", "consult"),
         ("/notify", "notify"), ("/journal", "journal"), ("/evidence", "evidence")]
PRIVILEGED = "risk-of-harm exception"  # the demo's privileged decision


def _login(browser: Any, server: str, name: str) -> Any:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{server}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")
    assert page.inner_text("#whoami") == f"{name} ({'lead' if name == 'lee' else 'viewer'})"
    return page


def test_lead_walks_every_page_approves_a_plan_adds_and_completes_a_task_records_a_decision(
        browser: Any, server: str, demo_case: Case, shots: Path):
    page = _login(browser, server, "lee")
    for path, name in PAGES:
        response = page.goto(f"{server}{path}")
        assert response.status == 200, path
        assert "refused" not in page.title()
        page.screenshot(path=str(shots / f"dashboard-{name}.png"), full_page=True)
    page.goto(f"{server}/journal")
    assert "chain verified" in page.inner_text("#chain")

    page.goto(f"{server}/backups")
    row = page.locator("#plans tr", has_text="plan-last-clean.json")
    assert row.locator(".approval").inner_text() == "no"
    row.locator("input[name=note]").fill("approved on the web")
    row.locator("button", has_text="Approve").click()
    expect(page.locator("#plans tr", has_text="plan-last-clean.json").locator(".approval")).to_have_text(
        re.compile("^by lee"))

    page.goto(f"{server}/consult")
    page.fill("#add-task input[name=title]", "Call the card processor about the new keys")
    page.fill("#add-task input[name=owner]", "rae")
    page.click("#add-task button")
    task = page.locator("#tasks tr", has_text="Call the card processor")
    expect(task.locator(".state")).to_have_text("open")
    task.locator("button", has_text="Complete").click()
    expect(page.locator("#tasks tr", has_text="Call the card processor").locator(".state")).to_have_text("done")
    page.fill("#add-decision input[name=title]", "Offer two years of credit monitoring")
    page.fill("#add-decision input[name=rationale]", "Cards and SSNs were taken")
    page.click("#add-decision button")
    expect(page.locator("#decisions tr", has_text="credit monitoring")).to_have_count(1)
    page.fill("#add-contact input[name=title]", "State AG cyber unit")
    page.select_option("#add-contact select[name=role]", "regulator")
    page.fill("#add-contact input[name=reach]", "breach@ag.example")
    page.click("#add-contact button")
    contact = page.locator("#contacts tr", has_text="State AG cyber unit")
    expect(contact.locator(".notified")).to_have_text("")
    contact.locator("button", has_text="Notified now").click()
    expect(page.locator("#contacts tr", has_text="State AG cyber unit").locator(".notified")).not_to_have_text("")
    page.fill("#add-note input[name=title]", "AG asked for the list of states by Friday")
    page.click("#add-note button")
    expect(page.locator("#notes li", has_text="states by Friday").locator(".actor")).to_contain_text("lee")

    by_lee = {e.action for e in demo_case.entries() if e.actor == "lee"}
    assert {"web.login", "restore.approve", "consult.task", "consult.update.state", "consult.decision",
            "consult.contact", "consult.update.notified", "consult.note"} <= by_lee
    page.goto(f"{server}/journal?actor=lee")
    assert page.locator("td.actor", has_text="lee").count() >= 5
    page.context.close()


def test_a_form_posted_without_its_token_is_refused(browser: Any, server: str, demo_case: Case):
    page = _login(browser, server, "lee")
    before = demo_case.head()
    response = page.request.post(f"{server}/consult/decision", form={"title": "Sneaky decision"})
    assert response.status == 403
    assert demo_case.head() == before
    page.context.close()


def test_a_viewer_changes_nothing_and_never_sees_privileged_entries(browser: Any, server: str, demo_case: Case):
    page = _login(browser, server, "vic")
    for path, _name in PAGES:
        page.goto(f"{server}{path}")
        assert PRIVILEGED not in page.content(), path
        assert page.locator("form[action^='/consult'], form[action^='/backups']").count() == 0, path
    for n in range(1, 6):
        page.goto(f"{server}/journal?page={n}")
        assert PRIVILEGED not in page.content()
    page.goto(f"{server}/consult")
    token = page.locator("input[name=csrf]").first.get_attribute("value")
    before = demo_case.head()
    for url, form in [("/consult/task", {"title": "viewer task"}), ("/consult/decision", {"title": "viewer says"}),
                      ("/consult/task/1/state", {"state": "done"}), ("/backups/plan/1/approve", {}),
                      ("/consult/contact", {"title": "viewer's friend", "role": "other"}),
                      ("/consult/note", {"title": "viewer note"})]:
        response = page.request.post(f"{server}{url}", form={**form, "csrf": token})
        assert response.status == 403, url
    assert demo_case.head() == before
    page.context.close()


def test_counsel_sees_the_privileged_decision(browser: Any, server: str):
    page = browser.new_context().new_page()
    page.goto(f"{server}/login")
    page.fill("input[name=username]", "cora")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")
    page.goto(f"{server}/consult")
    assert PRIVILEGED in page.content()
    page.context.close()
