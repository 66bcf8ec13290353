"""``notify send`` against a real SMTP server on loopback (aiosmtpd): every notice arrives, once.

The sink is the real ``aftermath notify sink`` in its own process; the sender is the real command,
killed with SIGKILL at random moments while it delivers.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from aftermath.case import Case
from aftermath.notify.delivery import outbox, send
from aftermath.notify.delivery.smtp import Settings
from aftermath.notify.letters.run import letters
from tests.conftest import run_cli
from tests.notify.letters.helpers import TODAY, many_people, write_inputs

SRC = str(Path(__file__).resolve().parents[3] / "src")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail(f"nothing listens on {port}")


@pytest.fixture()
def sink(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    port, folder = free_port(), tmp_path / "sink"
    proc = subprocess.Popen([sys.executable, "-m", "aftermath", "notify", "sink", "--port", str(port), "--dir",
                             str(folder), "--reject", "p00003@example.com"],
                            env={**os.environ, "PYTHONPATH": SRC}, stdout=subprocess.DEVNULL)
    try:
        wait_port(port)
        yield port, folder
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def received(folder: Path) -> Counter[str]:
    ids: Counter[str] = Counter()
    for path in folder.glob("*.eml"):
        ids[str(email.message_from_bytes(path.read_bytes(), policy=email.policy.default)["Message-ID"])] += 1
    return ids


def fill(case: Case, tmp_path: Path, n: int) -> dict[str, str]:
    paths = write_inputs(tmp_path / "in", people=many_people(n))
    letters(paths["plan"], paths["people"], paths["incident"], case.root / "notices", case, None, TODAY)
    return {r.message_id: r.recipient for r in outbox.notices(case) if r.channel == "email"}


@pytest.mark.slow
@pytest.mark.parametrize("connections", [1, 4])
def test_sigkill_at_random_moments_loses_nothing_and_repeats_never_outnumber_kills(
        case: Case, tmp_path: Path, sink: tuple[int, Path], connections: int) -> None:
    """With one connection the repeats never outnumber the kills; with C, never C times the kills.

    Each connection has at most one message in flight, so a kill can leave at most C ambiguous messages.
    """
    port, folder = sink
    expected = fill(case, tmp_path, 80)
    rng = random.Random(15)
    kills = 0
    cmd = [sys.executable, "-m", "aftermath", "--case", str(case.root), "notify", "send", "--smtp",
           f"127.0.0.1:{port}", "--rate", "40", "--connections", str(connections)]
    for _ in range(20):
        before = len(list(folder.glob("*.eml")))
        proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": SRC}, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        end = time.monotonic() + 60
        while proc.poll() is None and len(list(folder.glob("*.eml"))) == before and time.monotonic() < end:
            time.sleep(0.02)  # wait until this run is delivering, then kill it at a random moment
        time.sleep(rng.uniform(0, 0.2))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    final = run_cli("--case", str(case.root), "notify", "send", "--smtp", f"127.0.0.1:{port}")
    assert final.code in (0, 1), final.err  # 1 when this run met p00003, whom the sink refuses
    got = received(folder)
    refused = {m for m, r in expected.items() if r == "p00003@example.com"}
    assert set(got) == set(expected) - refused
    repeats = sum(got.values()) - len(got)
    print(f"\nSIGKILL test, {connections} connections: {kills} kills, {repeats} messages received twice, "
          f"{len(got)} distinct")
    assert kills >= 10, "the sender finished before most kills: make it slower"
    assert repeats <= kills * connections
    statuses = outbox.counts(case)
    assert statuses == {"sent": len(expected) - 1, "moved_to_post": 1}
    assert outbox.suppressed(case) == {"p00003@example.com"}
    assert case.verify().ok


def test_rerun_after_completion_sends_nothing(case: Case, tmp_path: Path, sink: tuple[int, Path]) -> None:
    port, folder = sink
    expected = fill(case, tmp_path, 5)
    report = send.run(case, Settings("127.0.0.1", port), send.Options())
    assert report.outcomes == Counter({"sent": 4, "permanent": 1})
    again = send.run(case, Settings("127.0.0.1", port), send.Options())
    assert not again.outcomes
    assert sum(received(folder).values()) == len(expected) - 1


class Flaky:
    """A server that drops the connection in the middle of the first message, and refuses a sender."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.dropped = folder, 0

    async def handle_MAIL(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]  # noqa: N802
        if address == "spam@bad.example":
            return "553 5.7.1 sender not allowed"
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        if not self.dropped:
            self.dropped += 1
            server.transport.close()  # mid-message: no reply to DATA
            await asyncio.sleep(0.1)
            return "421 closing"
        (self.folder / f"{time.time_ns()}.eml").write_bytes(envelope.original_content)
        return "250 OK"


