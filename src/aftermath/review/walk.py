"""The dedup-aware walk: every snapshot gets a verdict, every distinct content is read and scanned once.

Three passes over a repository, the first two overlapping:

1. Structure: walk each snapshot's trees, skipping a subtree already walked at the same place (same tree
   id and path), and note for each distinct content (the tuple of its blob ids) which scans it needs:
   once per scanner, or once per distinct ``path_key`` for scanners that look at the name.
2. Contents: read each distinct content once and run the scans it needs, on worker processes. Batches
   go to the workers while the walk goes on (the walk is the parent's work; the workers would otherwise
   wait for it). A batch takes the scans its contents need from the paths seen so far; a content seen
   later under a path that needs a scan it has not had (another name, another folder) gets one more job
   with only those scans, after the walk. Unreadable contents are recorded, never scanned or trusted.
3. Snapshots: collect each snapshot's findings, memoised per (tree id, path), then the churn bursts
   between consecutive snapshots of the same host and paths (computed while the workers finish), the
   verdicts and the timeline.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from aftermath.restic import BlobError, Repository, Snapshot
from aftermath.review import churn, verdict
from aftermath.review.content import WINDOW, Outcome
from aftermath.review.pool import Blob, Failure, Job, Workers
from aftermath.review.result import ReadError, ReviewResult, SnapshotReview, Stats
from aftermath.review.scanner import Finding, Scanner, Verdict, content_only, path_key

if TYPE_CHECKING:
    from aftermath.review.cluster import ClusterWorkers

BATCH_BYTES = 16 << 20  # contents per batch sent to a worker
BATCH_FILES = 512

Identity = tuple[str, ...]


@dataclass(frozen=True)
class Progress:
    """Where the content pass is: distinct contents and their bytes, done and in total."""

    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int


ProgressCallback = Callable[[Progress], None]


@dataclass(slots=True)
class _Tree:
    files: list[tuple[str, Identity]] = field(default_factory=list)  # names interned, identities shared
    dirs: list[tuple[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class _Content:
    identity: Identity  # the one tuple every tree listing this content shares (trees repeat most files)
    size: int
    number: int  # its place in the walk's order
    paths: list[str] = field(default_factory=list)  # one path per distinct set of path keys it was seen under
    sent: int = 0  # how many of ``paths`` the jobs made so far took their scans from


class Review:
    """One review run over one repository (use :func:`run_review`)."""

    def __init__(self, repo: Repository, scanners: Sequence[Scanner], *,
                 progress: ProgressCallback | None = None) -> None:
        self.repo, self.scanners, self.progress = repo, list(scanners), progress
        self.trees: dict[str, _Tree] = {}
        self.contents: dict[Identity, _Content] = {}
        self.order: list[_Content] = []  # the contents by number, in the order the walk met them
        self.results: dict[tuple[Identity, int, str], list[Finding]] = {}
        self.unreadable: dict[Identity, BlobError] = {}
        self.errors: dict[str, ReadError] = {}  # by blob id
        self.partial: list[dict[str, str]] = []
        self.scans = self.bytes_done = self.files_done = self.windowed = 0
        self.bytes_total = 0
        self._memo: dict[tuple[str, str], tuple[list[Finding], int, int]] = {}
        self.bad_trees: set[str] = set()
        self.flagged: set[Identity] = set()  # contents with at least one finding
        self._by_path = [s for s in self.scanners if not content_only(s)]  # scanners that look at the path
        self.sent: dict[int, tuple[int, list[tuple[int, str, str]], bool]] = {}  # job -> content, scans, first?
        self.more: dict[int, None] = {}  # contents seen under new path keys after their first job (ordered)
        self.bursts: dict[str, list[Finding]] | None = None  # churn findings, once computed
        self._queued = 0  # contents (in order) whose first job is made or waiting to be
        self._jobs = 0  # jobs made

    # -- pass 1: structure ----------------------------------------------------------------------
    def tree(self, tree_id: str, path: str) -> _Tree:
        """A tree's files and folders, read once; an unreadable tree is recorded and read as empty."""
        known = self.trees.get(tree_id)
        if known is not None:
            return known
        out = _Tree()
        try:
            for node in self.repo.entries(tree_id):
                if node.is_file:
                    content = self.contents.get(node.identity)
                    if content is None:
                        content = self.contents[node.identity] = _Content(node.identity, node.size, len(self.order))
                        self.order.append(content)
                        self.bytes_total += node.size
                    out.files.append((sys.intern(node.name), content.identity))
                elif node.is_dir and node.subtree:
                    out.dirs.append((sys.intern(node.name), node.subtree))
        except BlobError as exc:
            self.errors.setdefault(exc.blob_id, ReadError(path or "/", exc.blob_id, exc.pack_id, exc.reason))
            self.bad_trees.add(tree_id)
        self.trees[tree_id] = out
        return out

    def collect(self, snapshots: Sequence[Snapshot]) -> None:
        """Note every distinct content and the scans it needs (the walk alone, no content read)."""
        for _ in self.walk(snapshots):
            pass

    def walk(self, snapshots: Sequence[Snapshot]) -> Iterator[None]:
        """Walk every snapshot's trees; yields after each folder (so contents can be sent meanwhile)."""
        visited: set[tuple[str, str]] = set()
        last: dict[str, _Tree] = {}  # the folder last walked at each place
        for snap in snapshots:
            stack = [("", snap.tree)]
            while stack:
                prefix, tree_id = stack.pop()
                if (tree_id, prefix) in visited:
                    continue  # the same subtree at the same place: walked already
                visited.add((tree_id, prefix))
                node = self.tree(tree_id, prefix)
                before = last.get(prefix)
                known = set(before.files) if before is not None else set()
                last[prefix] = node
                for name, identity in node.files:
                    if (name, identity) not in known:  # a changed folder re-lists its unchanged files
                        self._need(identity, f"{prefix}/{name}")
                stack.extend((f"{prefix}/{name}", sub) for name, sub in node.dirs)
                yield

    def _need(self, identity: Identity, path: str) -> None:
        """Keep ``path`` for this content unless a kept path gives every scanner the same key."""
        content = self.contents[identity]  # made when its tree was read
        if content.paths:
            keys = self._keys(path)
            if any(self._keys(p) == keys for p in content.paths):
                return
        content.paths.append(path)
        if content.sent:
            self.more[content.number] = None

    def _keys(self, path: str) -> tuple[str, ...]:
        return tuple(path_key(s, path) for s in self._by_path)

    def jobs(self, content: _Content, start: int = 0) -> list[tuple[int, str, str]]:
        """(scanner index, path key, path) for every scan a content needs, in a fixed order.

        With ``start``: only the scans that ``paths[start:]`` add to those of ``paths[:start]``.
        """
        out: list[tuple[int, str, str]] = []
        for index, scanner in enumerate(self.scanners):
            keys = {path_key(scanner, path) for path in content.paths[:start]}
            for path in content.paths[start:]:
                key = path_key(scanner, path)
                if key not in keys:
                    keys.add(key)
                    out.append((index, key, path))
        return out

    # -- pass 2: contents -----------------------------------------------------------------------
    def scan_contents(self, workers: Workers | ClusterWorkers, snapshots: Sequence[Snapshot] | None = None) -> None:
        """Read each distinct content once and run the scans it needs, on the worker processes.

        With ``snapshots``, walk them meanwhile (pass 1), sending contents as batches fill up, and compute
        the churn bursts while the workers finish the last batches; without, the walk was done before.
        """
        batch_bytes = getattr(workers, "batch_bytes", BATCH_BYTES)
        for results in workers.run(self._batches(workers.window, batch_bytes, snapshots)):
            for number, outcome, failure in results:
                self._record(number, outcome, failure)
            self._report()

    def _batches(self, window: int, batch_bytes: int = BATCH_BYTES,
                 snapshots: Sequence[Snapshot] | None = None) -> Iterator[list[Job]]:
        """Jobs in batches of about ``batch_bytes`` (a content larger than the window goes alone), made
        as the walk of ``snapshots`` finds contents; then the extra scans of contents seen under new paths."""
        waiting: list[int] = []  # contents found, their jobs not made yet (they may still gain paths)
        size = 0
        for _ in self.walk(snapshots) if snapshots is not None else ():
            for content in self.order[self._queued:]:  # contents this folder added
                waiting.append(content.number)
                size += min(content.size, batch_bytes)  # a large content sends what waits
            self._queued = len(self.order)
            if size >= batch_bytes or len(waiting) >= BATCH_FILES:
                yield from self._jobs_of(waiting, window, first=True, batch_bytes=batch_bytes)
                waiting, size = [], 0
        waiting.extend(c.number for c in self.order[self._queued:])  # walked before (collect)
        self._queued = len(self.order)
        yield from self._jobs_of(waiting, window, first=True, batch_bytes=batch_bytes)
        more = [n for n in self.more if self.order[n].identity not in self.unreadable]
        self.more.clear()
        yield from self._jobs_of(more, window, first=False, batch_bytes=batch_bytes)
        if snapshots is not None:  # the workers are busy with the last batches: the parent's own work now
            self.bursts = self.churn_findings(snapshots)

    def _jobs_of(self, numbers: Sequence[int], window: int, *, first: bool,
                 batch_bytes: int = BATCH_BYTES) -> Iterator[list[Job]]:
        """The jobs of these contents in batches: their whole scans (``first``) or the scans they gained."""
        batch: list[Job] = []
        size = 0
        for number in numbers:
            job = self._job(self.order[number], first)
            if job is None:
                continue
            if job[2] > window:
                yield [job]
                continue
            batch.append(job)
            size += job[2]
            if size >= batch_bytes or len(batch) >= BATCH_FILES:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch

    def _job(self, content: _Content, first: bool) -> Job | None:
        """The job for a content's scans not yet asked for; None when it has none or cannot be read."""
        blobs: list[Blob] = []
        for blob_id in content.identity:
            loc = self.repo.locate(blob_id, "data")
            if loc is None:
                self._unreadable(content.identity, BlobError(blob_id, None, "no data blob with this id"), first)
                return None
            blobs.append((blob_id, loc.pack_id, loc.offset, loc.length, loc.uncompressed_length))
        scans = self.jobs(content, 0 if first else content.sent)
        content.sent = len(content.paths)
        if not first and not scans:
            return None
        number, self._jobs = self._jobs, self._jobs + 1
        self.sent[number] = (content.number, scans, first)
        return number, tuple(blobs), content.size, tuple((index, path) for index, _, path in scans)

    def _record(self, job: int, outcome: Outcome | None, failure: Failure | None) -> None:
        number, scans, first = self.sent.pop(job)
        content = self.order[number]
        identity = content.identity
        if outcome is None:
            blob_id, pack_id, reason = failure or ("?", None, "unreadable")
            self._unreadable(identity, BlobError(blob_id, pack_id, reason), first)
            return
        for position, found in outcome.findings.items():
            index, key, _ = scans[position]
            self.results[(identity, index, key)] = [f.at(f.path, outcome.sha256) for f in found]
            self.flagged.add(identity)
        first_path = content.paths[0] if content.paths else "?"
        for note in outcome.notes:
            self.partial.append({"path": first_path, "sha256": outcome.sha256, "reason": note})
        self.scans += len(scans)
        if first:
            self.windowed += outcome.windowed
            self.files_done += 1
            self.bytes_done += content.size

    def _unreadable(self, identity: Identity, exc: BlobError, first: bool = True) -> None:
        paths = self.contents[identity].paths
        path = paths[0] if paths else "?"
        self.unreadable.setdefault(identity, exc)
        self.errors.setdefault(exc.blob_id, ReadError(path, exc.blob_id, exc.pack_id, exc.reason))
        self.files_done += first  # a content is done once, whatever its extra jobs do

    def _report(self) -> None:
        if self.progress is not None:
            self.progress(Progress(self.files_done, len(self.contents), self.bytes_done, self.bytes_total))

    # -- pass 3: snapshots ----------------------------------------------------------------------
    def snapshot_findings(self, snap: Snapshot) -> tuple[list[Finding], int, int]:
        """(findings, files, unreadable files) of one snapshot."""
        return self._under(snap.tree, "")

    def _under(self, tree_id: str, prefix: str) -> tuple[list[Finding], int, int]:
        memo = self._memo.get((tree_id, prefix))
        if memo is None:
            node = self.trees[tree_id]
            found: list[Finding] = []
            files, unreadable = len(node.files), 0
            for name, identity in node.files:
                if identity not in self.flagged:
                    unreadable += identity in self.unreadable
                    continue
                path = f"{prefix}/{name}"
                for index, scanner in enumerate(self.scanners):
                    found.extend(f.at(path) for f in self.results.get((identity, index, path_key(scanner, path)), ()))
            for name, sub in node.dirs:
                child = self._under(sub, f"{prefix}/{name}")
                found.extend(child[0])
                files, unreadable = files + child[1], unreadable + child[2]
            memo = self._memo[(tree_id, prefix)] = (found, files, unreadable)
        return memo

    def churn_findings(self, snapshots: Sequence[Snapshot]) -> dict[str, list[Finding]]:
        """Burst findings per snapshot id, comparing each snapshot with the previous one of its host and paths."""
        groups: dict[tuple[str, tuple[str, ...]], list[Snapshot]] = {}
        for snap in snapshots:
            groups.setdefault((snap.hostname, tuple(sorted(snap.paths))), []).append(snap)
        out: dict[str, list[Finding]] = {}
        for group in groups.values():
            pairs = list(zip(group, group[1:], strict=False))
            transitions = [churn.diff_trees(self._listing, a.tree, b.tree) for a, b in pairs]
            for burst in churn.bursts(transitions):
                older, newer = pairs[burst.transition]
                c = burst.churn
                out.setdefault(newer.id, []).append(Finding(
                    "ransomware", "churn-burst", burst.folder, "suspicious",
                    f"{c.touched} of its {c.before} files were renamed, rewritten or deleted since snapshot "
                    f"{older.short_id} (usually {burst.usual:.0f}): mass changes like ransomware makes",
                    "churn"))
        return out

    def _listing(self, tree_id: str) -> churn.Listing:
        """A tree as the churn diff reads it, from what pass 1 kept (every snapshot's trees were read)."""
        known = self.trees.get(tree_id)
        if known is None:
            return {}, {}
        return dict(known.files), dict(known.dirs)


