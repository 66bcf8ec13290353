"""``aftermath demo``: a synthetic business through a disaster, end to end."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer

from aftermath.cli.common import console
from aftermath.demo.story import play
from aftermath.demo.world import World
from aftermath.errors import UsageError


def demo(
    directory: Annotated[Path | None, typer.Option("--dir", help="Empty folder for the demo (default: a new "
                                                   "temporary folder).")] = None,
    seed: Annotated[int, typer.Option(help="Seed for the synthetic data.")] = 2024,
) -> None:
    """Play a small business through two weeks of backups and a dead server, restored and verified.

    Example: aftermath demo --dir /tmp/riverside
    """
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="aftermath-demo-"))
    elif directory.exists() and any(directory.iterdir()):
        raise UsageError(f"{directory} is not empty: choose a new folder for the demo")
    started = time.monotonic()
    world = play(World(directory.resolve(), seed=seed), console)
    console.print(f"\nDemo finished in {time.monotonic() - started:.0f} s. Everything is in {world.root}; "
                  f"try: aftermath --case {world.case_dir} protect status")
    if not world.facts.get("drill_ok", False):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Attach ``demo``."""
    app.command("demo")(demo)
