"""The fourth act, continued: write every notice, deliver the emails to a local sink, follow hard bounces.

Half the customers consented to email notices (a copy of people.csv with an ``esign_consent`` column,
and the plan made again from it); the first of them has a dead mailbox, which the sink refuses with
550: that person moves to post. The emails go out with VERP return paths; a bounce that comes back later
for one of them, quoting nothing of the original, is matched by its return path alone and moves that
person to post too. Regulator drafts are marked sent as if filed by hand.
"""

from __future__ import annotations

import csv
import datetime as dt
import email.policy
import socket
from email.parser import BytesHeaderParser
from pathlib import Path

from rich.console import Console

from aftermath.case import Case
from aftermath.demo.world import World
from aftermath.notify.delivery import outbox, send, sink, status
from aftermath.notify.delivery.bounces import import_bounces
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
        report = send.run(case, Settings("127.0.0.1", port), send.Options(backoff=0.1, verp=True))
    finally:
        controller.stop()
    late = _late_bounce(world.root / "sink", world.root / "bounces")
    matched = import_bounces(case, [late]).matched if late else []
    again = letters(plan, people, incident, case.root / "notices", case, None, today)  # the bounce goes to post
    for row in outbox.notices(case):
        if row.audience != "individuals":
            outbox.mark_sent(case, row.id, "web form", f"DEMO-{row.id[:6]}")
    lines = status.to_json(status.summarise(outbox.notices(case)), today)
    console.print(f"Notices: {dict(first.methods)}; emails delivered {report.outcomes.get('sent', 0)}, "
                  f"hard bounces {report.outcomes.get('permanent', 0)} (moved to post: "
                  f"{again.methods.get('post', 0) - first.methods.get('post', 0)} more letters, one after a "
                  f"later bounce: {'matched by its VERP return path' if matched else 'none'}). "
                  f"Duties open: {sum(1 for d in lines['duties'] if d['flag'] != 'done')}, "
                  f"missed: {lines['missed']}.")
    world.facts["notices"] = dict(first.methods)
    world.facts["notify_status"] = lines


def _late_bounce(sink_dir: Path, folder: Path) -> Path | None:
    """A bounce for the first delivered email, sent to its return path, without the original's Message-ID."""
    delivered = sorted(sink_dir.glob("*.eml"))
    if not delivered:
        return None
    head = BytesHeaderParser(policy=email.policy.compat32).parsebytes(delivered[0].read_bytes())
    return_path, recipient = str(head["Return-Path"]).strip("<>"), str(head["To"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "late-bounce.eml"
    path.write_text(f"Delivered-To: {return_path}\nFrom: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n"
                    f"To: {return_path}\nSubject: Undelivered Mail Returned to Sender\n\n"
                    f"This is the mail system at host mx.example.net.\n\n"
                    f"<{recipient}>: host mx.example.net said: 550 5.1.1 mailbox disabled\n")
    return path


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