def run_review(repo: Repository, scanners: Sequence[Scanner], since: datetime | None = None,
               progress: ProgressCallback | None = None, *, workers: int = 2, location: str | None = None,
               window: int = WINDOW, cluster: str | None = None) -> ReviewResult:
    """Review every snapshot (at or after ``since``) of an open repository with the given scanners.

    ``workers`` processes read and scan the contents (1: everything in this process); a content larger
    than ``window`` bytes is scanned in overlapping windows (see :mod:`aftermath.review.content`).
    ``cluster``: the address of a Dask scheduler whose workers read and scan instead (see
    :mod:`aftermath.review.cluster`); ``workers`` is then unused.
    """
    started = time.monotonic()
    with _pool(repo, scanners, workers, window, cluster) as pool:  # forked first, while this process is small
        snapshots = [s for s in repo.snapshots() if since is None or s.time >= since]
        run = Review(repo, scanners, progress=progress)
        run.scan_contents(pool, snapshots)  # walks the snapshots meanwhile
    return _result(run, snapshots, location or str(getattr(repo, "root", "")), time.monotonic() - started)


def _pool(repo: Repository, scanners: Sequence[Scanner], workers: int, window: int,
          cluster: str | None) -> Workers | ClusterWorkers:
    if cluster is None:
        return Workers(repo, scanners, workers, window)
    from aftermath.review.cluster import ClusterWorkers  # only here: distributed is an optional extra

    return ClusterWorkers(cluster, repo, scanners, window)


