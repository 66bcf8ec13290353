"""The REST and S3 backends' HTTP reader against a real HTTP/1.1 server on loopback that misbehaves on cue.

The server is a thread of this process speaking HTTP/1.1 with keep-alive; each test scripts its answers
(a body cut short, 429/503 with Retry-After, a connection closed between two requests) and the server
records every request with the client's port, so connection reuse and per-process connections show.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from aftermath.errors import RepositoryError
from aftermath.restic import backend as backend_mod
from aftermath.restic.backend import RestBackend, S3Backend

DATA = bytes(range(256)) * 4096  # 1 MiB
PACK = "data/ab/ab" + "0" * 62


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    port: int  # the client's port: one per connection


@dataclass
class Script:
    """What the server answers: ``answer`` gets the request number (from 0) and the request, and acts."""

    answer: Callable[[int, BaseHTTPRequestHandler], None]
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None,
         cut: int | None = None) -> None:
    """Answer ``status`` with ``body`` (a range of it when asked); ``cut``: send only that many bytes, then close."""
    rng = handler.headers.get("Range")
    if rng and status == 200:
        start, end = (int(x) for x in rng.removeprefix("bytes=").split("-"))
        body, status = body[start:end + 1], 206
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body if cut is None else body[:cut])
    handler.wfile.flush()
    if cut is not None:
        handler.close_connection = True


@contextmanager
def serving(script: Script, context: ssl.SSLContext | None = None) -> Iterator[int]:
    """An HTTP/1.1 server (https with ``context``) answering as ``script`` says; yields its port."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            with script.lock:
                number = len(script.seen)
                script.seen.append(Seen("GET", self.path, dict(self.headers.items()), self.client_address[1]))
            script.answer(number, self)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    if context is not None:
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture()
def server() -> Iterator[tuple[int, Script]]:
    script = Script(lambda n, h: send(h, 200, DATA))
    with serving(script) as port:
        yield port, script


def rest(port: int) -> RestBackend:
    return RestBackend(f"http://127.0.0.1:{port}/repo/", {"RESTIC_REST_USERNAME": "u",
                                                         "RESTIC_REST_PASSWORD": "hunter2"})


S3_ENV = {"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "s3-secret-value",
          "AWS_DEFAULT_REGION": "eu-west-1"}


def s3(port: int) -> S3Backend:
    return S3Backend(f"http://127.0.0.1:{port}/bucket/repo", S3_ENV)


@pytest.mark.parametrize("make", [rest, s3], ids=["rest", "s3"])
def test_ranges_are_read_whole_on_one_kept_alive_connection(server: tuple[int, Script],
                                                            make: Callable[[int], backend_mod.Backend]) -> None:
    port, script = server
    b = make(port)
    got = [b.read_range(PACK, offset, 100_000) for offset in (0, 500_000, 948_576)]
    assert got == [DATA[0:100_000], DATA[500_000:600_000], DATA[948_576:]]
    assert b.read(PACK) == DATA
    assert len(script.seen) == 4 and len({s.port for s in script.seen}) == 1  # one connection for all
    first = script.seen[0]
    if make is rest:
        assert first.path == f"/repo/data/{PACK.rsplit('/', 1)[1]}" and first.headers["Range"] == "bytes=0-99999"
        assert first.headers["Authorization"].startswith("Basic ")
    else:  # path-style, signed with SigV4 for the region in the environment, the secret never sent
        assert first.path == f"/bucket/repo/{PACK}"
        assert first.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDTEST/")
        assert "/eu-west-1/s3/aws4_request" in first.headers["Authorization"]
        assert "range" in first.headers["Authorization"]  # the Range header is signed
        assert all("s3-secret-value" not in v for s in script.seen for v in s.headers.values())
    b.close()


@pytest.mark.parametrize("make", [rest, s3], ids=["rest", "s3"])
def test_a_body_cut_short_is_retried_then_named(server: tuple[int, Script], monkeypatch: pytest.MonkeyPatch,
                                                make: Callable[[int], backend_mod.Backend]) -> None:
    monkeypatch.setattr(backend_mod, "BACKOFF", 0.01)
    port, script = server
    script.answer = lambda n, h: send(h, 200, DATA, cut=1000 if n < 2 else None)  # two cut, then whole
    b = make(port)
    assert b.read_range(PACK, 0, 300_000) == DATA[:300_000]
    assert len(script.seen) == 3

    script.seen.clear()
    script.answer = lambda n, h: send(h, 200, DATA, cut=1000)  # always cut
    with pytest.raises(RepositoryError) as caught:
        b.read_range(PACK, 0, 300_000)
    message = caught.value.message
    assert f"reading {backend_mod._rest_path(PACK) if make is rest else PACK}" in message
    assert b.location in message and "kept failing after 5 attempts" in message
    assert "ended after 1000 of 300000 bytes" in message and "hunter2" not in message
    assert len(script.seen) == backend_mod.ATTEMPTS


