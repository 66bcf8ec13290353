"""The demo's last step: a lead user for the dashboard, and the command that opens it on the demo case."""

from __future__ import annotations

import os
import secrets

from rich.console import Console

from aftermath.case import Case
from aftermath.demo.world import World
from aftermath.web import users

LEAD = "lead"


def act_dashboard(world: World, console: Console) -> None:
    """Create the lead user with a one-time password kept in a mode-600 file; print how to open the dashboard."""
    case = Case.open(world.case_dir)
    password = secrets.token_urlsafe(18)
    path = case.root / ".aftermath" / "dashboard-lead-password"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(password + "\n")
    os.chmod(path, 0o600)
    users.add(case, LEAD, "lead", password, one_time=True)
    world.facts["dashboard_password_file"] = path
    console.rule("[bold]The dashboard")
    console.print(f"Open the whole response in a browser:\n  aftermath --case {case.root} serve\n"
                  f"then http://127.0.0.1:8000/ and log in as [bold]{LEAD}[/] with the password in {path} "
                  "(readable only by you, valid once: you choose your own at the first log-in; add users with "
                  "'aftermath user add').", soft_wrap=True)
