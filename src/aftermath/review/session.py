"""The edges of a review run: which repository and password to use, and what goes into the case."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from aftermath.case import Case
from aftermath.errors import PasswordError, UsageError
from aftermath.restic import Repository
from aftermath.review.report import to_json_text
from aftermath.review.result import ReviewResult

PASSWORD_ENV = "AFTERMATH_REPO_PASSWORD_FILE"


def read_password_file(path: Path) -> bytes:
    """A password file's first line (restic's convention: trailing newline ignored)."""
    try:
        return path.read_bytes().rstrip(b"\r\n")
    except OSError as exc:
        raise PasswordError(f"cannot read password file {path}: {exc.strerror}") from exc


def open_repository(case: Case | None, repo: str | None, password_file: Path | None,
                    environ: Mapping[str, str] = os.environ) -> tuple[Repository, str]:
    """Open the repository named by ``repo`` or the case; the password from --password-file,
    $AFTERMATH_REPO_PASSWORD_FILE, or the case, in that order."""
    if repo is None and case is None:
        raise UsageError("no repository: give --repo PATH, or run inside a case folder (see 'aftermath init')")
    location = repo if repo is not None else case.config.repository.location(case.root)  # type: ignore[union-attr]
    if password_file is None and environ.get(PASSWORD_ENV):
        password_file = Path(environ[PASSWORD_ENV])
    if password_file is not None:
        password = read_password_file(password_file)
    elif case is not None:
        password = case.config.repository.password(case.root)
    else:
        raise PasswordError(f"no repository password: give --password-file FILE or set ${PASSWORD_ENV}")
    return Repository.open(location, password), location


def record(case: Case, result: ReviewResult, now: datetime | None = None) -> None:
    """Keep the JSON review as a case document and journal its summary."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    doc = case.save_document("review", f"review-{stamp}.json", to_json_text(result).encode(),
                             description=f"backup review of {result.repository}")
    case.write("review.run", result.repository, {**result.summary(), "document": doc.sha256})
