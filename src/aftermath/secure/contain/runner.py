"""The one seam for acting on a host: run this argv there and get its exit code and output.

Three kinds: the local machine (a subprocess), the local machine seen from inside a network namespace
(``ip netns exec NS`` in front, used by tests), and a remote host over one SSH connection that stays
open for the whole operation, because isolation must keep exactly that session alive.
"""

from __future__ import annotations

import asyncio
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from aftermath.errors import SourceError, ToolError
from aftermath.secure.hosts import SshOptions, parse_host


@dataclass(frozen=True)
class Result:
    """What a command did on the host."""

    code: int
    out: bytes
    err: bytes

    @property
    def text(self) -> str:
        """Standard output as text."""
        return self.out.decode(errors="replace")

    def last_error(self) -> str:
        """The last non-empty line of standard error, for a one-line message."""
        lines = [ln for ln in self.err.decode(errors="replace").splitlines() if ln.strip()]
        return lines[-1][:300] if lines else f"exit code {self.code}"


class Runner(Protocol):
    """Runs argument lists on one host."""

    label: str
    port: int

    @property
    def address(self) -> str | None:
        """The host's address as the responder reaches it (None for the local machine)."""
        ...

    def run(self, argv: Sequence[str], *, stdin: bytes | None = None, timeout: float = 60) -> Result:
        """Run ``argv`` on the host; never raises for a non-zero exit, only when it cannot run at all."""
        ...

    def close(self) -> None:
        """Release the connection, if any."""
        ...


@dataclass
class LocalRunner:
    """The local machine, optionally with a prefix such as ``ip netns exec NS``."""

    prefix: tuple[str, ...] = ()
    label: str = "local"
    address: str | None = None
    port: int = 22

    def run(self, argv: Sequence[str], *, stdin: bytes | None = None, timeout: float = 60) -> Result:
        """Run as a subprocess (argument list, no shell)."""
        try:
            proc = subprocess.run([*self.prefix, *argv], input=stdin, capture_output=True, timeout=timeout,
                                  check=False)
        except FileNotFoundError as exc:
            raise ToolError(f"{argv[0]} not found on {self.label}: install it (e.g. apt-get install nftables)") from exc
        except subprocess.TimeoutExpired as exc:
            raise ToolError(f"{shlex.join(argv)} on {self.label} took longer than {timeout:g} s") from exc
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def close(self) -> None:
        """Nothing to release."""


def netns_runner(namespace: str) -> LocalRunner:
    """The local machine as seen from inside network namespace ``namespace``."""
    return LocalRunner(("ip", "netns", "exec", namespace), label=f"netns:{namespace}")


@dataclass
class SshRunner:
    """A remote host over one asyncssh connection, kept open until :meth:`close`."""

    host: str
    user: str | None = None
    port: int = 22
    options: SshOptions = field(default_factory=SshOptions)
    label: str = ""
    _loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop, repr=False)
    _conn: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.label = self.label or f"{self.user + '@' if self.user else ''}{self.host}" + (
            f":{self.port}" if self.port != 22 else "")

    @property
    def address(self) -> str | None:
        """The host's address as given (without brackets)."""
        return self.host.strip("[]")

    def connect(self) -> SshRunner:
        """Open the connection (raises SourceError when the host cannot be reached)."""
        import asyncssh  # heavy (cryptography): loaded only when a remote host is reached

        opts = self.options
        try:
            self._conn = self._loop.run_until_complete(asyncio.wait_for(asyncssh.connect(
                self.address, port=self.port, username=self.user,
                client_keys=[str(opts.identity)] if opts.identity else (),
                known_hosts=str(opts.known_hosts) if opts.known_hosts else (),
                agent_path=None if opts.identity else ()), opts.connect_timeout))
        except (OSError, asyncssh.Error, TimeoutError) as exc:
            self._loop.close()
            raise SourceError(f"cannot reach {self.label}: {_why(exc)}") from exc
        return self

    def run(self, argv: Sequence[str], *, stdin: bytes | None = None, timeout: float = 60) -> Result:
        """Run over the open connection (with ``sudo -n`` in front when asked)."""
        if self._conn is None:
            raise SourceError(f"not connected to {self.label}")
        import asyncssh  # already loaded by connect()

        command = shlex.join((["sudo", "-n"] if self.options.sudo else []) + list(argv))
        try:
            done = self._loop.run_until_complete(asyncio.wait_for(
                self._conn.run(command, input=stdin, encoding=None, check=False), timeout))
        except (OSError, asyncssh.Error, TimeoutError) as exc:
            raise SourceError(f"{argv[0]} on {self.label} failed: {_why(exc)}") from exc
        code = done.exit_status if done.exit_status is not None else 255
        return Result(code, bytes(done.stdout or b""), bytes(done.stderr or b""))

    def close(self) -> None:
        """Close the connection and its event loop."""
        if self._conn is not None:
            self._conn.close()
            self._loop.run_until_complete(self._conn.wait_closed())
            self._conn = None
        if not self._loop.is_closed():
            self._loop.close()


def open_runner(spec: str | None, options: SshOptions | None = None) -> Runner:
    """A runner for ``--host`` (``[USER@]HOST[:PORT]``), or the local machine when ``spec`` is None."""
    host = parse_host(spec) if spec is not None else None
    if host is None or host.local:
        return LocalRunner()
    return SshRunner(host.host.strip("[]"), host.user, host.port, options or SshOptions()).connect()


def checked(runner: Runner, argv: Sequence[str], what: str, *, stdin: bytes | None = None,
            timeout: float = 60) -> Result:
    """Run and raise ToolError with the tool's last line of stderr when it fails."""
    result = runner.run(argv, stdin=stdin, timeout=timeout)
    if result.code != 0:
        raise ToolError(f"{what} failed on {runner.label}: {result.last_error()}")
    return result


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer (timed out)"
    return str(exc) or type(exc).__name__
