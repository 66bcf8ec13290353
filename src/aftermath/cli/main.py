"""The ``aftermath`` command: global options, command groups, and the one place that prints errors."""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path
from typing import Annotated

import click
import typer

from aftermath import __version__
from aftermath.cli.common import err_console, state
from aftermath.errors import AftermathError, Interrupted

HELP = """Aftermath carries a business through a data breach or a dead server.

Before anything goes wrong: 'aftermath init', then 'aftermath protect' for verified backups.

The steps of the response, in order:

  secure    sweep hosts for compromise, collect evidence, isolate, stop processes
  case      the tamper-evident case file experts work from
  review    scan every backup snapshot before restoring; find the last clean point
  restore   plan, apply, verify and promote a clean restore
  notify    who was affected, with which data; every legal duty and its deadline

See it all on a synthetic business: 'aftermath demo'. Commands find their case like git: the current
folder or a parent, --case DIR, or $AFTERMATH_CASE. Exit codes: see the README.
"""

app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]})

# One module per step; each defines ``register(app)``. A module not yet present is simply absent.
COMMAND_MODULES = ["case", "protect", "review", "restore", "notify", "secure", "consult", "web", "demo"]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"aftermath {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    ctx: typer.Context,
    case: Annotated[Path | None, typer.Option("--case", help="Case folder (default: search upwards).",
                                              envvar="AFTERMATH_CASE")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version.")] = False,
) -> None:
    st = state(ctx)
    st.case_dir, st.debug = case, debug


def _register() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"aftermath.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"aftermath.cli.{name}":
                continue
            raise
        module.register(app)


_register()


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; errors become one line on stderr and a documented exit code."""
    debug = "--debug" in (argv if argv is not None else sys.argv)
    try:
        command = typer.main.get_command(app)
        result = command.main(args=argv, prog_name="aftermath", standalone_mode=False)
    except AftermathError as exc:
        _fail(exc, debug)
    except KeyboardInterrupt as exc:
        _fail(Interrupted("interrupted: partial work was kept; run the command again to resume"), debug, exc)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        _fail(Interrupted("aborted"), debug)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except SystemExit:
        raise
    except Exception:  # noqa: BLE001 - a bug: show it, with the traceback
        traceback.print_exc()
        err_console.print("aftermath: internal error (a bug): please report it with the traceback above")
        sys.exit(70)
    if result == Interrupted.exit_code:  # typer turns Ctrl-C into a silent Exit(130): say what happened
        _fail(Interrupted("interrupted: partial work was kept; run the command again to resume"), debug)
    sys.exit(result if isinstance(result, int) else 0)


def _fail(exc: AftermathError, debug: bool, cause: BaseException | None = None) -> None:
    if debug:
        traceback.print_exception(cause or exc)
    err_console.print(f"aftermath: error: {exc.message}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(exc.exit_code)
