"""``aftermath secure isolate | confirm | release | isolation | freeze | kill``: containment commands.

Thin: parse, call :mod:`aftermath.secure.contain`, render. The lead wires ``register_contain`` into
``cli/secure.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from aftermath.cli.common import console, err_console, open_case, write_json
from aftermath.errors import AftermathError
from aftermath.secure import contain
from aftermath.secure.contain.runner import Runner

T = TypeVar("T")

HostOpt = Annotated[list[str] | None, typer.Option(
    "--host", metavar="USER@HOST", help="USER@HOST[:PORT] to act on over SSH (repeatable); default: this machine.")]
IdentityOpt = Annotated[Path | None, typer.Option(help="SSH private key for --host.")]
KnownHostsOpt = Annotated[Path | None, typer.Option(help="known_hosts file for --host (default: ~/.ssh).")]
SudoOpt = Annotated[bool, typer.Option("--sudo", help="Run commands on the host with 'sudo -n'.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


@contextmanager
def _runner(spec: str | None, identity: Path | None, known_hosts: Path | None, sudo: bool) -> Iterator[Runner]:
    runner = contain.open_runner(spec, contain.SshOptions(identity=identity, known_hosts=known_hosts, sudo=sudo))
    try:
        yield runner
    finally:
        runner.close()


def _each_host(hosts: list[str] | None, identity: Path | None, known_hosts: Path | None, sudo: bool,
               act: Callable[[Runner], T]) -> list[T]:
    """Run ``act`` per host; with several hosts, a failing host is reported and the rest go on (exit 1)."""
    specs: list[str | None] = list(hosts) if hosts else [None]
    results, failed = [], 0
    for spec in specs:
        try:
            with _runner(spec, identity, known_hosts, sudo) as runner:
                results.append(act(runner))
        except AftermathError as exc:
            if len(specs) == 1:
                raise
            failed += 1
            err_console.print(f"aftermath: {spec}: {exc.message}", markup=False, highlight=False)
    if failed:
        raise typer.Exit(1)
    return results


def register_contain(secure_app: typer.Typer) -> None:
    """Add the containment commands to the ``secure`` group."""
    secure_app.command("isolate")(isolate)
    secure_app.command("confirm")(confirm)
    secure_app.command("release")(release)
    secure_app.command("isolation")(isolation)
    secure_app.command("freeze")(freeze)
    secure_app.command("kill")(kill)


def isolate(
    ctx: typer.Context,
    allow: Annotated[list[str], typer.Option(
        metavar="ADDR[,ADDR]",
        help="Responder address(es) or networks to keep, comma-separated (IPv4 and IPv6; repeatable).")],
    host: HostOpt = None,
    confirm_within: Annotated[float, typer.Option(help="Seconds before the host rolls isolation back on its own "
                                                       "unless 'aftermath secure confirm' runs.")] = 120,
    probe: Annotated[str | None, typer.Option(help="Address the host tries to reach in the self-test "
                                                   "(default: its gateway).")] = None,
    identity: IdentityOpt = None, known_hosts: KnownHostsOpt = None, sudo: SudoOpt = False, json_out: JsonOpt = False,
) -> None:
    """Cut a host off the network except for the responder, with a self-test and a dead-man timer.

    Example: aftermath secure isolate --host root@10.0.0.5 --allow 10.0.0.2,2001:db8::2 --confirm-within 120
    Then, from a new terminal, check you still get in and run 'aftermath secure confirm --host root@10.0.0.5'.
    """
    from aftermath.case.core import utcnow  # with the case store, loaded only when a command runs

    networks = contain.parse_allow(allow)
    case = open_case(ctx)

    def act(runner: Runner) -> contain.Isolation:
        return contain.isolate(case, runner, networks, confirm_within, utcnow(), probe)

    results = _each_host(host, identity, known_hosts, sudo, act)
    if json_out:
        write_json("-", [_iso_dict(r) for r in results])
        return
    for r in results:
        console.print(f"[bold]{r.host}[/] isolated (rules {r.rules_sha256[:12]}, allow {', '.join(r.allow)}).")
        for c in r.checks:
            mark = {True: "[green]ok[/]", False: "[red]FAILED[/]", None: "[yellow]--[/]"}[c.ok]
            console.print(f"  {mark} {c.name}: {c.detail}", highlight=False)
        console.print(f"  Rolls back on its own at {r.deadline} (timer PID {r.deadman_pid}) unless you run "
                      f"'aftermath secure confirm{'' if r.host == 'local' else ' --host ' + r.host}'.")


def confirm(ctx: typer.Context, host: HostOpt = None, identity: IdentityOpt = None,
            known_hosts: KnownHostsOpt = None, sudo: SudoOpt = False) -> None:
    """Keep the isolation: cancel the host's dead-man timer (do this after checking you still get in).

    Example: aftermath secure confirm --host root@10.0.0.5
    """
    case = open_case(ctx)
    for label, state in _each_host(host, identity, known_hosts, sudo,
                                   lambda r: (r.label, contain.confirm(case, r))):
        if state.phase == "confirmed":
            console.print(f"[bold]{label}[/] isolation confirmed; it stays until 'aftermath secure release'.")
        else:
            err_console.print(f"{label}: the dead-man timer fired first; the host is open again.")
            raise typer.Exit(1)


def release(ctx: typer.Context, host: HostOpt = None, identity: IdentityOpt = None,
            known_hosts: KnownHostsOpt = None, sudo: SudoOpt = False, json_out: JsonOpt = False) -> None:
    """Lift the isolation: remove Aftermath's table and nothing else, and check the ruleset is as before.

    Example: aftermath secure release --host root@10.0.0.5
    """
    case = open_case(ctx)
    results = _each_host(host, identity, known_hosts, sudo, lambda r: contain.release(case, r))
    if json_out:
        write_json("-", [r.__dict__ for r in results])
    for r in results:
        if not json_out:
            done = "removed the isolation table" if r.removed else "no isolation table was loaded"
            same = {True: "ruleset is exactly as before isolation", None: "no earlier ruleset recorded",
                    False: f"ruleset differs from before isolation in {r.differences} item(s)"}[r.restored_exactly]
            console.print(f"[bold]{r.host}[/]: {done}; {same}.")
    if any(r.restored_exactly is False for r in results):
        raise typer.Exit(1)


def isolation(ctx: typer.Context, host: HostOpt = None, identity: IdentityOpt = None,
              known_hosts: KnownHostsOpt = None, sudo: SudoOpt = False) -> None:
    """Show whether a host is isolated; records a rollback by the dead-man timer noticed now.

    Example: aftermath secure isolation --host root@10.0.0.5
    """
    case = open_case(ctx)
    for label, state in _each_host(host, identity, known_hosts, sudo, lambda r: (r.label, contain.status(case, r))):
        deadline = state.isolate.get("deadline")
        extra = f" (rolls back at {deadline} unless confirmed)" if state.phase == "pending" else ""
        console.print(f"[bold]{label}[/]: {state.phase.replace('_', ' ')}{extra}")


Pids = Annotated[list[int], typer.Argument(help="Process IDs on the host.")]


def freeze(ctx: typer.Context, pids: Pids, host: Annotated[str | None, typer.Option(
        help="USER@HOST[:PORT]; default: this machine.")] = None, identity: IdentityOpt = None,
           known_hosts: KnownHostsOpt = None, sudo: SudoOpt = False) -> None:
    """Stop processes with SIGSTOP after recording them (they stay in memory for acquisition).

    Example: aftermath secure freeze 4242 4243 --host root@10.0.0.5
    """
    case = open_case(ctx)
    with _runner(host, identity, known_hosts, sudo) as runner:
        for info in contain.freeze(case, runner, pids):
            console.print(f"Froze {info.pid} ({info.name}, exe sha256 {_short(info.exe_sha256)}).")


def kill(ctx: typer.Context, pids: Pids, host: Annotated[str | None, typer.Option(
        help="USER@HOST[:PORT]; default: this machine.")] = None, identity: IdentityOpt = None,
         known_hosts: KnownHostsOpt = None, sudo: SudoOpt = False) -> None:
    """End processes with SIGKILL after recording them and copying their executable into evidence.

    Example: aftermath secure kill 4242 --host root@10.0.0.5
    """
    case = open_case(ctx)
    with _runner(host, identity, known_hosts, sudo) as runner:
        for info, evidence_id in contain.kill(case, runner, pids):
            console.print(f"Killed {info.pid} ({info.name}); its executable is evidence {evidence_id} "
                          f"(sha256 {_short(info.exe_sha256)}).")


def _short(digest: str | None) -> str:
    return digest[:12] if digest else "unknown"


def _iso_dict(r: contain.Isolation) -> dict[str, Any]:
    return {**{k: v for k, v in r.__dict__.items() if k != "checks"}, "passed": r.passed,
            "checks": [c.__dict__ for c in r.checks]}
