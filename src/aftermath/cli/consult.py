"""``aftermath consult ...`` (contacts, tasks, decisions, notes, privilege) and ``report``, ``timeline``,
``package``: the case file the IR firm, the insurer and counsel work from, and what they receive."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from aftermath.cli.common import console, open_case, parse_when, write_json
from aftermath.errors import UsageError

consult_app = typer.Typer(help="Who is engaged, tasks, decisions and notes; privilege marks.", no_args_is_help=True)
PRIVILEGED = typer.Option("--privileged", help="Made at counsel's direction: left out of exports unless "
                                               "--include-privileged.")
INCLUDE_PRIVILEGED = typer.Option("--include-privileged", help="Include entries marked privileged (at counsel's "
                                                               "direction only).")


def _when(text: str | None) -> str | None:
    if text is None:
        return None
    return (datetime.now(UTC) if text == "now" else parse_when(text)).isoformat(timespec="minutes")


@consult_app.command("contact")
def contact(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Person or firm.")],
    role: Annotated[str, typer.Option(help="ir-firm, counsel, insurer, law-enforcement, regulator, staff, other.")],
    organisation: Annotated[str | None, typer.Option("--org", help="Firm, agency or insurer.")] = None,
    reach: Annotated[str | None, typer.Option(help="How to reach them (phone, e-mail).")] = None,
    engaged: Annotated[str | None, typer.Option(help="When engaged: YYYY-MM-DD[THH:MM] (UTC) or 'now'.")] = None,
    policy: Annotated[str | None, typer.Option(help="Insurer: policy number.")] = None,
    claim: Annotated[str | None, typer.Option(help="Insurer: claim number.")] = None,
    report_number: Annotated[str | None, typer.Option(help="Law enforcement: report number.")] = None,
    notice_within: Annotated[str | None, typer.Option(
        help="Insurer: the policy's notice period from discovery, e.g. 72h or 30d (tracked as a deadline).")] = None,
    privileged: Annotated[bool, PRIVILEGED] = False,
) -> None:
    """Record a person or firm and when they were engaged.

    Example: aftermath consult contact "Harbor Mutual" --role insurer --policy CY-2291 --notice-within 72h
    """
    from aftermath.consult import records

    record = records.add_contact(open_case(ctx), name, {
        "role": role, "organisation": organisation, "reach": reach, "engaged": _when(engaged), "policy": policy,
        "claim": claim, "report_number": report_number, "notice_within": notice_within}, privileged)
    console.print(f"Contact {record.id}: {name} ({role})" + (f", engaged {record.body['engaged']}" if engaged else ""))


@consult_app.command("notified")
def notified(
    ctx: typer.Context,
    contact_id: Annotated[int, typer.Argument(help="The contact (insurer) given notice.")],
    at: Annotated[str, typer.Option(help="When notice was given: YYYY-MM-DD[THH:MM] (UTC) or 'now'.")] = "now",
) -> None:
    """Record that a contact (the insurer) was given notice of the incident."""
    from aftermath.consult import records

    records.mark_notified(open_case(ctx), contact_id, datetime.fromisoformat(_when(at) or ""))
    console.print(f"Contact {contact_id} notified at {_when(at)}.")


@consult_app.command("task")
def task(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="What must be done.")],
    owner: Annotated[str | None, typer.Option(help="Who does it.")] = None,
    due: Annotated[str | None, typer.Option(help="Due: YYYY-MM-DD[THH:MM] (UTC).")] = None,
    privileged: Annotated[bool, PRIVILEGED] = False,
) -> None:
    """Add a task with an owner and a due date; open tasks past due are flagged."""
    from aftermath.consult import records

    due_text = due if due is not None and len(due) == 10 and parse_when(due) else _when(due)
    record = records.add(open_case(ctx), "task", title, {"owner": owner, "due": due_text}, privileged)
    console.print(f"Task {record.id}: {title}")


@consult_app.command("done")
def done(
    ctx: typer.Context,
    task_id: Annotated[int, typer.Argument(help="The task.")],
    state: Annotated[str, typer.Option(help="done, dropped, or open (to reopen).")] = "done",
) -> None:
    """Close a task (or drop or reopen it). The change is appended, never rewritten."""
    from aftermath.consult import records

    records.set_task_state(open_case(ctx), task_id, state)
    console.print(f"Task {task_id}: {state}.")


@consult_app.command("decide")
def decide(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="The decision.")],
    rationale: Annotated[str, typer.Option(help="Why.")],
    by: Annotated[str | None, typer.Option(help="Who made it (default: you).")] = None,
    at: Annotated[str, typer.Option(help="When: YYYY-MM-DD[THH:MM] (UTC) or 'now'.")] = "now",
    privileged: Annotated[bool, PRIVILEGED] = False,
) -> None:
    """Record a decision with its rationale and who made it.

    Example: aftermath consult decide "No risk-of-harm exception for Florida" --rationale "..." --by counsel
    """
    from aftermath.case import actor
    from aftermath.consult import records

    record = records.add(open_case(ctx), "decision", title,
                         {"rationale": rationale, "made_by": by or actor(), "decided": _when(at)}, privileged)
    console.print(f"Decision {record.id} recorded" + (" (privileged)." if privileged else "."))


@consult_app.command("note")
def note(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="The note.")],
    privileged: Annotated[bool, PRIVILEGED] = False,
) -> None:
    """Add a free note to the consultation file."""
    from aftermath.consult import records

    record = records.add(open_case(ctx), "note", text, {}, privileged)
    console.print(f"Note {record.id} added" + (" (privileged)." if privileged else "."))


@consult_app.command("privilege")
def privilege(
    ctx: typer.Context,
    record: Annotated[int | None, typer.Option("--record", help="A contact, task, decision or note.")] = None,
    entry: Annotated[int | None, typer.Option("--entry", help="Any journal entry (see 'aftermath case show').")] = None,
    evidence: Annotated[int | None, typer.Option("--evidence", help="An evidence item.")] = None,
) -> None:
    """Mark an entry privileged (made at counsel's direction). The mark is added; nothing is rewritten."""
    from aftermath.consult import records

    if sum(x is not None for x in (record, entry, evidence)) != 1:
        raise UsageError("name exactly one of --record, --entry or --evidence to mark privileged")
    target = records.mark_privileged(open_case(ctx), record_id=record, seq=entry, evidence_id=evidence)
    console.print(f"{target} marked privileged: exports leave it out unless --include-privileged.")


@consult_app.command("list")
def list_(
    ctx: typer.Context,
    include_privileged: Annotated[bool, INCLUDE_PRIVILEGED] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Contacts, deadlines, open tasks (past due flagged), decisions and notes."""
    from aftermath.consult import report

    data = report.gather(open_case(ctx), include_privileged)
    keys = ("contacts", "obligations", "tasks", "decisions", "notes", "withheld")
    if json_out:
        write_json("-", {k: data[k] for k in keys})
        return
    _print_file(data)


def _print_file(data: dict[str, Any]) -> None:
    sections = {
        "Engaged": [(str(c["id"]), c["title"], c["body"]["role"], c["body"]["engaged"] or "-", c["notified"] or "")
                    for c in data["contacts"]],
        "Deadlines": [(o["due"][:16] if o["due"][:1].isdigit() else o["due"], o["what"], o["to"], str(o["people"]),
                       o["state"]) for o in data["obligations"]],
        "Open tasks": [(str(t["id"]), t["title"], t["body"]["owner"] or "", t["body"]["due"] or "",
                        "PAST DUE" if t["overdue"] else "open") for t in data["tasks"]],
        "Decisions": [(str(d["id"]), d["title"], d["body"]["made_by"] or "", d["body"]["rationale"][:60],
                       "privileged" if d["privileged"] else "") for d in data["decisions"]],
        "Notes": [(str(n["id"]), n["title"][:80], n["actor"], n["at"][:16], "") for n in data["notes"]],
    }
    for title, rows in sections.items():
        table = Table(title=title, show_header=False)
        for row in rows:
            table.add_row(*row)
        console.print(table)
    console.print(f"{data['withheld']} privileged entries not shown (--include-privileged).")


def report(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="html or pdf.")] = "html",
    out: Annotated[Path | None, typer.Option(help="Output file (default: report.html or report.pdf here).")] = None,
    include_privileged: Annotated[bool, INCLUDE_PRIVILEGED] = False,
) -> None:
    """Write the incident report from what the case holds (no template to write).

    Example: aftermath report --format pdf --out riverside-report.pdf
    """
    from aftermath.consult import output
    from aftermath.consult import report as report_mod

    if fmt not in ("html", "pdf"):
        raise UsageError(f"unknown format {fmt!r}: use html or pdf")
    target = out or Path(f"report.{fmt}")
    output.check_target(target)
    case = open_case(ctx)
    data = report_mod.gather(case, include_privileged)
    html = report_mod.render_html(data)
    body = html.encode() if fmt == "html" else report_mod.render_pdf(html)
    digest = output.publish(case, target, lambda fh: fh.write(body), "consult.report", target.name,
                            {"format": fmt, "privileged_left_out": data["withheld"]}, binary=True)
    console.print(f"Report written to {target} (sha256 {digest[:16]}…); {data['withheld']} privileged entries "
                  "left out." if not include_privileged else f"Report written to {target} (includes privileged).")


def timeline(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv (both import into Timesketch).")] = "jsonl",
    out: Annotated[Path | None, typer.Option(help="Output file (default: timeline.jsonl or .csv here).")] = None,
    include_privileged: Annotated[bool, INCLUDE_PRIVILEGED] = False,
) -> None:
    """Every dated event of the case in one ordered list, streamed, in Timesketch's import format."""
    from aftermath.consult import output
    from aftermath.consult import timeline as timeline_mod

    if fmt not in ("jsonl", "csv"):
        raise UsageError(f"unknown format {fmt!r}: use jsonl or csv")
    target = out or Path(f"timeline.{fmt}")
    case = open_case(ctx)
    writer = timeline_mod.write_jsonl if fmt == "jsonl" else timeline_mod.write_csv
    stream = timeline_mod.events(case, include_privileged)
    first = next(stream)  # raises for an empty case before any file is made
    count: list[int] = []
    output.publish(case, target, lambda fh: count.append(writer(chain([first], stream), fh)), "consult.timeline",
                   target.name, {"format": fmt, "include_privileged": include_privileged})
    console.print(f"Timeline written to {target}: {count[0] - 1} events. {first['message']}.")


def package(
    ctx: typer.Context,
    recipient: Annotated[list[str], typer.Option(help="age public key (age1...), or NAME=age1...; repeatable.")],
    out: Annotated[Path, typer.Option(help="The package file to write (e.g. for-counsel.tar.age).")],
    include: Annotated[list[int] | None, typer.Option(help="Evidence id to include; repeatable.")] = None,
    pdf: Annotated[bool, typer.Option("--pdf", help="Add the report as PDF too.")] = False,
    include_privileged: Annotated[bool, INCLUDE_PRIVILEGED] = False,
) -> None:
    """Encrypt the report, timeline, evidence manifest and chosen evidence for the recipients (age).

    The hand-over is journaled as chain of custody. Decrypt with: age -d -i KEYFILE FILE | tar -x
    """
    from aftermath.consult import package as package_mod

    recipients = [package_mod.parse_recipient(r) for r in recipient]
    case = open_case(ctx)
    items = package_mod.choose_evidence(case, include or [], include_privileged)
    made = package_mod.build(case, out, recipients, items, include_privileged, pdf)
    console.print(f"Package {out}: {len(made.members)} files, sha256 {made.sha256}; custody entry {made.journal_seq} "
                  f"to {', '.join(r.name for r in recipients)}.")


def register(app: typer.Typer) -> None:
    """Attach the ``consult`` group and ``report``, ``timeline``, ``package``."""
    app.add_typer(consult_app, name="consult")
    app.command("report")(report)
    app.command("timeline")(timeline)
    app.command("package")(package)
