"""A minimal SFTP v3 client over the pipes of OpenSSH's ``ssh``, started as restic starts it.

restic reads ``sftp:`` repositories by running ``ssh [-p port] [-l user] host -s sftp`` and speaking the
SFTP protocol (draft-ietf-secsh-filexfer-02, version 3) over that process's stdin and stdout: the SSH
transport (key exchange, ciphers, MACs) then runs in OpenSSH, in C, with the user's keys, agent,
``~/.ssh/config`` and ``known_hosts`` exactly as ``ssh`` uses them. This client does the same, with only
what a reader needs: INIT/VERSION, OPEN/READ/CLOSE, OPENDIR/READDIR, STAT/LSTAT/FSTAT and STATUS.

Many requests are in flight at once: a range is read as many READs issued before the replies are
awaited (a window of them, refilled as replies come), and each reply's data is read from the pipe
straight into its place in a preallocated buffer. Several threads may share one client (the reader's
prefetch reads four ranges at once): whichever thread waits for a reply reads the pipe for everyone and
hands the other replies over, so the client runs no thread of its own and a process using it can fork
(a forked child starts its own ``ssh``; see :class:`aftermath.restic.backend.SftpBackend`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import struct
import subprocess
import tempfile
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# packet types (filexfer-02)
INIT, VERSION, OPEN, CLOSE, READ, LSTAT, FSTAT, OPENDIR, READDIR, STAT = 1, 2, 3, 4, 5, 7, 8, 11, 12, 17
STATUS, HANDLE, DATA, NAME, ATTRS, EXTENDED, EXTENDED_REPLY = 101, 102, 103, 104, 105, 200, 201
OK, EOF, NO_SUCH_FILE, PERMISSION_DENIED = 0, 1, 2, 3
FXF_READ = 0x1
ATTR_SIZE, ATTR_UIDGID, ATTR_PERMISSIONS, ATTR_ACMODTIME, ATTR_EXTENDED = 0x1, 0x2, 0x4, 0x8, 0x80000000

CHUNK = 32 << 10  # READ size every server must serve (the draft's minimum); raised by limits@openssh.com
MAX_CHUNK = 256 << 10  # never more per READ, even if the server allows it
WINDOW_BYTES = 4 << 20  # a range's READs in flight at once (OpenSSH's sftp: 64 x 32 KiB)
PIPE_SIZE = 1 << 20  # asked of the kernel for ssh's stdout pipe: fewer, larger reads
_HEAD = struct.Struct(">IBI")  # length, type, request id
_U32, _U64 = struct.Struct(">I"), struct.Struct(">Q")


class ConnectionLost(Exception):
    """``ssh`` ended or the pipe broke; ``reason`` is what ssh said last (its last stderr line)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason, self.detail = reason, detail or reason


class StatusError(Exception):
    """The server answered a request with an error status (no such file, permission denied, ...)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{message} (SFTP status {code})")
        self.code, self.message = code, message


@dataclass(frozen=True)
class Attrs:
    """The attributes a reader needs: size and file type (from the permission bits), when the server sent them."""

    size: int | None
    mode: int | None

    @property
    def is_file(self) -> bool:
        """A regular file."""
        return self.mode is not None and stat.S_ISREG(self.mode)

    @property
    def is_dir(self) -> bool:
        """A folder."""
        return self.mode is not None and stat.S_ISDIR(self.mode)


def ssh_command(host: str, user: str | None, port: int | None, ssh: str = "ssh",
                options: Sequence[str] = ()) -> list[str]:
    """The command restic runs for an ``sftp:`` location, with ``options`` (as its ``sftp.args``) first, so
    they win over ours: BatchMode, so that ssh never prompts (a passphrase or an unknown host key is then an
    error, not a question), and keep-alives, so that a server that stops answering ends the session within
    a minute (and the read is retried) instead of hanging the review."""
    return [ssh, *options, "-o", "BatchMode=yes", "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4",
            *(["-p", str(port)] if port else []), *(["-l", user] if user else []), "-s", "--", host, "sftp"]


class _Reader:
    """Parses one packet body: strings, integers and attributes."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def u32(self) -> int:
        value: int = _U32.unpack_from(self.data, self.pos)[0]
        self.pos += 4
        return value

    def u64(self) -> int:
        value: int = _U64.unpack_from(self.data, self.pos)[0]
        self.pos += 8
        return value

    def string(self) -> bytes:
        n = self.u32()
        value = self.data[self.pos:self.pos + n]
        if len(value) != n:
            raise ConnectionLost("the SFTP server sent a truncated packet")
        self.pos += n
        return value

    def attrs(self) -> Attrs:
        flags = self.u32()
        size = self.u64() if flags & ATTR_SIZE else None
        if flags & ATTR_UIDGID:
            self.pos += 8
        mode = self.u32() if flags & ATTR_PERMISSIONS else None
        if flags & ATTR_ACMODTIME:
            self.pos += 8
        if flags & ATTR_EXTENDED:
            for _ in range(self.u32()):
                self.string()
                self.string()
        return Attrs(size, mode)


