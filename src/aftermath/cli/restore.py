"""``aftermath restore ...``: plan a clean restore, approve it, apply it to staging, verify, promote."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from aftermath.cli.common import (
    byte_progress,
    console,
    open_case,
    open_repository,
    require_writable_parent,
    write_json,
)
from aftermath.recover import workflow
from aftermath.recover.plan import Plan, Strategy

restore_app = typer.Typer(help="Restore cleanly: plan from the review, approve, apply to staging, verify, promote.",
                          no_args_is_help=True)

RepoOpt = Annotated[str | None, typer.Option("--repo", help="restic repository (default: the case's).")]
PasswordOpt = Annotated[Path | None, typer.Option(help="File with the repository password (default: the case's).")]
SHOWN = 40


def _show_plan(plan: Plan) -> None:
    table = Table("action", "path", "snapshot", "why", title=f"Restore plan ({plan.strategy})")
    order = {"hold": 0, "decide": 1, "restore": 2}
    files = sorted((e for e in plan.entries if e.type != "dir"), key=lambda e: (order[e.action], e.path))
    for entry in files[:SHOWN]:
        colour = {"hold": "red", "decide": "yellow", "restore": "green"}[entry.action]
        table.add_row(f"[{colour}]{entry.action}[/]", entry.path, (entry.snapshot or "")[:8], entry.reason)
    console.print(table)
    if len(files) > SHOWN:
        console.print(f"… and {len(files) - SHOWN} more lines in the plan file.")
    totals = plan.totals()
    console.print(f"restore {totals['restore']['files']} files ({totals['restore']['bytes']:,} bytes), "
                  f"hold back {totals['hold']['files']}, leave {totals['decide']['files']} for a person to decide.")


@restore_app.command("plan")
def plan_cmd(
    ctx: typer.Context,
    strategy: Annotated[str, typer.Option(help="last-clean (everything from the last clean point) or surgical "
                                               "(newest clean version of every path).")],
    repo: RepoOpt = None,
    password_file: PasswordOpt = None,
    review: Annotated[Path | None, typer.Option(help="Review JSON (default: the case's newest review).")] = None,
    snapshot: Annotated[str | None, typer.Option(help="Restore this snapshot instead of the last clean one.")] = None,
    include_new: Annotated[bool, typer.Option(help="Also restore data files that appeared after the compromise "
                                                   "began (executables stay held back).")] = False,
    json_out: Annotated[Path, typer.Option("--json", help="Where to write the plan.")] = Path("restore-plan.json"),
) -> None:
    """Build a restore plan a person can read and approve, from the review of every snapshot.

    Example: aftermath restore plan --strategy surgical --review review.json --json plan.json
    """
    if strategy not in ("last-clean", "surgical"):
        raise typer.BadParameter("use last-clean or surgical", param_hint="--strategy")
    require_writable_parent(json_out)  # before the plan is made and journaled
    case = open_case(ctx)
    repository = open_repository(ctx, repo, password_file)
    location = repo or case.config.repository.location(case.root)
    chosen: Strategy = "surgical" if strategy == "surgical" else "last-clean"
    plan = workflow.make_plan(case, repository, location, chosen, review, snapshot, include_new)
    write_json(json_out, plan.to_json())
    _show_plan(plan)
    console.print(f"Plan written to {json_out}. Read it, then: aftermath restore approve {json_out}")


@restore_app.command("approve")
def approve_cmd(
    ctx: typer.Context,
    plan: Annotated[Path, typer.Argument(help="The plan file.")],
    note: Annotated[str, typer.Option(help="Why it is approved, who was consulted.")] = "",
) -> None:
    """Record in the journal that you approved this exact plan (by its hash)."""
    sha = workflow.approve(open_case(ctx), plan, note)
    console.print(f"Plan {sha[:16]}… approved.")


@restore_app.command("apply")
def apply_cmd(
    ctx: typer.Context,
    plan: Annotated[Path, typer.Argument(help="An approved plan file.")],
    to: Annotated[Path, typer.Option("--to", help="Staging folder: new or empty (or a resumed restore).")],
    repo: RepoOpt = None,
    password_file: PasswordOpt = None,
) -> None:
    """Restore an approved plan into a staging folder, straight from the repository.

    Held-back and flagged files go into the case's evidence, not into staging. Run the same command again
    after a crash or a full disk: it resumes. Exit 1 if any file could not be restored.
    """
    case = open_case(ctx)
    parsed, sha = workflow.load_plan(plan)
    workflow.require_approved(case, sha)  # before the plan's repository is opened with this case's password
    repository = open_repository(ctx, repo or parsed.repository, password_file)
    total = sum(e.size for e in parsed.entries if e.action == "restore")
    with byte_progress("restoring", total) as bar:
        task = bar.task_ids[0]
        result = workflow.apply(case, repository, plan, to,
                                lambda n, path: bar.update(task, advance=n, files=Path(path).name))
    console.print(f"Restored {result.written} files ({result.bytes:,} bytes) into {to}"
                  + (f", {result.resumed} already there from an earlier run" if result.resumed else "") + ".")
    if result.evidence:
        console.print(f"{len(result.evidence)} held-back files kept as evidence in the case.")
    if result.decide:
        console.print(f"{len(result.decide)} files were left for a person to decide (see the plan).")
    for failed in result.failed:
        console.print(f"[red]not restored[/]: {failed['path']}: {failed['error']}")
    console.print(f"Next: aftermath restore verify {to} --plan {plan}")
    if result.failed:
        raise typer.Exit(1)


@restore_app.command("verify")
def verify_cmd(
    ctx: typer.Context,
    staging: Annotated[Path, typer.Argument(help="The staging folder apply wrote.")],
    plan: Annotated[Path, typer.Option("--plan", help="The plan that was applied.")],
    repo: RepoOpt = None,
    password_file: PasswordOpt = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the result as JSON.")] = None,
    rules: Annotated[list[Path] | None, typer.Option("--rules", help="More YARA rules for the rescan (as given "
                                                     "to the review).")] = None,
    ioc: Annotated[list[Path] | None, typer.Option("--ioc", help="Hash indicator files for the rescan.")] = None,
) -> None:
    """Re-hash every restored file against the repository, rescan the tree, check database dumps.

    Exit 0 only when everything matches; 1 with the list of what does not.
    """
    case = open_case(ctx)
    parsed, sha = workflow.load_plan(plan)
    workflow.require_approved(case, sha)  # before the plan's repository is opened with this case's password
    repository = open_repository(ctx, repo or parsed.repository, password_file)
    result = workflow.verify(case, repository, plan, staging, *workflow.default_checks(case, rules or [], ioc or []))
    if json_out:
        write_json(json_out, {"ok": result.ok, "checked": result.checked, "problems": result.problems,
                              "databases": result.databases})
    if result.ok:
        console.print(f"[green]Verified[/]: {result.checked} files match the repository, the rescan is clean"
                      + (f", {len(result.databases)} database(s) match their manifest" if result.databases else "")
                      + ".")
        return
    for problem in result.problems:
        console.print(f"[red]mismatch[/]: {problem}")
    raise typer.Exit(1)


@restore_app.command("promote")
def promote_cmd(
    ctx: typer.Context,
    staging: Annotated[Path, typer.Argument(help="A verified staging folder (or a folder inside it).")],
    target: Annotated[Path, typer.Option("--target", help="Where the tree goes (same filesystem).")],
) -> None:
    """Move a verified staging tree into place atomically; the old tree is kept aside, never deleted."""
    result = workflow.promote(open_case(ctx), staging, target)
    console.print(f"Promoted {staging} to {result.target}"
                  + (f"; the old tree is kept at {result.kept_old}" if result.kept_old else "") + ".")


def register(app: typer.Typer) -> None:
    """Attach the ``restore`` group."""
    app.add_typer(restore_app, name="restore")
