"""Where a repository's files are: one small seam (list a folder, read a file, read a byte range).

Implementations: a local path; ``sftp:`` (OpenSSH's ``ssh -s sftp``, as restic runs it, with the
user's keys, config and known_hosts); ``rest:`` (restic's REST protocol over :mod:`aftermath.restic.http`);
``s3:`` (boto3, an optional extra, lists and names errors; reads are signed with botocore's SigV4 signer and
sent through :mod:`aftermath.restic.http`).
Locations are written exactly as restic writes them, and credentials come from the environment
variables restic reads, never from argv. Every remote read is retried with backoff when the
connection drops or the server asks us to slow down (HTTP 429/503, S3 SlowDown), and then named.
Nothing here decrypts or checks: the repository checks every byte it is given against its id.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import json
import os
import random
import re
import shlex
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import quote, unquote, urlsplit

from typing_extensions import override

from aftermath.errors import RepositoryError, UsageError
from aftermath.restic.http import Dropped, Pool, Reply, S3Reads, parse_listing
from aftermath.restic.sftp import NO_SUCH_FILE, PERMISSION_DENIED, ConnectionLost, SftpClient, StatusError, ssh_command

T = TypeVar("T")
_TWO_HEX = re.compile(r"[0-9a-f]{2}")
ATTEMPTS = 5  # reads of one range before a dropped connection is an error
THROTTLED_ATTEMPTS = 10  # more patience when the server only asks us to slow down
BACKOFF = 0.2  # seconds before the first retry, doubled each time (with jitter), capped at MAX_BACKOFF
MAX_BACKOFF = 10.0
READAHEAD, MAX_READAHEAD = 256 << 10, 8 << 20  # read-ahead of sequential remote reads: first, largest
SEQUENTIAL_GAP = 256 << 10  # a read this close after the previous one still counts as sequential


@dataclass(frozen=True)
class FileInfo:
    """One stored file: its name (an id), its path relative to the repository root, its size."""

    name: str
    path: str
    size: int


class Missing(RepositoryError):
    """A file or folder the backend was asked for does not exist."""


class Transient(Exception):
    """A failure worth retrying: a dropped connection, or the server asking us to slow down."""

    def __init__(self, reason: str, throttled: bool = False, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.throttled, self.wait = reason, throttled, wait


class PackFile(Protocol):
    """An open stored file, read by byte ranges."""

    def read_at(self, offset: int, length: int) -> bytes:
        """``length`` bytes from ``offset`` (fewer at the end of the file)."""

    def close(self) -> None:
        """Release the file."""


class Backend(Protocol):
    """The operations the reader needs; paths are relative to the repository root, with ``/``."""

    location: str  # for messages: the location without any password
    local: bool

    def list(self, folder: str) -> list[FileInfo]:
        """Files in a folder and its two-hex-digit subfolders; empty when the folder does not exist."""

    def read(self, path: str) -> bytes:
        """A whole file; :class:`Missing` if it does not exist."""

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        """``length`` bytes of a file from ``offset``."""

    def open(self, path: str) -> PackFile:
        """A file to read by ranges (a local file descriptor, or the path for a remote backend)."""

    def close(self) -> None:
        """Close connections."""


def retrying(call: Callable[[], T], what: str, location: str, sleep: Callable[[float], None] = time.sleep) -> T:
    """Run ``call``, retrying on :class:`Transient` with exponential backoff; RepositoryError when it persists."""
    attempt = 0
    while True:
        try:
            return call()
        except Transient as exc:
            attempt += 1
            if attempt >= (THROTTLED_ATTEMPTS if exc.throttled else ATTEMPTS):
                how = "kept asking us to slow down" if exc.throttled else "kept failing"
                raise RepositoryError(f"reading {what} from {location} {how} after {attempt} attempts "
                                      f"({exc.reason}): check the connection and the server, then run again"
                                      ) from None
            delay = exc.wait if exc.wait is not None else min(MAX_BACKOFF, BACKOFF * 2 ** (attempt - 1))
            sleep(min(MAX_BACKOFF, delay) * (0.5 + random.random() / 2))


class _RangeFile(PackFile):
    """A remote file read range by range, each request retried by the backend, with adaptive read-ahead.

    A read that starts where the previous request ended (or a little after: a skipped tree blob, a content
    already read) is sequential: the request then asks for more than was asked, doubling from 256 KiB up
    to 8 MiB, and keeps it for the reads that follow. restic writes a file's blobs, and the files of a
    folder, one after another, so a run of small files costs a few requests, not one per blob; a read
    elsewhere asks for exactly its bytes, so scattered reads read nothing they do not need.
    """

    def __init__(self, backend: Backend, path: str) -> None:
        self.backend, self.path = backend, path
        self._start, self._buffer, self._window = 0, b"", 0

    def read_at(self, offset: int, length: int) -> bytes:
        start = offset - self._start
        end = self._start + len(self._buffer)
        if start >= 0 and offset + length <= end:
            return self._buffer[start:start + length]
        sequential = bool(self._buffer) and self._start <= offset <= end + SEQUENTIAL_GAP
        self._window = min(MAX_READAHEAD, max(READAHEAD, 2 * self._window)) if sequential else 0
        self._start, self._buffer = offset, self.backend.read_range(self.path, offset, max(length, self._window))
        return self._buffer[:length]

    def close(self) -> None:
        self._buffer = b""


# -- local ---------------------------------------------------------------------------------------
class _LocalFile(PackFile):
    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_RDONLY)

    @override
    def read_at(self, offset: int, length: int) -> bytes:
        return os.pread(self.fd, length, offset)

    @override
    def close(self) -> None:
        os.close(self.fd)


class LocalBackend(Backend):
    """A repository on a local (or mounted) path."""

    local = True

    def __init__(self, root: Path) -> None:
        self.root = root
        self.location = str(root)

    @override
    def list(self, folder: str) -> list[FileInfo]:
        base = self.root / folder
        found: list[FileInfo] = []
        try:
            entries = list(os.scandir(base))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise RepositoryError(f"cannot list {base}: {exc.strerror or exc}; check permissions") from None
        for e in entries:
            try:
                if e.is_file():
                    found.append(FileInfo(e.name, f"{folder}/{e.name}", e.stat().st_size))
                elif e.is_dir() and _TWO_HEX.fullmatch(e.name):
                    found += [FileInfo(f.name, f"{folder}/{e.name}/{f.name}", f.stat().st_size)
                              for f in os.scandir(e.path) if f.is_file()]
            except OSError:
                continue  # vanished or unreadable: the reader notices what it then misses
        return found

    @override
    def read(self, path: str) -> bytes:
        try:
            return (self.root / path).read_bytes()
        except FileNotFoundError:
            raise Missing(f"{self.root / path} does not exist: check the repository location") from None
        except OSError as exc:
            raise RepositoryError(f"cannot read {self.root / path}: {exc.strerror or exc}; "
                                  "check that it exists and is readable") from None

    @override
    def read_range(self, path: str, offset: int, length: int) -> bytes:
        f = self.open(path)
        try:
            return f.read_at(offset, length)
        finally:
            f.close()

    @override
    def open(self, path: str) -> PackFile:
        return _LocalFile(self.root / path)  # OSError is the caller's to name (it knows the blob)

    @override
    def close(self) -> None:
        pass


# -- REST ----------------------------------------------------------------------------------------
def _rest_path(path: str) -> str:
    """restic's REST server addresses ``<type>/<name>``, never the ``data/xx/`` subfolders."""
    parts = path.split("/")
    return path if len(parts) <= 2 else f"{parts[0]}/{parts[-1]}"