def _string(value: bytes) -> bytes:
    return _U32.pack(len(value)) + value


class SftpClient:
    """One ``ssh -s sftp`` child and the SFTP session over its pipes; safe to share between threads."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str] | None = None) -> None:
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - ssh's messages, read back when it fails (no pipe to drain)
        self.proc = subprocess.Popen(list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                                     bufsize=0, env=None if env is None else dict(env), start_new_session=True)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        with contextlib.suppress(OSError):  # a larger pipe: fewer wake-ups per MiB (Linux; best effort)
            fcntl.fcntl(self.proc.stdout.fileno(), fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        self._out = self.proc.stdin
        self._in = self.proc.stdout  # unbuffered: replies' data go from the pipe straight to their buffers
        self.pid = os.getpid()  # the process that owns this client
        self._send_lock = threading.Lock()
        self._cv = threading.Condition()
        self._next_id = 0
        self._reading = False
        self._replies: dict[int, tuple[int, bytes | int]] = {}
        self._sinks: dict[int, memoryview] = {}  # READ id -> where its data goes
        self._discard: set[int] = set()  # ids whose answers nobody waits for
        self._dead: str | None = None
        self.chunk = CHUNK
        try:
            self._handshake()
        except BaseException:
            self.close()
            raise

    # -- the pipe -----------------------------------------------------------------------------
    def _handshake(self) -> None:
        self._write(_U32.pack(5) + bytes([INIT]) + _U32.pack(3))
        head = self._read_exact(5)
        length, kind = _U32.unpack_from(head)[0], head[4]
        body = _Reader(self._read_exact(length - 1))
        if kind != VERSION:
            raise ConnectionLost(f"the server did not start an SFTP session (packet type {kind})")
        body.u32()
        extensions = set()
        while body.pos < len(body.data):
            extensions.add(body.string())
            body.string()
        if b"limits@openssh.com" in extensions:
            try:
                reply = _Reader(self._request(EXTENDED, _string(b"limits@openssh.com"), EXTENDED_REPLY))
            except StatusError:
                return  # then the draft's 32 KiB
            reply.u64()  # max packet length
            max_read = reply.u64()
            if max_read:
                self.chunk = max(CHUNK, min(MAX_CHUNK, max_read))

    def _failed(self, what: str) -> ConnectionLost:
        """Why the session ended: ssh's last line on stderr (all of it as the detail), else ``what``."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(2)  # ssh writes its reason before it exits
        text = ""
        with contextlib.suppress(OSError, ValueError):
            self._stderr.seek(0)
            text = self._stderr.read().decode("utf-8", "replace")
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if lines:
            return ConnectionLost(lines[-1].rstrip("."), text)
        code = self.proc.poll()
        return ConnectionLost(what if code is None else f"{what} (ssh exited with status {code})")

    def _read_exact(self, n: int) -> bytes:
        data = bytearray(n)
        self._read_into(memoryview(data))
        return bytes(data)

    def _read_into(self, view: memoryview) -> None:
        """Fill ``view`` from the pipe: as many reads as the pipe needs, no copy through another buffer."""
        got, n = 0, len(view)
        while got < n:
            try:
                step = self._in.readinto(view[got:])  # type: ignore[attr-defined]
            except (OSError, ValueError):
                step = 0
            if not step:
                raise self._failed("the SSH connection closed")
            got += step

    def _write(self, data: bytes) -> None:
        with self._send_lock:
            if self._dead is not None:
                raise ConnectionLost(self._dead)
            try:
                view = memoryview(data)
                while view:
                    view = view[self._out.write(view) or 0:]
            except (OSError, ValueError):
                raise self._failed("the SSH connection closed") from None

    def _ids(self, n: int) -> list[int]:
        with self._cv:
            first = self._next_id
            self._next_id = (first + n) & 0xFFFFFFFF
        return [(first + i) & 0xFFFFFFFF for i in range(n)]

    def _packet(self, kind: int, rid: int, body: bytes) -> bytes:
        return _HEAD.pack(len(body) + 5, kind, rid) + body

    def _receive_one(self, mine: int) -> None:
        """Read one reply from the pipe and file it (DATA of a READ straight into its buffer); other threads
        are woken only for a reply that is not the reading thread's own (``mine``)."""
        head = self._read_exact(13)  # length, type, id and the body's first 4 bytes (every reply has them)
        length, kind, rid = _HEAD.unpack_from(head)
        if length < 9 or (kind == DATA and _U32.unpack_from(head, 9)[0] > length - 9):
            raise ConnectionLost(f"the SFTP server sent a malformed packet (type {kind}, length {length})")
        if kind == DATA:
            n = _U32.unpack_from(head, 9)[0]
            with self._cv:
                sink = self._sinks.pop(rid, None)
            if sink is not None and n <= len(sink):
                self._read_into(sink[:n])
                reply: tuple[int, bytes | int] = (DATA, n)
            else:
                reply = (DATA, self._read_exact(n))
        else:
            reply = (kind, head[9:] + self._read_exact(length - 9))
        with self._cv:
            if rid in self._discard:  # the answer to a CLOSE: nobody waits for it
                self._discard.discard(rid)
                return
            self._replies[rid] = reply
            if rid != mine:
                self._cv.notify_all()

    def _wait(self, rid: int) -> tuple[int, bytes | int]:
        """The reply to request ``rid``; this thread reads the pipe while no other thread does."""
        with self._cv:
            while True:
                if rid in self._replies:
                    return self._replies.pop(rid)
                if self._dead is not None:
                    raise ConnectionLost(self._dead)
                if not self._reading:
                    self._reading = True
                    break
                self._cv.wait()
        try:
            while True:
                self._receive_one(rid)
                with self._cv:
                    if rid in self._replies:
                        self._reading = False
                        self._cv.notify_all()
                        return self._replies.pop(rid)
        except ConnectionLost as exc:
            with self._cv:
                self._dead, self._reading = exc.reason, False
                self._cv.notify_all()
            raise
        except BaseException:
            with self._cv:
                self._reading = False
                self._cv.notify_all()
            raise

    def _request(self, kind: int, body: bytes, expect: int) -> bytes:
        rid = self._ids(1)[0]
        self._write(self._packet(kind, rid, body))
        got, payload = self._wait(rid)
        assert isinstance(payload, bytes)
        if got == STATUS:
            r = _Reader(payload)
            code, message = r.u32(), r.string().decode("utf-8", "replace")
            if code != OK or expect != STATUS:
                raise StatusError(code, message)
        elif got != expect:
            raise ConnectionLost(f"the SFTP server answered with packet type {got} where {expect} was expected")
        return payload

    @staticmethod
    def _status(payload: bytes) -> StatusError:
        r = _Reader(payload)
        code = r.u32()
        return StatusError(code, r.string().decode("utf-8", "replace"))

    # -- operations ---------------------------------------------------------------------------
    def open(self, path: str) -> bytes:
        """A handle for reading ``path``."""
        return _Reader(self._request(OPEN, _string(path.encode()) + _U32.pack(FXF_READ) + _U32.pack(0),
                                     HANDLE)).string()

    def close_handle(self, handle: bytes) -> None:
        """Close a handle without waiting for the answer (an error closing it changes nothing for a reader)."""
        rid = self._ids(1)[0]
        with self._cv:
            self._discard.add(rid)
        self._write(self._packet(CLOSE, rid, _string(handle)))

    def stat(self, path: str, follow: bool = True) -> Attrs:
        """STAT (or LSTAT, without ``follow``) of a path."""
        return _Reader(self._request(STAT if follow else LSTAT, _string(path.encode()), ATTRS)).attrs()

    def fstat(self, handle: bytes) -> Attrs:
        """FSTAT of an open handle."""
        return _Reader(self._request(FSTAT, _string(handle), ATTRS)).attrs()

    def read_handle(self, handle: bytes, offset: int, out: memoryview) -> int:
        """Fill ``out`` from ``offset`` with pipelined READs; the count read (less only at the end of the file)."""
        want = deque((pos, min(self.chunk, len(out) - pos)) for pos in range(0, len(out), self.chunk))
        window = max(1, WINDOW_BYTES // self.chunk)
        pending: deque[tuple[int, int, int]] = deque()  # request id, position in out, length
        end = len(out)  # shrinks to where the file ends
        prefix = _string(handle)
        try:
            while want or pending:
                batch = []
                while want and len(pending) < window:
                    pos, n = want.popleft()
                    if pos >= end:
                        continue
                    rid = self._ids(1)[0]
                    with self._cv:
                        self._sinks[rid] = out[pos:pos + n]
                    pending.append((rid, pos, n))
                    batch.append(self._packet(READ, rid, prefix + _U64.pack(offset + pos) + _U32.pack(n)))
                if batch:
                    self._write(b"".join(batch))
                if not pending:
                    break
                rid, pos, n = pending.popleft()
                got, payload = self._wait(rid)
                if got == DATA and isinstance(payload, int):
                    if 0 < payload < n:  # a short read before the end: ask for the rest
                        want.appendleft((pos + payload, n - payload))
                    elif payload == 0:
                        end = min(end, pos)
                elif got == DATA and isinstance(payload, bytes):  # more than asked (a broken server)
                    raise ConnectionLost(f"the SFTP server sent {len(payload)} bytes for a read of {n}")
                elif got == STATUS and isinstance(payload, bytes):
                    error = self._status(payload)
                    if error.code != EOF:
                        raise error
                    end = min(end, pos)
                else:
                    raise ConnectionLost(f"the SFTP server answered a read with packet type {got}")
        finally:
            if pending:  # an error: the replies still come; drop them when they do
                with self._cv:
                    for rid, _, _ in pending:
                        self._sinks.pop(rid, None)
                self._forget([rid for rid, _, _ in pending])
        return end

    def _forget(self, ids: list[int]) -> None:
        """Consume replies nobody will use (after an error), so they do not pile up."""
        with contextlib.suppress(ConnectionLost):
            for rid in ids:
                self._wait(rid)

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        """``length`` bytes of ``path`` from ``offset`` (fewer at the end of the file)."""
        buffer = bytearray(length)
        handle = self.open(path)
        try:
            n = self.read_handle(handle, offset, memoryview(buffer))
        finally:
            self.close_handle(handle)
        return bytes(buffer) if n == length else bytes(buffer[:n])

    def read_file(self, path: str) -> bytes:
        """The whole of ``path``."""
        handle = self.open(path)
        try:
            size = self.fstat(handle).size  # restic's files never change once written
            if size is not None:
                buffer = bytearray(size)
                n = self.read_handle(handle, 0, memoryview(buffer))
                return bytes(buffer) if n == size else bytes(buffer[:n])
            parts, offset = [], 0
            while True:  # no size: chunk after chunk until the end
                buffer = bytearray(self.chunk * 8)
                n = self.read_handle(handle, offset, memoryview(buffer))
                parts.append(bytes(buffer[:n]))
                offset += n
                if n < len(buffer):
                    return b"".join(parts)
        finally:
            self.close_handle(handle)

    def listdirs(self, paths: Sequence[str]) -> dict[str, list[tuple[str, Attrs]] | None]:
        """The entries of each folder (None where it does not exist), the folders read all at once."""
        opened: dict[str, bytes] = {}
        result: dict[str, list[tuple[str, Attrs]] | None] = {}
        try:
            ids = self._ids(len(paths))
            self._write(b"".join(self._packet(OPENDIR, rid, _string(p.encode()))
                                 for rid, p in zip(ids, paths, strict=True)))
            for rid, path in zip(ids, paths, strict=True):
                got, payload = self._wait(rid)
                assert isinstance(payload, bytes)
                if got == HANDLE:
                    opened[path] = _Reader(payload).string()
                    result[path] = []
                elif got == STATUS:
                    error = self._status(payload)
                    if error.code != NO_SUCH_FILE:
                        raise error
                    result[path] = None
            todo = list(opened)
            while todo:
                ids = self._ids(len(todo))
                self._write(b"".join(self._packet(READDIR, rid, _string(opened[p]))
                                     for rid, p in zip(ids, todo, strict=True)))
                more = []
                for rid, path in zip(ids, todo, strict=True):
                    got, payload = self._wait(rid)
                    assert isinstance(payload, bytes)
                    if got == STATUS:
                        error = self._status(payload)
                        if error.code != EOF:
                            raise error
                        continue
                    r = _Reader(payload)
                    entries = result[path]
                    assert entries is not None
                    for _ in range(r.u32()):
                        name = r.string().decode("utf-8", "surrogateescape")
                        r.string()  # longname
                        entries.append((name, r.attrs()))
                    more.append(path)
                todo = more
        finally:
            for handle in opened.values():
                with contextlib.suppress(ConnectionLost):
                    self.close_handle(handle)
        return result

    def alive(self) -> bool:
        """The session has not failed and ssh still runs."""
        return self._dead is None and self.proc.poll() is None

    def close(self) -> None:
        """End the session: close ssh's stdin (it exits), then reap it (terminate it if it lingers)."""
        if self._dead is None:
            self._dead = "the SFTP session was closed"
        for stream in (self._out, self._in):
            with contextlib.suppress(OSError, ValueError):
                stream.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._stderr.close()

    def abandon(self) -> None:
        """In a forked child: let go of the parent's ssh without touching it (only our copies of its pipes)."""
        self._dead = "the SFTP session belongs to the parent process"
        for stream in (self._out, self._in, self._stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.close()
        self.proc.returncode = 0  # never wait for a process that is not our child
