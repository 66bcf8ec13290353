from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aftermath.errors import (
    IntegrityError,
    Interrupted,
    PasswordError,
    RepositoryError,
    StateError,
    StorageError,
    ToolError,
)
from aftermath.protect.restic_cli import Lock, dead_locks, parse_time, redact, translate


@pytest.mark.parametrize(("code", "stderr", "cls"), [
    (1, "Fatal: wrong password or no key found\n", PasswordError),
    (12, "", PasswordError),
    (1, "Fatal: unable to open config file: stat /x/config: no such file or directory\n"
        "Is there a repository at the following location?\n/x\n", RepositoryError),
    (10, "", RepositoryError),
    (1, "Fatal: unable to open repository at /x: ReadDir: open /x/keys: not a directory", RepositoryError),
    (1, "unable to create lock in backend: repository is already locked exclusively by PID 7", StateError),
    (1, "ignoring error for /a: write /t/a: no space left on device\nFatal: There were 1 errors", StorageError),
    (1, "ignoring error for /a: ciphertext verification failed\nFatal: There were 2 errors", IntegrityError),
    (130, "", Interrupted),
    (-9, "", ToolError),
    (1, "Fatal: something else", ToolError),
    (42, "odd", ToolError),
])
def test_exit_codes_and_messages_are_translated(code: int, stderr: str, cls: type):
    err = translate(code, stderr, "doing it")
    assert type(err) is cls
    assert "doing it" in err.message


def test_success_is_only_zero():
    assert translate(0, "", "x") is None
    for code in (2, 3, 4, 5, 99):
        assert translate(code, "", "x") is not None


def test_unknown_code_names_the_code():
    err = translate(77, "", "listing")
    assert err is not None and "77" in err.message


def test_credentials_in_urls_are_redacted():
    text = "Fatal: unable to open rest:https://alice:s3cret@backup.example/repo"
    assert "s3cret" not in redact(text) and "alice" not in redact(text)
    err = translate(1, text, "opening")
    assert err is not None and "s3cret" not in err.message


def test_parse_time_handles_nanoseconds_and_offsets():
    assert parse_time("2024-01-02T03:04:05.123456789Z") == datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    assert parse_time("2024-01-02T03:04:05+00:00") == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_only_locks_of_dead_processes_on_this_host_are_stale():
    locks = [Lock("a", "me", 10, False, ""), Lock("b", "me", 11, True, ""), Lock("c", "other", 10, False, ""),
             Lock("d", "me", 0, False, "")]
    assert [lk.id for lk in dead_locks(locks, "me", alive=lambda pid: pid == 11)] == ["a"]
