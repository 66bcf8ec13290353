"""``notify send --verp`` against the real sink (aiosmtpd), and a bounce found by its VERP return path alone."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from aftermath.case import Case
from aftermath.notify.delivery import outbox, sink, verp
from aftermath.notify.letters.run import letters
from tests.conftest import run_cli
from tests.notify.letters.helpers import TODAY, many_people, write_inputs
from tests.notify.letters.test_bounces import exim

SENDER = "notices@riverside.example"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    port, folder = free_port(), tmp_path / "sink"
    controller = sink.start(folder, port=port)
    try:
        yield port, folder
    finally:
        controller.stop()


def fill(case: Case, tmp_path: Path, n: int) -> dict[str, str]:
    paths = write_inputs(tmp_path / "in", people=many_people(n))
    letters(paths["plan"], paths["people"], paths["incident"], case.root / "notices", case, None, TODAY, pdf=False)
    return {r.message_id: r.recipient for r in outbox.notices(case) if r.channel == "email"}


def stored(folder: Path) -> dict[str, email.message.EmailMessage]:
    """What the sink kept, by Message-ID."""
    out = {}
    for path in folder.glob("*.eml"):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        out[str(msg["Message-ID"])] = msg
    return out


def lost_original(return_path: str, failed: str) -> bytes:
    """A bounce that kept nothing of the original: no Message-ID, the failed address a forwarding target.

    It reaches us only through the return path it was sent to: the receiving server writes it in
    Delivered-To and X-Original-To, and the bouncing server in To.
    """
    envelope = f"Return-Path: <>\nDelivered-To: {return_path}\nX-Original-To: {return_path}\n".encode()
    return envelope + exim(failed).replace(b"To: privacy@riverside.example", f"To: {return_path}".encode())


def test_verp_envelope_sender_carries_the_notice_token_and_only_verp_matches_a_bounce_without_the_original(
        case: Case, tmp_path: Path, server: tuple[int, Path]) -> None:
    port, folder = server
    expected = fill(case, tmp_path, 3)
    result = run_cli("--case", str(case.root), "notify", "send", "--smtp", f"127.0.0.1:{port}", "--from", SENDER,
                     "--verp")
    assert result.code == 0, result.err
    got = stored(folder)
    assert set(got) == set(expected)
    for mid, msg in got.items():
        local, domain = SENDER.split("@")
        assert msg["Return-Path"] == f"<{local}+{verp.token(mid)}@{domain}>"  # the MAIL FROM the sink was given
        assert str(msg["From"]) == SENDER
        recipient = expected[mid]
        assert recipient.split("@")[0] not in str(msg["Return-Path"])  # nothing of the person in the token
    first = next(iter(sorted(got)))
    return_path = str(got[first]["Return-Path"]).strip("<>")
    bounce = tmp_path / "lost.eml"
    bounce.write_bytes(lost_original(return_path, "old-address@forward.example"))
    # Without the return path nothing identifies the notice: the same bounce addressed elsewhere is unmatched.
    elsewhere = tmp_path / "elsewhere.eml"
    elsewhere.write_bytes(lost_original(SENDER, "old-address@forward.example"))
    unmatched = run_cli("--case", str(case.root), "notify", "bounces", str(elsewhere))
    assert unmatched.code == 1 and "no notice was sent to old-address@forward.example" in unmatched.err
    assert outbox.counts(case) == {"sent": 3}
    matched = run_cli("--case", str(case.root), "notify", "bounces", str(bounce))
    assert matched.code == 0, matched.err
    nid = next(r.id for r in outbox.notices(case) if r.message_id == first)
    assert (f"{bounce}: hard bounce from {expected[first]}: notice {nid[:12]} to {expected[first]}, "
            "matched by VERP return path") in matched.out
    assert "Matched by VERP return path 1, by quoted Message-ID 0, by recipient address 0" in matched.out
    states = {r.recipient: r.status for r in outbox.notices(case) if r.channel == "email"}
    assert states[expected[first]] == "bounced" and list(states.values()).count("sent") == 2
    assert outbox.suppressed(case) == {expected[first]}  # the address we mailed, not the forwarding target
    assert case.entries("notify.bounces")[-1].data["by_verp"] == 1


@pytest.mark.parametrize("flag", [None, "--no-verp"])
def test_verp_from_aftermath_toml_unless_no_verp_with_the_headers_sender_when_no_from(
        case: Case, tmp_path: Path, server: tuple[int, Path], flag: str | None) -> None:
    port, folder = server
    config = case.root / "aftermath.toml"
    config.write_text(config.read_text() + f'\n[notify.smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
                      "verp = true\n")
    expected = fill(case, tmp_path, 2)
    result = run_cli("--case", str(case.root), "notify", "send", *([flag] if flag else []))
    assert result.code == 0, result.err
    got = stored(folder)
    assert set(got) == set(expected)
    for mid, msg in got.items():
        local, _, domain = str(msg["From"]).rpartition("@")
        plain = f"<{local}@{domain}>"
        assert msg["Return-Path"] == (plain if flag else f"<{local}+{verp.token(mid)}@{domain}>")
