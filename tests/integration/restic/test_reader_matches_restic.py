"""The native reader returns exactly what the real restic returns, for every snapshot of every variant."""

from __future__ import annotations

import io
import json
import os
import stat
import tarfile
from datetime import UTC, datetime, timedelta

import pytest

from aftermath.restic import Node, Repository
from tests.restic.builders import PASSWORD, SECOND_PASSWORD, SPECIAL_NAMES, Variant

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def go_json_name(path: str) -> str:
    """What restic's JSON shows for a path: bytes that are not UTF-8 become U+FFFD (Go's json.Marshal)."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def restic_ls(variant: Variant, snap: str) -> dict[str, dict[str, object]]:
    out = variant.restic("ls", "--json", snap).stdout.splitlines()
    nodes = [json.loads(line) for line in out[1:]]
    return {n["path"]: n for n in nodes}


def restic_tar(variant: Variant, snap: str) -> dict[str, tarfile.TarInfo | bytes]:
    """``restic dump SNAP /`` as {"/path": file bytes | TarInfo for links and dirs}."""
    data = variant.restic("dump", snap, "/").stdout
    out: dict[str, tarfile.TarInfo | bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data), encoding="utf-8", errors="surrogateescape") as tar:
        for member in tar:
            f = tar.extractfile(member) if member.isfile() else None
            out["/" + member.name] = f.read() if f else member
    return out


def walk_all(repo: Repository, tree: str) -> dict[str, Node]:
    return dict(repo.walk(tree))


def test_version_and_snapshots_match_restic(variant: Variant) -> None:
    repo = Repository.open(variant.path, PASSWORD)
    assert repo.version == (1 if variant.name == "v1" else 2)
    listed = json.loads(variant.restic("snapshots", "--json").stdout)
    snaps = repo.snapshots()
    assert [s.id for s in snaps] == [s["id"] for s in listed]
    assert [s.short_id for s in snaps] == [i[:8] for i in variant.snapshots]
    for ours, theirs in zip(snaps, listed, strict=True):
        assert ours.tree == theirs["tree"] and ours.paths == theirs["paths"]
        assert ours.hostname == theirs["hostname"] and ours.username == theirs["username"]
        assert ours.tags == theirs["tags"] and ours.parent == theirs.get("parent")
        assert ours.short_id == theirs["short_id"]
    # restic's --time is local time; ours is the same instant in aware UTC
    assert [s.time for s in snaps] == [datetime(2024, 3, 1, 10).astimezone().astimezone(UTC),
                                       datetime(2024, 3, 2, 11, 30).astimezone().astimezone(UTC)]
    assert all(s.time.tzinfo is UTC for s in snaps)
    assert snaps[0].time < snaps[1].time and snaps[1].parent == snaps[0].id
    assert repo.snapshot(snaps[1].id[:6]) == snaps[1]
    assert repo.problems == []


@pytest.mark.parametrize("which", [0, 1])
def test_walk_matches_restic_ls(variant: Variant, which: int) -> None:
    repo = Repository.open(variant.path, PASSWORD)
    snap = repo.snapshot(variant.snapshots[which])
    ours = walk_all(repo, snap.tree)
    theirs = restic_ls(variant, snap.id)
    assert {go_json_name(p): n.type for p, n in ours.items()} == {p: n["type"] for p, n in theirs.items()}
    for path, node in ours.items():
        ls = theirs[go_json_name(path)]
        assert node.size == ls.get("size", 0), path
        assert (node.uid, node.gid) == (ls["uid"], ls["gid"])
        assert node.mtime is not None and node.mtime.isoformat()[:19] == str(ls["mtime"])[:19]
    # what the tree holds is really all there is: every special name, the fifo, the empty dir
    assert {f"/src/names/{n}" for n in SPECIAL_NAMES} <= set(ours)
    assert ours["/src/a-fifo"].type == "fifo" and ours["/src/empty-dir"].is_dir
    assert ("/src/added.txt" in ours) == (which == 1) and ("/src/empty" in ours) == (which == 0)


def test_entries_agree_with_full_nodes_on_every_tree(variant: Variant) -> None:
    """The walk's lean entries say the same as the full nodes for every tree of every snapshot."""
    repo = Repository.open(variant.path, PASSWORD)
    stack = [s.tree for s in repo.snapshots()]
    trees = 0
    while stack:
        tree_id = stack.pop()
        nodes, entries = repo.tree(tree_id), repo.entries(tree_id)
        assert [(n.name, n.type, n.size, n.content, n.subtree) for n in nodes] == [tuple(e) for e in entries]
        stack.extend(e.subtree for e in entries if e.is_dir and e.subtree)
        trees += 1
    assert trees > 3


