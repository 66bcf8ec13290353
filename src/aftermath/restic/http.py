"""A small HTTP/1.1 client for the REST and S3 backends' reads: kept-alive connections, one copy of the body.

The review reads a gigabyte in about 300 merged range requests of up to 32 MiB, so the cost is per byte:
httpx iterated each body in 64 KiB chunks through h11 and joined them (1.8-2.7 CPU seconds to read the 1 GB
bench repository's packs in 8 MiB ranges, against 0.7-0.9 s here; botocore 1.1-1.3 s against 0.7-0.8 s), while
restic's Go client costs next to nothing. Here a request is written and its answer read with
the standard library's ``http.client`` on a connection kept alive between requests, and a body of known
length is read with one call that has the kernel copy the bytes into the one ``bytes`` object returned (a
``BufferedReader`` reads large amounts straight into its result), so a byte is copied once after the socket.

Connections belong to one process and are used by one thread at a time: a pool of idle connections is kept
per process (a forked review worker sees another pid and opens its own, never sharing a socket with its
parent), and a thread takes one out for its request and gives it back after reading the whole body.

A kept-alive connection the server closed between two requests is reopened and the request sent again,
once, without a word; any other failure to connect or to read the whole body is :class:`Dropped`, for the
backend to retry with backoff and then name. https verifies the server's certificate and name.
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CONNECT_TIMEOUT = 15.0  # seconds to connect
READ_TIMEOUT = 60.0  # seconds without a byte before a read gives up
MAX_IDLE = 32  # idle connections kept per process


class Dropped(Exception):
    """The connection failed or the body ended early: worth retrying."""


@dataclass(frozen=True)
class Reply:
    """An answer: status, headers and the whole body."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes


class Pool:
    """Kept-alive connections to one ``scheme://host:port``, per process, one thread per connection at a time."""

    def __init__(self, scheme: str, host: str, port: int | None, cafile: str | None = None) -> None:
        if scheme not in ("http", "https"):
            raise ValueError(f"not an http(s) scheme: {scheme}")
        self.scheme, self.host, self.port, self.cafile = scheme, host, port, cafile
        self._context: ssl.SSLContext | None = None
        self._state: tuple[int, threading.Lock, list[http.client.HTTPConnection]] = (-1, threading.Lock(), [])
        self.opened = 0  # connections opened by this process (for tests and benchmarks)

    def _mine(self) -> tuple[threading.Lock, list[http.client.HTTPConnection]]:
        pid, lock, idle = self._state
        if pid != os.getpid():  # forked: the parent's connections (and the lock's state) are not ours
            self._state = (os.getpid(), threading.Lock(), [])
            self.opened = 0
            _, lock, idle = self._state
        return lock, idle

    def _new(self) -> http.client.HTTPConnection:
        if self.scheme == "https":
            if self._context is None:
                self._context = ssl.create_default_context(cafile=self.cafile)
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                self.host, self.port, timeout=CONNECT_TIMEOUT, context=self._context)
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=CONNECT_TIMEOUT)
        return conn

    def _take(self) -> tuple[http.client.HTTPConnection, bool]:
        lock, idle = self._mine()
        with lock:
            if idle:
                return idle.pop(), True
        return self._new(), False

    def _give(self, conn: http.client.HTTPConnection) -> None:
        lock, idle = self._mine()
        with lock:
            if len(idle) < MAX_IDLE:
                idle.append(conn)
                return
        conn.close()

    def _connect(self, conn: http.client.HTTPConnection) -> None:
        conn.connect()
        assert conn.sock is not None
        conn.sock.settimeout(READ_TIMEOUT)
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.opened += 1

    def _send(self, conn: http.client.HTTPConnection, method: str, target: str,
              headers: Mapping[str, str]) -> http.client.HTTPResponse:
        if conn.sock is None:
            self._connect(conn)
        conn.request(method, target, headers=dict(headers))
        return conn.getresponse()

    def request(self, method: str, target: str, headers: Mapping[str, str]) -> Reply:
        """Send one request (``target``: the path and query, already quoted) and read its whole answer."""
        conn, reused = self._take()
        try:
            try:
                resp = self._send(conn, method, target, headers)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    ConnectionAbortedError):
                if not reused:
                    raise
                conn.close()  # the server closed a kept-alive connection between requests: open it again
                resp = self._send(conn, method, target, headers)
            body = resp.read()  # the whole body, checked against Content-Length (IncompleteRead when short)
        except http.client.IncompleteRead as exc:
            conn.close()
            raise Dropped(f"the answer ended after {len(exc.partial)} of "
                          f"{len(exc.partial) + (exc.expected or 0)} bytes") from None
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise Dropped(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__) from None
        except BaseException:
            conn.close()
            raise
        if resp.will_close:
            conn.close()
        self._give(conn)
        return Reply(resp.status, resp.headers, body)

    def close(self) -> None:
        """Close this process's idle connections."""
        lock, idle = self._mine()
        with lock:
            conns, idle[:] = list(idle), []
        for conn in conns:
            conn.close()


