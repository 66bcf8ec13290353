"""Worker processes for the review's content pass: each reads its contents' blobs and scans them.

Why processes and not threads: YARA-X holds the GIL while it scans (measured here: two threads scan
slower than one), so only processes put a second core to work on the largest cost. Workers are forked:
they inherit the open repository (its key stays in memory and is never sent anywhere) and the compiled
scanners, receive blob locations, and send back findings only; each opens its own connections to a remote
repository as it first reads (over SFTP its own ``ssh``: the backends run no thread of their own, so the
parent stays forkable). They are forked before the walk builds its tables, so they do not carry them.
Where forking is not safe (another thread is running, or the platform has no fork) or only one worker is
asked for, the jobs run in this process instead.
"""

from __future__ import annotations

import ctypes
import hashlib
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from aftermath.errors import ToolError
from aftermath.restic import BlobError, Repository
from aftermath.restic.backend import PackFile
from aftermath.restic.index import Location
from aftermath.restic.prefetch import prefetch
from aftermath.review.content import WINDOW, Outcome, Scan, scan_content
from aftermath.review.scanner import Scanner

Blob = tuple[str, str, int, int, int]  # blob id, pack id, offset, stored length, uncompressed length
Job = tuple[int, tuple[Blob, ...], int, tuple[Scan, ...]]  # content number, its blobs, size, its scans
Failure = tuple[str, str | None, str]  # blob id, pack id, reason
Result = tuple[int, Outcome | None, Failure | None]
MAX_OPEN_PACKS = 64
PREFETCH_BYTES = 64 << 20  # a remote batch whose blobs need more than this is read blob by blob
READ_AHEAD = 8192  # jobs the parent may make ahead of the workers (about 0.5 KiB each: a few MiB at most)

_STATE: tuple[Repository, Sequence[Scanner], int] | None = None  # what a forked worker inherits


def run_jobs(repo: Repository, scanners: Sequence[Scanner], jobs: Iterable[Job], window: int = WINDOW) -> list[Result]:
    """Read and scan each job's content; a content that cannot be read is a Failure, never scanned."""
    jobs = list(jobs)
    packs: dict[str, PackFile] = {}
    if not repo.backend.local:  # remote: the batch's blobs in a few concurrent requests (see restic.prefetch)
        packs = prefetch(repo, ((b[1], b[2], b[3]) for job in jobs for b in job[1]), PREFETCH_BYTES)
    try:
        return [_one(repo, scanners, window, packs, job) for job in jobs]
    finally:
        for pack in packs.values():
            pack.close()


def _one(repo: Repository, scanners: Sequence[Scanner], window: int, packs: dict[str, PackFile], job: Job) -> Result:
    number, blobs, size, scans = job

    def chunks() -> Iterator[bytes]:
        for blob_id, pack_id, offset, length, ulen in blobs:
            pack = packs.get(pack_id)
            if pack is None:
                if len(packs) >= MAX_OPEN_PACKS:
                    packs.pop(next(iter(packs))).close()
                pack = packs[pack_id] = repo.open_pack_file(blob_id, pack_id)
            yield repo.read_from(pack, blob_id, Location(pack_id, offset, length, ulen))

    known = blobs[0][0] if len(blobs) == 1 else ""  # a blob's id is the SHA-256 of its plaintext (checked)
    try:
        outcome = scan_content(scanners, scans, chunks(), size, known, window)
        if not outcome.sha256 and (outcome.findings or outcome.notes):  # a streamed file with findings
            digest = hashlib.sha256()
            for chunk in chunks():
                digest.update(chunk)
            outcome.sha256 = digest.hexdigest()
    except BlobError as exc:
        return number, None, (exc.blob_id, exc.pack_id, exc.reason)
    return number, outcome, None


def _work(jobs: list[Job]) -> list[Result]:
    assert _STATE is not None, "a review worker started without its repository"
    repo, scanners, window = _STATE
    return run_jobs(repo, scanners, jobs, window)


def _init() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops us cleanly
    return_large_buffers()


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters
MAP_ABOVE = (8 << 20) + (64 << 10)  # larger than any restic blob (8 MiB of plaintext) as stored or decoded
KEEP_FREE = 32 << 20  # free heap kept at its top before it is given back