class RestBackend(Backend):
    """restic's REST protocol (``rest:http(s)://[user:pass@]host:port/path``), over :mod:`aftermath.restic.http`."""

    local = False

    def __init__(self, url: str, environ: Mapping[str, str]) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"rest:{_redact_url(url)} is not a REST location: write rest:http(s)://host:port/path")
        user = unquote(parts.username or "") or environ.get("RESTIC_REST_USERNAME", "")
        password = unquote(parts.password or "") or environ.get("RESTIC_REST_PASSWORD", "")
        host = parts.hostname + (f":{parts.port}" if parts.port else "")
        self.base = f"{parts.scheme}://{host}{parts.path.rstrip('/')}/"
        self.location = f"rest:{self.base}"
        self._path = quote(parts.path.rstrip("/")) + "/"
        self._headers: dict[str, str] = {}
        if user:
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            self._headers["Authorization"] = f"Basic {token}"
        self.pool = Pool(parts.scheme, parts.hostname, parts.port, cafile=environ.get("SSL_CERT_FILE") or None)

    def _get(self, path: str, headers: dict[str, str]) -> Reply:
        target, sent = self._path + quote(path), {**self._headers, **headers}
        reply = retrying(lambda: _answer(lambda: self.pool.request("GET", target, sent)), path, self.location)
        if reply.status == 404:
            raise Missing(f"{path} does not exist in {self.location}: check the repository location")
        if reply.status in (401, 403):
            raise RepositoryError(f"{self.location} refused access (HTTP {reply.status}): check "
                                  "RESTIC_REST_USERNAME and RESTIC_REST_PASSWORD (or user:pass in the URL)")
        if reply.status not in (200, 206):
            raise RepositoryError(f"{self.location} answered HTTP {reply.status} for {path}: "
                                  "check the server's log")
        return reply

    @override
    def list(self, folder: str) -> list[FileInfo]:
        try:
            reply = self._get(folder + "/", {"Accept": "application/vnd.x.restic.rest.v2"})
        except Missing:
            return []
        try:
            doc = json.loads(reply.body)
        except ValueError:
            raise RepositoryError(f"{self.location} sent a listing of {folder} that is not JSON: "
                                  "is it a restic REST server?") from None
        found: list[FileInfo] = []
        for item in doc if isinstance(doc, list) else []:
            if isinstance(item, dict) and isinstance(item.get("name"), str):  # v2: name and size
                found.append(FileInfo(item["name"], f"{folder}/{item['name']}", int(item.get("size") or 0)))
            elif isinstance(item, str):  # v1: names only
                found.append(FileInfo(item, f"{folder}/{item}", -1))
        return found

    @override
    def read(self, path: str) -> bytes:
        return self._get(_rest_path(path), {}).body

    @override
    def read_range(self, path: str, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        reply = self._get(_rest_path(path), {"Range": f"bytes={offset}-{offset + length - 1}"})
        return reply.body[offset:offset + length] if reply.status == 200 else reply.body

    @override
    def open(self, path: str) -> PackFile:
        return _RangeFile(self, path)

    @override
    def close(self) -> None:
        self.pool.close()


def _answer(send: Callable[[], Reply]) -> Reply:
    """An HTTP answer; :class:`Transient` when the connection dropped or the answer says to ask again:
    429/503 (slow down, as Retry-After says) or another 5xx."""
    try:
        reply = send()
    except Dropped as exc:
        raise Transient(str(exc)) from None
    if reply.status in (429, 503) or reply.status >= 500:
        wait = _retry_after(reply.headers.get("Retry-After"))
        raise Transient(f"HTTP {reply.status}", reply.status in (429, 503), wait)
    return reply


def _region(env: Mapping[str, str]) -> str:
    return env.get("AWS_DEFAULT_REGION") or env.get("AWS_REGION") or "us-east-1"


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _redact_url(url: str) -> str:
    return re.sub(r"//([^/@:]*):[^/@]*@", r"//\1:***@", url)


# -- S3 ------------------------------------------------------------------------------------------
class S3Backend(Backend):
    """An S3 or S3-compatible bucket (``s3:host/bucket/path``, ``s3:https://host/bucket/path``)."""

    local = False

    def __init__(self, spec: str, environ: Mapping[str, str]) -> None:
        if importlib.util.find_spec("boto3") is None:  # checked here so the error is one clear line
            raise UsageError("reading s3: repositories needs boto3: pip install 'aftermath[s3]'")
        if spec.startswith(("http://", "https://")):
            parts = urlsplit(spec)
            scheme, host, path = parts.scheme, parts.netloc, parts.path
        else:
            scheme, (host, _, path) = "https", spec.partition("/")
            path = "/" + path
        bucket, _, prefix = path.lstrip("/").partition("/")
        if not host or not bucket:
            raise UsageError(f"s3:{spec} names no bucket: write s3:host/bucket/path")
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.endpoint = f"{scheme}://{host}"
        self.location = f"s3:{self.endpoint}/{bucket}" + (f"/{self.prefix}" if self.prefix else "")
        self.environ = dict(environ)
        self._pid = -1
        self._client: Any = None
        self._session: Any = None
        self._reads: S3Reads | None = None
        self._lock = threading.Lock()

    def _s3(self) -> Any:
        import boto3
        from botocore.config import Config

        with self._lock:
            if self._client is None or self._pid != os.getpid():
                env = self.environ
                region = _region(env)
                session = boto3.session.Session(
                    aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
                    aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
                    aws_session_token=env.get("AWS_SESSION_TOKEN"), region_name=region,
                    profile_name=env.get("AWS_PROFILE") if not env.get("AWS_ACCESS_KEY_ID") else None)
                aws = self.endpoint.endswith("amazonaws.com")
                config = Config(retries={"max_attempts": 1}, max_pool_connections=32,
                                s3={"addressing_style": "virtual" if aws else "path"})
                self._client = session.client("s3", endpoint_url=None if aws else self.endpoint, config=config)
                self._session, self._pid = session, os.getpid()
            return self._client

    def _fast(self) -> S3Reads | None:
        """Signed GETs through :class:`~aftermath.restic.http.Pool` (set up once, kept by forked workers),
        or None when the S3 client cannot be set up or has no credentials (it then names what is wrong)."""
        if self._reads is None:
            env, aws = self.environ, self.endpoint.endswith("amazonaws.com")
            cafile = env.get("AWS_CA_BUNDLE") or None
            if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY") and not aws:
                # keys in the environment and the endpoint in the location: what the S3 client would use,
                # without its import and set-up (a third of a CPU second)
                from botocore.credentials import Credentials

                keys = Credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env.get("AWS_SESSION_TOKEN"))
                with self._lock:
                    self._reads = S3Reads(self.endpoint, self.bucket, False, _region(env), keys, cafile)
                return self._reads
            from botocore.exceptions import BotoCoreError

            try:
                client = self._s3()
                credentials = self._session.get_credentials()
            except BotoCoreError:
                return None
            if credentials is None:
                return None
            # the bucket in the host name on AWS, as boto3 does, unless a dot in its name would not match
            # the certificate (boto3 then addresses the path too)
            virtual = aws and "." not in self.bucket
            with self._lock:
                self._reads = S3Reads(client.meta.endpoint_url, self.bucket, virtual, client.meta.region_name,
                                      credentials, cafile)
        return self._reads

    def _signed(self, what: str, send: Callable[[S3Reads], Reply], fast: S3Reads) -> Reply:
        """A signed request's answer, retried while the connection drops or the server asks us to slow down."""
        return retrying(lambda: _answer(lambda: send(fast)), what, self.location)

    def _get(self, path: str, offset: int = 0, length: int | None = None) -> bytes:
        """A whole object, or ``length`` bytes of it from ``offset``; an answer other than the data (or one to
        ask again) is asked again through the S3 client, which names what is wrong (and follows redirects)."""
        rng = None if length is None else f"bytes={offset}-{offset + length - 1}"
        fast = self._fast()
        if fast is not None:
            reply = self._signed(path, lambda reads: reads.get(self._key(path), rng), fast)
            if reply.status == 206 or (reply.status == 200 and rng is None):
                return reply.body
            if reply.status == 200 and length is not None:
                return reply.body[offset:offset + length]
        args = {"Bucket": self.bucket, "Key": self._key(path), **({"Range": rng} if rng else {})}
        return self._call(path, lambda s3: bytes(s3.get_object(**args)["Body"].read()))

    def _key(self, path: str) -> str:
        return f"{self.prefix}/{path}" if self.prefix else path

    def _call(self, what: str, call: Callable[[Any], T]) -> T:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        def attempt() -> T:
            try:
                return call(self._s3())
            except NoCredentialsError:
                raise RepositoryError(f"no credentials for {self.location}: set AWS_ACCESS_KEY_ID and "
                                      "AWS_SECRET_ACCESS_KEY (as for restic)") from None
            except ClientError as exc:
                err = exc.response.get("Error", {})
                code = str(err.get("Code", ""))
                status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
                if code in ("SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded") or \
                        status in (429, 503):
                    raise Transient(code or f"HTTP {status}", throttled=True) from None
                if status >= 500 or code in ("InternalError", "RequestTimeout"):
                    raise Transient(code or f"HTTP {status}") from None
                if code in ("NoSuchKey", "404"):
                    raise Missing(f"{what} does not exist in {self.location}: check the repository location"
                                  ) from None
                if code == "NoSuchBucket":
                    raise RepositoryError(f"bucket {self.bucket} does not exist at {self.endpoint}: "
                                          "check the repository location") from None
                if code in ("ExpiredToken", "ExpiredTokenException", "InvalidAccessKeyId", "AccessDenied",
                            "SignatureDoesNotMatch", "InvalidToken", "403"):
                    raise RepositoryError(f"{self.location} refused the credentials ({code}): check "
                                          "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN"
                                          ) from None
                raise RepositoryError(f"{self.location} refused {what} ({code or status}): "
                                      "check the bucket and its permissions") from None
            except BotoCoreError as exc:
                raise Transient(f"{type(exc).__name__}: {exc}") from None

        return retrying(attempt, what, self.location)

    @override
    def list(self, folder: str) -> list[FileInfo]:
        prefix = self._key(folder) + "/"
        found: list[FileInfo] = []

        def page(token: str | None) -> Any:
            fast = self._fast()
            if fast is not None:
                reply = self._signed(folder, lambda reads: reads.list_page(prefix, token), fast)
                doc = parse_listing(reply.body) if reply.status == 200 else None
                if doc is not None:
                    return doc
            args: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}  # anything else: the S3 client
            if token:  # asks again and names what is wrong
                args["ContinuationToken"] = token
            return self._call(folder, lambda s3: s3.list_objects_v2(**args))

        token: str | None = None
        while True:
            doc = page(token)
            for obj in doc.get("Contents", []):
                rel = obj["Key"][len(self._key("")):] if self.prefix else obj["Key"]
                rel = rel.lstrip("/")
                found.append(FileInfo(rel.rsplit("/", 1)[-1], rel, int(obj.get("Size", 0))))
            if not doc.get("IsTruncated"):
                return found
            token = doc.get("NextContinuationToken")

    @override
    def read(self, path: str) -> bytes:
        return self._get(path)

    @override
    def read_range(self, path: str, offset: int, length: int) -> bytes:
        return self._get(path, offset, length) if length > 0 else b""

    @override
    def open(self, path: str) -> PackFile:
        return _RangeFile(self, path)

    @override
    def close(self) -> None:
        if self._reads is not None:
            self._reads.pool.close()
        self._client = None


