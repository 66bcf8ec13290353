"""The edges of a review run: which repository and password to use, and what goes into the case."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aftermath.case.access import resolve_repository
from aftermath.restic import Repository
from aftermath.review.report import to_json_text
from aftermath.review.result import ReviewResult

if TYPE_CHECKING:
    from aftermath.case import Case


def open_repository(case: Case | None, repo: str | None, password_file: Path | None,
                    environ: Mapping[str, str] = os.environ) -> tuple[Repository, str]:
    """Open the repository named by ``repo`` or the case (see :mod:`aftermath.case.access`)."""
    location, password = resolve_repository(case, repo, password_file, environ)
    return Repository.open(location, password), location


def record(case: Case, result: ReviewResult, now: datetime | None = None) -> None:
    """Keep the JSON review as a case document and journal its summary."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    doc = case.save_document("review", f"review-{stamp}.json", to_json_text(result).encode(),
                             description=f"backup review of {result.repository}")
    case.write("review.run", result.repository, {**result.summary(), "document": doc.sha256})