def return_large_buffers(threshold: int = MAP_ABOVE, keep: int = KEEP_FREE) -> bool:
    """Make glibc map every allocation of ``threshold`` bytes or more on its own, unmapped when freed,
    and keep at most ``keep`` free bytes at the top of its heap.

    By default glibc raises its mmap threshold each time a large block is freed (up to 32 MiB), after
    which windows come from the heap and stay there: measured, a worker grew to 280 MB RSS scanning
    16-32 MiB windows instead of about 100 MB. A fixed threshold stops that. It sits above a blob's size:
    with 256 KiB (the first setting) every blob was a fresh mapping, zeroed by the kernel page by page and
    unmapped after use, which cost a quarter of the workers' CPU (system time 0.35 s against 0.09 s on a
    244 MiB repository); blobs now reuse heap memory, windows and prefetched runs above the threshold are
    still mapped (smaller prefetched runs stay in the heap: a remote review peaks higher, see D41).
    False where there is no glibc.
    """
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, threshold)) and bool(mallopt(M_TRIM_THRESHOLD, keep))


def _ready() -> int:
    return os.getpid()


def fork_is_safe() -> bool:
    """Forking copies only the calling thread: safe when it is the only one and the platform forks."""
    return hasattr(os, "fork") and threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()


class Workers:
    """Runs batches of jobs on ``workers`` forked processes (or in this process)."""

    def __init__(self, repo: Repository, scanners: Sequence[Scanner], workers: int, window: int = WINDOW) -> None:
        global _STATE
        self.repo, self.scanners, self.window, self.workers = repo, scanners, window, max(1, workers)
        self.executor: ProcessPoolExecutor | None = None
        self.children: list[multiprocessing.process.BaseProcess] = []
        if self.workers > 1 and fork_is_safe():
            _STATE = (repo, scanners, window)
            before = set(multiprocessing.active_children())
            try:
                self.executor = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"),
                                                    initializer=_init)
                self.executor.submit(_ready).result()  # forks every worker now, while the parent is small
            except (OSError, BrokenProcessPool):  # no memory or process slots for workers: scan here instead
                if self.executor is not None:
                    self.executor.shutdown(wait=True, cancel_futures=True)
                self.executor = None
            finally:
                _STATE = None
            self.children = [c for c in multiprocessing.active_children() if c not in before]

    @property
    def processes(self) -> int:
        """How many worker processes run (0: jobs run in this process)."""
        return self.workers if self.executor is not None else 0

    def run(self, batches: Iterable[list[Job]]) -> Iterator[list[Result]]:
        """Results of every batch, as they finish (at most two batches per worker in flight)."""
        if self.executor is None:
            for batch in batches:
                yield run_jobs(self.repo, self.scanners, batch, self.window)
            return
        pending: set[Future[list[Result]]] = set()
        ahead: deque[list[Job]] = deque()  # made while the workers were busy, not yet sent
        source = iter(batches)
        got: list[Job] | None
        more = True  # the source may still give batches
        waiting = 0  # jobs in ``ahead``
        try:
            while True:
                while len(pending) < 2 * self.workers and (ahead or more):
                    if ahead:
                        got = ahead.popleft()
                        waiting -= len(got)
                    else:
                        got = next(source, None)
                    if got is None:
                        more = False
                    else:
                        pending.add(self.executor.submit(_work, got))
                if not pending:
                    return
                if more and waiting < READ_AHEAD and not any(f.done() for f in pending):
                    # the workers are busy: go on with the parent's own work (the walk that makes the
                    # batches, then the churn) rather than wait, so that it is done when they finish
                    got = next(source, None)
                    if got is None:
                        more = False
                    else:
                        ahead.append(got)
                        waiting += len(got)
                    continue
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (f.result() for f in done)
        except BrokenProcessPool:
            raise ToolError("a review worker process died (out of memory, or a scanner crashed): run the review "
                            "again with --workers 1 to scan in one process") from None

    def close(self, now: bool = False) -> None:
        """Stop the workers: after the batches being scanned, or ``now`` (Ctrl-C, an error: they are killed)."""
        if self.executor is None:
            return
        if now:
            for child in self.children:
                if child.is_alive():
                    child.terminate()
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.executor = None

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        self.close(now=exc_type is not None)
