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
from aftermath.errors import AftermathError, Interrupted, UsageError

HELP = """Aftermath carries a business through a data breach or a dead server.

Before anything goes wrong: 'aftermath init', then 'aftermath protect' for verified backups.

The steps of the response, in order:

  secure    sweep hosts for compromise, collect evidence, isolate, stop processes
  case      the tamper-evident case file experts work from
  consult   who is engaged, tasks, decisions; then 'report', 'timeline' and 'package' for them
  review    scan every backup snapshot before restoring; find the last clean point
  restore   plan, apply, verify and promote a clean restore
  notify    who was affected, with which data; every legal duty and its deadline

See it all on a synthetic business: 'aftermath demo'. Commands find their case like git: the current
folder or a parent, --case DIR, or $AFTERMATH_CASE. Exit codes: see the README.
"""

app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]})

# One module per step; each defines ``register(app)``. A module not yet present is simply absent.
COMMAND_MODULES = ["case", "protect", "review", "restore", "notify", "secure", "consult", "serve", "user", "demo"]
# Top-level commands whose module has another name.
MODULE_OF = {"init": "case", "report": "consult", "timeline": "consult", "package": "consult"}
# Global options that take a value (the next argument, or after '=').
VALUE_OPTIONS = ("--case",)
FLAG_OPTIONS = ("--debug", "--version")

_registered: set[str] = set()


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


def command_module(argv: list[str]) -> str | None:
    """The module that defines the command named in ``argv``; None when every command is needed.

    Every command is needed for top-level help, for no command at all, and for a name that is no command
    (click's error then lists the real ones). Only the global options of ``_global`` are skipped.
    """
    args = iter(argv)
    for arg in args:
        if arg in VALUE_OPTIONS:
            next(args, None)
        elif arg in FLAG_OPTIONS or arg.startswith(tuple(f"{o}=" for o in VALUE_OPTIONS)):
            continue
        else:
            name = MODULE_OF.get(arg, arg)
            return name if name in COMMAND_MODULES else None
    return None


def register_commands(argv: list[str] | None = None) -> None:
    """Attach the command that ``argv`` invokes, or every command when ``argv`` is None or names none.

    Importing a command module is what costs start-up time (the case store, SSH, reports), so a run of
    one command imports that command's module only. Registering twice is harmless.
    """
    name = None if argv is None else command_module(argv)
    if name is not None and _load(name):
        return
    for module_name in COMMAND_MODULES:  # all of them; also when the named one is not present
        _load(module_name)


def _load(module_name: str) -> bool:
    """Import and register one command module; False when it is not present."""
    if module_name in _registered:
        return True
    try:
        module = importlib.import_module(f"aftermath.cli.{module_name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"aftermath.cli.{module_name}":
            return False
        raise
    module.register(app)
    _registered.add(module_name)
    return True


register_commands(sys.argv[1:])


def _click_classes() -> dict[str, tuple[type[Exception], ...]]:
    """Exit, Abort and ClickException as click raises them and as the copy of click in typer does (D14)."""
    vendored = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
    return {"Exit": (click.exceptions.Exit, typer.Exit), "Abort": (click.exceptions.Abort, typer.Abort),
            "ClickException": (click.ClickException, vendored)}


_CLICK = _click_classes()


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; errors become one line on stderr and a documented exit code."""
    debug = "--debug" in (argv if argv is not None else sys.argv)
    try:
        register_commands(argv if argv is not None else sys.argv[1:])
        command = typer.main.get_command(app)
        result = command.main(args=argv, prog_name="aftermath", standalone_mode=False)
    except AftermathError as exc:
        _fail(exc, debug)
    except KeyboardInterrupt as exc:
        _fail(Interrupted("interrupted: partial work was kept; run the command again to resume"), debug, exc)
    except _CLICK["Exit"] as exc:
        sys.exit(getattr(exc, "exit_code", 0))
    except _CLICK["Abort"]:
        _fail(Interrupted("aborted"), debug)
    except _CLICK["ClickException"] as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # a group named alone: its help is the answer
            exc.show()  # type: ignore[attr-defined]  # both classes have show()
            sys.exit(2)
        _fail(usage_error(exc), debug)
    except SystemExit:
        raise
    except Exception:  # noqa: BLE001 - a bug: show it, with the traceback
        traceback.print_exc()
        err_console.print("aftermath: internal error (a bug): please report it with the traceback above")
        sys.exit(70)
    if result == Interrupted.exit_code:  # typer turns Ctrl-C into a silent Exit(130): say what happened
        _fail(Interrupted("interrupted: partial work was kept; run the command again to resume"), debug)
    sys.exit(result if isinstance(result, int) else 0)


def usage_error(exc: Exception) -> UsageError:
    """Click's usage message (four lines) as the promised one line, naming the command's --help."""
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "aftermath"
    text = " ".join(str(exc.format_message()).split()).rstrip(".")  # type: ignore[attr-defined]
    return UsageError(f"{text}: see '{where} --help'")


def _fail(exc: AftermathError, debug: bool, cause: BaseException | None = None) -> None:
    if debug:
        traceback.print_exception(cause or exc)
    err_console.print(f"aftermath: error: {exc.message}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(exc.exit_code)
