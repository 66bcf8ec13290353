"""Host access: the local machine, or a remote one over SSH (asyncssh). The one adapter for SSH.

Both run the agent the same way: its source text goes to ``python3 -I -S -B -`` on stdin (isolated, no
site hooks, no byte-code written) with a cleared environment, and its stdout comes back as a stream of
chunks. Nothing is copied to the host. Where ``/etc/ld.so.preload`` names a library and the agent runs as
root, the launcher hides that file from the agent alone (a bind mount in a private mount namespace), so a
preloaded rootkit does not run inside it; the agent reports whether that worked.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from aftermath.errors import SourceError, ToolError, UsageError

SAFE_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
CHUNK = 1 << 16
_SPEC = re.compile(r"^(?:(?P<user>[A-Za-z0-9._-]+)@)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(?P<port>\d+))?$")


@dataclass(frozen=True)
class Host:
    """A host to examine: ``local``, or ``[USER@]HOST[:PORT]`` reached over SSH."""

    host: str
    user: str | None = None
    port: int = 22

    @property
    def local(self) -> bool:
        """Whether this is the machine Aftermath runs on."""
        return self.host == "local"

    @property
    def label(self) -> str:
        """A name safe for a folder: the host (and port when not 22)."""
        name = self.host.strip("[]").replace(":", "_")
        return name if self.port == 22 or self.local else f"{name}_{self.port}"

    def __str__(self) -> str:
        if self.local:
            return "local"
        return f"{self.user + '@' if self.user else ''}{self.host}{'' if self.port == 22 else f':{self.port}'}"


LOCAL = Host("local")


def parse_host(text: str) -> Host:
    """Parse ``local`` or ``[USER@]HOST[:PORT]``."""
    if text in ("local", "localhost-direct"):
        return LOCAL
    match = _SPEC.match(text)
    if not match:
        raise UsageError(f"bad host {text!r}: use USER@HOST or USER@HOST:PORT (or 'local')")
    port = int(match["port"] or 22)
    if not 0 < port < 65536:
        raise UsageError(f"bad port in {text!r}")
    return Host(match["host"], match["user"], port)


def launcher(python: str = "python3") -> str:
    """The shell command that starts the agent: clean environment, and away from the host's preload."""
    run = f"exec env -i PATH={SAFE_PATH} {{fd}}{shlex.quote(python)} -I -S -B -"
    hidden = "mount --bind /dev/null /etc/ld.so.preload 2>/dev/null; " + run.format(fd="AFTERMATH_PRELOAD_FD=3 ")
    escape = f"exec 3</etc/ld.so.preload; exec unshare -m --propagation private sh -c {shlex.quote(hidden)}"
    # no $(...) here: a preloaded library that prints would be captured with the answer
    return ("if [ -s /etc/ld.so.preload ] && unshare -m --propagation private true >/dev/null 2>&1; then "
            f"{escape}; fi; {run.format(fd='')}")


@dataclass(frozen=True)
class SshOptions:
    """How to reach remote hosts: key, known_hosts file, timeout, and whether to use sudo."""

    identity: Path | None = None
    known_hosts: Path | None = None
    connect_timeout: float = 15.0
    sudo: bool = False


async def run_agent(host: Host, script: bytes, options: SshOptions) -> AsyncIterator[bytes]:
    """Run the agent on a host and yield its stdout in chunks; raise when it cannot run or fails."""
    stream = _run_local(script) if host.local else _run_ssh(host, script, options)
    async for chunk in stream:
        yield chunk


async def _run_local(script: bytes) -> AsyncIterator[bytes]:
    pipe = asyncio.subprocess.PIPE
    proc = await asyncio.create_subprocess_exec("/bin/sh", "-c", launcher(sys.executable), stdin=pipe, stdout=pipe,
                                                stderr=pipe)
    assert proc.stdin and proc.stdout and proc.stderr
    proc.stdin.write(script)
    await proc.stdin.drain()
    proc.stdin.close()
    err_task = asyncio.ensure_future(proc.stderr.read())
    try:
        while chunk := await proc.stdout.read(CHUNK):
            yield chunk
    finally:
        if proc.returncode is None:
            await proc.wait()
    err = await err_task
    if proc.returncode:
        raise ToolError(f"agent on the local host exited {proc.returncode}: {_tail(err)}")


