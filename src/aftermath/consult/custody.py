"""Evidence on disk against its recorded hash: what ``aftermath case verify`` adds to the journal check."""

from __future__ import annotations

from dataclasses import dataclass

from aftermath.case.core import Case
from aftermath.case.hashing import hash_file


@dataclass(frozen=True)
class Problem:
    """An evidence file that changed or vanished since it was registered."""

    evidence_id: int
    name: str
    path: str
    what: str  # "changed" or "missing"


def check_files(case: Case) -> tuple[int, list[Problem]]:
    """Re-hash every evidence file; return how many were checked and those that changed or vanished."""
    problems, checked = [], 0
    for item in case.evidence_items():
        checked += 1
        try:
            digest, _ = hash_file(item.path)
        except FileNotFoundError:
            problems.append(Problem(item.id, item.name, str(item.path), "missing"))
            continue
        except OSError as exc:
            problems.append(Problem(item.id, item.name, str(item.path), f"unreadable ({exc.strerror})"))
            continue
        if digest != item.sha256:
            problems.append(Problem(item.id, item.name, str(item.path), "changed"))
    return checked, problems
