"""``aftermath secure ...``: the compromise sweep, triage collection, and containment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, TaskID, TextColumn
from rich.table import Table

from aftermath.cli.common import console, err_console, maybe_case, require_writable_parent, write_json
from aftermath.cli.secure_contain import register_contain
from aftermath.secure.collect import collect as run_collect
from aftermath.secure.hosts import LOCAL, Host, SshOptions, parse_host
from aftermath.secure.sweep import SweepReport
from aftermath.secure.sweep import sweep as run_sweep
from aftermath.secure.sweep.model import Severity

secure_app = typer.Typer(help="Secure the hosts: sweep for compromise, collect evidence, isolate, stop processes.",
                         no_args_is_help=True)

HostsOpt = Annotated[list[str] | None, typer.Option("--host", help="USER@HOST[:PORT] over SSH, or 'local' "
                                                    "(repeatable; default: this machine).")]
IdentityOpt = Annotated[Path | None, typer.Option(help="SSH private key (default: ssh-agent and ~/.ssh keys).",
                                                  envvar="AFTERMATH_SSH_IDENTITY")]
KnownOpt = Annotated[Path | None, typer.Option("--known-hosts", help="known_hosts file (default ~/.ssh/known_hosts).",
                                               envvar="AFTERMATH_SSH_KNOWN_HOSTS")]
SudoOpt = Annotated[bool, typer.Option(help="Run the agent with 'sudo -n' on remote hosts (non-root logins).")]
SinceOpt = Annotated[float, typer.Option(min=0, help="'Recent' means changed within this many days.")]


def _hosts(values: list[str] | None) -> list[Host]:
    return [parse_host(v) for v in values] if values else [LOCAL]


class _HostProgress:
    """One line per host on stderr: what it is doing now."""

    def __init__(self, progress: Progress, hosts: list[Host]) -> None:
        self.progress = progress
        self.tasks: dict[Host, TaskID] = {h: progress.add_task(str(h), total=None, what="connecting") for h in hosts}

    def __call__(self, host: Host, event: dict[str, object]) -> None:
        kind = event.get("t")
        if kind == "start":
            self.progress.update(self.tasks[host], what=f"collecting {event.get('artifact')}")
        elif kind == "hello":
            self.progress.update(self.tasks[host], what="running")
        elif kind == "finished":
            self.progress.update(self.tasks[host], what=str(event.get("status")))


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), TextColumn("{task.fields[what]}"), console=err_console,
                    transient=True, disable=not err_console.is_terminal)


@secure_app.command("collect")
def collect(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Folder for the collections (one sub-folder per host); put it on "
                                      "external media when collecting this machine.")],
    host: HostsOpt = None,
    profile: Annotated[str, typer.Option(help="quick (triage) or full (adds journal export, shadow, packages).")]
    = "quick",
    since: SinceOpt = 14.0,
    identity: IdentityOpt = None,
    known_hosts: KnownOpt = None,
    sudo: SudoOpt = False,
) -> None:
    """Collect evidence from hosts in order of volatility, each with a hashed manifest.

    Example: aftermath secure collect --host root@10.0.0.5 --host root@10.0.0.6 --out /mnt/usb/collect
    """
    hosts = _hosts(host)
    case = maybe_case(ctx)
    options = SshOptions(identity, known_hosts, sudo=sudo)
    with _progress() as bar:
        results = run_collect(hosts, out, profile=profile, since_days=since, options=options, case=case,
                              progress=_HostProgress(bar, hosts))
    for result in results:
        style = {"complete": "green", "partial": "yellow"}.get(result.status, "red")
        console.print(f"[{style}]{result.line()}[/]", highlight=False)
        if result.manifest_sha256:
            console.print(f"  {result.folder}/manifest.json sha256 {result.manifest_sha256}", highlight=False)
    done = sum(r.status == "complete" for r in results)
    console.print(f"{done} of {len(results)} host(s) collected completely.")
    if any(r.error for r in results):
        raise typer.Exit(1)


@secure_app.command("sweep")
def sweep(
    ctx: typer.Context,
    host: HostsOpt = None,
    rules: Annotated[list[Path] | None, typer.Option("--rules", help="More YARA rule files or folders.")] = None,
    ioc: Annotated[list[Path] | None, typer.Option("--ioc", help="Indicator file: IPs, networks, SHA-256 or MD5, "
                                                   "one a line.")] = None,
    json_out: Annotated[str | None, typer.Option("--json", help="Write the report as JSON to FILE ('-' for stdout).")]
    = None,
    since: SinceOpt = 14.0,
    identity: IdentityOpt = None,
    known_hosts: KnownOpt = None,
    sudo: SudoOpt = False,
    scan_root: Annotated[list[str] | None, typer.Option(
        "--scan-root", help="Also scan this folder on the hosts for web shells (a web root in an unusual place).")
    ] = None,
) -> None:
    """Check hosts for signs of compromise and rank them; exit 1 when anything high or critical is found or a host
    could not be swept, 7 when no host could be reached.

    Example: aftermath secure sweep --host root@web1 --host root@db1 --ioc iocs.txt --json sweep.json
    """
    hosts = _hosts(host)
    if json_out not in (None, "-"):
        require_writable_parent(Path(str(json_out)))
    case = maybe_case(ctx)
    with _progress() as bar:
        report = run_sweep(hosts, since_days=since, rules=rules, ioc_files=ioc,
                           options=SshOptions(identity, known_hosts, sudo=sudo), case=case,
                           progress=_HostProgress(bar, hosts), scan_roots=scan_root)
    if json_out:
        write_json(json_out if json_out == "-" else Path(json_out), report.to_json())
    if json_out != "-":
        _render(report)
    else:
        for failed in (h for h in report.hosts if h.error):
            err_console.print(f"{failed.host}: not swept: {failed.error}", highlight=False)
    if report.worst is not None and report.worst >= Severity.HIGH or any(h.error for h in report.hosts):
        raise typer.Exit(1)


def _render(report: SweepReport) -> None:
    ranking = Table("rank", "host", "score", "verdict", "findings", title="Hosts, most likely compromised first")
    for i, s in enumerate(report.ranking, 1):
        ranking.add_row(str(i), s.host, str(s.score), s.verdict, str(s.findings))
    console.print(ranking)
    for host in report.hosts:
        if host.error:
            console.print(f"[red]{host.host}: not swept: {host.error}[/]", highlight=False)
            continue
        table = Table("severity", "what", "why it matters", title=f"{host.host}", show_lines=True)
        for f in host.findings:
            table.add_row(str(f.severity), f.what, f.why)
        if host.findings:
            console.print(table)
        skipped = ", ".join(host.not_applicable) or "none"
        failed = "; ".join(f"{k}: {v}" for k, v in host.failed.items())
        console.print(f"{host.host}: {len(host.ran)} checks ran; not applicable here: {skipped}"
                      + (f"; failed: {failed}" if failed else ""), highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``aftermath secure``: sweep, collect, and containment (isolate, confirm, release, freeze, kill)."""
    register_contain(secure_app)
    app.add_typer(secure_app, name="secure")