@pytest.mark.parametrize(("make", "status", "extra"), [
    (rest, 429, {}), (rest, 503, {}),
    (s3, 503, {"Content-Type": "application/xml"}),  # S3's SlowDown
], ids=["rest-429", "rest-503", "s3-slowdown"])
def test_throttling_with_retry_after_slows_down_instead_of_failing(
        server: tuple[int, Script], make: Callable[[int], backend_mod.Backend], status: int,
        extra: dict[str, str]) -> None:
    port, script = server
    slow = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"

    def answer(n: int, h: BaseHTTPRequestHandler) -> None:
        if n < 7:  # more than the 5 attempts a dropped connection gets
            send(h, status, slow, {"Retry-After": "0.2", **extra})
        else:
            send(h, 200, DATA)

    script.answer = answer
    start = time.monotonic()
    assert make(port).read_range(PACK, 10, 20) == DATA[10:30]
    waited = time.monotonic() - start
    assert len(script.seen) == 8
    assert waited >= 7 * 0.1  # each wait is Retry-After with jitter (0.5–1×), not the backoff's 0.2 s doubling
    assert waited < 7 * 0.2 + 2


@pytest.mark.parametrize("make", [rest, s3], ids=["rest", "s3"])
def test_a_kept_alive_connection_closed_by_the_server_is_reopened_without_a_retry(
        server: tuple[int, Script], monkeypatch: pytest.MonkeyPatch,
        make: Callable[[int], backend_mod.Backend]) -> None:
    monkeypatch.setattr(backend_mod, "BACKOFF", 5.0)  # a retry through the backoff would show in the time
    port, script = server

    def answer(n: int, h: BaseHTTPRequestHandler) -> None:
        send(h, 200, DATA)
        h.close_connection = True  # closes after answering, without saying so (no "Connection: close")

    script.answer = answer
    b = make(port)
    start = time.monotonic()
    got = [b.read_range(PACK, offset, 1000) for offset in (0, 1000, 2000)]
    assert got == [DATA[0:1000], DATA[1000:2000], DATA[2000:3000]]
    assert time.monotonic() - start < 2.0
    assert len(script.seen) == 3 and len({s.port for s in script.seen}) == 3  # each request on a new connection
    if isinstance(b, RestBackend):
        assert b.pool.opened == 3
    else:
        assert isinstance(b, S3Backend) and b._reads is not None and b._reads.pool.opened == 3


@pytest.mark.parametrize("make", [rest, s3], ids=["rest", "s3"])
def test_a_forked_child_reads_on_its_own_connection(server: tuple[int, Script],
                                                    make: Callable[[int], backend_mod.Backend]) -> None:
    port, script = server
    b = make(port)
    assert b.read_range(PACK, 0, 10) == DATA[:10]
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: read twice, say whether the bytes were right
        ok = b.read_range(PACK, 10, 10) == DATA[10:20] and b.read_range(PACK, 20, 10) == DATA[20:30]
        os.write(write_end, b"ok" if ok else b"bad")
        os._exit(0)
    os.close(write_end)
    assert os.read(read_end, 10) == b"ok"
    os.waitpid(pid, 0)
    os.close(read_end)
    assert b.read_range(PACK, 30, 10) == DATA[30:40]
    ports = [s.port for s in script.seen]
    assert len(ports) == 4
    parent, child = {ports[0], ports[3]}, {ports[1], ports[2]}
    assert len(parent) == 1 and len(child) == 1 and parent != child  # the parent's connection, untouched


def test_a_refused_answer_is_named_in_one_line(server: tuple[int, Script]) -> None:
    port, script = server
    script.answer = lambda n, h: send(h, 401, b"no")
    with pytest.raises(RepositoryError, match=r"refused access \(HTTP 401\): check RESTIC_REST_USERNAME"):
        rest(port).read(PACK)
    script.answer = lambda n, h: send(h, 404, b"")
    with pytest.raises(backend_mod.Missing, match="does not exist"):
        rest(port).read(PACK)


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by its own key (files: certificate, key)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "aftermath test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return folder / "cert.pem", folder / "key.pem"


