"""Bursts of renames, rewrites and deletions in one folder between two snapshots.

Ransomware renames, rewrites or deletes most files of a folder at once. Normal work touches a few.
A folder bursts when, between two snapshots, the files of it that were rewritten, renamed or deleted
are at least ``min_files``, at least ``share`` of what it held, and more than ``sigma`` standard
deviations above that folder's usual churn, with sqrt(usual) as the least deviation (after Commvault's
3-sigma and Veeam's count thresholds).
Alone this is a heuristic (a reorganised share looks the same), so a burst is "suspicious".
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from aftermath.restic import Entry, Node


@dataclass(frozen=True)
class Churn:
    """What changed directly inside one folder between two snapshots."""

    before: int  # files the folder held in the older snapshot
    added: int = 0
    removed: int = 0  # deleted or renamed away
    changed: int = 0  # same name, other content

    @property
    def touched(self) -> int:
        """Files of the older snapshot that were rewritten, renamed or deleted."""
        return self.removed + self.changed


@dataclass(frozen=True)
class Burst:
    """One folder's burst at one transition (index into the transitions)."""

    transition: int
    folder: str
    churn: Churn
    usual: float  # mean touched files at earlier transitions


def bursts(transitions: Sequence[dict[str, Churn]], *, min_files: int = 20, share: float = 0.5,
           sigma: float = 3.0) -> list[Burst]:
    """The folder bursts among consecutive transitions (oldest first); pure."""
    found: list[Burst] = []
    for i, current in enumerate(transitions):
        for folder, churn in current.items():
            if churn.touched < min_files or churn.touched < share * churn.before:
                continue
            history = [float(t[folder].touched) if folder in t else 0.0 for t in transitions[:i]]
            mean = statistics.fmean(history) if history else 0.0
            # Poisson-like floor: with a short history the standard deviation says little
            spread = max(statistics.pstdev(history) if len(history) > 1 else 0.0, mean ** 0.5)
            if churn.touched > mean + sigma * spread:
                found.append(Burst(i, folder, churn, mean))
    return found


Listing = tuple[Mapping[str, tuple[str, ...]], Mapping[str, str]]  # files: name -> content; folders: name -> tree


def diff_trees(listing: Callable[[str], Listing], old: str | None, new: str | None,
               prefix: str = "") -> dict[str, Churn]:
    """Per folder, what changed between two trees; subtrees with the same id are skipped.

    ``listing`` gives a tree's files (name -> content identity) and folders (name -> subtree id); see
    :func:`listing_of` for trees given as nodes.
    """
    out: dict[str, Churn] = {}
    stack = [(prefix, old, new)]
    while stack:
        path, a, b = stack.pop()
        if a == b or a is None:
            continue  # unchanged, or only additions (additions are not a ransomware sign)
        old_files, old_dirs = listing(a)
        new_files, new_dirs = listing(b) if b else _EMPTY
        removed = len(old_files.keys() - new_files.keys())
        churn = Churn(before=len(old_files), added=len(new_files.keys() - old_files.keys()), removed=removed,
                      changed=len(old_files.items() - new_files.items()) - removed)
        if churn.added or churn.touched:
            out[path or "/"] = churn
        stack.extend((f"{path}/{name}", sub, new_dirs.get(name)) for name, sub in old_dirs.items())
    return out


_EMPTY: Listing = ({}, {})


def listing_of(tree: Callable[[str], Sequence[Node | Entry]]) -> Callable[[str], Listing]:
    """A :func:`diff_trees` listing from a function that gives a tree's nodes."""
    def listing(tree_id: str) -> Listing:
        nodes = tree(tree_id)
        return ({n.name: n.identity for n in nodes if n.is_file},
                {n.name: n.subtree for n in nodes if n.is_dir and n.subtree})
    return listing
