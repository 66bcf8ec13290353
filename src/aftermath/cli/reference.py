"""The CLI reference (docs/cli.md), generated from the commands themselves.

``python -m aftermath.cli.reference > docs/cli.md`` regenerates it; a test fails when it drifts.
"""

from __future__ import annotations

from typing import Any

import typer

from aftermath.cli.main import app, register_commands
from aftermath.errors import EXIT_CODES


def _walk(command: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    # typer vendors its own click: look at shapes, not classes
    found = [(path, command)]
    for name in sorted(getattr(command, "commands", {}) or {}):
        found.extend(_walk(command.commands[name], [*path, name]))
    return found


def _options(command: Any) -> list[str]:
    lines = []
    for param in command.params:
        if param.name in ("help",):
            continue
        if param.param_type_name == "argument":
            lines.append(f"- `{(param.name or '').upper()}` (argument)")
            continue
        flags = ", ".join(f"`{o}`" for o in param.opts)
        text = (param.help or "").replace("\n", " ")
        lines.append(f"- {flags}: {text}".rstrip(": "))
    return lines


def render_reference() -> str:
    """Markdown for every command: usage line, help text, options; then the exit codes."""
    register_commands()  # a run registers only the command it invokes; the reference needs all of them
    root = typer.main.get_command(app)
    out = ["# Command reference", "", "Generated from the code by `python -m aftermath.cli.reference`; "
           "a test fails when this file and the commands disagree.", ""]
    for path, command in _walk(root, ["aftermath"]):
        if getattr(command, "commands", None) and len(path) > 1 and not command.params:
            out += [f"## {' '.join(path)}", "", (command.help or "").strip(), ""]
            continue
        out += [f"## {' '.join(path)}" if len(path) > 1 else "## aftermath (global options)", ""]
        out += [(command.help or "").strip(), ""]
        options = _options(command)
        if options:
            out += [*options, ""]
    out += ["## Exit codes", "", "| code | name | meaning |", "|---|---|---|"]
    out += [f"| {code} | {name} | {meaning} |" for code, (name, meaning) in EXIT_CODES.items()]
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(render_reference(), end="")