def test_https_verifies_the_certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over https an unknown certificate is refused (retried, then named); trusted through SSL_CERT_FILE it reads."""
    monkeypatch.setattr(backend_mod, "BACKOFF", 0.01)
    cert, key = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    script = Script(lambda n, h: send(h, 200, DATA))
    with serving(script, context) as port:
        location = f"https://127.0.0.1:{port}/repo/"
        with pytest.raises(RepositoryError, match="CERTIFICATE_VERIFY_FAILED"):
            RestBackend(location, {}).read(PACK)
        assert script.seen == []  # nothing was sent to a server that could not be trusted
        assert RestBackend(location, {"SSL_CERT_FILE": str(cert)}).read(PACK) == DATA
        assert len(script.seen) == 1


@pytest.mark.parametrize(("location", "url"), [
    ("s3:s3.amazonaws.com/acme-backups/server1", "https://acme-backups.s3.eu-west-1.amazonaws.com/server1/config"),
    ("s3:s3.amazonaws.com/acme.backups/server1", "https://s3.eu-west-1.amazonaws.com/acme.backups/server1/config"),
    ("s3:https://minio.example:9000/backups/r", "https://minio.example:9000/backups/r/config"),
])
def test_s3_reads_address_the_bucket_as_boto3_does(location: str, url: str) -> None:
    """On AWS (the region's endpoint, as boto3 resolves it) the bucket goes in the host name, unless a dot in it
    would not match the certificate."""
    b = backend_mod.open_backend(location, S3_ENV)
    assert isinstance(b, S3Backend)
    reads = b._fast()
    assert reads is not None
    assert reads._origin + reads._prefix + b._key("config") == url


def listing_page(keys: list[str], token: str | None) -> bytes:
    items = "".join(f"<Contents><Key>{k}</Key><Size>{len(k)}</Size></Contents>" for k in keys)
    more = f"<IsTruncated>true</IsTruncated><NextContinuationToken>{token}</NextContinuationToken>" if token else \
        "<IsTruncated>false</IsTruncated>"
    return (f'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            f"<Name>bucket</Name>{items}{more}</ListBucketResult>").encode()


def test_s3_listing_is_signed_paged_and_needs_no_s3_client(server: tuple[int, Script], tmp_path: Path) -> None:
    """With the keys in the environment and the endpoint in the location, listing and reading import no boto3."""
    import subprocess
    import sys
    from urllib.parse import parse_qs, urlsplit

    port, script = server
    token = "page/2+=="  # characters that must be percent-encoded, and signed as sent

    def answer(n: int, h: BaseHTTPRequestHandler) -> None:
        query = parse_qs(urlsplit(h.path).query)
        if "list-type" not in query:
            send(h, 200, DATA)
        elif "continuation-token" not in query:
            send(h, 200, listing_page(["repo/data/ab/ab01", "repo/data/ab/ab02"], token))
        else:
            assert query["continuation-token"] == [token]
            send(h, 200, listing_page(["repo/data/cd/cd03"], None))

    script.answer = answer
    program = f"""
import sys
from aftermath.restic.backend import S3Backend
b = S3Backend("http://127.0.0.1:{port}/bucket/repo", {S3_ENV!r})
files = b.list("data")
assert [(f.name, f.path, f.size) for f in files] == [
    ("ab01", "data/ab/ab01", 17), ("ab02", "data/ab/ab02", 17), ("cd03", "data/cd/cd03", 17)], files
assert b.read_range("data/ab/ab01", 5, 10) == bytes(range(5, 15))
print("boto3" in sys.modules)
"""
    r = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"
    lists = [s for s in script.seen if "list-type" in s.path]
    assert [urlsplit(s.path).path for s in lists] == ["/bucket", "/bucket"]
    assert parse_qs(urlsplit(lists[0].path).query) == {"list-type": ["2"], "prefix": ["repo/data/"]}
    assert "continuation-token=page%2F2%2B%3D%3D" in lists[1].path
    assert all(s.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDTEST/") for s in script.seen)


def test_an_s3_listing_that_is_not_one_goes_to_the_s3_client(server: tuple[int, Script]) -> None:
    """A listing answer that is an error (or not a listing) is asked again through boto3, which names it."""
    port, script = server
    denied = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidAccessKeyId</Code>'
              b"<Message>The AWS Access Key Id you provided does not exist in our records.</Message></Error>")
    script.answer = lambda n, h: send(h, 403, denied, {"Content-Type": "application/xml"})
    with pytest.raises(RepositoryError, match=r"refused the credentials \(InvalidAccessKeyId\): check AWS_ACCESS"):
        s3(port).list("data")
    assert len(script.seen) == 2  # ours, then the S3 client's
    assert "Botocore" in script.seen[1].headers.get("User-Agent", "")
