"""Fuzzing a whole repository written by restic: change any byte of any file, the reader stays in control."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aftermath.errors import AftermathError
from aftermath.restic import BlobError, Repository
from tests.restic.builders import PASSWORD, make_key_file, restic_env


@pytest.fixture(scope="module")
def tiny_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small v2 repository by restic, with its key file replaced by a cheap-scrypt one for the same master key."""
    base = tmp_path_factory.mktemp("tiny")
    (base / "pw").write_bytes(PASSWORD)
    src = base / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_bytes(b"alpha\n" * 100)
    (src / "sub" / "b.bin").write_bytes(bytes(range(256)) * 3000)
    (src / "sub" / "new\nline").write_bytes(b"x")
    env = restic_env(base / "repo", base / "pw", base / "cache")
    for args in (["init"], ["backup", "src"], ["backup", "src", "--tag", "again"]):
        subprocess.run(["restic", *args], env=env, cwd=base, check=True, capture_output=True)
    repo = base / "repo"
    master = Repository.open(repo, PASSWORD)._key
    for old in (repo / "keys").iterdir():
        old.unlink()
    raw = make_key_file(master, PASSWORD)
    (repo / "keys" / hashlib.sha256(raw).hexdigest()).write_bytes(raw)
    return repo


def read_everything(location: Path) -> int:
    repo = Repository.open(location, PASSWORD)
    count = 0
    for snap in repo.snapshots():
        for _, node in repo.walk(snap.tree, on_error=lambda path, exc: None):
            for _, result in repo.read_blobs(node.content):
                count += isinstance(result, bytes | BlobError)
    return count


def test_untouched_tiny_repository_reads_fully(tiny_repo: Path) -> None:
    assert read_everything(tiny_repo) >= 4


@settings(max_examples=40, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_damaged_file_gives_aftermath_errors_only(tiny_repo: Path, data: st.DataObject) -> None:
    files = sorted(p for p in tiny_repo.rglob("*") if p.is_file() and "locks" not in p.parts)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "repo"
        shutil.copytree(tiny_repo, copy)
        victim = copy / data.draw(st.sampled_from(files)).relative_to(tiny_repo)
        raw = bytearray(victim.read_bytes())
        action = data.draw(st.sampled_from(["flip", "truncate", "append", "empty"]))
        if action == "flip" and raw:
            raw[data.draw(st.integers(0, len(raw) - 1))] ^= data.draw(st.integers(1, 255))
        elif action == "truncate":
            raw = raw[:data.draw(st.integers(0, len(raw)))]
        elif action == "append":
            raw += data.draw(st.binary(min_size=1, max_size=64))
        else:
            raw = bytearray()
        victim.chmod(0o644)
        victim.write_bytes(bytes(raw))
        # RepositoryError, PasswordError, IntegrityError, BlobError, FormatError are all ours; anything else fails
        with contextlib.suppress(AftermathError):
            read_everything(copy)
