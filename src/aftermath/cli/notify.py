"""``aftermath notify ...``: who was affected, every legal duty and its deadline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from aftermath.cli.common import (
    console,
    err_console,
    maybe_case,
    require_writable_parent,
    write_json,
    write_text,
)
from aftermath.cli.notify_letters import register_letters
from aftermath.cli.notify_scope import register_scope
from aftermath.notify import plan_report, planning
from aftermath.notify.engine import Plan

notify_app = typer.Typer(help="Notify affected people: legal duties, deadlines, letters.", no_args_is_help=True)


@notify_app.command("plan")
def plan(
    ctx: typer.Context,
    people: Annotated[Path, typer.Option(help="The people file (people.csv): one row per affected person.")],
    discovered: Annotated[str, typer.Option(help="When the breach was discovered: YYYY-MM-DD[THH:MM[+HH:MM]].")],
    entity_type: Annotated[list[str] | None, typer.Option(
        "--entity-type", help="business (default), hipaa-covered-entity, hipaa-business-associate, "
                              "financial-institution, public-company, state-regulated-financial (licensed by a "
                              "state's banking, insurance or securities regulator), public-body; repeat for "
                              "several.")] = None,
    event: Annotated[list[str] | None, typer.Option(
        "--event", help="A later event that starts a clock, NAME=YYYY-MM-DD: determination, individual_notice, "
                        "materiality, hhs_notice, no_harm_determination; repeat for several.")] = None,
    allow_past_events: Annotated[bool, typer.Option(
        "--allow-past-events", help="Accept events out of order (before discovery, or individual notice before "
                                    "the determination); refused by default.")] = False,
    count_unknown: Annotated[bool, typer.Option(
        "--count-unknown", help="The people file is not the full count yet: list every duty whose threshold is "
                                "not met too, each with the condition that the count reaches it.")] = False,
    json_out: Annotated[str | None, typer.Option("--json", help="Write the plan as JSON to a file, or '-' for stdout.")]
    = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write the HTML view (calendar, map, duties).")] = None,
) -> None:
    """Work out every notification duty and its deadline. Supports, does not replace, counsel.

    Exit 0 when every affected person lives where a law file applies; 1 when some do not (listed under
    "not covered": check their law by hand).

    Example: aftermath notify plan --people people.csv --discovered 2026-11-20T14:30 --entity-type public-company
    """
    for target in (html, Path(json_out) if json_out not in (None, "-") else None):
        if target is not None:
            require_writable_parent(target)
    run = planning.make_plan(people, discovered, entity_type or (), event or (), allow_past_events=allow_past_events,
                             count_known=not count_unknown)
    data = run.to_json()
    page = plan_report.render_html(data) if html else None
    if html and page is not None:
        write_text(html, page)
    case = maybe_case(ctx)
    digest = planning.record(case, run, page) if case else None
    if json_out == "-":
        write_json("-", data)
    else:
        if json_out:
            write_json(Path(json_out), data)
        _render(run.plan)
    out = err_console if json_out == "-" else console
    out.print(f"Plan journaled in the case (SHA-256 {digest[:16]}…)." if digest else
              "No case here: nothing was journaled (run 'aftermath init' or pass --case to keep the plan).")
    if run.plan.unmapped_people:
        out.print(f"[yellow]{run.plan.unmapped_people} people live where no law file applies: check those laws "
                  "by hand.[/]")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``aftermath notify`` with ``scope`` (who was affected) and ``plan`` (every duty and deadline)."""
    register_scope(notify_app)
    register_letters(notify_app)
    app.add_typer(notify_app, name="notify")


def _render(result: Plan) -> None:
    table = Table("deadline", "jurisdiction", "audience", "recipient", "people", "citation", title="Duties by deadline")
    for ob in result.obligations:
        when = ob.deadline_at.isoformat(timespec="minutes") if ob.deadline_at else str(ob.deadline or "")
        recipient = " ".join(x for x in [ob.recipient, f"({ob.relation})" if ob.relation else "",
                                         f"({ob.condition})" if ob.condition else ""] if x)
        table.add_row(when or "[bold red]as soon as possible[/]", ob.jurisdiction, ob.audience.replace("_", " "),
                      recipient, str(ob.people), ob.citation)
    console.print(table)
    for item in result.not_covered:
        console.print(f"not covered: {item.jurisdiction}: {item.people} ({item.reason})")
    dated = [o for o in result.obligations if o.deadline]
    first = f"; first due {min(o.deadline for o in dated if o.deadline)}" if dated else ""
    console.print(f"{len(result.obligations)} duties for {result.people_total} people{first}; "
                  f"{sum(o.asap for o in result.obligations)} as soon as possible. "
                  "This plan supports, and does not replace, counsel.")