class S3Reads:
    """GETs of one bucket's objects, signed with AWS Signature V4 by botocore's own signer, sent through a Pool.

    ``credentials`` is botocore's credentials object (refreshed by botocore when it can expire);
    ``endpoint_url`` the endpoint the S3 client resolved; ``virtual``: the bucket is in the host name.
    """

    def __init__(self, endpoint_url: str, bucket: str, virtual: bool, region: str, credentials: object,
                 cafile: str | None = None) -> None:
        from urllib.parse import quote, urlsplit

        parts = urlsplit(endpoint_url)
        host = parts.hostname or ""
        if virtual:
            host = f"{bucket}.{host}"
        self._quote = quote
        self._origin = f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")
        self._prefix = parts.path.rstrip("/") + ("/" if virtual else f"/{quote(bucket, safe='')}/")
        self.region, self.credentials = region, credentials
        self.pool = Pool(parts.scheme, host, parts.port, cafile=cafile)

    def _send(self, path: str, query: str, headers: dict[str, str]) -> Reply:
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest

        target = path + (f"?{query}" if query else "")
        request = AWSRequest(method="GET", url=self._origin + target, headers=headers)
        frozen = self.credentials.get_frozen_credentials()  # type: ignore[attr-defined]
        S3SigV4Auth(frozen, "s3", self.region).add_auth(request)
        return self.pool.request("GET", target, dict(request.headers.items()))

    def get(self, key: str, byte_range: str | None) -> Reply:
        """GET an object (``byte_range``: a Range header's value, or None for all of it)."""
        return self._send(self._prefix + self._quote(key, safe="/~"), "", {"Range": byte_range} if byte_range else {})

    def list_page(self, prefix: str, token: str | None) -> Reply:
        """One page (up to 1,000 keys) of ListObjectsV2 under ``prefix``, from ``token`` when given."""
        from urllib.parse import urlencode

        params = [("list-type", "2"), ("prefix", prefix), *([("continuation-token", token)] if token else [])]
        query = urlencode(sorted(params), quote_via=self._quote)  # each value fully percent-encoded
        return self._send(self._prefix.rstrip("/") or "/", query, {})


def parse_listing(body: bytes) -> dict[str, Any] | None:
    """A ListObjectsV2 answer as boto3 gives it (``Contents`` with ``Key`` and ``Size``, ``IsTruncated``,
    ``NextContinuationToken``), or None when it is not one."""
    import xml.etree.ElementTree as ET

    if b"<!" in body:  # a DTD or entity declaration (S3 sends neither): not parsed, so no entity expansion
        return None
    try:
        root = ET.fromstring(body)  # noqa: S314 - no DTD, hence no entities to expand
    except ET.ParseError:
        return None
    ns = root.tag[:root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    if root.tag != f"{ns}ListBucketResult":
        return None
    contents = [{"Key": item.findtext(f"{ns}Key") or "", "Size": int(item.findtext(f"{ns}Size") or 0)}
                for item in root.iter(f"{ns}Contents")]
    return {"Contents": contents, "IsTruncated": (root.findtext(f"{ns}IsTruncated") or "").lower() == "true",
            "NextContinuationToken": root.findtext(f"{ns}NextContinuationToken")}
