"""Which repository to read and with which password: explicit options first, then the case's own.

One place for every command that reads a repository (review, restore, notify scope), so that they all
accept the same options in the same order: ``--repo``, ``--password-file``, then
``$AFTERMATH_REPO_PASSWORD_FILE``, then the case's configuration. The password never comes from argv.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from aftermath.errors import PasswordError, UsageError

if TYPE_CHECKING:  # only annotated here: commands given --repo never load the case store
    from aftermath.case.core import Case

PASSWORD_ENV = "AFTERMATH_REPO_PASSWORD_FILE"


def read_password_file(path: Path) -> bytes:
    """A password file's content without its trailing newline (restic's convention)."""
    try:
        password = path.read_bytes().rstrip(b"\r\n")
    except OSError as exc:
        raise PasswordError(f"cannot read password file {path}: {exc.strerror}") from exc
    if not password:  # not a wrong password: no password at all
        raise PasswordError(f"password file {path} is empty: write the repository password into it")
    return password


def resolve_repository(case: Case | None, repo: str | None, password_file: Path | None,
                       environ: Mapping[str, str] = os.environ) -> tuple[str, bytes]:
    """The repository location and its password (see module docs)."""
    if repo is None and case is None:
        raise UsageError("no repository: give --repo PATH, or run inside a case folder (see 'aftermath init')")
    location = repo if repo is not None else case.config.repository.location(case.root)  # type: ignore[union-attr]
    if password_file is None and environ.get(PASSWORD_ENV):
        password_file = Path(environ[PASSWORD_ENV])
    if password_file is not None:
        return location, read_password_file(password_file)
    if case is not None:
        return location, case.config.repository.password(case.root)
    raise PasswordError(f"no repository password: give --password-file FILE or set ${PASSWORD_ENV}")
