"""What every command module shares: the case from the global options, output helpers."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from aftermath.errors import UsageError
from aftermath.outputs import check_writable, write_all

if TYPE_CHECKING:  # the case store (SQLAlchemy, Alembic) is imported when a command opens the case
    from aftermath.case import Case
    from aftermath.restic import Repository

console = Console()
err_console = Console(stderr=True)


@dataclass
class State:
    """Global options given before the command."""

    case_dir: Path | None = None
    debug: bool = False


def state(ctx: typer.Context) -> State:
    """The global options of this invocation."""
    root = ctx.find_root()
    if not isinstance(root.obj, State):
        root.obj = State()
    return root.obj


def open_case(ctx: typer.Context) -> Case:
    """Open the case named by --case, $AFTERMATH_CASE, or the current folder and its parents."""
    from aftermath.case import Case

    return Case.open(state(ctx).case_dir)


def write_json(target: Path | str, value: Any) -> None:
    """Write JSON to a file (atomically) or to stdout for ``-``."""
    text = json.dumps(value, indent=2, sort_keys=False, default=str) + "\n"
    if str(target) == "-":
        sys.stdout.write(text)
        return
    write_text(Path(target), text)


def write_text(path: Path, text: str) -> None:
    """Write a file atomically: a crash leaves the old file or the new one, never half of one."""
    write_all({path: text})


def require_writable_parent(path: Path) -> None:
    """Fail early, before long work, when an output file cannot be written."""
    check_writable(path)


@contextmanager
def byte_progress(description: str, total: int | None, auto_refresh: bool = True) -> Iterator[Progress]:
    """A progress bar in bytes on stderr (hidden when stderr is not a terminal).

    ``auto_refresh=False`` starts no thread (the caller refreshes): for work that forks processes.
    """
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TextColumn("{task.fields[files]}"),
                  TimeRemainingColumn(), console=err_console, transient=True, auto_refresh=auto_refresh,
                  disable=not err_console.is_terminal) as progress:
        progress.add_task(description, total=total, files="")
        yield progress


def open_repository(ctx: typer.Context, repo: str | None, password_file: Path | None) -> Repository:
    """Open a repository for reading from the options, falling back to the case's (see case.access)."""
    from aftermath.case.access import resolve_repository
    from aftermath.restic import Repository

    location, password = resolve_repository(maybe_case(ctx), repo, password_file)
    return Repository.open(location, password)


def maybe_case(ctx: typer.Context) -> Case | None:
    """The case when there is one; None only when none was named and none is found here.

    For commands that also work without a case (they then say that nothing was journaled). A case that
    was named but is missing, or is broken, is still an error.
    """
    from aftermath.case.locate import NoCaseFound, find_root

    try:
        find_root(state(ctx).case_dir)  # looking costs no store: open (and import) it only when there is one
    except NoCaseFound:
        return None
    return open_case(ctx)


def parse_when(text: str) -> datetime:
    """Parse YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC unless an offset is given)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"bad date {text!r}: use YYYY-MM-DD or YYYY-MM-DDTHH:MM") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)