@pytest.mark.parametrize("which", [0, 1])
def test_every_file_and_link_matches_restic_dump(variant: Variant, which: int) -> None:
    repo = Repository.open(variant.path, PASSWORD)
    snap = repo.snapshot(variant.snapshots[which])
    tar = restic_tar(variant, snap.id)
    files = {p: n for p, n in repo.walk(snap.tree) if n.is_file}
    assert set(files) == {p for p, v in tar.items() if isinstance(v, bytes)}
    for path, node in files.items():
        assert b"".join(repo.iter_file(node)) == tar[path], path
    links = {p: n.linktarget for p, n in repo.walk(snap.tree) if n.type == "symlink"}
    assert links == {p: v.linkname for p, v in tar.items() if isinstance(v, tarfile.TarInfo) and v.issym()}
    assert links["/src/link-to-tiny"] == "tiny.txt"
    assert len(files["/src/big-random.bin"].content) > 4  # multi-chunk file, blobs in order
    assert files["/src/big-text.txt"].size == len(tar["/src/big-text.txt"])  # type: ignore[arg-type]


def test_single_file_dump_matches_for_big_and_odd_names(restic_repos: dict[str, Variant]) -> None:
    variant = restic_repos["v2"]
    repo = Repository.open(variant.path, PASSWORD)
    snap = repo.snapshots()[-1]
    nodes = dict(repo.walk(snap.tree))
    for path in ["/src/big-random.bin", "/src/names/new\nline", '/src/names/quote"s', "/src/names/back\\slash",
                 "/src/names/ünïcødé €.txt", "/src/names/tag\U000e0001char", "/src/tiny.txt"]:
        expected = variant.restic("dump", snap.id, path).stdout
        assert b"".join(repo.iter_file(nodes[path])) == expected, path


def test_last_snapshot_equals_the_source_folder(variant: Variant) -> None:
    """Content, permission bits (setuid, sticky) and mtimes match the files restic read."""
    repo = Repository.open(variant.path, PASSWORD)
    nodes = dict(repo.walk(repo.snapshots()[-1].tree))
    src = variant.source
    for path, node in nodes.items():
        real = src.parent / os.fsencode(path.lstrip("/")).decode("utf-8", "surrogateescape")
        st = os.lstat(real)
        assert node.mode == stat.S_IMODE(st.st_mode), path
        assert node.mtime == EPOCH + timedelta(microseconds=st.st_mtime_ns // 1000), path
        if node.is_file:
            assert b"".join(repo.iter_file(node)) == real.read_bytes(), path
        if node.type == "symlink":
            assert node.linktarget == os.readlink(real)
    assert nodes["/src/setuid-tool"].mode == 0o4750 and nodes["/src/deep/er"].mode == 0o1777


def test_second_key_opens_the_same_repository(restic_repos: dict[str, Variant]) -> None:
    variant = restic_repos["v2"]
    assert len(os.listdir(variant.path / "keys")) == 2
    first, second = Repository.open(variant.path, PASSWORD), Repository.open(variant.path, SECOND_PASSWORD)
    assert first.id == second.id and [s.id for s in first.snapshots()] == [s.id for s in second.snapshots()]


def test_compression_matches_the_variant(restic_repos: dict[str, Variant]) -> None:
    """v1 stores nothing compressed; --compression off leaves data raw but trees compressed (v2 rule)."""
    expect = {"v1": (False, False), "v2": (True, True), "v2-nocomp": (False, True)}
    for name, (data_compressed, trees_compressed) in expect.items():
        repo = Repository.open(restic_repos[name].path, PASSWORD)
        snap = repo.snapshots()[-1]
        nodes = dict(repo.walk(snap.tree))
        text = nodes["/src/big-text.txt"].content[0]
        loc_data, loc_tree = repo.locate(text, "data"), repo.locate(snap.tree, "tree")
        assert loc_data is not None and loc_tree is not None
        assert bool(loc_data.uncompressed_length) is data_compressed, name
        assert bool(loc_tree.uncompressed_length) is trees_compressed, name
        assert repo.blob_size(text) == len(repo.read_blob(text))
