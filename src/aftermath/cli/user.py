"""``aftermath user``: the dashboard's users and roles (lead, responder, counsel, viewer)."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer
from rich.table import Table

from aftermath.cli.common import console, open_case
from aftermath.errors import UsageError

user_app = typer.Typer(help="Dashboard users: add, list, disable.", no_args_is_help=True)


def read_password(prompt: bool) -> str:
    """A password from a prompt (asked twice) or, when stdin is not a terminal, its first line."""
    if not prompt:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise UsageError("the two passwords differ: run the command again")
    return first


@user_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="User name for logging in.")],
    role: Annotated[str, typer.Option(help="lead, responder, counsel or viewer.")] = "viewer",
) -> None:
    """Add a user (or reset one's role and password); the password comes from a prompt or stdin.

    Example: aftermath user add dana --role lead
    """
    from aftermath.web import users  # the case store only when a command runs, not for --help

    case = open_case(ctx)
    user = users.add(case, name, role, read_password(sys.stdin.isatty()))
    console.print(f"user {user.name} added with role {user.role}")


@user_app.command("list")
def list_users(ctx: typer.Context) -> None:
    """List users with their role and whether they are disabled."""
    from aftermath.web import users

    table = Table("name", "role", "state")
    for user in users.users(open_case(ctx)):
        table.add_row(user.name, user.role, "disabled" if user.disabled else "active")
    console.print(table)


@user_app.command("disable")
def disable(ctx: typer.Context, name: Annotated[str, typer.Argument(help="User to disable.")]) -> None:
    """Disable a user: they can no longer log in (their sessions end)."""
    from aftermath.web import users

    users.disable(open_case(ctx), name)
    console.print(f"user {name} disabled")


def register(app: typer.Typer) -> None:
    """Attach ``user``."""
    app.add_typer(user_app, name="user")
