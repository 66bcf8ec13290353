"""``aftermath review``: scan every snapshot of a repository before restoring anything."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from aftermath.cli.common import (
    byte_progress,
    console,
    maybe_case,
    parse_when,
    require_writable_parent,
    write_json,
    write_text,
)
from aftermath.errors import Interrupted
from aftermath.restic import Repository
from aftermath.review import Progress, ReviewResult, Scanner, run_review, session
from aftermath.review.report import to_html
from aftermath.review.scanners import default_scanners
from aftermath.review.verdict import Occurrence

COLOURS = {"clean": "green", "suspicious": "yellow", "infected": "red", "encrypted": "magenta"}


def review(
    ctx: typer.Context,
    repo: Annotated[str | None, typer.Option(help="Repository: a path or a restic location (sftp:, rest:, s3:); "
                                             "default: the case's repository.")] = None,
    password_file: Annotated[Path | None, typer.Option(
        help="File holding the repository password (else $AFTERMATH_REPO_PASSWORD_FILE, else the case's).")] = None,
    rules: Annotated[list[Path] | None, typer.Option(
        "--rules", help="Extra YARA rules: a .yar file or a folder of them (repeatable).")] = None,
    strict_rules: Annotated[bool, typer.Option(
        "--strict-rules", help="Stop when a --rules file does not compile (default: skip it with a warning).")] = False,
    ioc: Annotated[list[Path] | None, typer.Option(
        "--ioc", help="Hash indicators: SHA-256/SHA-1/MD5, one per line, # comments (repeatable).")] = None,
    since: Annotated[str | None, typer.Option(help="Only snapshots at or after YYYY-MM-DD[THH:MM] (UTC).")] = None,
    json_out: Annotated[str | None, typer.Option("--json", help="Write the JSON report to FILE ('-': stdout).")] = None,
    html: Annotated[Path | None, typer.Option(help="Write the HTML report (self-contained) to a file.")] = None,
    workers: Annotated[int, typer.Option(
        min=1, max=64, help="Worker processes that read and scan (1: all in this process).")] = 2,
    cluster: Annotated[str | None, typer.Option(
        help="Read and scan on the workers of this Dask scheduler (tcp:// or tls://HOST:8786) instead of local "
             "worker processes; each worker reads the repository itself (see docs/review.md).")] = None,
) -> None:
    """Scan every snapshot with YARA rules, hash indicators and ransomware checks; name the last clean one.

    Each distinct file content is read and scanned once across all snapshots. Exit 0 when every snapshot
    is clean, 1 when something was found or could not be read.

    Example: aftermath review --rules ./my-rules --ioc iocs.txt --json review.json --html review.html
    """
    since_time = parse_when(since) if since else None
    case = maybe_case(ctx)
    for target in (html, None if json_out in (None, "-") else Path(json_out)):
        if target is not None:
            require_writable_parent(target)
    scanners = default_scanners(rules or [], ioc or [], strict_rules=strict_rules)
    for path, reason in (skip for s in scanners for skip in getattr(s, "skipped", ())):
        typer.echo(f"warning: YARA rules {path} skipped, they do not compile: {reason}", err=True)
    repository, location = session.open_repository(case, repo, password_file)
    try:
        result = _run(repository, scanners, since_time, workers, location, cluster)
    except KeyboardInterrupt:
        # typer turns KeyboardInterrupt into a silent exit 130: say what happened (nothing was written)
        raise Interrupted("review interrupted: no report or journal entry was written; run it again") from None
    if json_out:
        write_json(json_out, result.to_json())
    if html:
        write_text(html, to_html(result))
    if case is not None:
        session.record(case, result)
    if json_out != "-":
        _render(result)
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def _run(repository: Repository, scanners: list[Scanner], since: datetime | None, workers: int,
         location: str, cluster: str | None) -> ReviewResult:
    """The review with a progress bar in bytes and files on stderr."""
    # no refresh thread: the review forks its worker processes, which is only safe with one thread
    with byte_progress("Reviewing", None, auto_refresh=False) as bar:
        task = bar.task_ids[0]

        def show(p: Progress) -> None:
            bar.update(task, total=p.bytes_total, completed=p.bytes_done,
                       files=f"{p.files_done}/{p.files_total} files", refresh=True)

        return run_review(repository, scanners, since=since, progress=show, workers=workers, location=location,
                          cluster=cluster)


def _render(result: ReviewResult) -> None:
    table = Table("snapshot", "time (UTC)", "verdict", "findings", "files")
    for s in result.snapshots:
        colour = COLOURS[s.verdict]
        table.add_row(s.id[:8], s.time.strftime("%Y-%m-%d %H:%M"), f"[{colour}]{s.verdict}[/]",
                      str(len(s.findings)), str(s.files) + (f" ({s.unreadable} unreadable)" if s.unreadable else ""))
    console.print(table)
    # one line per rule and first snapshot, so "first in" is true of every file the line counts
    groups: dict[tuple[str, str, str], list[Occurrence]] = {}
    for o in result.findings:
        groups.setdefault((o.finding.kind, o.finding.rule, o.first_seen), []).append(o)
    for (kind, rule, _), items in groups.items():
        f, more = items[0].finding, (f" and {len(items) - 1} more" if len(items) > 1 else "")
        console.print(f"[{COLOURS[f.severity]}]{f.severity}[/] {kind} {rule}: {f.path}{more} "
                      f"(first in {items[0].first_seen[:8]}): {f.reason}", highlight=False)
    for e in result.errors:
        where = f" (blob {e.blob[:12]})" if e.blob else ""
        console.print(f"[red]not read[/] {e.path}: {e.reason}{where}", highlight=False)
    stats = result.stats
    console.print(f"{stats.files_total} files, {stats.distinct_contents} distinct contents, "
                  f"{stats.bytes_scanned / 2**20:.1f} MiB scanned in {stats.seconds:.1f} s.")
    console.print("Last clean restore point: " + (f"[bold green]{result.last_clean}[/]" if result.last_clean
                                                   else "[bold red]none[/] (the first snapshot is already bad)"))


def register(app: typer.Typer) -> None:
    """Attach ``review``."""
    app.command("review")(review)
