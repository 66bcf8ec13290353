"""Run the real ``aftermath`` CLI with the containment commands present.

Until the lead wires ``register_contain`` into ``cli/secure.py``, this adds them to the ``secure`` group
(creating the group when ``cli/secure.py`` is not there yet); once wired, it changes nothing.
Usage: python -m tests.secure.contain.cli_harness [aftermath arguments...]
"""

from __future__ import annotations

import sys

import typer

from aftermath.cli import main as cli_main
from aftermath.cli.secure_contain import register_contain


def _secure_app() -> typer.Typer:
    for group in cli_main.app.registered_groups:
        if group.name == "secure" and group.typer_instance is not None:
            return group.typer_instance
    secure_app = typer.Typer(help="Secure hosts.", no_args_is_help=True)
    cli_main.app.add_typer(secure_app, name="secure")
    return secure_app


def prepare() -> None:
    """Make sure ``aftermath secure isolate`` and friends exist."""
    secure_app = _secure_app()
    if not any(cmd.name == "isolate" for cmd in secure_app.registered_commands):
        register_contain(secure_app)


if __name__ == "__main__":
    prepare()
    cli_main.main(sys.argv[1:])
