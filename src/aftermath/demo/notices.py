"""The fourth act, continued: write every notice, deliver the emails to a local sink, follow a hard bounce.

Half the customers consented to email notices (a copy of people.csv with an ``esign_consent`` column,
and the plan made again from it); the first of them has a dead mailbox, which the sink refuses with
550: that person moves to post. Regulator drafts are marked sent as if filed by hand.
"""

from __future__ import annotations

import csv
import datetime as dt
import socket
from pathlib import Path

from rich.console import Console

from aftermath.case import Case
from aftermath.demo.world import World
from aftermath.notify.delivery import outbox, send, sink, status
from aftermath.notify.delivery.smtp import Settings
from aftermath.notify.letters.incident import EXAMPLE
from aftermath.notify.letters.run import letters
from aftermath.notify.planning import make_plan, plan_json_bytes


def act_letters(world: World, console: Console) -> None:
    """Letters for every affected customer, regulator drafts, delivery to a local sink, a bounce moved to post."""
    console.rule("[bold]Notify: every notice written, delivered once, and tracked")
    case = Case.open(world.case_dir)
    people, bounced = _with_consent(world.root / "people.csv", world.root / "people-consent.csv")
    discovered = world.facts["discovered"]
    plan = world.root / "notify-plan.json"
    plan.write_bytes(plan_json_bytes(make_plan(people, discovered.strftime("%Y-%m-%dT%H:%M"))))
    incident = world.root / "INCIDENT.toml"
    day = discovered.date()
    incident.write_text(EXAMPLE.read_text().replace("discovered = 2026-11-20", f"discovered = {day}")
                        .replace("start = 2026-11-02", f"start = {day - dt.timedelta(days=14)}")
                        .replace("end = 2026-11-14", f"end = {day - dt.timedelta(days=1)}"))
    today = discovered.date() + dt.timedelta(days=3)
    first = letters(plan, people, incident, case.root / "notices", case, None, today)
    port = _free_port()
    controller = sink.start(world.root / "sink", port=port, reject=[bounced] if bounced else [])
    try:
        report = send.run(case, Settings("127.0.0.1", port), send.Options(backoff=0.1))
    finally:
        controller.stop()
    again = letters(plan, people, incident, case.root / "notices", case, None, today)  # the bounce goes to post
    for row in outbox.notices(case):
        if row.audience != "individuals":
            outbox.mark_sent(case, row.id, "web form", f"DEMO-{row.id[:6]}")
    lines = status.to_json(status.summarise(outbox.notices(case)), today)
    console.print(f"Notices: {dict(first.methods)}; emails delivered {report.outcomes.get('sent', 0)}, "
                  f"hard bounces {report.outcomes.get('permanent', 0)} (moved to post: "
                  f"{again.methods.get('post', 0) - first.methods.get('post', 0)} more letters). "
                  f"Duties open: {sum(1 for d in lines['duties'] if d['flag'] != 'done')}, "
                  f"missed: {lines['missed']}.")
    world.facts["notices"] = dict(first.methods)
    world.facts["notify_status"] = lines


def _with_consent(people: Path, target: Path) -> tuple[Path, str | None]:
    with people.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    emails = [r["email"] for i, r in enumerate(rows) if i % 2 == 0 and r["email"]]
    with target.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, [*rows[0].keys(), "esign_consent"] if rows else ["id"], lineterminator="\n")
        writer.writeheader()
        for i, row in enumerate(rows):
            writer.writerow({**row, "esign_consent": "true" if i % 2 == 0 else "false"})
    return target, (emails[0] if emails else None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
