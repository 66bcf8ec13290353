"""``aftermath init`` and ``aftermath case ...``: the case and its tamper-evident journal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from aftermath.case import journal
from aftermath.case.config import password_warning
from aftermath.cli.common import console, err_console, open_case, parse_when, write_json
from aftermath.errors import UsageError

case_app = typer.Typer(help="The case file: incidents, the hash-chained journal, evidence.", no_args_is_help=True)


def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the case (created if missing).")] = Path("."),
    repo: Annotated[str | None, typer.Option(help="restic repository (path or URL); default DIR/backups.")] = None,
    password_file: Annotated[Path | None, typer.Option(
        help="File holding the repository password; default: a random one in DIR/.aftermath/.")] = None,
    db: Annotated[str | None, typer.Option(
        help="Case store URL, e.g. postgresql+psycopg://user@host/db; default SQLite in DIR.")] = None,
) -> None:
    """Create a case folder: aftermath.toml, the case store, and a repository password.

    Example: aftermath init /srv/aftermath --repo sftp:backup@nas:/restic
    """
    from aftermath.case import Case  # the store loads only for the commands that use it (see cli.main)

    warn_password(db)
    case = Case.init(directory, repo=repo, password_file=password_file, db=db)
    console.print(f"Created case in [bold]{case.root}[/] (store: {case.config.case.db.split('@')[-1]}).")
    if password_file is None:
        console.print("A random repository password was written to .aftermath/repo-password (mode 600): "
                      "keep a copy somewhere safe, off this machine.")
    console.print("Next: 'aftermath protect add NAME --path DIR', then 'aftermath protect init'.")


def warn_password(url: str | None) -> None:
    """Warn on stderr when a database URL on the command line holds a password."""
    warning = password_warning(url)
    if warning:
        err_console.print(warning, markup=False, highlight=False, soft_wrap=True)


@case_app.command("open")
def open_(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="Short title of the incident.")],
    discovered: Annotated[str, typer.Option(help="When the breach was discovered: YYYY-MM-DD[THH:MM] (UTC).")],
) -> None:
    """Open an incident. The discovery time starts the legal clocks for notices."""
    case = open_case(ctx)
    incident = case.open_incident(title, parse_when(discovered))
    console.print(f"Opened incident {incident.id}: {title} (discovered {incident.discovered_at}).")


@case_app.command("log")
def log(ctx: typer.Context, text: Annotated[str, typer.Argument(help="The note to add.")]) -> None:
    """Add a note to the journal (who, when and what is recorded and chained)."""
    entry = open_case(ctx).write("note", text)
    console.print(f"Journal entry {entry.seq} added.")


@case_app.command("show")
def show(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="Print the entries as JSON.")] = False,
    action: Annotated[str | None, typer.Option(help="Only actions starting with this prefix.")] = None,
) -> None:
    """Print the journal, oldest entry first."""
    entries = open_case(ctx).entries(action)
    if json_out:
        write_json("-", [e.__dict__ for e in entries])
        return
    table = Table("seq", "at (UTC)", "actor", "action", "subject", "data")
    for e in entries:
        table.add_row(str(e.seq), e.at[:19], e.actor, e.action, e.subject[:60],
                      json.dumps(e.data, sort_keys=True)[:80])
    console.print(table)


@case_app.command("verify")
def verify(
    ctx: typer.Context,
    head: Annotated[str | None, typer.Option(help="SEQ:HASH from an earlier 'aftermath case head'.")] = None,
) -> None:
    """Recompute the journal's hash chain and re-hash every evidence file. Exit 0 when all is intact, 1 naming
    the first bad entry and every evidence file that changed or vanished."""
    from aftermath.consult.custody import check_files

    try:
        expected = journal.parse_head(head) if head else None
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    case = open_case(ctx)
    verdict = case.verify(expected)
    if verdict.ok:
        console.print(f"Journal intact: {verdict.entries} entries verified"
                      + (f", head {expected[0]} matches." if expected else "."))
        if not expected:
            console.print("Without --head this proves no entry was changed, not that none was cut from the end: "
                          "compare with a head you wrote down ('aftermath case head').")
    else:
        console.print(f"[bold red]Journal NOT intact[/]: {verdict.reason}.")
    checked, problems = check_files(case)
    for p in problems:
        console.print(f"[bold red]Evidence {p.evidence_id} {p.what}[/]: {p.name} ({p.path})", highlight=False)
    console.print(f"Evidence files: {checked - len(problems)} of {checked} match their recorded SHA-256.")
    if not verdict.ok or problems:
        raise typer.Exit(1)


@case_app.command("head")
def head(ctx: typer.Context) -> None:
    """Print SEQ:HASH of the newest entry: write it down or send it outside the case."""
    entry = open_case(ctx).head()
    if entry is None:
        raise UsageError("the journal is empty")
    typer.echo(f"{entry.seq}:{entry.hash}")


@case_app.command("evidence")
def evidence(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List evidence and case documents with their SHA-256."""
    items = open_case(ctx).evidence_items()
    if json_out:
        write_json("-", [{**i.__dict__, "path": str(i.path)} for i in items])
        return
    table = Table("id", "kind", "name", "sha256", "size", "source", "collected (UTC)")
    for i in items:
        table.add_row(str(i.id), i.kind, i.name, i.sha256[:16] + "…", str(i.size), i.source[:40], i.collected_at[:19])
    console.print(table)


@case_app.command("add-evidence")
def add_evidence(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="File to register.", exists=True, dir_okay=False)],
    source: Annotated[str, typer.Option(help="Where it came from (host, path, person).")],
    description: Annotated[str, typer.Option(help="What it is and why it matters.")] = "",
) -> None:
    """Register a file as evidence: hashed, copied read-only into the case, journaled."""
    item = open_case(ctx).register_evidence(path, source=source, description=description)
    console.print(f"Evidence {item.id} registered: {item.name} sha256 {item.sha256}")


@case_app.command("custody")
def custody(
    ctx: typer.Context,
    evidence_id: Annotated[int, typer.Argument(help="Evidence id (see 'aftermath case evidence').")],
    to: Annotated[str, typer.Option("--to", help="Who receives it.")],
    from_: Annotated[str | None, typer.Option("--from", help="Who hands it over (default: you).")] = None,
    note: Annotated[str, typer.Option(help="Why, how it was transferred.")] = "",
) -> None:
    """Record a hand-over of an evidence item (chain of custody)."""
    case = open_case(ctx)
    case.check_evidence(case.evidence(evidence_id))
    entry = case.custody(evidence_id, from_ or "", to, note)
    console.print(f"Custody entry {entry.seq}: evidence {evidence_id} to {to}.")


def register(app: typer.Typer) -> None:
    """Attach ``init`` and the ``case`` group."""
    app.command("init")(init)
    app.add_typer(case_app, name="case")
