"""Faults: wrong password, missing or damaged repositories, flipped bytes. One clear error, nothing lost."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from aftermath.errors import IntegrityError, PasswordError, RepositoryError, UsageError
from aftermath.restic import BlobError, Repository
from tests.restic.builders import PASSWORD, Variant
from tests.restic.conftest import copy_variant


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and text
    return text


def restic_pack_of(variant: Variant, blob_id: str) -> tuple[str, int, int]:
    """(pack id, offset, length) of a blob, as restic's own index files say."""
    for index_id in variant.restic("list", "index").stdout.decode().split():
        doc = json.loads(variant.restic("cat", "index", index_id).stdout)
        for pack in doc["packs"]:
            for blob in pack["blobs"]:
                if blob["id"] == blob_id:
                    return pack["id"], blob["offset"], blob["length"]
    raise AssertionError(f"restic does not know blob {blob_id}")


def flip(path: Path, offset: int) -> None:
    os.chmod(path, 0o644)  # restic writes packs read-only
    with path.open("r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x40]))


@pytest.fixture()
def damaged(restic_repos: dict[str, Variant], tmp_path: Path) -> Variant:
    return copy_variant(restic_repos["v2"], tmp_path / "copy")


def test_wrong_password_is_a_password_error(restic_repos: dict[str, Variant]) -> None:
    with pytest.raises(PasswordError) as err:
        Repository.open(restic_repos["v1"].path, b"not the password")
    assert err.value.exit_code == 4 and "not the password" not in one_line(err.value)
    assert "password" in str(err.value)


@pytest.mark.parametrize("make", ["missing", "empty-dir", "a-file", "no-keys"])
def test_missing_or_not_a_repository_is_a_repository_error(tmp_path: Path, make: str) -> None:
    target = tmp_path / "repo"
    if make == "empty-dir":
        target.mkdir()
    elif make == "a-file":
        target.write_bytes(b"hello")
    elif make == "no-keys":
        (target / "keys").mkdir(parents=True)
        (target / "config").write_bytes(b"\0" * 80)
    with pytest.raises(RepositoryError) as err:
        Repository.open(target, PASSWORD)
    assert err.value.exit_code == 5 and str(target) in one_line(err.value)


def test_flipped_byte_in_a_data_pack_names_blob_and_pack_and_spares_the_rest(damaged: Variant) -> None:
    repo = Repository.open(damaged.path, PASSWORD)
    snap = repo.snapshots()[-1]
    nodes = dict(repo.walk(snap.tree))
    victim = nodes["/src/big-random.bin"].content[2]
    pack_id, offset, length = restic_pack_of(damaged, victim)
    flip(damaged.path / "data" / pack_id[:2] / pack_id, offset + length // 2)
    assert damaged.restic("check", "--read-data", check=False).returncode != 0  # restic agrees it is damaged

    repo = Repository.open(damaged.path, PASSWORD)
    with pytest.raises(BlobError) as err:
        b"".join(repo.iter_file(nodes["/src/big-random.bin"]))
    assert (err.value.blob_id, err.value.pack_id) == (victim, pack_id) and err.value.exit_code == 6
    assert victim in one_line(err.value) and pack_id in str(err.value)
    assert isinstance(err.value, IntegrityError)

    all_blobs = {b for n in nodes.values() for b in n.content}
    results = dict(repo.read_blobs(all_blobs, workers=2))
    assert set(results) == all_blobs
    failed = {b for b, r in results.items() if isinstance(r, BlobError)}
    assert failed == {victim}
    for path, node in nodes.items():
        if node.is_file and victim not in node.content:
            content = b"".join(r for b in node.content if isinstance(r := results[b], bytes))
            assert content == (damaged.source.parent / path[1:]).read_bytes(), path


def test_unreadable_subtree_is_reported_and_walk_goes_on(damaged: Variant) -> None:
    repo = Repository.open(damaged.path, PASSWORD)
    snap = repo.snapshots()[-1]
    nodes = dict(repo.walk(snap.tree))
    subtree = nodes["/src/deep"].subtree
    assert subtree is not None
    pack_id, offset, length = restic_pack_of(damaged, subtree)
    flip(damaged.path / "data" / pack_id[:2] / pack_id, offset + 20)
    repo = Repository.open(damaged.path, PASSWORD)
    with pytest.raises(BlobError) as err:
        list(repo.walk(snap.tree))
    assert err.value.blob_id == subtree and err.value.pack_id == pack_id
    errors: list[tuple[str, BlobError]] = []
    seen = dict(repo.walk(snap.tree, on_error=lambda path, exc: errors.append((path, exc))))
    assert [(p, e.blob_id) for p, e in errors] == [("/src/deep", subtree)]
    assert set(seen) == {p for p in nodes if not p.startswith("/src/deep/")}


def test_without_index_files_the_reader_uses_pack_headers(damaged: Variant) -> None:
    repo = Repository.open(damaged.path, PASSWORD)
    expected = {p: b"".join(repo.iter_file(n)) for p, n in repo.walk(repo.snapshots()[-1].tree) if n.is_file}
    shutil.rmtree(damaged.path / "index")
    repo = Repository.open(damaged.path, PASSWORD)
    got = {p: b"".join(repo.iter_file(n)) for p, n in repo.walk(repo.snapshots()[-1].tree) if n.is_file}
    assert got == expected and repo.problems == []


def test_damaged_index_and_snapshot_files_are_named_in_problems(damaged: Variant) -> None:
    pristine = Repository.open(damaged.path, PASSWORD)
    expected = {s.id: {p: b"".join(pristine.iter_file(n)) for p, n in pristine.walk(s.tree) if n.is_file}
                for s in pristine.snapshots()}
    index_file = sorted((damaged.path / "index").iterdir())[0]
    flip(index_file, 40)
    snap_files = sorted((damaged.path / "snapshots").iterdir())
    flip(snap_files[0], 20)
    repo = Repository.open(damaged.path, PASSWORD)
    snaps = repo.snapshots()
    assert [s.id for s in snaps] == [snap_files[1].name]
    # content is still readable through the pack headers
    got = {p: b"".join(repo.iter_file(n)) for p, n in repo.walk(snaps[0].tree) if n.is_file}
    assert got == expected[snaps[0].id]
    text = " | ".join(repo.problems)
    assert f"snapshot {snap_files[0].name[:8]}" in text and f"index file {index_file.name[:8]}" in text


def test_missing_and_truncated_packs_give_blob_errors(damaged: Variant) -> None:
    repo = Repository.open(damaged.path, PASSWORD)
    nodes = dict(repo.walk(repo.snapshots()[-1].tree))
    big, tiny = nodes["/src/big-random.bin"].content, nodes["/src/tiny.txt"].content[0]
    pack_big = restic_pack_of(damaged, big[-1])[0]
    pack_tiny = restic_pack_of(damaged, tiny)[0]
    assert pack_big != pack_tiny
    (damaged.path / "data" / pack_tiny[:2] / pack_tiny).unlink()
    path_big = damaged.path / "data" / pack_big[:2] / pack_big
    os.chmod(path_big, 0o644)
    os.truncate(path_big, 100)
    with pytest.raises(BlobError, match="unreadable") as err:
        repo.read_blob(tiny)
    assert err.value.pack_id == pack_tiny
    with pytest.raises(BlobError, match="truncated") as err:
        repo.read_blob(big[-1])
    assert err.value.pack_id == pack_big
    with pytest.raises(BlobError, match="no data blob"):
        repo.read_blob("ab" * 32)
    assert not repo.has_blob("ab" * 32) and repo.has_blob(tiny)


def test_damaged_config_is_an_integrity_error(damaged: Variant) -> None:
    flip(damaged.path / "config", 30)
    with pytest.raises(IntegrityError) as err:
        Repository.open(damaged.path, PASSWORD)
    assert "config" in one_line(err.value)


def test_unknown_or_ambiguous_snapshot_is_a_usage_error(restic_repos: dict[str, Variant]) -> None:
    repo = Repository.open(restic_repos["v2"].path, PASSWORD)
    with pytest.raises(UsageError) as err:
        repo.snapshot("ffffffffff")
    assert err.value.exit_code == 2 and "ffffffffff" in one_line(err.value)
    with pytest.raises(UsageError):
        repo.snapshot("")


def test_s3_legacy_layout_reads_the_same(damaged: Variant) -> None:
    """data/<id> without sub-folders and singular key/, snapshot/, index/ folder names."""
    repo = Repository.open(damaged.path, PASSWORD)
    before = {p: b"".join(repo.iter_file(n)) for p, n in repo.walk(repo.snapshots()[-1].tree) if n.is_file}
    data = damaged.path / "data"
    for sub in [d for d in data.iterdir() if d.is_dir()]:
        for pack in sub.iterdir():
            pack.rename(data / pack.name)
        sub.rmdir()
    for plural in ("keys", "snapshots", "index"):
        (damaged.path / plural).rename(damaged.path / plural[:-1] if plural != "index" else damaged.path / plural)
    repo = Repository.open(damaged.path, PASSWORD)
    after = {p: b"".join(repo.iter_file(n)) for p, n in repo.walk(repo.snapshots()[-1].tree) if n.is_file}
    assert after == before and repo.problems == []
