"""One exception root; the class decides the exit code and what the user sees.

The exit-code table is published in the README and generated from ``EXIT_CODES`` below;
a test checks that the codes are unique and that the README matches.
"""

from __future__ import annotations

# code -> (name, meaning). 0 and 1 are outcomes, not errors.
EXIT_CODES: dict[int, tuple[str, str]] = {
    0: ("ok", "success"),
    1: ("findings", "finished, but found something or could not do everything (details in the output)"),
    2: ("usage", "usage error: wrong option, missing argument, malformed input file"),
    3: ("case", "no case here, or the case store or config is unusable"),
    4: ("password", "repository password is wrong or missing"),
    5: ("repository", "repository missing, unreadable or not a restic repository"),
    6: ("integrity", "data failed authentication or does not match its hash"),
    7: ("source", "a backup source or remote host is unreachable or gone"),
    8: ("storage", "disk full or output not writable"),
    9: ("tool", "an external tool failed or returned an unknown exit code"),
    10: ("state", "the operation is refused in the current state (not verified, not empty, changed)"),
    70: ("bug", "internal error: a bug in Aftermath; the traceback is printed, please report it"),
    130: ("interrupted", "interrupted by the user (Ctrl-C); partial work is kept and can be resumed"),
}


class AftermathError(Exception):
    """Base of every error Aftermath reports to a user.

    The message says what happened and what to do next, in one line.
    """

    exit_code = 9

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(AftermathError):
    """Bad options or malformed input."""

    exit_code = 2


class CaseError(AftermathError):
    """No case found, or the case store or config cannot be used."""

    exit_code = 3


class PasswordError(AftermathError):
    """The repository password is wrong or could not be obtained."""

    exit_code = 4


class RepositoryError(AftermathError):
    """The repository is missing, unreadable or not a restic repository."""

    exit_code = 5


class IntegrityError(AftermathError):
    """Data failed authentication or its hash does not match."""

    exit_code = 6


class SourceError(AftermathError):
    """A backup source, database or host cannot be reached."""

    exit_code = 7


class StorageError(AftermathError):
    """No space left, or the output cannot be written."""

    exit_code = 8


class ToolError(AftermathError):
    """An external tool failed or returned an exit code we do not know."""

    exit_code = 9


class StateError(AftermathError):
    """The operation is refused in the current state."""

    exit_code = 10


class Interrupted(AftermathError):
    """The user pressed Ctrl-C; partial work is kept."""

    exit_code = 130


def from_os_error(exc: OSError, what: str) -> AftermathError:
    """Translate an OSError at an edge into the error a user should see."""
    import errno

    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageError(f"no space left while {what}: free some space or choose another folder")
    if exc.errno == errno.EROFS:
        return StorageError(f"read-only filesystem while {what}: choose another folder, or remount it writable")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return StorageError(f"permission denied while {what}: {exc.filename or ''}".rstrip(": "))
    return StorageError(f"{what} failed: {exc.strerror or exc}")
