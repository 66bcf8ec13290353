"""Dashboard pages on a large case: 100,000 journal entries and 10,000 people in scope.

The case is built directly in the store (a valid hash chain, written in bulk: a hundred thousand separate
transactions would take longer than the measurement), with 10,000 notices in the outbox, a people list of
10,000 rows, 500 evidence documents and a few consultation records. Each page is then requested 50 times
through the real application (Starlette's test client, no network), logged in as the lead.
The first overview, which verifies the whole chain once, is reported on its own.

    PYTHONPATH=src python bench/web.py [--entries 100000] [--people 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from aftermath.case import Case, journal
from aftermath.case.store import JournalRow
from aftermath.consult import records
from aftermath.notify.delivery.store import NoticeRow
from aftermath.web import pages, users
from aftermath.web.app import create_app

PAGES = ["/", "/journal", "/journal?page=1000", "/journal?action=notify", "/evidence", "/consult", "/backups",
         "/secure", "/notify"]
# What a long response's journal is made of; one hand-over in fifty entries (four per evidence item).
ACTIONS = ["notify.send", "review.finding", "consult.note", "secure.collect.item", "notify.bounce"] * 10
ACTIONS[0] = "evidence.custody"
STATES = ["TX", "CA", "NY", "FL", "VT", "CO", "WA", "IL", "OH", "GA"]
PASSWORD = "bench password 123"


def build(root: Path, entries: int, people: int) -> Case:
    case = Case.init(root)
    users.add(case, "lee", "lead", PASSWORD)
    for i in range(5):
        records.add(case, "task", f"task {i}", {"owner": "rae", "due": f"2026-12-0{i + 2}"})
    records.add(case, "decision", "privileged decision", {}, privileged=True)
    for i in range(500):
        case.save_document("bench-doc", f"doc-{i}.txt", f"document {i}".encode())
    csv = "id,name,state\n" + "".join(f"p{i},Person {i},{STATES[i % len(STATES)]}\n" for i in range(people))
    case.save_document("notify-people", "people.csv", csv.encode())
    _bulk_journal(case, entries - (case.head().seq if case.head() else 0))  # type: ignore[union-attr]
    _notices(case, people)
    return case


def _bulk_journal(case: Case, n: int) -> None:
    prev = case.head()
    with Session(case.engine) as session, session.begin():
        batch = []
        for i in range(n):
            action = ACTIONS[i % len(ACTIONS)]
            subject = f"evidence {1 + i % 500}" if action == "evidence.custody" else f"item {i}"
            data = {"from": "a", "to": "b", "note": "hand-over"} if action == "evidence.custody" else {"n": i}
            prev = journal.make_entry(prev, journal.timestamp(), "bench@host", action, subject, data)
            batch.append(JournalRow(seq=prev.seq, at=prev.at, actor=prev.actor, action=prev.action,
                                    subject=prev.subject, data=json.dumps(prev.data, sort_keys=True),
                                    prev=prev.prev, hash=prev.hash))
            if len(batch) == 5000:
                session.add_all(batch)
                session.flush()
                batch = []
        session.add_all(batch)


def _notices(case: Case, people: int) -> None:
    statuses = ["sent"] * 7 + ["pending", "bounced", "moved_to_post"]
    with Session(case.engine) as session, session.begin():
        session.add_all(NoticeRow(
            id=f"n{i}", person_id=f"p{i}", audience="individuals", channel="email", reason="", recipient=f"p{i}@x",
            duties=json.dumps([[f"US-{STATES[i % len(STATES)]}", "individuals", "2026-12-31"]]),
            message_id=f"<n{i}@bench>", subject="Notice", body=b"x", sha256="0" * 64,
            status=statuses[i % len(statuses)], attempts=1, ambiguous=0, created_at="2026-12-01T00:00:00Z",
            done_at=f"2026-12-0{1 + i % 5}T10:00:00Z", reply="250") for i in range(people))


def measure(case: Case, rounds: int) -> None:
    server_started = time.perf_counter()
    client = TestClient(create_app(case))
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore
    client.post("/login", data={"username": "lee", "password": PASSWORD, "csrf": token}, follow_redirects=False)
    started = time.perf_counter()
    assert client.get("/").status_code == 200
    print(f"first overview (the chain still being verified in the background): "
          f"{(time.perf_counter() - started) * 1000:.0f} ms")
    verdict = pages.verify_chain(case, client.app.state.web.chain)  # type: ignore[attr-defined]  # waits for it
    print(f"background verification of {verdict.entries:,} entries done "  # type: ignore[union-attr]
          f"{time.perf_counter() - server_started:.1f} s after the app started")
    print("| page | median (ms) | p95 (ms) | bytes |\n|---|---|---|---|")
    for page in PAGES:
        times, size = [], 0
        for _ in range(rounds):
            started = time.perf_counter()
            response = client.get(page)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (page, response.status_code)
            size = len(response.content)
        times.sort()
        p95 = times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)]
        print(f"| {page} | {statistics.median(times):.0f} | {p95:.0f} | {size:,} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aftermath-bench-web-") as tmp:
        started = time.perf_counter()
        case = build(Path(tmp) / "case", args.entries, args.people)
        print(f"built {case.head().seq:,} entries, {args.people:,} people in {time.perf_counter() - started:.0f} s;"  # type: ignore[union-attr]
              f" load {os.getloadavg()[0]:.1f}")
        measure(case, args.rounds)


if __name__ == "__main__":
    main()
