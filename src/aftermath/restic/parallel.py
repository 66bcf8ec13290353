"""Parallel blob reading: one pack per worker at a time, blobs in offset order, results as they finish.

Neighbouring blobs of a pack are read with one request (one ``pread`` locally, one range request
from a remote backend), then decoded one by one.

Threads suffice: AES-CTR and Poly1305 (OpenSSL via ``cryptography``), zstd and SHA-256 release the GIL
on large buffers. A bounded queue keeps memory at a few blobs per worker whatever the consumer does.
"""

from __future__ import annotations

import queue
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from aftermath.restic.errors import BlobError
from aftermath.restic.index import Location

if TYPE_CHECKING:
    from aftermath.restic.repository import Repository

Result = tuple[str, bytes | BlobError]
PackJob = tuple[str, list[tuple[str, Location]]]
_DONE = object()


def plan(repo: Repository, blob_ids: Iterable[str]) -> tuple[list[PackJob], list[Result]]:
    """Group known blobs by pack (in offset order) and return the unknown ones as errors."""
    by_pack: dict[str, list[tuple[str, Location]]] = defaultdict(list)
    missing: list[Result] = []
    for blob_id in dict.fromkeys(blob_ids):
        loc = repo.locate(blob_id)
        if loc is None:
            missing.append((blob_id, BlobError(blob_id, None, "no blob with this id in the index")))
        else:
            by_pack[loc.pack_id].append((blob_id, loc))
    jobs = [(pack_id, sorted(blobs, key=lambda b: b[1].offset)) for pack_id, blobs in by_pack.items()]
    return jobs, missing


MERGE_GAP = 256 * 1024  # neighbouring blobs closer than this are read in one request
MERGE_MAX = 16 * 1024 * 1024  # and one request reads at most this much (unless one blob is larger)


def runs(blobs: list[tuple[str, Location]], gap: int = MERGE_GAP,
         limit: int = MERGE_MAX) -> list[list[tuple[str, Location]]]:
    """Blobs (in offset order) grouped into runs that one range request each can read."""
    groups: list[list[tuple[str, Location]]] = []
    for blob in blobs:
        loc = blob[1]
        if groups:
            first, last = groups[-1][0][1], groups[-1][-1][1]
            end = last.offset + last.length
            if 0 <= loc.offset - end <= gap and loc.offset + loc.length - first.offset <= limit:
                groups[-1].append(blob)
                continue
        groups.append([blob])
    return groups


def read_pack(repo: Repository, pack_id: str, blobs: list[tuple[str, Location]]) -> Iterator[Result]:
    """Read the given blobs of one pack, neighbours in one request; every failure becomes that blob's BlobError."""
    try:
        pack = repo.open_pack_file(blobs[0][0], pack_id)
    except BlobError as exc:
        for blob_id, _ in blobs:
            yield blob_id, BlobError(blob_id, pack_id, exc.reason)
        return
    try:
        for run in runs(blobs):
            start = run[0][1].offset
            span = run[-1][1].offset + run[-1][1].length - start
            try:
                raw = repo.read_raw(pack, run[0][0], pack_id, start, span)
            except BlobError as exc:
                for blob_id, _ in run:
                    yield blob_id, BlobError(blob_id, pack_id, exc.reason)
                continue
            for blob_id, loc in run:
                part = raw[loc.offset - start:loc.offset - start + loc.length]
                try:
                    yield blob_id, repo.decode(blob_id, loc, part)
                except BlobError as exc:
                    yield blob_id, exc
    finally:
        pack.close()


def read_blobs(repo: Repository, blob_ids: Iterable[str], workers: int = 2) -> Iterator[Result]:
    """Read blobs with ``workers`` threads; see :meth:`Repository.read_blobs`."""
    jobs, missing = plan(repo, blob_ids)
    yield from missing
    if workers <= 1 or len(jobs) <= 1:
        for pack_id, blobs in jobs:
            yield from read_pack(repo, pack_id, blobs)
        return
    yield from _threaded(repo, jobs, min(workers, len(jobs)))


def _threaded(repo: Repository, jobs: list[PackJob], workers: int) -> Iterator[Result]:
    todo: queue.SimpleQueue[PackJob] = queue.SimpleQueue()
    for job in jobs:
        todo.put(job)
    results: queue.Queue[object] = queue.Queue(maxsize=4 * workers)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                results.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            while not stop.is_set():
                try:
                    pack_id, blobs = todo.get_nowait()
                except queue.Empty:
                    break
                for result in read_pack(repo, pack_id, blobs):
                    if not put(result):
                        return
        except BaseException as exc:  # a bug, not a bad blob: hand it to the consumer to re-raise
            put(exc)
        finally:
            put(_DONE)

    threads = [threading.Thread(target=work, name=f"restic-read-{i}", daemon=True) for i in range(workers)]
    for t in threads:
        t.start()
    running = workers
    try:
        while running:
            item = results.get()
            if item is _DONE:
                running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item  # type: ignore[misc]
    finally:
        stop.set()  # the consumer stopped early or failed: let workers exit
        for t in threads:
            t.join()
