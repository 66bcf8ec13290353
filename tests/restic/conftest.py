"""Session fixture: restic repositories built once by the real restic binary.

Three variants: ``v2`` (restic 0.14's default: version 2, compression auto, plus a second key),
``v1`` (``init --repository-version 1``) and ``v2-nocomp`` (``backup --compression off``); each has two
snapshots of a tree with multi-chunk files, tiny/empty files, links, a fifo and odd names.
Tests that damage a repository must copy it first (``copy_variant``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.restic.builders import Variant, add_second_key, build_variant

_BUILT: dict[Path, dict[str, Variant]] = {}
VARIANTS = {
    "v2": ([], []),
    "v1": (["--repository-version", "1"], []),
    "v2-nocomp": ([], ["--compression", "off"]),
}


def build_all(base: Path) -> dict[str, Variant]:
    variants = {name: build_variant(base, name, init, backup) for name, (init, backup) in VARIANTS.items()}
    add_second_key(variants["v2"])
    return variants


@pytest.fixture(scope="session")
def restic_repos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Variant]:
    """The three repositories (built once per session, shared with tests/integration/restic)."""
    base = tmp_path_factory.getbasetemp()
    if base not in _BUILT:
        _BUILT[base] = build_all(tmp_path_factory.mktemp("restic-repos"))
    return _BUILT[base]


@pytest.fixture(params=sorted(VARIANTS))
def variant(request: pytest.FixtureRequest, restic_repos: dict[str, Variant]) -> Variant:
    """Each repository variant in turn."""
    return restic_repos[request.param]


def copy_variant(variant: Variant, dest: Path) -> Variant:
    """A private copy of a variant (repository and source) that a test may damage."""
    shutil.copytree(variant.path.parent, dest, symlinks=True, ignore=shutil.ignore_patterns("cache", "a-fifo"))
    env = {**variant.env, "RESTIC_REPOSITORY": str(dest / "repo"), "RESTIC_PASSWORD_FILE": str(dest / "pw"),
           "RESTIC_CACHE_DIR": str(dest / "cache"), "HOME": str(dest / "cache")}
    return Variant(variant.name, dest / "repo", env, dest / "src", list(variant.snapshots))