async def _run_ssh(host: Host, script: bytes, options: SshOptions) -> AsyncIterator[bytes]:
    import asyncssh  # heavy (cryptography): loaded only when a remote host is reached

    try:
        conn = await asyncio.wait_for(asyncssh.connect(
            host.host.strip("[]"), port=host.port, username=host.user,
            client_keys=[str(options.identity)] if options.identity else (),
            known_hosts=str(options.known_hosts) if options.known_hosts else (),
            agent_path=None if options.identity else (), ), options.connect_timeout)
    except (OSError, asyncssh.Error, TimeoutError) as exc:
        raise await _unreachable(host, exc, options.connect_timeout) from exc
    async with conn:
        command = f"sudo -n sh -c {shlex.quote(launcher())}" if options.sudo else launcher()
        try:
            proc = await conn.create_process(command, encoding=None)
            proc.stdin.write(script)
            proc.stdin.write_eof()
            while chunk := await proc.stdout.read(CHUNK):
                yield chunk
            await proc.wait()
            err = await proc.stderr.read()
        except (OSError, asyncssh.Error) as exc:
            raise SourceError(f"connection to {host} broke: {_why(exc)}") from exc
        if proc.exit_status != 0:
            raise ToolError(f"agent on {host} exited {proc.exit_status}: {_tail(err)}")


class Unreachable(SourceError):
    """The host could not be reached or is no SSH server: nothing was run on it."""


async def _unreachable(host: Host, exc: BaseException, timeout: float) -> Unreachable:
    """The one line for a failed connection: a port that answers with something other than SSH is named."""
    import asyncssh

    if not isinstance(exc, (OSError, asyncssh.PermissionDenied, asyncssh.HostKeyNotVerifiable)) \
            and await speaks_ssh(host.host.strip("[]"), host.port, min(timeout, 5.0)) is False:
        return Unreachable(f"{host.host}:{host.port} answers but is not an SSH server: check the port")
    return Unreachable(f"cannot reach {host}: {_why(exc)}: check the address, the port and that sshd runs there")


async def speaks_ssh(address: str, port: int, timeout: float) -> bool | None:
    """Whether the service on ``address:port`` greets as SSH does; None when it says nothing or cannot be reached.

    The client sends its own version line first (a web server answers only then), and reads what comes back.
    An SSH server may send other lines before its ``SSH-`` line (RFC 4253, 4.2).
    """
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(address, port), timeout)
    except (OSError, TimeoutError):
        return None
    try:
        writer.write(b"SSH-2.0-aftermath_probe\r\n")
        data = await asyncio.wait_for(reader.read(1024), timeout)
    except (OSError, TimeoutError):
        data = b""
    finally:
        writer.close()
    if not data:
        return None
    return any(line.startswith(b"SSH-") for line in data.splitlines())


def all_unreachable(results: Sequence[Outcome]) -> None:
    """Raise the one-line source error (exit 7) when no host given could be reached at all.

    When only some could not, the run goes on: each unreachable host is listed with its reason and the
    command exits 1.
    """
    if not results or not all(r.unreachable for r in results):
        return
    if len(results) == 1:
        raise SourceError(results[0].error or "the host could not be reached")
    reasons = "; ".join(f"{r.error}" for r in results)
    raise SourceError(f"no host could be reached ({reasons})")


class Outcome(Protocol):
    """One host's outcome of a sweep or a collection."""

    error: str | None
    unreachable: bool


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer (timed out)"
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno).lower()  # "connection refused", not asyncio's "Connect call failed (...)"
    return str(exc) or type(exc).__name__


def _tail(err: bytes | str) -> str:
    text = err.decode(errors="replace") if isinstance(err, bytes) else err
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "no error output"