def _result(run: Review, snapshots: Sequence[Snapshot], location: str, seconds: float) -> ReviewResult:
    bursts = run.bursts if run.bursts is not None else run.churn_findings(snapshots)
    reviews: list[SnapshotReview] = []
    per_snapshot: dict[str, list[Finding]] = {}
    baseline = _first_placement(run, snapshots)
    for snap in snapshots:
        found, files, unreadable = run.snapshot_findings(snap)
        found = verdict.without_settled(found, baseline[snap.id]) + bursts.get(snap.id, [])
        per_snapshot[snap.id] = found
        reviews.append(SnapshotReview(snap.id, snap.time, list(snap.paths), snap.hostname,
                                      verdict.verdict_of(f.severity for f in found), found, files, unreadable))
    _attach_error_snapshots(run, snapshots)
    stats = Stats(files_total=sum(r.files for r in reviews), distinct_contents=len(run.contents),
                  bytes_scanned=run.bytes_done, seconds=seconds, snapshots=len(reviews), scans=run.scans,
                  windowed=run.windowed)
    return ReviewResult(
        repository=location, snapshots=reviews,
        findings=verdict.timeline([s.id for s in snapshots], per_snapshot),
        last_clean=verdict.last_clean(_tie_breaking(reviews)), stats=stats,
        errors=[*run.errors.values(), *repository_errors(run.repo)], partial=run.partial,
        scanners=[s.name for s in run.scanners])


