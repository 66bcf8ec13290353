"""``aftermath serve``: the dashboard over this case (loopback by default)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aftermath.cli.common import err_console, open_case


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback unless TLS or --insecure-listen).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    tls_cert: Annotated[Path | None, typer.Option("--tls-cert", help="TLS certificate (PEM).")] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="TLS private key (PEM).")] = None,
    insecure_listen: Annotated[bool, typer.Option("--insecure-listen",
                                                  help="Allow a non-loopback address without TLS.")] = False,
) -> None:
    """Serve the dashboard: the whole response at a glance, changes journaled under each user's name.

    Add users first with 'aftermath user add NAME --role lead'.

    Example: aftermath serve --port 8000
    """
    import uvicorn

    from aftermath.web import users
    from aftermath.web.app import create_app
    from aftermath.web.serving import check_listen

    warning = check_listen(host, tls_cert, tls_key, insecure_listen)
    if warning:
        err_console.print(warning, markup=False, highlight=False)
    case = open_case(ctx)
    if not users.users(case):
        err_console.print("no dashboard user yet: add one with 'aftermath user add NAME --role lead'",
                          markup=False, highlight=False)
    app = create_app(case, secure_cookie=tls_cert is not None)
    scheme = "https" if tls_cert else "http"
    err_console.print(f"dashboard of {case.root} on {scheme}://{host}:{port}/ (Ctrl-C stops it)",
                      markup=False, highlight=False)
    uvicorn.run(app, host=host, port=port, ssl_certfile=str(tls_cert) if tls_cert else None,
                ssl_keyfile=str(tls_key) if tls_key else None, log_level="warning", access_log=False)


def register(app: typer.Typer) -> None:
    """Attach ``serve``."""
    app.command("serve")(serve)