def test_connection_dropped_mid_message_is_retried_and_sender_refused_is_one_clear_line(
        case: Case, tmp_path: Path) -> None:
    folder = tmp_path / "flaky"
    folder.mkdir()
    handler = Flaky(folder)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        expected = fill(case, tmp_path, 3)
        refused = run_cli("--case", str(case.root), "notify", "send", "--smtp", f"127.0.0.1:{port}",
                          "--from", "spam@bad.example")
        assert refused.code == 2
        assert "refused the sender 'spam@bad.example' (553" in refused.err
        assert refused.err.count("\n") == 1
        report = send.run(case, Settings("127.0.0.1", port), send.Options(backoff=0.05))
    finally:
        controller.stop()
    assert handler.dropped == 1
    assert report.outcomes["temporary"] == 1 and report.outcomes["sent"] == len(expected)
    assert set(received(folder)) == set(expected)
    assert outbox.counts(case) == {"sent": len(expected)}


class Accept:
    """A server that accepts every message (and keeps nothing)."""

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        return "250 OK"


def login_server(port: int, seen: list[tuple[str, str]]) -> Controller:
    """A server that requires a login and notes each (user, password) it is given."""
    def authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        from aiosmtpd.smtp import AuthResult

        seen.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=True)

    return Controller(Accept(), hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=False)


def test_credentials_come_from_the_environment_never_argv(case: Case, tmp_path: Path) -> None:
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret-value\n")
    os.chmod(secret, 0o600)
    seen: list[tuple[str, str]] = []
    port = free_port()
    controller = login_server(port, seen)
    controller.start()
    try:
        fill(case, tmp_path, 2)
        result = run_cli("--case", str(case.root), "notify", "send", "--smtp", f"127.0.0.1:{port}",
                         env={"AFTERMATH_SMTP_USER": "mailer", "AFTERMATH_SMTP_PASSWORD_FILE": str(secret)})
    finally:
        controller.stop()
    assert result.code == 0, result.err
    assert seen and seen[0] == ("mailer", "s3cret-value")
    journal = " ".join(str(e.data) for e in case.entries())
    assert "s3cret-value" not in journal + result.out + result.err


def test_unreachable_server_is_one_line_exit_7_and_leaves_every_notice_pending(case: Case, tmp_path: Path) -> None:
    fill(case, tmp_path, 2)
    result = run_cli("--case", str(case.root), "notify", "send", "--smtp", f"127.0.0.1:{free_port()}")
    assert result.code == 7 and "cannot reach the SMTP server" in result.err and result.err.count("\n") == 1
    assert outbox.counts(case) == {"pending": 2}
    assert outbox.recover(case) == 0  # nothing was left ambiguous


def test_smtp_settings_from_aftermath_toml_with_the_password_named_never_written(case: Case, tmp_path: Path) -> None:
    secret = case.root / ".aftermath" / "smtp-password"
    secret.write_text("t0ml-secret\n")
    os.chmod(secret, 0o600)
    seen: list[tuple[str, str]] = []
    port = free_port()
    config = case.root / "aftermath.toml"
    config.write_text(config.read_text() + f'\n[notify.smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
                      'user = "tomluser"\npassword_file = ".aftermath/smtp-password"\n')
    controller = login_server(port, seen)
    controller.start()
    try:
        fill(case, tmp_path, 2)
        result = run_cli("--case", str(case.root), "notify", "send")
    finally:
        controller.stop()
    assert result.code == 0, result.err
    assert seen and seen[0] == ("tomluser", "t0ml-secret")
    assert "t0ml-secret" not in " ".join(str(e.data) for e in case.entries()) + result.out + result.err
    assert outbox.counts(case) == {"sent": 2}
