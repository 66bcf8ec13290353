"""``aftermath protect ...``: verified backups with restic before anything goes wrong."""

from __future__ import annotations

import shutil
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from aftermath.cli.case import warn_password
from aftermath.cli.common import console, err_console, open_case, parse_when, write_json
from aftermath.errors import AftermathError
from aftermath.protect import backup, drill, retention, schedule, status

protect_app = typer.Typer(help="Back up sources with restic, keep manifests, drill restores.", no_args_is_help=True)


@protect_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Short name of the source (letters, digits, - _ .).")],
    path: Annotated[Path | None, typer.Option("--path", help="A folder to back up.")] = None,
    sqlite: Annotated[Path | None, typer.Option("--sqlite", help="A SQLite database file.")] = None,
    postgres: Annotated[str | None, typer.Option("--postgres", help="A PostgreSQL URL (postgresql://user@host/db); "
                                                 "keep the password in ~/.pgpass.")] = None,
) -> None:
    """Add a source to back up.

    Example: aftermath protect add customers --sqlite /srv/app/customers.db
    """
    warn_password(postgres)
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
    signal.signal(signal.SIGTERM, _terminated)  # a stopped run cleans up its temporary copies as Ctrl-C does
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


def _terminated(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _raise_failures(failed: list[tuple[str, AftermathError]]) -> None:
    if not failed:
        return
    first = failed[0][1]
    if len(failed) == 1:
        raise type(first)(first.message)
    others = ", ".join(name for name, _ in failed[1:])  # one line, as every error: the others are journaled
    raise type(first)(f"{first.message} (also failed: {others}; see 'aftermath case show --action protect')")


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


@protect_app.command("drill")
def drill_(
    ctx: typer.Context,
    snapshot: Annotated[str | None, typer.Option("--snapshot", help="Snapshot id (default: the newest of "
                                                 "every source).")] = None,
    scratch: Annotated[Path | None, typer.Option("--scratch", help="Folder for the scratch restore "
                                                 "(default: CASE/.aftermath/drill).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Restore into scratch and compare with the manifest. Exit 0 when all matches, 1 with what does not.

    The restore reads only the repository, never restic's cache: a passed drill proves the snapshot is
    restorable from the repository alone, as on a new machine after a disaster.

    Example: aftermath protect drill --snapshot 1a2b3c4d
    """
    outcomes = drill.drill(open_case(ctx), snapshot, scratch)
    if json_out:
        write_json("-", [{"source": o.source, "snapshot": o.snapshot_id, "ok": o.ok,
                          "mismatches": [m.__dict__ for m in o.mismatches],
                          "error": o.error.message if o.error else None, "proves": o.proves} for o in outcomes])
    else:
        console.print(drill_table(outcomes))
    errors = [o.error for o in outcomes if o.error is not None]
    _raise_failures([(o.source, o.error) for o in outcomes if o.error is not None])
    if errors or not all(o.ok for o in outcomes):
        raise typer.Exit(1)


def drill_table(outcomes: list[drill.Outcome]) -> Table:
    """The drill's verification table (also used by the demo)."""
    table = Table("source", "snapshot", "result", "what", "expected", "restored", title="Restore drill")
    for o in outcomes:
        if o.error is not None:
            table.add_row(o.source, o.snapshot_id[:8], "[bold red]FAILED[/]", o.error.message[:90], "", "")
        elif o.ok:
            table.add_row(o.source, o.snapshot_id[:8], "[bold green]OK[/]", f"everything matches: {o.proves}",
                          "", "")
        for m in o.mismatches:
            table.add_row(o.source, o.snapshot_id[:8], "[bold red]MISMATCH[/]", m.item, m.expected, m.actual)
    return table


@protect_app.command("check")
def check(
    ctx: typer.Context,
    quick: Annotated[bool, typer.Option("--quick", help="Check structure only; do not read every pack.")] = False,
) -> None:
    """Run 'restic check' (reading all data by default); a damaged pack names the snapshots it hurts.

    Example: aftermath protect check
    """
    report = drill.check(open_case(ctx), read_data=not quick)
    if not report.ok:
        for line in report.errors[:10]:
            err_console.print(line, markup=False, highlight=False)
        raise drill.damaged_error(report)
    console.print("Repository OK: no errors found" + (" (structure only)." if quick else " (all data read)."))


@protect_app.command("forget")
def forget(
    ctx: typer.Context,
    no_prune: Annotated[bool, typer.Option("--no-prune", help="Only forget; delete data later.")] = False,
) -> None:
    """Apply the retention policy (keep daily/weekly/monthly from aftermath.toml), then prune.

    Example: aftermath protect forget
    """
    removed = retention.forget(open_case(ctx), prune=not no_prune)
    console.print(f"Forgot {len(removed)} snapshot(s)" + ("." if no_prune else " and pruned unreferenced data."))


@protect_app.command("unlock")
def unlock(ctx: typer.Context) -> None:
    """Remove repository locks left by restic processes of this host that died (live ones stay)."""
    case = open_case(ctx)
    dead = backup.clear_dead_locks(case, backup.restic_for(case))
    console.print(f"Removed {len(dead)} stale lock(s)." if dead else "No stale locks.")


@protect_app.command("status")
def status_(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Each source's last snapshot, its age against the interval (overdue in red), and the last drill.

    Example: aftermath protect status --json
    """
    case = open_case(ctx)
    items = status.status(case, datetime.now(UTC))
    if json_out:
        write_json("-", [i.as_json() for i in items])
        return
    hours = case.config.protect.interval_hours
    table = Table("source", "kind", "last snapshot", "age", "backup", "last drill", title=f"interval {hours:g} h")
    for i in items:
        age = "never" if i.age_hours is None else f"{i.age_hours:.1f} h"
        state = "[bold white on red] OVERDUE [/]" if i.overdue else "[green]on time[/]"
        drill_text = ("never" if i.drill_ok is None else
                      ("[green]passed[/]" if i.drill_ok else "[bold red]FAILED[/]") +
                      f" {i.drill_at:%Y-%m-%d}" if i.drill_at else "")
        if i.drill_overdue:
            drill_text += " [yellow](due)[/]"
        table.add_row(i.source, i.kind, (i.snapshot_id or "")[:8] + (f" {i.snapshot_time:%Y-%m-%d %H:%M}"
                      if i.snapshot_time else ""), age, state, drill_text)
    console.print(table)


@protect_app.command("schedule")
def schedule_(
    ctx: typer.Context,
    do_install: Annotated[bool, typer.Option("--install", help="Install the timers (or cron file).")] = False,
    cron: Annotated[bool, typer.Option("--cron", help="Use cron even where systemd runs.")] = False,
    target: Annotated[Path | None, typer.Option("--target", help="Install into this folder instead of "
                                                "/etc/systemd/system or /etc/cron.d (nothing is enabled).")] = None,
) -> None:
    """Print (or --install) a systemd timer for 'protect run' at the interval and a weekly 'protect drill'.

    Example: aftermath protect schedule --install
    """
    case = open_case(ctx)
    use_systemd = schedule.has_systemd() and not cron
    exe = shutil.which("aftermath")
    command = [exe] if exe else [sys.executable, "-m", "aftermath"]
    files = schedule.plan(case, command, use_systemd)
    if not do_install:
        for name, text in files.items():
            typer.echo(f"# ---- {name}\n{text}")
        return
    for path in schedule.install(case, files, use_systemd, target):
        console.print(f"Wrote {path}")


def register(app: typer.Typer) -> None:
    """Attach the ``protect`` group."""
    app.add_typer(protect_app, name="protect")

