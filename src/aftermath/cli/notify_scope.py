"""``aftermath notify scope``: who was affected, and which of their data was exposed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from aftermath.case.access import resolve_repository
from aftermath.cli.common import console, err_console, maybe_case, require_writable_parent, write_json
from aftermath.notify.discover import record
from aftermath.notify.discover.files import Files
from aftermath.notify.discover.run import ScopeResult, scope

if TYPE_CHECKING:
    from aftermath.case import Case

SHOWN_FILES = 10  # skipped files named on the console; the report and --json name them all


def scope_command(
    ctx: typer.Context,
    source: Annotated[list[str], typer.Option("--source", "-s", help=(
        "postgresql://..., sqlite:///file.db (optionally #table), a CSV/JSONL/XLSX file or a folder. "
        "With --snapshot, a path inside the snapshot. Repeat for several."))],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the people file (people.csv).")],
    report: Annotated[Path | None, typer.Option(help="Also write the HTML report here.")] = None,
    findings: Annotated[Path | None, typer.Option(help=(
        "Also write every location (person, kind, source, table, column, row) as CSV. No values."))] = None,
    snapshot: Annotated[str | None, typer.Option(help="Read the sources inside this restic snapshot (ID).")] = None,
    repo: Annotated[str | None, typer.Option(help="restic repository (default: the case's).")] = None,
    password_file: Annotated[Path | None, typer.Option(help="Repository password file (default: the case's).")] = None,
    workers: Annotated[int, typer.Option(min=0, help="Processes for local sources (0: one per CPU).")] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Find the affected people in breached data and write people.csv (one row per person).

    Scans tables and files for SSNs, licence, passport and taxpayer numbers, cards and bank accounts
    (with their access codes), credentials, dates of birth, medical, insurance and biometric data;
    merges rows into people across sources, and resolves where each lives. Exit 1 when rows or files
    were skipped (see the report). Example:

      aftermath notify scope -s postgresql://crm@db/crm -s exports/ --out people.csv --report scope.html
    """
    for path in (out, report, findings):
        if path is not None:
            require_writable_parent(path)
    case = maybe_case(ctx)
    files = _snapshot_files(case, snapshot, repo, password_file) if snapshot else None
    result = _run(source, files, snapshot or "", workers)
    texts = record.render(result, report, findings)
    targets = {out: texts["people"]}
    targets.update({p: texts[k] for k, p in (("report", report), ("findings", findings)) if p is not None})
    record.write_all(targets)
    data = record.journal(case, result, texts) if case else record.summary(result, texts)
    _show(result, data, out, json_out, case is not None)
    if result.skipped_rows or result.skipped_files or result.merged.unattributed:
        raise typer.Exit(1)


def _snapshot_files(case: Case | None, snapshot: str, repo: str | None, password_file: Path | None) -> Files:
    location, password = resolve_repository(case, repo, password_file)
    return record.open_snapshot(location, password, snapshot)


def _run(sources: list[str], files: Files | None, snapshot: str, workers: int) -> ScopeResult:
    with Progress(TextColumn("scanning"), BarColumn(), MofNCompleteColumn(), TextColumn("units"),
                  TimeElapsedColumn(), console=err_console, transient=True,
                  disable=not err_console.is_terminal) as progress:
        task = progress.add_task("scan", total=None)

        def tick(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return scope(sources, files, snapshot=snapshot, workers=workers, progress=tick)


def _show(result: ScopeResult, data: dict[str, object], out: Path, json_out: bool, journaled: bool) -> None:
    if json_out:
        write_json("-", data)
        return
    console.print(f"{len(result.people)} affected people in {result.rows_scanned} rows "
                  f"({result.seconds:.1f} s); written to {out}.")
    for element, n in result.element_counts().items():
        console.print(f"  {element}: {n}")
    warning = result.residence_warning()
    if warning:
        err_console.print(f"[bold red]WARNING: residence unknown.[/] {warning}")
    damaged = result.damaged()
    if damaged:
        err_console.print(f"[yellow]{sum(n for *_, n in damaged)} values damaged by a spreadsheet[/] ("
                          + "; ".join(f"{c}: {n} {why}" for _, c, why, n in damaged[:4])
                          + "): numbers in scientific notation are not counted; scan the original export.")
    if result.merged.flags:
        console.print(f"{len(result.merged.flags)} addresses to review (see the report).")
    skipped = len(result.skipped_rows) + len(result.merged.unattributed) + len(result.skipped_files)
    if skipped:
        console.print(f"[yellow]{skipped} rows or files skipped[/] (see the report for why).")
    for path, why in result.skipped_files[:SHOWN_FILES]:
        console.print(f"  skipped {path}: {why}", markup=False, highlight=False, soft_wrap=True)
    if len(result.skipped_files) > SHOWN_FILES:
        console.print(f"  ... and {len(result.skipped_files) - SHOWN_FILES} more files (see the report).")
    if journaled:
        console.print("Recorded in the case journal (notify.scope) with the outputs' SHA-256.")


def register_scope(notify_app: typer.Typer) -> None:
    """Add ``scope`` to the ``notify`` command group."""
    notify_app.command("scope")(scope_command)
