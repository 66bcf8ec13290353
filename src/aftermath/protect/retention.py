"""``protect forget``: apply the retention policy per source, then prune."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aftermath.case.config import Retention
from aftermath.protect.backup import clear_dead_locks, restic_for

if TYPE_CHECKING:
    from aftermath.case import Case


def keep_args(policy: Retention) -> list[str]:
    """restic's --keep-* options for a policy; a zero keeps none of that kind (the option is left out)."""
    args: list[str] = []
    for flag, value in (("--keep-daily", policy.daily), ("--keep-weekly", policy.weekly),
                        ("--keep-monthly", policy.monthly)):
        if value > 0:
            args += [flag, str(value)]
    if not args:
        # restic refuses to forget everything without a policy; so do we
        args = ["--keep-last", "1"]
    return args


def forget(case: Case, prune: bool = True) -> list[str]:
    """Forget snapshots outside the policy (grouped by host and tags, so each source keeps its own), then prune."""
    restic = restic_for(case)
    clear_dead_locks(case, restic)
    policy = case.config.protect.retention
    removed = restic.forget(keep_args(policy), group_by="host,tags")
    if prune:
        restic.prune()
    case.write("protect.forget", "repository", {"removed": removed, "pruned": prune,
                                                 "policy": policy.model_dump()})
    return removed
