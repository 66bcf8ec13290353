"""``aftermath protect ...``: verified backups with restic before anything goes wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from aftermath.cli.case import parse_when
from aftermath.cli.common import console, err_console, open_case, write_json
from aftermath.errors import AftermathError
from aftermath.protect import backup

protect_app = typer.Typer(help="Back up sources with restic, keep manifests, drill restores.", no_args_is_help=True)


@protect_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Short name of the source (letters, digits, - _ .).")],
    path: Annotated[Path | None, typer.Option("--path", help="A folder to back up.")] = None,
    sqlite: Annotated[Path | None, typer.Option("--sqlite", help="A SQLite database file.")] = None,
    postgres: Annotated[str | None, typer.Option("--postgres", help="A PostgreSQL URL (postgresql://user@host/db); "
                                                 "keep the password in ~/.pgpass or PGPASSWORD.")] = None,
) -> None:
    """Add a source to back up.

    Example: aftermath protect add customers --sqlite /srv/app/customers.db
    """
    source = backup.add_source(open_case(ctx), name, path=path, sqlite=sqlite, postgres=postgres)
    console.print(f"Added source [bold]{source.name}[/] ({source.kind}: {backup.describe(source)}).")


@protect_app.command("sources")
def sources(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List the sources that 'protect run' backs up."""
    items = open_case(ctx).config.protect.sources
    if json_out:
        write_json("-", [{"name": s.name, "kind": s.kind, "target": backup.describe(s)} for s in items])
        return
    table = Table("name", "kind", "target")
    for s in items:
        table.add_row(s.name, s.kind, backup.describe(s))
    console.print(table)


@protect_app.command("init")
def init(ctx: typer.Context) -> None:
    """Create the restic repository, or open it when it exists (checks the password).

    Example: aftermath protect init
    """
    case = open_case(ctx)
    created, repo_id = backup.init_repository(case)
    verb = "Created" if created else "Opened existing"
    console.print(f"{verb} repository {repo_id[:10]} at {case.config.repository.location(case.root)}.")


@protect_app.command("run")
def run(
    ctx: typer.Context,
    time: Annotated[str | None, typer.Option("--time", help="Record the snapshots at this time "
                                             "(YYYY-MM-DD[THH:MM], UTC), e.g. to import old data.")] = None,
    source: Annotated[list[str] | None, typer.Option("--source", help="Only this source (repeatable).")] = None,
) -> None:
    """Back up every source and record a manifest per snapshot.

    Example: aftermath protect run
    """
    case = open_case(ctx)
    when = parse_when(time) if time else None
    with _Bars() as bars:
        report = backup.run(case, when, bars.update, only=source)
    table = Table("source", "snapshot", "files", "bytes", "tables", "added")
    for t in report.taken:
        c = t.manifest.contents
        table.add_row(t.source, t.snapshot_id[:8], _opt(c.files), _opt(c.bytes), str(len(c.tables) or ""),
                      str(t.result.added))
    console.print(table)
    for t in report.taken:
        if t.result.incomplete:
            console.print(f"[yellow]{t.source}: snapshot {t.snapshot_id[:8]} is incomplete[/]: "
                          + "; ".join(t.result.warnings[:3]))
    _raise_failures(report.failed)
    if any(t.result.incomplete for t in report.taken):
        raise typer.Exit(1)


def _raise_failures(failed: list[tuple[str, AftermathError]]) -> None:
    if not failed:
        return
    for name, exc in failed[1:]:
        err_console.print(f"aftermath: error: {name}: {exc.message}", markup=False, highlight=False)
    first = failed[0][1]
    raise type(first)(first.message)


def _opt(value: int | None) -> str:
    return "" if value is None else str(value)


class _Bars:
    """One progress bar per source, fed by restic's --json status lines (stderr, terminals only)."""

    def __enter__(self) -> _Bars:
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                 TimeElapsedColumn(), console=err_console, transient=True,
                                 disable=not err_console.is_terminal)
        self.progress.__enter__()
        self.tasks: dict[str, TaskID] = {}
        return self

    def update(self, source: str, msg: dict[str, Any]) -> None:
        if source not in self.tasks:
            self.tasks[source] = self.progress.add_task(f"backing up {source}", total=None)
        total = msg.get("total_bytes")
        self.progress.update(self.tasks[source], completed=int(msg.get("bytes_done", 0)),
                             total=int(total) if total else None)

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)


def register(app: typer.Typer) -> None:
    """Attach the ``protect`` group."""
    app.add_typer(protect_app, name="protect")

