"""Parallel blob reading: same results as one by one, grouped by pack, stops cleanly when abandoned."""

from __future__ import annotations

import threading

import pytest

from aftermath.restic import BlobError, Repository
from aftermath.restic.parallel import plan
from tests.restic.builders import PASSWORD, Variant


@pytest.fixture()
def repo_and_ids(restic_repos: dict[str, Variant]) -> tuple[Repository, list[str]]:
    repo = Repository.open(restic_repos["v2"].path, PASSWORD)
    ids = [b for snap in repo.snapshots() for _, n in repo.walk(snap.tree) for b in n.content]
    return repo, ids


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_parallel_results_equal_single_reads(repo_and_ids: tuple[Repository, list[str]], workers: int) -> None:
    repo, ids = repo_and_ids
    unknown = "0" * 64
    results = list(repo.read_blobs([*ids, *ids[:5], unknown], workers=workers))
    assert sorted(r[0] for r in results) == sorted({*ids, unknown})  # duplicates read once
    got = dict(results)
    err = got.pop(unknown)
    assert isinstance(err, BlobError) and err.pack_id is None
    assert got == {b: repo.read_blob(b) for b in set(ids)}


def test_plan_groups_by_pack_in_offset_order(repo_and_ids: tuple[Repository, list[str]]) -> None:
    repo, ids = repo_and_ids
    jobs, missing = plan(repo, reversed(ids))
    assert not missing and len(jobs) > 1
    assert len({pack for pack, _ in jobs}) == len(jobs)
    for pack, blobs in jobs:
        offsets = [loc.offset for _, loc in blobs]
        assert offsets == sorted(offsets) and all(loc.pack_id == pack for _, loc in blobs)


def test_abandoned_reader_stops_its_threads(repo_and_ids: tuple[Repository, list[str]]) -> None:
    repo, ids = repo_and_ids
    gen = repo.read_blobs(ids, workers=2)
    next(gen)
    gen.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("restic-read-")]


def test_str_password_is_accepted(restic_repos: dict[str, Variant]) -> None:
    assert Repository.open(restic_repos["v1"].path, PASSWORD.decode()).version == 1
