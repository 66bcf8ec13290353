"""The restore workflow over a case: plan, approve, apply, verify, promote — each step journaled."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aftermath.case.journal import canonical
from aftermath.errors import StateError, UsageError
from aftermath.protect import drill, records
from aftermath.protect.manifest import compare
from aftermath.recover import apply as applying
from aftermath.recover import promote as promoting
from aftermath.recover import verify as verifying
from aftermath.recover.listing import facts_from_review, list_versions, load_review, snapshot_infos
from aftermath.recover.plan import (
    Entry,
    Plan,
    PlanError,
    ReviewFacts,
    Strategy,
    last_clean_points,
    plan_last_clean,
    plan_surgical,
)
from aftermath.restic import Repository
from aftermath.review.local import scan_tree
from aftermath.review.scanners import default_scanners

if TYPE_CHECKING:
    from aftermath.case import Case


def plan_bytes(plan: Plan) -> bytes:
    """The canonical bytes of a plan: what is hashed, saved and approved."""
    return canonical(plan.to_json())


def make_plan(case: Case, repo: Repository, location: str, strategy: Strategy, review_path: Path | None,
              snapshot: str | None = None, include_new: bool = False, now: datetime | None = None) -> Plan:
    """Build a plan from the repository and a review; save it in the case with its hash."""
    review, review_sha = _review(case, review_path)
    facts = facts_from_review(review) if review else ReviewFacts({}, {}, None)
    snapshots = repo.snapshots()
    if review:
        reviewed = set(facts.verdicts)
        snapshots = [s for s in snapshots if s.id in reviewed]
    if snapshot:
        chosen = repo.snapshot(snapshot)
        snapshots = [s for s in snapshots if s.id == chosen.id] or [chosen]
        snapshot = chosen.id
    if not snapshots:
        raise UsageError("no reviewed snapshot in the repository: run 'aftermath review' first")
    infos = snapshot_infos(snapshots, facts)
    if strategy == "surgical":
        wanted = snapshots
    else:
        points = {snapshot} if snapshot else {p.id for p in last_clean_points(infos, facts)}
        wanted = [s for s in snapshots if s.id in points]
    listing = list_versions(repo, wanted)
    created = (now or datetime.now(UTC)).isoformat()
    try:
        if strategy == "last-clean":
            plan = plan_last_clean(infos, listing, facts, location, created, snapshot)
        else:
            plan = plan_surgical(infos, listing, facts, location, created, include_new)
    except PlanError as exc:
        raise StateError(str(exc)) from exc
    plan.review_sha256 = review_sha
    doc = case.save_document("restore-plan", f"plan-{strategy}.json", plan_bytes(plan))
    case.write("restore.plan", doc.sha256, {"strategy": strategy, "totals": plan.totals(), "review": review_sha,
                                            "snapshots": plan.snapshots})
    return plan


def _review(case: Case, path: Path | None) -> tuple[dict[str, Any] | None, str | None]:
    if path is not None:
        return load_review(path)
    reviews = case.evidence_items("review")
    if not reviews:
        return None, None
    return load_review(reviews[-1].path)


def load_plan(path: Path) -> tuple[Plan, str]:
    """Read a plan file; its SHA-256 is over its canonical bytes, so formatting does not matter."""
    try:
        plan = Plan.from_json(json.loads(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise UsageError(f"cannot read plan {path}: {exc.strerror}") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{path} is not a restore plan: {exc}") from exc
    return plan, hashlib.sha256(plan_bytes(plan)).hexdigest()


def approve(case: Case, plan_path: Path, note: str = "") -> str:
    """Record who approved the plan (by its hash) in the journal."""
    plan, sha = load_plan(plan_path)
    case.write("restore.approve", sha, {"strategy": plan.strategy, "totals": plan.totals(), "note": note})
    return sha


def approved(case: Case, sha: str) -> bool:
    """Whether the journal holds an approval of this exact plan."""
    return any(e.subject == sha for e in case.entries("restore.approve"))


def require_approved(case: Case, sha: str) -> None:
    """Refuse a plan this case's journal has not approved (a plan made by another case among them)."""
    if not approved(case, sha):
        raise StateError("this plan was not approved in this case: read it, then run 'aftermath restore approve "
                         "PLAN' here (a plan made by another case is checked against that case's repository)")