def repository_errors(repo: Repository) -> list[ReadError]:
    """Each snapshot, index or pack file the reader could not use (a tampered snapshot among them)."""
    return [ReadError("(repository)", "", None, problem, kind="repository") for problem in repo.problems]


def _first_placement(run: Review, snapshots: Sequence[Snapshot]) -> dict[str, frozenset[tuple[str, str]]]:
    """For each snapshot, the placement findings of the first snapshot of its host and paths."""
    first: dict[tuple[str, tuple[str, ...]], frozenset[tuple[str, str]]] = {}
    out: dict[str, frozenset[tuple[str, str]]] = {}
    for snap in sorted(snapshots, key=lambda s: s.time):
        group = (snap.hostname, tuple(sorted(snap.paths)))
        if group not in first:
            first[group] = verdict.settled(run.snapshot_findings(snap)[0])
        out[snap.id] = first[group]
    return out


def _attach_error_snapshots(run: Review, snapshots: Sequence[Snapshot]) -> None:
    """Name, for each read error, the snapshots it touches."""
    bad_blobs = {exc.blob_id for exc in run.unreadable.values()} | run.bad_trees
    if not bad_blobs:
        return
    hits: dict[str, list[str]] = {}
    for snap in snapshots:
        for blob in _blobs_in(run, snap.tree, bad_blobs, set()):
            hits.setdefault(blob, []).append(snap.id)
    for blob, ids in hits.items():
        if blob in run.errors:
            e = run.errors[blob]
            run.errors[blob] = ReadError(e.path, e.blob, e.pack, e.reason, tuple(dict.fromkeys(ids)))


def _blobs_in(run: Review, tree_id: str, bad: set[str], seen: set[str]) -> set[str]:
    if tree_id in seen:
        return set()
    seen.add(tree_id)
    found = {tree_id} & bad
    node = run.trees[tree_id]
    for _, identity in node.files:
        exc = run.unreadable.get(identity)
        if exc is not None:
            found.add(exc.blob_id)
    for _, sub in node.dirs:
        found |= _blobs_in(run, sub, bad, seen)
    return found


def _tie_breaking(reviews: Sequence[SnapshotReview]) -> list[tuple[str, Verdict]]:
    """Oldest first; among snapshots taken at the same moment, bad ones first, so the last clean
    restore point is strictly older than the first bad snapshot."""
    ordered = sorted(reviews, key=lambda r: (r.time, r.verdict not in verdict.BAD))
    return [(r.id, r.verdict) for r in ordered]
