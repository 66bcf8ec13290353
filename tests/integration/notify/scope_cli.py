"""Run the real ``aftermath`` CLI with ``notify scope`` registered (until the lead wires cli/notify.py).

Used by the tests as ``python scope_cli.py notify scope ...``; when the ``notify`` group already exists
(after the merge) it is used as it is.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def run(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``aftermath notify scope ARGS`` in a subprocess, as a user would."""
    import os

    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, __file__, "notify", "scope", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


if __name__ == "__main__":
    import typer

    from aftermath.cli import main as cli_main
    from aftermath.cli.notify_scope import register_scope

    if not any(g.name == "notify" for g in cli_main.app.registered_groups):
        notify = typer.Typer(help="Notify.", no_args_is_help=True)
        register_scope(notify)
        cli_main.app.add_typer(notify, name="notify")
    cli_main.main(sys.argv[1:])
