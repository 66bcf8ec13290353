"""The demo's consultation: the experts come in on the first day, and leave with a report and a package.

An IR firm, outside counsel and the cyber insurer are engaged the morning the breach is found; two
decisions are recorded (one privileged, at counsel's direction) and tasks handed out. The act ends the
way the case is handed over: the report (HTML and PDF), the Timesketch timeline, and an age-encrypted
package for counsel, journaled as a custody hand-over. It calls what the commands call.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from aftermath.case import Case
from aftermath.consult import output, package, records, report, timeline
from aftermath.demo.world import World


def act_consult(world: World, console: Console) -> None:
    """Engage the experts, record decisions and tasks, then write the report, timeline and package."""
    console.rule("[bold]Consult: the IR firm, counsel and the insurer work from the case file")
    case = Case.open(world.case_dir)
    found: datetime = world.facts["discovered"]
    _engage(case, found)
    _decide(case, found)
    data = report.gather(case)
    table = Table("due (UTC)", "duty", "state", title="The first deadlines, the insurer's among the law's")
    for o in data["obligations"][:4]:
        table.add_row(o["due"][:16].replace("T", " "), f"{o['what']} ({o['to']})", o["state"])
    console.print(table)
    world.facts["consult"] = _hand_over(case, world.root, world.facts.get("killed_evidence"))
    for what, path in world.facts["consult"].items():
        console.print(f"  {what:<9} {path}")
    console.print("Counsel opens the package with: age -d -i counsel.key for-counsel.tar.age | tar -x  "
                  "(the privileged decision stays out of every export unless --include-privileged).")


def _engage(case: Case, found: datetime) -> None:
    day_one = (found + timedelta(hours=2)).isoformat(timespec="minutes")
    for name, body in (
        ("Blue Harbor Incident Response", {"role": "ir-firm", "reach": "+1 555 0100, hotline@blueharbor.example",
                                           "engaged": day_one}),
        ("Ortega & Lane LLP (M. Ortega)", {"role": "counsel", "reach": "m.ortega@ortegalane.example",
                                           "engaged": day_one}),
        ("Harbor Mutual Cyber", {"role": "insurer", "organisation": "Harbor Mutual", "policy": "CY-2291-0457",
                                 "claim": "CL-26-11873", "notice_within": "72h", "engaged": day_one}),
    ):
        records.add(case, "contact", name, body)


def _decide(case: Case, found: datetime) -> None:
    day = found.date()
    records.add(case, "decision", "Restore from the surgical plan, not the last clean snapshot",
                {"rationale": "it keeps eight more days of orders and holds back every file the review flagged",
                 "made_by": "owner, on the IR firm's advice", "decided": found.isoformat(timespec="minutes")})
    records.add(case, "decision", "No risk-of-harm exception claimed for Florida residents",
                {"rationale": "card numbers were taken with expiry dates; the exception's conditions cannot be "
                              "shown", "made_by": "M. Ortega (counsel)",
                 "decided": found.isoformat(timespec="minutes")}, privileged=True)
    for title, owner, due in (("Give the insurer notice of the incident", "owner", day + timedelta(days=1)),
                              ("Image the web shop's disk before it is rebuilt", "Blue Harbor IR", day),
                              ("Draft the customer letter for counsel's review", "counsel", day + timedelta(days=5))):
        records.add(case, "task", title, {"owner": owner, "due": due.isoformat()})


def _hand_over(case: Case, root: Path, killed: int | None) -> dict[str, Path]:
    import pyrage

    made = {"report": root / "report.html", "pdf": root / "report.pdf", "timeline": root / "timeline.jsonl",
            "package": root / "for-counsel.tar.age", "key": root / "counsel.key"}
    data = report.gather(case)
    html = report.render_html(data)
    output.publish(case, made["report"], lambda fh: fh.write(html), "consult.report", "report.html",
                   {"format": "html", "privileged_left_out": data["withheld"]})
    pdf = report.render_pdf(html)
    output.publish(case, made["pdf"], lambda fh: fh.write(pdf), "consult.report", "report.pdf",
                   {"format": "pdf", "privileged_left_out": data["withheld"]}, binary=True)
    output.publish(case, made["timeline"], lambda fh: timeline.write_jsonl(timeline.events(case), fh),
                   "consult.timeline", "timeline.jsonl", {"format": "jsonl", "include_privileged": False})
    identity = pyrage.x25519.Identity.generate()  # counsel's key; in life counsel sends only the public half
    made["key"].write_text(f"{identity}\n", encoding="utf-8")
    made["key"].chmod(0o600)
    counsel = package.Recipient(str(identity.to_public()), "Ortega & Lane LLP")
    evidence = package.choose_evidence(case, [killed] if killed else [], False)
    package.build(case, made["package"], [counsel], evidence)
    return made