# -- SFTP ----------------------------------------------------------------------------------------
def parse_sftp(spec: str) -> tuple[str | None, str, int | None, str]:
    """``user@host:/path``, ``host:path`` or ``//user@host:port//path`` into (user, host, port, path)."""
    if spec.startswith("//"):
        parts = urlsplit("sftp:" + spec)
        if not parts.hostname:
            raise UsageError(f"sftp:{spec} names no host: write sftp:user@host:/path")
        path = parts.path[1:] if parts.path.startswith("//") else parts.path.lstrip("/")
        return parts.username, parts.hostname, parts.port, unquote(path)
    host, sep, path = spec.partition(":")
    if not sep or not host or not path:
        raise UsageError(f"sftp:{spec} is not an SFTP location: write sftp:user@host:/path")
    user, at, name = host.rpartition("@")
    return (user if at else None), name, None, path


SFTP_COMMAND = "AFTERMATH_SFTP_COMMAND"  # a command to run instead of ``ssh ... -s sftp`` (restic's sftp.command)
SFTP_ARGS = "AFTERMATH_SFTP_ARGS"  # more options for that ssh (restic's sftp.args), e.g. -i KEY or -F CONFIG


class SftpBackend(Backend):
    """An SFTP server, read as restic reads it: through OpenSSH's ``ssh -s sftp`` (see :mod:`.sftp`).

    ``ssh`` uses the keys, agent, ``~/.ssh/config`` and known_hosts it always uses; BatchMode, so it never
    prompts. One ``ssh`` per process, started on the first read; a forked worker starts its own. A session
    that ends mid-run (``ssh`` killed, connection lost) is retried with backoff on a new one.
    """

    local = False

    def __init__(self, spec: str, environ: Mapping[str, str]) -> None:
        import multiprocessing.util

        self.user, self.host, self.port, self.path = parse_sftp(spec)
        self.location = f"sftp:{spec}"
        self.environ = dict(environ)
        if environ.get(SFTP_COMMAND):
            self.argv = shlex.split(environ[SFTP_COMMAND])
        else:
            ssh = shutil.which("ssh", path=environ.get("PATH") or os.defpath)
            if ssh is None:
                raise UsageError("reading sftp: repositories needs OpenSSH's ssh, as restic does: install "
                                 "openssh-client")
            self.argv = ssh_command(self.host, self.user, self.port, ssh, shlex.split(environ.get(SFTP_ARGS, "")))
        self._lock = threading.Lock()
        self._client: SftpClient | None = None
        self._finalize: Callable[[], Any] | None = None
        self._worked = False  # a session has worked: later failures to connect are worth retrying
        multiprocessing.util.register_after_fork(self, SftpBackend._forked)

    def _forked(self) -> None:
        """In a forked worker: drop the parent's session (our copies of its pipes); the first read starts ours."""
        self._lock = threading.Lock()
        if self._client is not None:
            self._client.abandon()
        self._client, self._finalize = None, None

    def _session(self) -> SftpClient:
        import multiprocessing.util

        with self._lock:
            client = self._client
            if client is not None and client.pid != os.getpid():  # forked outside multiprocessing
                client.abandon()
                client = self._client = None
            if client is not None and client.alive():
                return client
            self._end()
            try:
                client = SftpClient(self.argv, self.environ)
            except ConnectionLost as exc:
                raise self._refused(exc) from None
            except OSError as exc:
                raise RepositoryError(f"cannot run {self.argv[0]} for {self.location}: {exc.strerror or exc}; "
                                      "install openssh-client") from None
            self._client, self._worked = client, True
            self._finalize = multiprocessing.util.Finalize(self, client.close, exitpriority=10)  # reaped at exit
            return client

    def _refused(self, exc: ConnectionLost) -> Exception:
        """ssh's own reason for not starting a session, as one line saying what to do (or a retry)."""
        said, host = exc.detail, self.host
        if "has changed" in said or "HOST IDENTIFICATION HAS CHANGED" in said:
            return RepositoryError(f"the host key of {host} has changed since it was recorded in known_hosts: "
                                   "check with the host's owner before trusting it (ssh-keygen -R to forget it)")
        if "Host key verification failed" in said or "No ED25519 host key is known" in said:
            return RepositoryError(f"the host key of {host} is not in known_hosts: connect once with `ssh` to "
                                   "check and record it")
        if "Permission denied" in said:
            return RepositoryError(f"{host} refused our SSH keys ({exc.reason}): check the key in ~/.ssh or "
                                   "ssh-agent and the server's authorized_keys")
        if "subsystem request failed" in said:
            return RepositoryError(f"{host} does not offer SFTP: enable its sftp subsystem in sshd_config")
        if self._worked:
            return Transient(f"ssh: {exc.reason}")
        return RepositoryError(f"cannot connect to {host} over SSH ({exc.reason}): check the host, the port "
                               "and that `ssh` reaches it")

    def _drop(self, client: SftpClient) -> None:
        with self._lock:
            if self._client is client:
                with contextlib.suppress(OSError):
                    client.proc.kill()  # a broken session: nothing more is read from it
                self._end()

    def _end(self) -> None:
        """Close this process's session and reap its ssh."""
        if self._finalize is not None:
            self._finalize()  # client.close, once, and only in the process that started it
        elif self._client is not None and self._client.pid == os.getpid():
            self._client.close()
        self._client, self._finalize = None, None

    def _abs(self, path: str) -> str:
        return f"{self.path.rstrip('/')}/{path}" if path else self.path

    def _call(self, what: str, op: Callable[[SftpClient], T]) -> T:
        def attempt() -> T:
            client = self._session()
            try:
                return op(client)
            except StatusError as exc:
                if exc.code == NO_SUCH_FILE:
                    raise Missing(f"{what} does not exist in {self.location}: check the repository location"
                                  ) from None
                if exc.code == PERMISSION_DENIED:
                    raise RepositoryError(f"{self.location} refused reading {what}: check permissions") from None
                raise RepositoryError(f"{self.location} failed reading {what} ({exc}): check the server") from None
            except ConnectionLost as exc:
                self._drop(client)
                raise Transient(f"ssh: {exc.reason}") from None

        return retrying(attempt, what, self.location)

    @override
    def list(self, folder: str) -> list[FileInfo]:
        base = self._abs(folder)

        def scan(client: SftpClient) -> list[FileInfo]:
            top = client.listdirs([base])[base]
            found = [FileInfo(n, f"{folder}/{n}", a.size or 0) for n, a in top or [] if a.is_file]
            subs = sorted(n for n, a in top or [] if a.is_dir and _TWO_HEX.fullmatch(n))
            for i in range(0, len(subs), 64):  # a few dozen folders open at once
                listed = client.listdirs([f"{base}/{n}" for n in subs[i:i + 64]])
                for n in subs[i:i + 64]:
                    found += [FileInfo(f, f"{folder}/{n}/{f}", a.size or 0) for f, a in listed[f"{base}/{n}"] or []
                              if a.is_file]
            return found

        return self._call(folder, scan)

    @override
    def read(self, path: str) -> bytes:
        return self._call(path, lambda client: client.read_file(self._abs(path)))

    @override
    def read_range(self, path: str, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        return self._call(path, lambda client: client.read_range(self._abs(path), offset, length))

    @override
    def open(self, path: str) -> PackFile:
        return _RangeFile(self, path)

    @override
    def close(self) -> None:
        with self._lock:
            self._end()

    @property
    def ssh_pid(self) -> int | None:
        """The pid of this process's ``ssh`` (None before the first read)."""
        return self._client.proc.pid if self._client is not None and self._client.pid == os.getpid() else None


def is_remote(location: str) -> bool:
    """True for a restic backend location (``sftp:``, ``rest:``, ``s3:``, ...), False for a path."""
    return ":" in location.split("/", 1)[0]


def open_backend(location: str | Path, environ: Mapping[str, str] = os.environ) -> Backend:
    """The backend for a restic location string (as restic writes it) or a local path."""
    text = str(location)
    if isinstance(location, Path) or not is_remote(text):
        return LocalBackend(Path(text))
    scheme, _, rest = text.partition(":")
    if scheme == "rest":
        return RestBackend(rest, environ)
    if scheme == "s3":
        return S3Backend(rest, environ)
    if scheme == "sftp":
        return SftpBackend(rest, environ)
    if scheme == "local":
        return LocalBackend(Path(rest))
    raise UsageError(f"the native reader does not read {scheme}: repositories; copy it to a local, sftp:, "
                     "rest: or s3: repository with `restic copy`, or mount it with `rclone mount`")


def listing(files: list[FileInfo]) -> Iterator[FileInfo]:
    """Files whose names are repository ids (64 hex digits), sorted by name."""
    hexname = re.compile(r"[0-9a-f]{64}")
    yield from sorted((f for f in files if hexname.fullmatch(f.name)), key=lambda f: f.name)