def apply(case: Case, repo: Repository, plan_path: Path, staging: Path,
          progress: applying.Progress | None = None) -> applying.ApplyResult:
    """Apply an approved plan into staging (resumable), journaling the outcome."""
    plan, sha = load_plan(plan_path)
    require_approved(case, sha)
    case.write("restore.apply.start", str(staging.resolve()), {"plan": sha})
    result = applying.apply_plan(case, repo, plan, sha, staging, progress)
    case.write("restore.apply", str(staging.resolve()),
               {"plan": sha, "written": result.written, "resumed": result.resumed, "bytes": result.bytes,
                "failed": result.failed, "held_as_evidence": result.evidence, "left_to_decide": len(result.decide)})
    return result


def verify(case: Case, repo: Repository, plan_path: Path, staging: Path,
           scan: verifying.TreeScanner | None = None,
           check_db: verifying.DbChecker | None = None) -> verifying.VerifyResult:
    """Verify staging against the repository and rescan it; on success record the fingerprint."""
    plan, sha = load_plan(plan_path)
    result = verifying.verify_staging(repo, plan, staging, scan, check_db)
    record = applying.state_path(case, staging).with_suffix(".verified.json")
    record.unlink(missing_ok=True)
    if result.ok:
        verifying.save_verified(record, sha, staging, result)
    case.write("restore.verify", str(staging.resolve()),
               {"plan": sha, "ok": result.ok, "checked": result.checked, "problems": result.problems[:50],
                "databases": result.databases})
    return result


def promote(case: Case, staging: Path, target: Path, clock: Callable[[], datetime] | None = None
            ) -> promoting.Promotion:
    """Promote a verified, unchanged staging tree (or a folder inside it) to the target."""
    records = sorted((case.root / ".aftermath" / "restores").glob("*.verified.json"))
    record, prefix = promoting.find_verified(records, staging)
    promoting.check_unchanged(record, staging, prefix)
    result = promoting.promote(staging, target, clock() if clock else None)
    case.write("restore.promote", str(result.target),
               {"from": str(staging.resolve()), "kept_old": str(result.kept_old) if result.kept_old else None,
                "atomic": result.atomic, "plan": record["plan"]})
    return result


def database_checker(case: Case) -> verifying.DbChecker:
    """Check restored database dumps against the manifest recorded when they were backed up.

    A restored SQLite copy is opened; a PostgreSQL dump is loaded into a scratch database on the source's
    server (as ``protect drill`` does). Returns None for files that are not database backups.
    """
    history = {r.snapshot_id: r for r in records.snapshots(case)}

    def check(entry: Entry, staged: Path) -> list[str] | None:
        rec = history.get(entry.snapshot or "")
        if rec is None or rec.kind == "path":
            return None
        manifest = records.load_manifest(case, rec)
        if manifest.location != entry.path:
            return None
        if not staged.is_file():
            return ["database dump missing from staging"]
        actual = drill.observe(case, manifest, staged)
        return [f"{m.item}: expected {m.expected}, found {m.actual}" for m in compare(manifest.contents, actual)]

    return check


def tree_scanner(rules: list[Path], iocs: list[Path]) -> verifying.TreeScanner:
    """Rescan a staging tree with the review's scanners; infected or encrypted findings fail verification."""
    scanners = default_scanners(rules, iocs)

    def scan(root: Path) -> list[str]:
        errors: list[str] = []
        found = scan_tree(root, scanners, errors)
        bad = [f"{f.path}: {f.rule} ({f.reason})" for f in found if f.severity in ("infected", "encrypted")]
        return bad + [f"not scanned: {e}" for e in errors]

    return scan


def default_checks(case: Case, rules: list[Path] | None = None,
                   iocs: list[Path] | None = None) -> tuple[verifying.TreeScanner, verifying.DbChecker]:
    """The checks ``restore verify`` runs: the review's scanners and the protect manifests."""
    return tree_scanner(rules or [], iocs or []), database_checker(case)
