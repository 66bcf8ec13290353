"""Read many blob ranges of a remote repository at once: neighbours merged into one request, several in flight.

For a batch of work that will read known blobs (the review's content jobs), :func:`prefetch` reads them
up front with few, large, concurrent range requests and hands back pack files that serve those bytes from
memory (and anything else from the backend). Nothing is trusted: every blob is still authenticated and
hash-checked when it is decoded. A range that cannot be read is simply not prefetched, so the blob's own
read later fails with its own error.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from aftermath.errors import AftermathError
from aftermath.restic.backend import PackFile

if TYPE_CHECKING:
    from aftermath.restic.repository import Repository

MERGE_GAP = 1 << 20  # neighbouring blobs closer than this are read with one request
MAX_RUN = 32 << 20  # and one request reads at most this much (unless one blob is larger)
IN_FLIGHT = 4  # requests at once, per process


class Prefetched(PackFile):
    """A pack whose wanted ranges are in memory; other reads go to the backend."""

    def __init__(self, repo: Repository, pack_id: str, runs: list[tuple[int, bytes]]) -> None:
        self.repo, self.pack_id, self.runs = repo, pack_id, runs
        self._fallback: PackFile | None = None

    def read_at(self, offset: int, length: int) -> bytes:
        """The bytes from memory when a prefetched run holds them, else from the backend."""
        for start, data in self.runs:
            if start <= offset and offset + length <= start + len(data):
                return data[offset - start:offset - start + length]
        if self._fallback is None:
            self._fallback = self.repo.open_pack_file("", self.pack_id)
        return self._fallback.read_at(offset, length)

    def close(self) -> None:
        """Drop the bytes and the backend file."""
        self.runs = []
        if self._fallback is not None:
            self._fallback.close()


def plan(ranges: Iterable[tuple[str, int, int]], gap: int = MERGE_GAP,
         limit: int = MAX_RUN) -> dict[str, list[tuple[int, int]]]:
    """(pack, offset, length) ranges merged per pack into (start, length) requests."""
    by_pack: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for pack_id, offset, length in sorted(set(ranges)):
        runs = by_pack[pack_id]
        if runs:
            start, span = runs[-1]
            end = start + span
            if offset - end <= gap and offset + length - start <= limit:
                runs[-1] = (start, max(end, offset + length) - start)
                continue
        runs.append((offset, length))
    return dict(by_pack)


def prefetch(repo: Repository, ranges: Iterable[tuple[str, int, int]], max_bytes: int) -> dict[str, PackFile]:
    """Pack files holding the given ranges in memory; empty when they add up to more than ``max_bytes``."""
    wanted = plan(ranges)
    if sum(span for runs in wanted.values() for _, span in runs) > max_bytes:
        return {}

    def fetch(job: tuple[str, int, int]) -> tuple[str, int, bytes | None]:
        pack_id, start, span = job
        try:
            pack = repo.open_pack_file("", pack_id)
            try:
                return pack_id, start, pack.read_at(start, span)
            finally:
                pack.close()
        except (AftermathError, OSError):
            return pack_id, start, None  # read again blob by blob later, where the error is named

    jobs = [(pack_id, start, span) for pack_id, runs in wanted.items() for start, span in runs]
    got: dict[str, list[tuple[int, bytes]]] = defaultdict(list)
    with ThreadPoolExecutor(max_workers=min(IN_FLIGHT, max(1, len(jobs)))) as pool:
        for pack_id, start, data in pool.map(fetch, jobs):
            if data is not None:
                got[pack_id].append((start, data))
    return {pack_id: Prefetched(repo, pack_id, runs) for pack_id, runs in got.items()}
